-- One row per file taken from the inbox, written right after its bytes reach the
-- archive and before anything else. A receipt without a row in audit.submissions
-- is still to be processed (the run that took it stopped part way).
create table if not exists pipeline.receipts (
    sequence      bigint primary key,
    submission_id varchar not null,       -- SHA-256 of the bytes, the archive key
    file_name     varchar not null,
    format        varchar not null,
    size_bytes    bigint not null,
    modified_at   timestamptz not null,   -- the inbox file's modification time
    received_at   timestamptz not null    -- strictly increasing with sequence
);
-- Files sent through the portal: the account, the time of the upload and the account's reporter (null for the
-- inbox folder).
alter table pipeline.receipts add column if not exists uploaded_by varchar;
alter table pipeline.receipts add column if not exists uploaded_at timestamptz;
alter table pipeline.receipts add column if not exists uploaded_for varchar;
