-- Reported figures that differ from the sum of their parts reported for shorter
-- periods (a year against its halves), once the row's submission is applied
-- ({history} as known at its receipt); the reported figure or one of its parts is a
-- row of the submission. Only the reporters and years that hold a longer and a
-- shorter period type together ({derivable}) can have derived figures.
with set_rows as (
    select *, substr(period, 1, 4) as year from run_rows where action = 'I'
),

held_types as (
    select reporter, year, period_type from set_rows
    union
    select o.reporter, substr(o.period, 1, 4), o.period_type
    from {history} as o
    semi join (select distinct reporter, year from set_rows) as y
        on y.reporter = o.reporter and y.year = substr(o.period, 1, 4)
),

derivable as (
    select reporter, year from held_types group by all having {derivable}
),

cells as (
    select distinct i.submission_id, i.received_at, i.reporter, i.area, i.indicator, {dims_i}, i.year
    from set_rows as i
    semi join derivable as y on y.reporter = i.reporter and y.year = i.year
),

effective as (
    select c.submission_id as judged, o.reporter, o.area, o.period, o.period_type, o.indicator, {dims_o},
           o.value, o.status, s.row_number
    from cells as c
    join {history} as o on {cell_match_co} and substr(o.period, 1, 4) = c.year and {held_after_oc}
    left join set_rows as s on s.submission_id = c.submission_id and {key_match_so}
),

derived as (
    {derived}
),

part_rows as (
    select d.judged, d.reporter, d.area, d.indicator, {dims_d}, d.period, min(s.row_number) as part_row
    from derived as d
    join set_rows as s
        on s.submission_id = d.judged and {cell_match_sd} and list_contains(d.derived_from, s.period)
    group by all
)

select d.judged as submission_id, coalesce(r.row_number, p.part_row) as row_number,
       d.reporter, d.area, d.indicator, {dims_d}, d.period, r.value as reported_value, d.value as parts_value,
       d.derived_from
from derived as d
join effective as r on r.judged = d.judged and {cell_match_rd} and r.period = d.period
left join part_rows as p on p.judged = d.judged and {cell_match_pd} and p.period = d.period
where r.value <> d.value and (r.row_number is not null or p.part_row is not null)
