-- The periods each received submission names (its rows whose period parses), so a
-- backfill finds the submissions that touch a range without reading the archive, and
-- how many of its rows give a figure of that period (a reporter-period is received
-- only from a submission holding a figure of it; null: recorded before they were counted).
create table if not exists pipeline.submission_periods (
    submission_id varchar not null,
    period        varchar not null,
    period_start  date not null,
    period_end    date not null,
    figures       bigint,
    primary key (submission_id, period)
);
alter table pipeline.submission_periods add column if not exists figures bigint;
