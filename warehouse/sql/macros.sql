{#-
    The macros the query templates share (Jinja, in the style of dbt macros). A template
    imports the ones it uses:

        {% from 'macros.sql' import same_key, held_once_applied with context %}

    They write out what every query would otherwise spell column by column. The key of an
    observation comes from the registry (schemas/registry.toml): `key` is reporter, area,
    period, indicator and the dimensions; `dimension_names` the dimensions alone, in the
    registry's order. Render a template to read or run it whole:
    `python -m warehouse.sqlfiles judgement/restatement.sql`.
-#}

{#- The dimensions (sex, age, ...), of table `alias` when one is given: `i.sex, i.age, ...` -#}
{% macro dimensions(alias='') -%}
    {{ columns(dimension_names, alias) }}
{%- endmacro %}

{#- The whole key, of table `alias` when one is given: `reporter, area, period, indicator, sex, ...` -#}
{% macro key_columns(alias='') -%}
    {{ columns(key, alias) }}
{%- endmacro %}

{#- Some columns, of table `alias` when one is given -#}
{% macro columns(names, alias='') -%}
    {% for name in names %}{{ alias ~ '.' if alias else '' }}{{ name }}{{ ', ' if not loop.last else '' }}{% endfor %}
{%- endmacro %}

{#- Rows `left` and `right` hold the same key: the same figure -#}
{% macro same_key(left, right) -%}
    {{ same(key, left, right) }}
{%- endmacro %}

{#- The same key in any period: the same reporter, area, indicator and cut -#}
{% macro same_key_but_period(left, right) -%}
    {{ same(key | reject('equalto', 'period') | list, left, right) }}
{%- endmacro %}

{#- The same key of any reporter: the same area, period, indicator and cut -#}
{% macro same_key_but_reporter(left, right) -%}
    {{ same(key | reject('equalto', 'reporter') | list, left, right) }}
{%- endmacro %}

{#- `left.c = right.c and ...` for every column c of `names` -#}
{% macro same(names, left, right) -%}
    {% for name in names %}{{ left }}.{{ name }} = {{ right }}.{{ name }}{{ ' and ' if not loop.last else '' }}{% endfor %}
{%- endmacro %}

{#-
    Version `version` was current just before the submission of row `row` was applied: it began
    before the row's receipt and had not ended before it.
-#}
{% macro held_before(version, row) -%}
    ({{ version }}.valid_from < {{ row }}.received_at
     and ({{ version }}.valid_to is null or {{ version }}.valid_to >= {{ row }}.received_at))
{%- endmacro %}

{#-
    Version `version` was current once the submission of row `row` was applied: it began at or
    before the row's receipt and had not ended by then.
-#}
{% macro held_once_applied(version, row) -%}
    ({{ version }}.valid_from <= {{ row }}.received_at
     and ({{ version }}.valid_to is null or {{ version }}.valid_to > {{ row }}.received_at))
{%- endmacro %}

{#- With `by` (marts templates): further columns to keep apart, each followed by a comma -#}
{% macro by_columns(alias='') -%}
    {% for name in by %}{{ alias ~ '.' if alias else '' }}{{ name }}, {% endfor %}
{%- endmacro %}

{#- With `by`: `left.c = right.c and ` for each of them -#}
{% macro by_match(left, right) -%}
    {% for name in by %}{{ left }}.{{ name }} = {{ right }}.{{ name }} and {% endfor %}
{%- endmacro %}
