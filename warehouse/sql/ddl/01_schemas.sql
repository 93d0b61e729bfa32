-- audit: what was received and what was found; core: observations and their
-- history; marts: tables built for analysts; pipeline: the pipeline's own bookkeeping.
create schema if not exists audit;
create schema if not exists core;
create schema if not exists marts;
create schema if not exists pipeline;
