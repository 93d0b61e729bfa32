{% from 'macros.sql' import by_columns, by_match with context -%}
-- Figures derived from shorter periods of the same reporter, key and cut: a year
-- from its two halves, a half from its quarters (or else its months), a quarter
-- from its months, a year-to-date from its months; only where every part is held.
-- These are the derivations of transforms/periods.py (`PeriodType.made_of`, preferred
-- first); a test checks that both derive the same figures from the same periods.
-- One row per derived key and period.
--
-- Template: `source` (here {{ source }}) has the columns of core.observations; `by` names further columns
-- to keep apart (by_columns), such as the submission a judgement is for.
with parts as (
    select *,
        cast(substr(period, 1, 4) as integer) as part_year,
        case when period_type = 'month' then cast(substr(period, 6, 2) as integer) end as part_month,
        case when period_type = 'quarter' then cast(substr(period, 7, 1) as integer) end as part_quarter
    from {{ source }}
    where period_type in ('half', 'quarter', 'month')
),

candidates as (
    select *, printf('%04d', part_year) as target, 'year' as target_type, 1 as preference, 2 as needed
    from parts where period_type = 'half'
    union all
    select *, printf('%04d-S%d', part_year, (part_quarter + 1) // 2), 'half', 1, 2
    from parts where period_type = 'quarter'
    union all
    select *, printf('%04d-S%d', part_year, (part_month + 5) // 6), 'half', 2, 6
    from parts where period_type = 'month'
    union all
    select *, printf('%04d-Q%d', part_year, (part_month + 2) // 3), 'quarter', 1, 3
    from parts where period_type = 'month'
    union all
    select p.*, printf('%04d-01/%04d-%02d', p.part_year, p.part_year, last_month), 'ytd', 1, last_month
    from parts as p, unnest(range(p.part_month, 13)) as months(last_month)
    where p.period_type = 'month'
),

sums as (
    select
        {{ by_columns() }}reporter, area, indicator, sex, age, citizenship, referral, offence, country,
        target as period, target_type as period_type, preference, needed,
        count(distinct period) as parts_held,
        try_cast(sum(value) as bigint) as value,
        case when bool_or(status = 'P') then 'P' when bool_or(status = 'E') then 'E' else 'A' end as status,
        list(period order by period) as derived_from
    from candidates
    group by all
)

select
    {{ by_columns() }}reporter, area, period, period_type, indicator, sex, age, citizenship, referral, offence, country,
    value, status, derived_from
from sums
where parts_held = needed and value is not null
qualify row_number() over (
    partition by {{ by_columns() }}reporter, area, indicator, sex, age, citizenship, referral, offence, country, period
    order by preference
) = 1
