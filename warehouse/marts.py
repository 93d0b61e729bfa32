"""The marts' SQL, composed from the templates in sql/marts/ over a chosen source of observations."""

from __future__ import annotations

from warehouse.sqlfiles import sql_text

CURRENT = "core.observations"
AS_OF = "core.observations_as_of($as_of)"


def figures_sql(source: str = CURRENT) -> str:
    """Reported and derived figures (figures.sql) over `source`."""
    derived = sql_text("marts", "derived_figures.sql").format(source=source, by="")
    return sql_text("marts", "figures.sql").format(source=source, derived=derived)


def period_comparison_sql(source: str = CURRENT) -> str:
    return sql_text("marts", "period_comparison.sql").format(figures=figures_sql(source))


def compare_with_base_sql() -> str:
    return sql_text("marts", "compare_with_base.sql").format(figures=figures_sql(AS_OF))
