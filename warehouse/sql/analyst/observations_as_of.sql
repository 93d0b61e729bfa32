-- core.observations_as_of(ts): the keys as they were known at time ts: a timestamptz,
-- or a text or timestamp. A time written without a zone is UTC in every session,
-- whatever its TimeZone setting; a time with a zone or offset is that instant.
create or replace macro core.observations_as_of(ts) as table
with instant as (
    select case
        when regexp_full_match(trim(ts::varchar), '[0-9]+-[0-9]+-[0-9]+([ T][0-9]+:[0-9]+(:[0-9]+([.][0-9]*)?)?)?')
            then timezone('UTC', trim(ts::varchar)::timestamp)
        else ts::varchar::timestamptz
    end as at
)
select h.* exclude (valid_to)
from core.observation_history as h, instant as i
where h.valid_from <= i.at and (h.valid_to is null or h.valid_to > i.at)
