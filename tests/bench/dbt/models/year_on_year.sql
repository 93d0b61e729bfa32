-- Each monthly figure beside the same key a year before.
{% set same = ['reporter', 'indicator', 'area'] + var('dimensions') %}
select c.*, b.value as base_value, c.value - b.value as change,
       100.0 * (c.value - b.value) / nullif(b.value, 0) as change_pct
from {{ ref('observations') }} c
left join {{ ref('observations') }} b
  on {% for column in same %}b.{{ column }} = c.{{ column }} and {% endfor %}
     b.period = strftime(try_strptime(c.period, '%Y-%m') - interval 1 year, '%Y-%m')
