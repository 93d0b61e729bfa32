{% from 'macros.sql' import by_columns, by_match with context -%}
{%- set cell_columns = ['reporter', 'area', 'indicator', 'sex', 'age', 'citizenship', 'referral', 'offence', 'country'] %}
{#- The columns of a figure's key but its period (its cell), of table `alias` when one is given -#}
{% macro cell(alias='') -%}
    {{ by_columns(alias) }}{% for name in cell_columns %}{{ alias ~ '.' if alias else '' }}{{ name }}{{ ', ' if not loop.last else '' }}{% endfor %}
{%- endmacro %}
{#- Rows `left` and `right` are of the same cell: `left.c = right.c and ...` -#}
{% macro same_cell(left, right) -%}
    {{ by_match(left, right) }}{% for name in cell_columns %}{{ left }}.{{ name }} = {{ right }}.{{ name }}{{ ' and ' if not loop.last else '' }}{% endfor %}
{%- endmacro %}
{#- The figures `candidates` add up to (each row a part, with its `target` and `target_type` and the `needed`
    number of parts), where every part is held, and no one reported the figure -#}
{% macro summed(candidates) -%}
    select {{ cell('s') }}, s.target as period, s.target_type as period_type, s.total as value, s.status,
           s.derived_from
    from (
        select {{ cell() }}, target, target_type,
               try_cast(sum(value) as bigint) as total,
               case when bool_or(status = 'P') then 'P' when bool_or(status = 'E') then 'E' else 'A' end as status,
               flatten(list(derived_from order by period)) as derived_from
        from {{ candidates }}
        group by {{ cell() }}, target, target_type, needed
        having count(distinct period) = needed
    ) as s
    anti join reported as r on {{ same_cell('r', 's') }} and r.period = s.target
    where s.total is not null
{%- endmacro -%}
-- Figures derived from shorter periods of the same reporter, key and cut where no one reported
-- them: a quarter from its months, a half from its quarters, a year from its halves, a
-- year-to-date from its months; only where every part is held, reported or itself derived, so that
-- a year is derived from four quarters or twelve months as well as from two halves. A part someone
-- reported is taken before one derived. These are the derivations of transforms/periods.py
-- (`PeriodType.made_of`, preferred first; a half whose months are all held has its quarters, so it
-- adds up its quarters); a test checks that both derive the same figures from the same periods.
-- One row per derived key and period, with the reported figures it adds up, in order (derived_from),
-- and the status of the least final of them (P, then E, then A).
--
-- Template: `source` (here {{ source }}) has the columns of core.observations; `by` names further columns
-- to keep apart (by_columns), such as the submission a judgement is for.
with reported as materialized (
    select {{ cell() }}, period, period_type, value, status, [period] as derived_from
    from {{ source }}
),

months as (
    select *, cast(substr(period, 1, 4) as integer) as part_year, cast(substr(period, 6, 2) as integer) as part_month
    from reported
    where period_type = 'month'
),

from_months as (
    select *, printf('%04d-Q%d', part_year, (part_month + 2) // 3) as target, 'quarter' as target_type, 3 as needed
    from months
    union all
    select m.*, printf('%04d-01/%04d-%02d', m.part_year, m.part_year, last_month), 'ytd', last_month
    from months as m, unnest(range(m.part_month, 13)) as last_months(last_month)
),

derived_from_months as materialized (
    {{ summed('from_months') }}
),

quarters as (
    select {{ cell() }}, period, period_type, value, status, derived_from from reported where period_type = 'quarter'
    union all
    select {{ cell() }}, period, period_type, value, status, derived_from
    from derived_from_months where period_type = 'quarter'
),

from_quarters as (
    select *,
        printf('%s-S%d', substr(period, 1, 4), (cast(substr(period, 7, 1) as integer) + 1) // 2) as target,
        'half' as target_type, 2 as needed
    from quarters
),

derived_halves as materialized (
    {{ summed('from_quarters') }}
),

halves as (
    select {{ cell() }}, period, period_type, value, status, derived_from from reported where period_type = 'half'
    union all
    select {{ cell() }}, period, period_type, value, status, derived_from from derived_halves
),

from_halves as (
    select *, substr(period, 1, 4) as target, 'year' as target_type, 2 as needed
    from halves
),

derived_years as (
    {{ summed('from_halves') }}
)

select {{ by_columns() }}reporter, area, period, period_type, indicator, sex, age, citizenship, referral, offence, country,
       value, status, derived_from
from (
    select * from derived_from_months
    union all
    select * from derived_halves
    union all
    select * from derived_years
)
