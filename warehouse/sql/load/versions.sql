{% from 'macros.sql' import key_columns with context -%}
-- The versions a run makes, for every key its submissions set or withdraw, all at once.
-- run_rows holds the keyed rows of the run's loaded submissions with their receipt
-- (sequence, received_at); {{ history }} the versions held. Each key's events are the version it holds
-- now (sequence 0) and then the run's rows in receipt order: 'I' sets a value, 'D'
-- withdraws it. An event that leaves the key as it was changes nothing; every other
-- event ends the version before it (its `ends`) and, unless it withdraws, starts one.
-- One row per change, plus one per held version (sequence 0; its ends, if any, closes it):
-- the relation `run_versions` of the load and of `what_if_sql`.
--
-- Only the keys with more than one event go through the windows (`repeated`, known by their hash:
-- the query repeated_keys.sql, or the table the load made of it). Every other key (no version held,
-- one row in the run: most keys of a new period) starts a version if its row sets a value.
-- `part` gives the versions of the ones (`repeated`), of the others (`single`) or of both (`all`).
with repeated as materialized (
{%- if repeated %}
    select key_hash from {{ repeated }}
{%- else %}
    {% include 'load/repeated_keys.sql' %}
{%- endif %}
)
{%- if part != 'single' %},

events as (
    select {{ key_columns() }}, period_type, value, status, comment, submission_id, row_number,
           true as present, valid_from as received_at, 0::bigint as sequence
    from {{ history }}
    where valid_to is null and hash({{ key_columns() }}) in (select key_hash from repeated)
    union all
    select {{ key_columns() }}, period_type, value, status, comment, submission_id, row_number,
           action = 'I' as present, received_at, sequence
    from run_rows
    where hash({{ key_columns() }}) in (select key_hash from repeated)
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
    window key_order as (partition by {{ key_columns() }} order by sequence, row_number)
)

select * exclude (changes),
    lead(received_at) over (partition by {{ key_columns() }} order by sequence, row_number) as ends
from marked
where changes
{%- endif %}
{%- if part == 'all' %}
union all
{%- endif %}
{%- if part != 'repeated' %}
select {{ key_columns() }}, period_type, value, status, comment, submission_id, row_number,
       true as present, received_at, sequence, null::timestamptz as ends
from run_rows
anti join repeated on hash({{ key_columns() }}) = repeated.key_hash
where action = 'I'
{%- endif %}
