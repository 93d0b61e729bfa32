-- Figures that change by more than $threshold_pct per cent against the same period a
-- year before, with a base of at least $min_base, once the row's submission is applied
-- ({history} as known at its receipt). Either side of a pair may be a row of the
-- submission: as the current figure, or as the base of a held one it does not set.
with set_rows as (
    select * from run_rows where action = 'I'
),

as_current as (
    select i.submission_id, i.row_number as current_row, s.row_number as base_row,
           i.reporter, i.area, i.indicator, {dims_i}, i.period, i.value,
           b.period as base_period, b.value as base_value
    from set_rows as i
    join {history} as b on {cell_match_ib} and b.period = i.base_period and {held_after_b}
    left join set_rows as s on s.submission_id = i.submission_id and {key_match_sb}
),

as_base as (
    select i.submission_id, null::bigint as current_row, i.row_number as base_row,
           c.reporter, c.area, c.indicator, {dims_c}, c.period, c.value,
           i.period as base_period, i.value as base_value
    from set_rows as i
    join core.periods as p on p.base_period = i.period
    join {history} as c on {cell_match_ic} and c.period = p.period and {held_after_c}
    anti join set_rows as s on s.submission_id = i.submission_id and {key_match_sc}
),

pairs as (
    select * from as_current
    union all
    select * from as_base
)

select coalesce(current_row, base_row) as row_number, current_row is null as row_is_base, *
from pairs
where base_value >= $min_base
  and abs(value::hugeint - base_value) * 100 > $threshold_pct::hugeint * base_value
