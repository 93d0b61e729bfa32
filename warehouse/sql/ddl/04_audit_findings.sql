-- One row per problem found in a submission's bytes; rule is an id of section 6 of
-- the submission contract. row_number counts as a spreadsheet shows the file.
create table if not exists audit.findings (
    submission_id varchar not null,
    file_name     varchar not null,
    severity      varchar not null check (severity in ('error', 'warning')),
    rule          varchar not null,
    row_number    bigint,
    column_name   varchar,
    message       varchar not null
);
