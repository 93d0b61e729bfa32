-- One row per period that any observation has held: its span and the year before.
create table if not exists core.periods (
    period      varchar primary key,
    period_type varchar not null,
    start_date  date not null,
    end_date    date not null,          -- exclusive
    base_period varchar
);
