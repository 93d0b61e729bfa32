{% from 'macros.sql' import by_columns, by_match with context -%}
-- Every figure: reported (the source observations: now, or as known at a time) and
-- derived from shorter periods where none is reported, from parts reported or themselves
-- derived (derived_figures.sql: is_derived, with the reported periods it adds up in
-- derived_from). A figure is derived only from a year of a reporter's cut whose reported
-- figures agree with each other: where two ways of making up the same months give
-- different sums (tilings.sql), nothing of that year is derived, so the table never shows
-- a derived figure that contradicts a reported one, and every way of adding up a derived
-- figure gives the same sum.
--
-- Template: `source` (here {{ source }}) has the columns of core.observations; `by` names further columns
-- to keep apart (by_columns, by_match), such as the submission a judgement is for.
with reported as (
    select {{ by_columns() }}reporter, area, period, period_type, indicator,
           sex, age, citizenship, referral, offence, country, value, status, false as is_derived, null::varchar[] as derived_from
    from {{ source }}
),

contradictory as (
    select distinct {{ by_columns() }}reporter, area, indicator, sex, age, citizenship, referral, offence, country, year
    from (
        {% include 'marts/tilings.sql' %}
    )
    group by {{ by_columns() }}reporter, area, indicator, sex, age, citizenship, referral, offence, country, year,
             first_month, end_month
    having count(distinct value) > 1
),

derived as (
    select {{ by_columns('d') }}d.reporter, d.area, d.period, d.period_type, d.indicator,
           d.sex, d.age, d.citizenship, d.referral, d.offence, d.country,
           d.value, d.status, true as is_derived, d.derived_from
    from (
        {% include 'marts/derived_figures.sql' %}
    ) as d
    anti join contradictory as x
        on {{ by_match('x', 'd') }}x.reporter = d.reporter and x.area = d.area and x.indicator = d.indicator
        and x.sex = d.sex and x.age = d.age and x.citizenship = d.citizenship and x.referral = d.referral
        and x.offence = d.offence and x.country = d.country and x.year = substr(d.period, 1, 4)
),

figures as (
    select * from reported
    union all
    select * from derived
)

select * from figures
