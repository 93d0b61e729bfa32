{% from 'macros.sql' import dimensions, held_once_applied, same_key_but_reporter with context -%}
-- disagreement: rows where the consolidating reporter (NCCT) and a ministry hold different
-- values for the same indicator, period, area and cut, once the row's submission is applied
-- (the versions as known at its receipt). $consolidating lists the consolidating reporters.
--
-- Reads run_rows (the rows of the run's loaded submissions, each with the receipt of its
-- submission: sequence, received_at) and {{ history }} (every version, the run's own
-- included). The macros (sql/macros.sql) write out the key of the registry.
--
-- A pair is of one consolidating and one other reporter: the rows of each side are kept apart before the
-- join, so that no row meets its own reporter's figures (a file of one ministry meets no one's in a run
-- without the consolidating reporter).
with pairs as (
    select i.submission_id, i.row_number, i.reporter, i.indicator, i.period, i.area, {{ dimensions('i') }},
           i.value, o.reporter as other_reporter, o.value as other_value
    from (select * from run_rows where action = 'I' and list_contains($consolidating, reporter)) as i
    join (select * from {{ history }} where not list_contains($consolidating, reporter)) as o
        on {{ same_key_but_reporter('i', 'o') }}
    where o.value <> i.value and {{ held_once_applied('o', 'i') }}
    union all
    select i.submission_id, i.row_number, i.reporter, i.indicator, i.period, i.area, {{ dimensions('i') }},
           i.value, o.reporter as other_reporter, o.value as other_value
    from (select * from run_rows where action = 'I' and not list_contains($consolidating, reporter)) as i
    join (select * from {{ history }} where list_contains($consolidating, reporter)) as o
        on {{ same_key_but_reporter('i', 'o') }}
    where o.value <> i.value and {{ held_once_applied('o', 'i') }}
)

select * from pairs
