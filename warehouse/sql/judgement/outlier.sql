{% from 'macros.sql' import dimensions, held_once_applied, same_key, same_key_but_period with context -%}
-- outlier: figures that change by more than $threshold_pct per cent against the same period a
-- year before, with a base of at least $min_base, once the row's submission is applied
-- (the versions as known at its receipt). The base is the one the comparison table shows:
-- the reported figure or, where none is reported, the figure derived from shorter
-- periods (marts/figures.sql; a month's figure is never derived). The current figure is a
-- reported one. A row of the submission may be the current figure, its base, or one of the
-- figures a derived base adds up.
--
-- Reads run_rows (the rows of the run's loaded submissions, each with the receipt of its
-- submission: sequence, received_at) and {{ history }} (every version, the run's own
-- included). The macros (sql/macros.sql) write out the key of the registry.

-- the run's rows that set a value
with setting as (
    select *, substr(period, 1, 4) as year from run_rows where action = 'I'
),

-- each cell the run sets (a key without its period: reporter, area, indicator and cut), numbered, so that rows
-- of one cell are matched on one number and the period, not on every column of the key
cells as materialized (
    select row_number() over () as cell, *
    from (select distinct reporter, area, indicator, {{ dimensions() }} from setting)
),

-- those rows with their cell
set_rows as materialized (
    select i.*, c.cell from setting as i join cells as c on {{ same_key_but_period('i', 'c') }}
),

-- the versions of those cells, any period: every version the rule looks at is of a cell the run sets
held as materialized (
    select h.*, c.cell from {{ history }} as h join cells as c on {{ same_key_but_period('h', 'c') }}
),

as_current as (
    select i.submission_id, i.row_number as current_row, s.row_number as base_row,
           i.reporter, i.area, i.indicator, {{ dimensions('i') }}, i.period, i.value,
           b.period as base_period, b.value as base_value, null::varchar[] as base_derived_from
    from set_rows as i
    join held as b
        on b.cell = i.cell and b.period = i.base_period and {{ held_once_applied('b', 'i') }}
    left join set_rows as s on s.submission_id = i.submission_id and s.cell = b.cell and s.period = b.period
),

-- each row of the submission beside every period it is the base of that the submission does not set (a
-- figure it sets is the current one of its pair, found above); materialised, so that the figures of those
-- periods are then found by their whole key (joined on the key without the period first, a cell's every
-- period would meet every other: millions of pairs in a large file)
as_base_of as materialized (
    select i.*, p.period as later_period
    from set_rows as i
    join core.periods as p on p.base_period = i.period
    anti join set_rows as s on s.submission_id = i.submission_id and s.cell = i.cell and s.period = p.period
),

as_base as (
    select i.submission_id, null::bigint as current_row, i.row_number as base_row,
           c.reporter, c.area, c.indicator, {{ dimensions('c') }}, c.period, c.value,
           i.period as base_period, i.value as base_value, null::varchar[] as base_derived_from
    from as_base_of as i
    join held as c
        on c.cell = i.cell and c.period = i.later_period and {{ held_once_applied('c', 'i') }}
),

-- reported figures of the submission whose base no one reported: the base may be derived
current_without_base as (
    select i.* from set_rows as i
    anti join held as b
        on b.cell = i.cell and b.period = i.base_period and {{ held_once_applied('b', 'i') }}
    where i.period_type <> 'month'
),

-- held reported figures a year after a row of the submission whose base no one reported:
-- the row may be one of the figures that base adds up
held_without_base as (
    select i.submission_id, i.received_at, i.row_number, i.period as part, c.reporter, c.area, c.indicator,
           {{ dimensions('c') }}, c.period, c.value, core.base_period(c.period, c.period_type) as base_period
    from set_rows as i
    join held as c
        on c.cell = i.cell
        and substr(c.period, 1, 4) = printf('%04d', cast(i.year as integer) + 1)
        and c.period_type <> 'month' and c.period_type <> i.period_type and {{ held_once_applied('c', 'i') }}
    anti join set_rows as s on s.submission_id = i.submission_id and s.cell = c.cell and s.period = c.period
    anti join held as b
        on b.cell = c.cell and b.period = core.base_period(c.period, c.period_type)
        and {{ held_once_applied('b', 'i') }}
),

-- the submission's cells in the years of those bases, as known once it is applied
years as (
    select distinct submission_id, received_at, reporter, area, indicator, {{ dimensions() }},
           substr(base_period, 1, 4) as year
    from current_without_base
    union
    select distinct submission_id, received_at, reporter, area, indicator, {{ dimensions() }}, substr(part, 1, 4)
    from held_without_base
),

effective as (
    select y.submission_id as judged, o.reporter, o.area, o.period, o.period_type, o.indicator,
           {{ dimensions('o') }}, o.value, o.status
    from years as y
    join {{ history }} as o
        on {{ same_key_but_period('y', 'o') }} and substr(o.period, 1, 4) = y.year and {{ held_once_applied('o', 'y') }}
),

-- the derived figures of those years, per judged submission
derived as (
    select * from (
        {% with source = 'effective', by = ['judged'] %}
            {% include 'marts/figures.sql' %}
        {% endwith %}
    ) where is_derived
),

as_current_derived as (
    select i.submission_id, i.row_number as current_row, null::bigint as base_row,
           i.reporter, i.area, i.indicator, {{ dimensions('i') }}, i.period, i.value,
           d.period as base_period, d.value as base_value, d.derived_from as base_derived_from
    from current_without_base as i
    join derived as d on d.judged = i.submission_id and {{ same_key_but_period('i', 'd') }} and d.period = i.base_period
),

as_part_of_base as (
    select c.submission_id, null::bigint as current_row, min(c.row_number) as base_row,
           c.reporter, c.area, c.indicator, {{ dimensions('c') }}, c.period, c.value,
           d.period as base_period, d.value as base_value, d.derived_from as base_derived_from
    from held_without_base as c
    join derived as d
        on d.judged = c.submission_id and {{ same_key_but_period('c', 'd') }} and d.period = c.base_period
        and list_contains(d.derived_from, c.part)
    group by all
),

pairs as (
    select * from as_current
    union all
    select * from as_base
    union all
    select * from as_current_derived
    union all
    select * from as_part_of_base
)

select coalesce(current_row, base_row) as row_number, current_row is null as row_is_base, *
from pairs
where base_value >= $min_base
  and abs(value::hugeint - base_value) * 100 > $threshold_pct::hugeint * base_value
