-- Figures that change by more than $threshold_pct per cent against the same period
-- a year before, with a base of at least $min_base, once the incoming submission
-- is applied. Either side of the pair may be the incoming row.
with periods as (
    select period, base_period from core.periods
    union
    select distinct period, base_period from incoming
),

set_rows as (
    select * from incoming where action = 'I'
),

related_periods as (
    select base_period as period from set_rows
    union
    select p.period from periods as p where p.base_period in (select period from set_rows)
),

held as (
    select o.reporter, o.area, o.period, o.indicator, {dims_o}, o.value
    from {observations} as o
    where o.period in (select period from related_periods)
      and not exists (select 1 from incoming as i where {key_match})
),

effective as (
    select reporter, area, period, indicator, {dims}, value, row_number from set_rows
    union all
    select reporter, area, period, indicator, {dims}, value, null as row_number from held
),

pairs as (
    select c.row_number as current_row, b.row_number as base_row,
           c.reporter, c.area, c.indicator, {dims_c},
           c.period, c.value, b.period as base_period, b.value as base_value
    from effective as c
    join periods as p on p.period = c.period
    join effective as b
        on b.period = p.base_period and b.reporter = c.reporter and b.area = c.area
        and b.indicator = c.indicator and {dims_match}
    where c.row_number is not null or b.row_number is not null
)

select coalesce(current_row, base_row) as row_number, current_row is null as row_is_base, *
from pairs
where base_value >= $min_base
  and abs(value::hugeint - base_value) * 100 > $threshold_pct::hugeint * base_value
order by row_number
