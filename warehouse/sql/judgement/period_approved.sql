{% from 'macros.sql' import key_columns with context -%}
-- period_approved: the submissions that would add, change or withdraw a figure of a reporter-period
-- that was approved when they were received; one row per such submission and reporter-period, with the
-- first row that would change it.
--
-- Reads run_rows (the rows of the run's loaded submissions, each with the receipt of its submission:
-- sequence, received_at, and arrived_at: when the submission was received, its upload for the portal),
-- {{ history }} (the versions held) and {{ approvals }} (the reviewers' acts). A reporter-period is
-- approved for a submission when its latest act at or before the submission's arrival is `approve`: a
-- file uploaded before an approval is judged as the portal answered it, whenever a run takes it. Only the
-- keys of reporter-periods ever approved are followed: their events are the version held now (sequence
-- 0) and then the rows of the run's submissions in receipt order, those in $excluded (already rejected
-- by this rule) left out, so each submission is judged as if the rejected ones had never come. An event
-- changes a figure when it adds a key, withdraws a held one, or gives it another value or status; a
-- comment alone is no figure (a report that restates an approved period with other words may load).
with acts as (
    select reporter, period, action, "by", "at" from {{ approvals }}
),

followed as (
    select distinct r.reporter, r.period from run_rows as r semi join acts using (reporter, period)
),

events as (
    select {{ key_columns() }}, value, status, submission_id, true as present,
           0::bigint as sequence, 0::bigint as row_number, null::timestamptz as arrived_at
    from {{ history }}
    semi join followed using (reporter, period)
    where valid_to is null
    union all
    select {{ key_columns() }}, value, status, submission_id, action = 'I' as present,
           sequence, row_number, arrived_at
    from run_rows
    semi join followed using (reporter, period)
    where not list_contains($excluded::varchar[], submission_id)
),

marked as (
    select *,
        sequence > 0 and (
            present is distinct from coalesce(lag(present) over key_order, false)
            or (present and (
                value is distinct from lag(value) over key_order
                or status is distinct from lag(status) over key_order
            ))
        ) as changes
    from events
    window key_order as (partition by {{ key_columns() }} order by sequence, row_number)
),

changing as (
    select * from marked where changes
)

select c.submission_id, c.sequence, c.reporter, c.period,
       min(c.row_number) as row_number, any_value(a."by") as approved_by, any_value(a."at") as approved_at
from changing as c
asof join acts as a on a.reporter = c.reporter and a.period = c.period and c.arrived_at >= a."at"
where a.action = 'approve'
group by all
order by c.sequence, c.reporter, c.period
