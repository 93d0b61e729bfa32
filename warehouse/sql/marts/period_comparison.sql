-- marts.period_comparison: one row per reporter, area, indicator, cut and period
-- that is current, beside the same key one year before.
with current_observations as (
    select o.*, p.base_period
    from core.observations as o
    join core.periods as p using (period)
),

compared as (
    select
        c.reporter, c.area, c.indicator,
        c.sex, c.age, c.citizenship, c.referral, c.offence, c.country,
        c.period, c.period_type, c.value, c.status,
        c.base_period, b.value as base_value, b.status as base_status
    from current_observations as c
    left join core.observations as b
        on  b.reporter = c.reporter and b.area = c.area and b.indicator = c.indicator
        and b.sex = c.sex and b.age = c.age and b.citizenship = c.citizenship
        and b.referral = c.referral and b.offence = c.offence and b.country = c.country
        and b.period = c.base_period
)

select
    reporter, area, indicator, sex, age, citizenship, referral, offence, country,
    period, period_type, value, base_period, base_value,
    value - base_value as change,
    case when base_value is null or base_value = 0 then null
         else 100.0 * (value - base_value) / base_value end as change_pct,
    status, base_status
from compared
