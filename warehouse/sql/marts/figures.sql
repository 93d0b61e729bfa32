-- Every figure: reported (the source observations: now, or as known at a time) and
-- derived from shorter periods where none is reported (is_derived).
with reported as (
    select reporter, area, period, period_type, indicator, sex, age, citizenship, referral, offence, country,
           value, status, false as is_derived
    from {source}
),

derived as (
    select d.reporter, d.area, d.period, d.period_type, d.indicator,
           d.sex, d.age, d.citizenship, d.referral, d.offence, d.country,
           d.value, d.status, true as is_derived
    from ({derived}) as d
    anti join reported as r
        using (reporter, area, period, indicator, sex, age, citizenship, referral, offence, country)
),

figures as (
    select * from reported
    union all
    select * from derived
)

select * from figures
