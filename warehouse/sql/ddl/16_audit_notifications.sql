-- One row per notice by e-mail (REPORTING.md section 4): a rejection, a reminder or an overdue
-- notice to one recipient. Each is sent once; a failed one stays `failed` with its error and is
-- tried again by the next run or `ctip remind`, which then marks it `sent`.
create table if not exists audit.notifications (
    notification_id varchar primary key,   -- the same notice always has the same id
    kind            varchar not null check (kind in ('rejection', 'reminder', 'overdue')),
    recipient       varchar not null,      -- an e-mail address
    reporter        varchar,
    period          varchar,               -- null for a rejection
    submission_id   varchar,               -- null for a reminder or an overdue notice
    created_at      timestamptz not null,
    sent_at         timestamptz,           -- null until sent
    status          varchar not null check (status in ('sent', 'failed')),
    error           varchar                -- why the last try failed; null once sent
);

-- The rejected submissions whose rejection notices are still to be given, written in the transaction that
-- rejects them: a run that dies after its commit leaves them here, and the next run sends them.
create table if not exists pipeline.notices_due (
    submission_id varchar primary key
);
