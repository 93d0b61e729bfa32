-- The comparison of one period against any base period, as known at $as_of
-- ('infinity' for now); now and with the year-before base it equals
-- marts.period_comparison. Parameters: $period, $base_period, $reporter (null for
-- every reporter), $as_of.
with known as (
    select * from core.observations_as_of($as_of)
),

current_observations as (
    select * from known
    where period = $period and ($reporter is null or reporter = $reporter)
),

base_observations as (
    select * from known where period = $base_period
)

select
    c.reporter, c.area, c.indicator, c.sex, c.age, c.citizenship, c.referral, c.offence, c.country,
    c.period, c.period_type, c.value, $base_period::varchar as base_period, b.value as base_value,
    c.value - b.value as change,
    case when b.value is null or b.value = 0 then null
         else 100.0 * (c.value - b.value) / b.value end as change_pct,
    c.status, b.status as base_status
from current_observations as c
left join base_observations as b
    on  b.reporter = c.reporter and b.area = c.area and b.indicator = c.indicator
    and b.sex = c.sex and b.age = c.age and b.citizenship = c.citizenship
    and b.referral = c.referral and b.offence = c.offence and b.country = c.country
