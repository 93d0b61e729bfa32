-- What the writer last made the database hold, by digest: 'schema' (the DDL of these files
-- and the marts' views, run when a writer opens the database) and 'reference' (the registry's
-- code lists in core.reporters, core.codes, ...). Each is done again only when its digest changes.
create table if not exists pipeline.digests (
    name   varchar primary key,
    digest varchar not null
);
