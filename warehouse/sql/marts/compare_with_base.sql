-- The comparison of one period against any base period: figures.sql over the
-- observations as known at $as_of ('infinity' for now). Parameters: $period,
-- $base_period, $reporter (null for every reporter), $as_of.
with figures as (
    {% include 'marts/figures.sql' %}
)

select
    c.reporter, c.area, c.indicator, c.sex, c.age, c.citizenship, c.referral, c.offence, c.country,
    c.period, c.period_type, c.value, $base_period::varchar as base_period, b.value as base_value,
    c.value - b.value as change,
    case when b.value is null or b.value = 0 then null
         else 100.0 * (c.value - b.value) / b.value end as change_pct,
    c.status, b.status as base_status, c.is_derived
from figures as c
left join figures as b
    on  b.reporter = c.reporter and b.area = c.area and b.indicator = c.indicator
    and b.sex = c.sex and b.age = c.age and b.citizenship = c.citizenship
    and b.referral = c.referral and b.offence = c.offence and b.country = c.country
    and b.period = $base_period
where c.period = $period and ($reporter is null or c.reporter = $reporter)
