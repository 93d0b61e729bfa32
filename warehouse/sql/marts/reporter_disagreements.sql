-- marts.reporter_disagreements: one row per key where the consolidating reporter
-- (the NCCT) and a ministry hold different current values.
create or replace view marts.reporter_disagreements as
with consolidated as (
    select o.* from core.observations as o
    join core.reporters as r using (reporter)
    where r.consolidates
),

ministries as (
    select o.* from core.observations as o
    join core.reporters as r using (reporter)
    where not r.consolidates
)

select
    m.area, m.period, m.period_type, m.indicator,
    m.sex, m.age, m.citizenship, m.referral, m.offence, m.country,
    c.reporter as consolidated_reporter, c.value as consolidated_value,
    m.reporter, m.value as reporter_value,
    m.value - c.value as difference,
    case when c.value = 0 then null else 100.0 * (m.value - c.value) / c.value end as difference_pct
from ministries as m
join consolidated as c
    on  c.area = m.area and c.period = m.period and c.indicator = m.indicator
    and c.sex = m.sex and c.age = m.age and c.citizenship = m.citizenship
    and c.referral = m.referral and c.offence = m.offence and c.country = m.country
where c.value <> m.value
