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
