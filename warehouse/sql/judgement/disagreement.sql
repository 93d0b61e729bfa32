{% from 'macros.sql' import dimensions, held_once_applied, same_key_but_reporter with context -%}
-- disagreement: rows where the consolidating reporter (NCCT) and a ministry hold different
-- values for the same indicator, period, area and cut, once the row's submission is applied
-- (the versions as known at its receipt). $consolidating lists the consolidating reporters.
--
-- Reads run_rows (the rows of the run's loaded submissions, each with the receipt of its
-- submission: sequence, received_at) and {{ history }} (every version, the run's own
-- included). The macros (sql/macros.sql) write out the key of the registry.
select i.submission_id, i.row_number, i.reporter, i.indicator, i.period, i.area, {{ dimensions('i') }},
       i.value, o.reporter as other_reporter, o.value as other_value
from run_rows as i
join {{ history }} as o on {{ same_key_but_reporter('i', 'o') }}
where i.action = 'I'
  and o.value <> i.value
  and list_contains($consolidating, i.reporter) <> list_contains($consolidating, o.reporter)
  and {{ held_once_applied('o', 'i') }}
