-- One row per key that is current now.
create or replace view core.observations as
select reporter, area, period, period_type, indicator,
       sex, age, citizenship, referral, offence, country,
       value, status, comment, submission_id, row_number, valid_from
from core.observation_history
where valid_to is null;
