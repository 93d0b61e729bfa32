-- Reviewers' acts on a reporter-period: `approve` signs its figures off, `unapprove` lifts that so a
-- corrected file can be sent. A reporter-period is approved at a time when its latest act by then is
-- `approve`; a submission received while it is approved may not change its figures (rule period_approved).
create table if not exists audit.approvals (
    reporter varchar not null,
    period   varchar not null,
    action   varchar not null check (action in ('approve', 'unapprove')),
    "by"     varchar not null,
    "at"     timestamptz not null,
    note     varchar                  -- the reviewer's note; for `unapprove`, the reason
);
