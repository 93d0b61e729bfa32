-- Reported figures that differ from the sum of their parts reported for shorter
-- periods (a year against its halves), once the incoming submission is applied;
-- the reported figure or one of its parts is in the incoming submission.
-- The state is as known at $as_of.
with set_rows as (
    select * from incoming where action = 'I'
),

held as (
    select o.reporter, o.area, o.period, o.period_type, o.indicator, {dims_o}, o.value, o.status,
           null::bigint as row_number
    from {observations} as o
    where o.reporter in (select reporter from set_rows)
      and substr(o.period, 1, 4) in (select substr(period, 1, 4) from set_rows)
      and not exists (select 1 from incoming as i where {key_match})
),

effective as (
    select reporter, area, period, period_type, indicator, {dims}, value, status, row_number from set_rows
    union all
    select * from held
),

derived as (
    {derived}
)

select
    coalesce(r.row_number, (
        select min(s.row_number) from set_rows as s
        where s.reporter = d.reporter and s.area = d.area and s.indicator = d.indicator
          and {dims_match_s} and list_contains(d.derived_from, s.period)
    )) as row_number,
    r.row_number is not null as row_is_total,
    d.reporter, d.area, d.indicator, {dims_d}, d.period, r.value as reported_value, d.value as parts_value,
    d.derived_from
from derived as d
join effective as r
    on  r.reporter = d.reporter and r.area = d.area and r.indicator = d.indicator
    and {dims_match_r} and r.period = d.period
where r.value <> d.value
  and (r.row_number is not null or exists (
        select 1 from set_rows as s
        where s.reporter = d.reporter and s.area = d.area and s.indicator = d.indicator
          and {dims_match_s} and list_contains(d.derived_from, s.period)))
order by row_number
