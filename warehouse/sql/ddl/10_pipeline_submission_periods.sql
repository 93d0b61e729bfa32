-- The periods each received submission names (its rows whose period parses), so a
-- backfill finds the submissions that touch a range without reading the archive.
create table if not exists pipeline.submission_periods (
    submission_id varchar not null,
    period        varchar not null,
    period_start  date not null,
    period_end    date not null,
    primary key (submission_id, period)
);
