-- Rows where the consolidating reporter (NCCT) and a ministry hold different values
-- for the same indicator, period, area and cut, once the row's submission is applied
-- ({history} as known at its receipt). $consolidating lists the consolidating reporters.
select i.submission_id, i.row_number, i.reporter, i.indicator, i.period, i.area, {dims_i},
       i.value, o.reporter as other_reporter, o.value as other_value
from run_rows as i
join {history} as o on {cut_match_io}
where i.action = 'I'
  and o.value <> i.value
  and list_contains($consolidating, i.reporter) <> list_contains($consolidating, o.reporter)
  and {held_after_o}
