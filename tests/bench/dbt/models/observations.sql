-- The figures inserted under their keys.
select reporter, period, indicator, area, {{ var('dimensions') | join(', ') }}, value
from {{ ref('stg_observations') }}
where value is not null
