-- One row per publication of the analyst file; the watermark is the latest
-- received_at (and sequence) whose effects it shows.
create table if not exists pipeline.publications (
    number        bigint primary key,
    generation    integer not null,     -- a full publication starts a new generation of segments
    watermark     timestamptz,
    last_sequence bigint not null,
    full_export   boolean not null,
    published_at  timestamptz not null
);

-- The Parquet segments each relation of the analyst file reads.
create table if not exists pipeline.segments (
    generation  integer not null,
    relation    varchar not null,
    file        varchar not null,       -- relative to the segments folder
    publication bigint not null
);
