-- One row per problem found in a submission's bytes; rule is one of the rule ids of the
-- submission contract (its section "Rules"). row_number counts as a spreadsheet shows the file.
create table if not exists audit.findings (
    submission_id varchar not null,
    file_name     varchar not null,
    severity      varchar not null check (severity in ('error', 'warning')),
    rule          varchar not null,
    row_number    bigint,
    column_name   varchar,
    message       varchar not null
);
