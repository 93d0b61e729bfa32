-- Rows of the incoming submission that give a held key another value.
-- {observations} is the state as known at $as_of (the submission's receipt).
select i.row_number, i.reporter, i.indicator, i.period, i.area, {dims_i},
       i.value as new_value, o.value as held_value, o.valid_from
from incoming as i
join {observations} as o on {key_match}
where i.action = 'I' and o.value <> i.value
order by i.row_number
