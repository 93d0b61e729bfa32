{% from 'macros.sql' import key_columns with context -%}
-- The versions a run makes, for every key its submissions set or withdraw, all at once.
-- run_rows holds the keyed rows of the run's loaded submissions with their receipt
-- (sequence, received_at); {{ history }} the versions held. Each key's events are the version it holds
-- now (sequence 0) and then the run's rows in receipt order: 'I' sets a value, 'D'
-- withdraws it. An event that leaves the key as it was changes nothing; every other
-- event ends the version before it (its `ends`) and, unless it withdraws, starts one.
-- One row per change, plus one per held version (sequence 0; its ends, if any, closes it):
-- the relation `run_versions` of the load and of `what_if_sql`. A key with one event (no
-- version held, one row in the run: most keys of a new period) starts a version if the row
-- sets a value; only the keys with more events go through the windows.
with touched as (
    select distinct {{ key_columns() }} from run_rows
),

events as (
    select {{ key_columns() }}, period_type, value, status, comment, submission_id, row_number,
           true as present, valid_from as received_at, 0::bigint as sequence
    from {{ history }}
    semi join touched using ({{ key_columns() }})
    where valid_to is null
    union all
    select {{ key_columns() }}, period_type, value, status, comment, submission_id, row_number,
           action = 'I' as present, received_at, sequence
    from run_rows
),

-- keys with more than one event
repeated as (
    select {{ key_columns() }} from events group by all having count(*) > 1
),

marked as (
    select *,
        sequence = 0
        or present is distinct from coalesce(lag(present) over key_order, false)
        or (present and (
            value is distinct from lag(value) over key_order
            or status is distinct from lag(status) over key_order
            or comment is distinct from lag(comment) over key_order
        )) as changes
    from events
    semi join repeated using ({{ key_columns() }})
    window key_order as (partition by {{ key_columns() }} order by sequence, row_number)
)

select * exclude (changes),
    lead(received_at) over (partition by {{ key_columns() }} order by sequence, row_number) as ends
from marked
where changes
union all
select *, null::timestamptz as ends
from events
anti join repeated using ({{ key_columns() }})
where present
