"""The marts' SQL: the templates of sql/marts/ rendered over a chosen source of observations.

figures.sql (with tilings.sql and derived_figures.sql) is included whole by the marts and by
the judgements (sql/judgement/), each over its own source.
"""

from __future__ import annotations

from warehouse.sqlfiles import render_sql

CURRENT = "core.observations"
AS_OF = "core.observations_as_of($as_of)"


def period_comparison_sql(source: str = CURRENT) -> str:
    """marts.period_comparison over `source`: each figure beside its base and previous period."""
    return render_sql("marts/period_comparison.sql", source=source, by=[])


def compare_with_base_sql() -> str:
    """One period against any base, as known at $as_of (compare_with_base.sql)."""
    return render_sql("marts/compare_with_base.sql", source=AS_OF, by=[])


def completeness_sql(
    zone: str,
    as_of: str = "now()",
    within: bool = False,
    submission_periods: str = "audit.submission_periods",
    ended_by: str | None = None,
) -> str:
    """marts.completeness (completeness.sql): each reporter-period of the calendar that has ended by `as_of`
    (an SQL expression: now(), or $as_of), judged in the time zone `zone` (a tz database name); `within`:
    only the periods from $within_start to $within_end (dates, the end exclusive). `ended_by` (an SQL
    expression, later than `as_of`) lists the periods that end by then instead, judged as at `as_of` all the
    same: those not ended yet are `not_due`, or `on_time` when a figure of theirs is already loaded."""
    quoted = "'" + zone.replace("'", "''") + "'"
    return render_sql(
        "marts/completeness.sql",
        as_of=as_of,
        zone=quoted,
        within=within,
        submission_periods=submission_periods,
        ended_by=ended_by or as_of,
    )
