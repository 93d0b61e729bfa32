-- Receipts ctip itself failed on (an error while reading, validating or loading the
-- file, or runs that stopped while handling it): rejected with rule `unreadable` so
-- that later runs go on. The same bytes received again are an original, tried anew.
create table if not exists pipeline.set_aside (
    sequence      bigint primary key,
    submission_id varchar not null
);

-- How many runs began handling a receipt, and how many files (originals) the batch
-- that last began it had; removed once it has a final status. The receipts of a
-- batch some run began are handled next time in smaller batches, down to one file
-- alone; a file begun alone by a run that did not finish, after an earlier attempt,
-- is set aside.
create table if not exists pipeline.attempts (
    sequence    bigint primary key,
    attempts    integer not null,
    batch_files integer,
    prior_batch_files integer  -- of the attempt before: what a run stopped, not killed, puts back
);
alter table pipeline.attempts add column if not exists batch_files integer;
alter table pipeline.attempts add column if not exists prior_batch_files integer;
