{# The columns a file may hold, every one text: what a file lacks comes out null (UNION ALL BY NAME). #}
{% macro file_columns() -%}
  {%- set columns = ['reporter', 'period', 'indicator', 'area'] + var('dimensions') + ['value', 'status', 'comment'] -%}
  {%- for column in columns %}null::varchar as {{ column }}{{ ", " if not loop.last }}{% endfor %}, null::varchar as filename
{%- endmacro %}

{# Every part of a dimension beside its total (same file, same other cells): the groups whose parts add up to
   more than the total, or whose complete set of named parts does not add up to it. #}
{% macro parts_against_totals(relation) -%}
  {%- set dims = var('dimensions') -%}
  {%- for dim, leaves in var('parts').items() %}
    {%- set others = ['filename', 'reporter', 'period', 'indicator', 'area'] + (dims | reject('equalto', dim) | list) -%}
    {%- set named = leaves | reject('equalto', '_U') | list %}
    select '{{ dim }}' as dimension, {{ others | join(', ') }}, parts_sum, total
    from (
        select {{ others | join(', ') }}, sum(value) as parts_sum,
               count(distinct {{ dim }}) filter (where {{ dim }} in ('{{ named | join("', '") }}')) as named
        from {{ relation }}
        where {{ dim }} in ('{{ leaves | join("', '") }}')
        group by all
    ) as parts
    join (select {{ others | join(', ') }}, value as total from {{ relation }} where {{ dim }} = '_T') as totals
      using ({{ others | join(', ') }})
    where parts_sum > total or (named = {{ named | length }} and parts_sum <> total)
    {{ "union all" if not loop.last }}
  {%- endfor %}
{%- endmacro %}
