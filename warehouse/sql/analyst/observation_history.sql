-- core.observation_history in the analyst file: the published versions, closed by
-- the closures published after them. {history} and {closures} are lists of
-- Parquet files.
create or replace view core.observation_history as
select h.* exclude (valid_to), coalesce(h.valid_to, c.valid_to) as valid_to
from read_parquet({history}) as h
left join read_parquet({closures}) as c
    using (reporter, area, period, indicator, sex, age, citizenship, referral, offence, country, valid_from)
