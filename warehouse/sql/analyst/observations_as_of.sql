-- core.observations_as_of(ts): the keys as they were known at time ts (a
-- timestamptz; a time without a zone is UTC).
create or replace macro core.observations_as_of(ts) as table
select * exclude (valid_to)
from core.observation_history
where valid_from <= ts::timestamptz and (valid_to is null or valid_to > ts::timestamptz)
