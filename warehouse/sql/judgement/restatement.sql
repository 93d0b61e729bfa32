-- Rows of the run that give a key another value than the one it held just before
-- their submission was received. run_rows: the run's keyed rows with their receipt
-- (sequence, at); {history}: every version, the run's own included.
select i.submission_id, i.row_number, i.reporter, i.indicator, i.period, i.area, {dims_i},
       i.value as new_value, o.value as held_value, o.valid_from
from run_rows as i
join {history} as o on {key_match_io}
where i.action = 'I' and o.value <> i.value and {held_before_o}
