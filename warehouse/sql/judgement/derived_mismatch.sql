{% from 'macros.sql' import dimensions, held_once_applied, same_key, same_key_but_period with context -%}
-- derived_mismatch: reported figures that differ from a complete set of shorter figures of the same
-- reporter, area, indicator and cut covering the same months (a year against its halves,
-- its quarters, its months, or 2019-S1 with 2019-Q3 and 2019-Q4; a year-to-date against
-- a figure of the same months, such as 2019-01/2019-12 against 2019), once the row's
-- submission is applied (the versions as known at its receipt). The reported figure or one
-- of the set is a row of the submission. One finding per reported figure and sum that
-- differs, naming the set with the fewest figures that gives that sum. Which periods make
-- up which is transforms/periods.py's arithmetic, done by marts/tilings.sql.
--
-- Reads run_rows (the rows of the run's loaded submissions, each with the receipt of its
-- submission: sequence, received_at) and {{ history }} (every version, the run's own
-- included). The macros (sql/macros.sql) write out the key of the registry.
with set_rows as (
    select *, substr(period, 1, 4) as year from run_rows where action = 'I'
),

held_types as (
    select reporter, year, period_type from set_rows
    union
    select o.reporter, substr(o.period, 1, 4), o.period_type
    from {{ history }} as o
    semi join (select distinct reporter, year from set_rows) as y
        on y.reporter = o.reporter and y.year = substr(o.period, 1, 4)
),

-- only where a reporter's year holds two period types can figures make up another
mixed as (
    select reporter, year from held_types group by all having count(distinct period_type) > 1
),

-- the submission's cells in those years
cells as (
    select distinct i.submission_id, i.received_at, i.reporter, i.area, i.indicator, {{ dimensions('i') }}, i.year
    from set_rows as i
    semi join mixed as y on y.reporter = i.reporter and y.year = i.year
),

-- every figure of those cells and years once the submission is applied, with its row in it
effective as (
    select c.submission_id as judged, o.reporter, o.area, o.period, o.period_type, o.indicator,
           {{ dimensions('o') }}, o.value, o.status, s.row_number
    from cells as c
    join {{ history }} as o
        on {{ same_key_but_period('c', 'o') }} and substr(o.period, 1, 4) = c.year
        and {{ held_once_applied('o', 'c') }}
    left join set_rows as s on s.submission_id = c.submission_id and {{ same_key('s', 'o') }}
),

-- every chain of the figures of `effective` that makes up a span of months, per judged submission
tilings as (
    {% with source = 'effective', by = ['judged'], row = 'o.row_number' %}
        {% include 'marts/tilings.sql' %}
    {% endwith %}
),

-- each reported figure with every other chain of the same months: of shorter figures,
-- or for a year-to-date also the one figure of the same months
contradicted as (
    select f.judged, f.reporter, f.area, f.indicator, {{ dimensions('f') }}, f.parts[1] as period,
           f.value as reported_value, f.part_row as reported_row, t.value as parts_value, t.parts, t.part_row
    from tilings as f
    join tilings as t
        on {{ same_key_but_period('f', 't') }} and t.judged = f.judged and t.year = f.year
        and t.first_month = f.first_month and t.end_month = f.end_month
    where len(f.parts) = 1 and t.parts <> f.parts and (len(t.parts) > 1 or f.parts[1] like '%/%')
      and t.value <> f.value and (f.part_row is not null or t.part_row is not null)
)

select judged as submission_id,
       coalesce(min(reported_row), list(part_row order by len(parts), parts)[1]) as row_number,
       reporter, area, indicator, {{ dimensions() }}, period, reported_value::bigint as reported_value,
       parts_value, list(parts order by len(parts), parts)[1] as derived_from
from contradicted
group by all
