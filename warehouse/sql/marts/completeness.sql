-- marts.completeness: one row per reporter and period of its reporting calendar (core.reporters)
-- that has ended by {{ as_of }}, in the zone {{ zone }}: when it was due, when it arrived and
-- whether that was on time. A reporter-period arrived with the first loaded submission of that
-- reporter holding a figure of that period (an empty template names it and holds none) (its upload time for the portal, else its receipt);
-- only submissions received by {{ as_of }} count, so the same query answers "as known then".
-- With `within`, only the periods from $within_start to $within_end (exclusive). With `ended_by`
-- later than {{ as_of }} (the reminders: what falls due soon), the periods that end by then, judged
-- as at {{ as_of }}.
with clock as (
    select cast({{ as_of }} as timestamptz) as as_of, cast({{ ended_by }} as timestamptz) as ended_by
),

calendar as (
    select
        reporter, period_type, due_days,
        case period_type
            when 'month' then make_date(cast(substr(first_period, 1, 4) as integer),
                                        cast(substr(first_period, 6, 2) as integer), 1)
            when 'quarter' then make_date(cast(substr(first_period, 1, 4) as integer),
                                          3 * cast(substr(first_period, 7, 1) as integer) - 2, 1)
            when 'half' then make_date(cast(substr(first_period, 1, 4) as integer),
                                       6 * cast(substr(first_period, 7, 1) as integer) - 5, 1)
            else make_date(cast(substr(first_period, 1, 4) as integer), 1, 1)
        end as first_start,
        case period_type when 'month' then 1 when 'quarter' then 3 when 'half' then 6 else 12 end as months
    from core.reporters
    where period_type is not null
),

starts as (
    select
        c.reporter, c.period_type, c.due_days, c.months,
        cast(unnest(generate_series(
            cast(c.first_start as timestamp),
            timezone({{ zone }}, (select ended_by from clock)),
            to_months(c.months)
        )) as date) as start_date
    from calendar as c
),

periods as (
    select
        reporter, period_type,
        case period_type
            when 'month' then strftime(start_date, '%Y-%m')
            when 'quarter' then printf('%04d-Q%d', year(start_date), quarter(start_date))
            when 'half' then printf('%04d-S%d', year(start_date), case when month(start_date) <= 6 then 1 else 2 end)
            else printf('%04d', year(start_date))
        end as period,
        start_date,
        timezone({{ zone }}, cast(start_date + to_months(months) as timestamp)) as ends_at,
        timezone({{ zone }}, cast(start_date + to_months(months) + to_days(due_days) as timestamp)) as due_at
    from starts
),

arrivals as (
    select
        s.reporter, p.period,
        min(coalesce(s.uploaded_at, s.received_at)) filter (where s.status = 'loaded') as arrived_at,
        count(*) filter (where s.status = 'rejected') as rejected
    from audit.submissions as s
    join {{ submission_periods }} as p using (submission_id)
    where s.received_at <= (select as_of from clock) and s.reporter is not null
        and p.figures is distinct from 0  -- a submission that names the period and holds no figure of it: not arrived
    group by s.reporter, p.period
),

judged as (
    select
        p.reporter, p.period, p.period_type, p.start_date, p.due_at, a.arrived_at,
        case
            when a.arrived_at is not null and a.arrived_at <= p.due_at then 'on_time'
            when a.arrived_at is not null then 'late'
            when p.due_at > c.as_of then 'not_due'
            when coalesce(a.rejected, 0) > 0 then 'rejected_only'
            else 'missing'
        end as status,
        c.as_of
    from periods as p
    cross join clock as c
    left join arrivals as a using (reporter, period)
    where p.ends_at <= c.ended_by
    {%- if within %}
        and p.start_date >= $within_start and p.start_date + to_months(
            case p.period_type when 'month' then 1 when 'quarter' then 3 when 'half' then 6 else 12 end
        ) <= $within_end
    {%- endif %}
)

select
    reporter, period, period_type, due_at, arrived_at, status,
    -- started days: a microsecond after due_at is one day late
    cast(case
        when status = 'late' then ceil((epoch_us(arrived_at) - epoch_us(due_at)) / 86400e6)
        when status in ('missing', 'rejected_only') then ceil((epoch_us(as_of) - epoch_us(due_at)) / 86400e6)
    end as integer) as days_late
from judged
order by due_at, reporter, start_date
