{% from 'macros.sql' import key_columns with context -%}
-- The keys a run gives more than one event (versions.sql): a key it names in more than one row, or
-- one it names that holds a version in {{ history }}. Each key is known by its hash (`key_hash`);
-- a held version of another key with the same hash counts too, which only sends the run's key
-- through versions.sql's windows, where keys are told apart by their columns.
with run as (
    select hash({{ key_columns() }}) as key_hash from run_rows
)

select key_hash
from (
    select key_hash from run
    union all
    select hash({{ key_columns() }}) from {{ history }}
    where valid_to is null and hash({{ key_columns() }}) in (select key_hash from run)
)
group by key_hash
having count(*) > 1
