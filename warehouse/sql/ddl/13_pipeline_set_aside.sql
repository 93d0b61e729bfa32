-- Receipts ctip itself failed on (an error while reading, validating or loading the
-- file, or runs that stopped while handling it): rejected with rule `unreadable` so
-- that later runs go on. The same bytes received again are an original, tried anew.
create table if not exists pipeline.set_aside (
    sequence      bigint primary key,
    submission_id varchar not null
);

-- How many runs began handling a receipt; removed once it has a final status. A
-- receipt some run began is handled alone next time, and set aside after two.
create table if not exists pipeline.attempts (
    sequence bigint primary key,
    attempts integer not null
);
