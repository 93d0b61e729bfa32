-- One row per version of a key. valid_from/valid_to are knowledge times (the
-- received_at of the submission that set and the one that replaced or withdrew it).
create table if not exists core.observation_history (
    reporter      varchar not null,
    area          varchar not null,
    period        varchar not null,
    period_type   varchar not null,
    indicator     varchar not null,
    sex           varchar not null,
    age           varchar not null,
    citizenship   varchar not null,
    referral      varchar not null,
    offence       varchar not null,
    country       varchar not null,
    value         bigint not null check (value >= 0),
    status        varchar not null,
    comment       varchar,
    submission_id varchar not null,
    row_number    bigint not null,        -- where in the submission the figure stands
    valid_from    timestamptz not null,
    valid_to      timestamptz,
    check (valid_to is null or valid_to > valid_from)
);
