"""The marts' SQL, composed from the templates in sql/marts/ over a chosen source of observations."""

from __future__ import annotations

from warehouse.sqlfiles import sql_text

CURRENT = "core.observations"
AS_OF = "core.observations_as_of($as_of)"


def _by(by: tuple[str, ...], alias: str = "") -> str:
    """The `by` prefix of a template's column lists: further columns to keep apart, each with a comma."""
    return "".join(f"{alias}{column}, " for column in by)


def _by_match(by: tuple[str, ...], left: str, right: str) -> str:
    return "".join(f"{left}.{column} = {right}.{column} and " for column in by)


def tilings_sql(source: str = CURRENT, by: tuple[str, ...] = (), row: str = "null::bigint") -> str:
    """Every chain of figures making up a span of months of one year (tilings.sql) over `source`.

    `row` is the expression (over the source as `o`) of a figure's row in the judged submission.
    """
    return sql_text("marts", "tilings.sql").format(
        source=source, by=_by(by), by_o=_by(by, "o."), by_c=_by(by, "c."), by_match=_by_match(by, "p", "c"),
        by_match_mo=_by_match(by, "m", "o"), row=row,
    )


def figures_sql(source: str = CURRENT, by: tuple[str, ...] = ()) -> str:
    """Reported and derived figures (figures.sql) over `source`."""
    derived = sql_text("marts", "derived_figures.sql").format(source=source, by=_by(by))
    return sql_text("marts", "figures.sql").format(
        source=source, derived=derived, tilings=tilings_sql(source, by), by=_by(by), by_d=_by(by, "d."),
        by_match_xd=_by_match(by, "x", "d"),
    )


def period_comparison_sql(source: str = CURRENT) -> str:
    return sql_text("marts", "period_comparison.sql").format(figures=figures_sql(source))


def compare_with_base_sql() -> str:
    return sql_text("marts", "compare_with_base.sql").format(figures=figures_sql(AS_OF))
