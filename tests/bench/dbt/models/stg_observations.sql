-- Every row of every file of the inbox: codes as sent, `_T` where a dimension is blank or absent,
-- the area KH where it is blank, the value as a whole number (null when it is none).
{% set formats = var('formats', ['csv']) %}
with rows as (
    select {{ file_columns() }} where false
    {% if 'csv' in formats %}
    union all by name
    select * from {{ source('inbox', 'csv_files') }}
    {% endif %}
    {% if 'json' in formats %}
    union all by name
    select * exclude (file_reporter, reporter), coalesce(reporter, file_reporter) as reporter
    from (
        select {{ file_columns() }}, null::varchar as file_reporter where false
        union all by name
        select filename, reporter as file_reporter, unnest(observations, recursive := true)
        from {{ source('inbox', 'json_files') }}
    )
    {% endif %}
    union all by name
    select * from {{ ref('stg_xlsx') }}
)
select filename, reporter, period, lower(indicator) as indicator, coalesce(nullif(trim(area), ''), 'KH') as area,
    {% for dim in var('dimensions') %}coalesce(nullif(trim({{ dim }}), ''), '_T') as {{ dim }},
    {% endfor %}try_cast(value as bigint) as value
from rows
