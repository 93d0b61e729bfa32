-- Rows read and validated ahead of their load: a backfill stages its chunks here one by
-- one, then applies them all in one transaction, and empties the table.
create table if not exists pipeline.staged_rows (
    submission_id varchar not null,
    row_number    bigint not null,
    reporter      varchar,
    area          varchar,
    period        varchar,
    period_type   varchar,
    period_start  date,
    period_end    date,
    base_period   varchar,
    indicator     varchar,
    sex           varchar,
    age           varchar,
    citizenship   varchar,
    referral      varchar,
    offence       varchar,
    country       varchar,
    value         bigint,
    status        varchar,
    comment       varchar,
    action        varchar
);
