-- Numbered releases of the approved figures (`ctip release`), each written once into its folder.
create table if not exists audit.releases (
    release    integer primary key,
    created_at timestamptz not null,
    embargo    timestamptz,           -- not to be made public before this time (null: no embargo)
    watermark  timestamptz,           -- the latest receipt whose figures the release may include
    note       varchar,
    folder     varchar not null,      -- where it was written: <DIR>/release-NNNN
    min_cell   integer not null,
    figures    bigint not null,       -- rows of period_comparison
    revisions  bigint not null,       -- rows of revisions.csv
    manifest_sha256 varchar not null  -- of MANIFEST.json, which lists every other file with its SHA-256
);

-- The figures each release published, as published (suppressed counts empty), so the next release lists
-- what it revises without reading an earlier release's folder.
create table if not exists pipeline.released_figures (
    release     integer not null,
    -- the key of the figure
    reporter varchar not null, area varchar not null, period varchar not null, indicator varchar not null,
    sex varchar not null, age varchar not null, citizenship varchar not null, referral varchar not null,
    offence varchar not null, country varchar not null,
    value       bigint,
    status      varchar,
    value_conf  varchar
);
