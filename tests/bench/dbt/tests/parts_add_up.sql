-- Fails on every group of parts that adds up to more than its total, or, complete, to another figure.
{{ parts_against_totals(ref('stg_observations')) }}
