-- The period types held, once the incoming submission is applied, for its reporter
-- and years: derived figures need a longer type and a shorter one together.
select distinct period_type from incoming where action = 'I'
union
select o.period_type
from {observations} as o
where o.reporter in (select reporter from incoming)
  and substr(o.period, 1, 4) in (select substr(period, 1, 4) from incoming)
