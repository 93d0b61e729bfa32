{% from 'macros.sql' import key_columns, same_key with context -%}
-- The versions as they would stand once a run were applied, written nowhere: every version of
-- {{ history }}, the current one of a key the run changes ended where run_versions (versions.sql)
-- ends it, and the run's own versions after them. `ctip validate` judges a file over this view,
-- as if it had been loaded.
select h.* replace (coalesce(v.ends, h.valid_to) as valid_to)
from {{ history }} as h
left join (
    select {{ key_columns() }}, ends from run_versions where sequence = 0 and ends is not null
) as v
    on {{ same_key('h', 'v') }} and h.valid_to is null
union all by name
select {{ key_columns() }}, period_type, value, status, comment, submission_id, row_number,
       received_at as valid_from, ends as valid_to
from run_versions where sequence > 0 and present
