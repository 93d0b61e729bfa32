-- One row per distinct file received (name and bytes), written when it reaches its
-- final status. A duplicate shares its submission_id with the original.
create table if not exists audit.submissions (
    submission_id varchar not null,
    file_name     varchar not null,
    format        varchar not null,
    reporter      varchar,
    sequence      bigint not null unique,
    received_at   timestamptz not null,
    status        varchar not null check (status in ('loaded', 'rejected', 'duplicate')),
    errors        integer not null,
    warnings      integer not null,
    observations  bigint not null,        -- rows that set or withdrew a key
    size_bytes    bigint not null,
    primary key (submission_id, file_name)
);
-- Files sent through the portal: the account and the time of the upload (null for the inbox folder).
alter table audit.submissions add column if not exists uploaded_by varchar;
alter table audit.submissions add column if not exists uploaded_at timestamptz;
