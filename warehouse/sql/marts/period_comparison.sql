-- marts.period_comparison: one row per reporter, area, indicator, cut and period,
-- reported or derived from shorter periods (is_derived), beside the same key one
-- year before (base_*) and in the period just before (previous_*).
-- The figures come from figures.sql over the observations compared.
with figures as (
    {% include 'marts/figures.sql' %}
),

compared as (
    select
        f.*,
        core.base_period(f.period, f.period_type) as base_period,
        core.previous_period(f.period, f.period_type) as previous_period
    from figures as f
)

select
    c.reporter, c.area, c.indicator, c.sex, c.age, c.citizenship, c.referral, c.offence, c.country,
    c.period, c.period_type, c.value, c.base_period, b.value as base_value,
    c.value - b.value as change,
    case when b.value is null or b.value = 0 then null else 100.0 * (c.value - b.value) / b.value end as change_pct,
    c.status, b.status as base_status,
    c.previous_period, p.value as previous_value,
    c.value - p.value as previous_change,
    case when p.value is null or p.value = 0 then null else 100.0 * (c.value - p.value) / p.value end
        as previous_change_pct,
    c.is_derived
from compared as c
left join figures as b
    on  b.reporter = c.reporter and b.area = c.area and b.indicator = c.indicator
    and b.sex = c.sex and b.age = c.age and b.citizenship = c.citizenship
    and b.referral = c.referral and b.offence = c.offence and b.country = c.country
    and b.period = c.base_period
left join figures as p
    on  p.reporter = c.reporter and p.area = c.area and p.indicator = c.indicator
    and p.sex = c.sex and p.age = c.age and p.citizenship = c.citizenship
    and p.referral = c.referral and p.offence = c.offence and p.country = c.country
    and p.period = c.previous_period
