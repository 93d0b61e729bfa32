-- The contract's code lists, copied from the registry (schemas/) by a load whenever they changed (pipeline.digests).
create table if not exists core.reporters (
    reporter varchar primary key, name varchar not null,
    consolidates boolean not null default false   -- national figures the ministries' are compared with
);
alter table core.reporters add column if not exists consolidates boolean default false;
-- The reporting calendar (registry.toml): the type of period due, days after its end, from which period.
alter table core.reporters add column if not exists period_type varchar;
alter table core.reporters add column if not exists due_days integer;
alter table core.reporters add column if not exists first_period varchar;
create table if not exists core.reporter_indicators (
    reporter varchar not null, indicator varchar not null, primary key (reporter, indicator)
);
create table if not exists core.indicators (
    indicator varchar primary key, label varchar not null, unit varchar not null, dimensions varchar[] not null
);
create table if not exists core.codes (
    dimension varchar not null, code varchar not null, label varchar, is_leaf boolean not null,
    aggregate varchar,                 -- the aggregate code that stands for this leaf, if any
    primary key (dimension, code)
);
create table if not exists core.areas (
    area varchar primary key, name varchar not null, first_year integer, last_year integer
);
