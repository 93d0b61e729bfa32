{% from 'macros.sql' import dimensions, held_before, key_columns, same_key with context -%}
-- restatement: rows of the run that give a key another value than the one it held just
-- before their submission was received.
--
-- Reads run_rows (the rows of the run's loaded submissions, each with the receipt of its
-- submission: sequence, received_at) and {{ history }} (every version, the run's own
-- included). The macros (sql/macros.sql) write out the key of the registry.
--
-- A key with one event in the run (no version held before it, one row) has nothing to restate: given
-- `repeated`, the load's table of the others (load/repeated_keys.sql), only those are looked at.
select i.submission_id, i.row_number, i.reporter, i.indicator, i.period, i.area, {{ dimensions('i') }},
       i.value as new_value, o.value as held_value, o.valid_from
from run_rows as i
join {{ history }} as o on {{ same_key('i', 'o') }}
where i.action = 'I' and o.value <> i.value and {{ held_before('o', 'i') }}
{%- if repeated %}
    and hash({{ key_columns('i') }}) in (select key_hash from {{ repeated }})
{%- endif %}
