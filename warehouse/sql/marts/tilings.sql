{% from 'macros.sql' import by_columns, by_match with context -%}
-- Every way to make up a span of months of one year from figures of the same reporter,
-- area, indicator and cut: a chain of figures, each starting where the one before ends
-- (2019-S1, 2019-Q3, 2019-10, 2019-11, 2019-12 make up 2019). One row per chain, with
-- the months it spans [first_month, end_month) counted from 0, its sum and its figures
-- in order; `part_row` is the least of their rows in the judged submission (null for
-- the marts, which judge no submission). Only the years in which a reporter's cut holds
-- figures of at least two period types can disagree, so only those are chained. The months
-- of each period are transforms/periods.py's `Period.months` (a test checks they agree).
--
-- Template: `source` (here {{ source }}) has the columns of core.observations; `by` names further columns
-- to keep apart (by_columns, by_match), such as the submission a judgement is for; `row`
-- is the expression of a figure's row in the judged submission.
with recursive mixed as (
    select {{ by_columns() }}reporter, area, indicator, sex, age, citizenship, referral, offence, country,
           substr(period, 1, 4) as year
    from {{ source }}
    group by all
    having min(period_type) <> max(period_type)
),

pieces as materialized (
    select
        {{ by_columns('o') }}o.reporter, o.area, o.indicator,
        o.sex, o.age, o.citizenship, o.referral, o.offence, o.country,
        m.year, o.period, o.period_type, o.value::hugeint as value, {{ row | default('null::bigint') }} as part_row,
        case o.period_type
            when 'half' then 6 * (cast(substr(o.period, 7, 1) as integer) - 1)
            when 'quarter' then 3 * (cast(substr(o.period, 7, 1) as integer) - 1)
            when 'month' then cast(substr(o.period, 6, 2) as integer) - 1
            else 0
        end as first_month,
        case o.period_type
            when 'year' then 12
            when 'half' then 6 * cast(substr(o.period, 7, 1) as integer)
            when 'quarter' then 3 * cast(substr(o.period, 7, 1) as integer)
            when 'month' then cast(substr(o.period, 6, 2) as integer)
            when 'ytd' then cast(substr(o.period, 14, 2) as integer)
        end as end_month
    from {{ source }} as o
    join mixed as m
        on {{ by_match('m', 'o') }}m.reporter = o.reporter and m.area = o.area and m.indicator = o.indicator
        and m.sex = o.sex and m.age = o.age and m.citizenship = o.citizenship and m.referral = o.referral
        and m.offence = o.offence and m.country = o.country and m.year = substr(o.period, 1, 4)
),

chains as (
    select {{ by_columns() }}reporter, area, indicator, sex, age, citizenship, referral, offence, country, year,
           first_month, end_month, value, [period] as parts, part_row
    from pieces
    union all
    select {{ by_columns('c') }}c.reporter, c.area, c.indicator,
           c.sex, c.age, c.citizenship, c.referral, c.offence, c.country,
           c.year, c.first_month, p.end_month, c.value + p.value, list_append(c.parts, p.period),
           least(c.part_row, p.part_row)
    from chains as c
    join pieces as p
        on {{ by_match('p', 'c') }}p.reporter = c.reporter and p.area = c.area and p.indicator = c.indicator
        and p.sex = c.sex and p.age = c.age and p.citizenship = c.citizenship and p.referral = c.referral
        and p.offence = c.offence and p.country = c.country and p.year = c.year and p.first_month = c.end_month
)

select * from chains
