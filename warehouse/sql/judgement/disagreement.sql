-- Rows where the consolidating reporter (NCCT) and a ministry hold different
-- values for the same indicator, period, area and cut, once the incoming
-- submission is applied. $consolidating lists the consolidating reporters.
select i.row_number, i.reporter, i.indicator, i.period, i.area, {dims_i},
       i.value, o.reporter as other_reporter, o.value as other_value
from incoming as i
join {observations} as o on {cut_match}
where i.action = 'I'
  and o.value <> i.value
  and list_contains($consolidating, i.reporter) <> list_contains($consolidating, o.reporter)
order by i.row_number, o.reporter
