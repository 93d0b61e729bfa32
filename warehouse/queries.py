"""Read-only questions analysts and the command line ask of the warehouse."""

from __future__ import annotations

import duckdb
import polars as pl

from schemas.registry import TOTAL, Registry
from warehouse.sqlfiles import sql_text


def comparison(
    con: duckdb.DuckDBPyConnection, registry: Registry, period: str, base_period: str | None = None,
    reporter: str | None = None, default_base: str | None = None,
) -> pl.DataFrame:
    """Rows of the comparison table for `period`, headline figures (no cut) first.

    Without `base_period` (or with the year before) the rows come from
    `marts.period_comparison` as analysts see it.
    """
    if base_period is None or base_period == default_base:
        frame = con.sql(
            "select * from marts.period_comparison where period = $period and ($reporter is null or reporter = $reporter)",
            params={"period": period, "reporter": reporter},
        ).pl()
    else:
        frame = con.sql(
            sql_text("marts", "compare_with_base.sql"),
            params={"period": period, "base_period": base_period, "reporter": reporter},
        ).pl()
    dims = list(registry.dimension_names)
    cut_size = pl.sum_horizontal([(pl.col(d) != TOTAL).cast(pl.Int8) for d in dims])
    return frame.with_columns(cut_size.alias("_cut_size")).sort(
        "reporter", "area", "indicator", "_cut_size", *dims
    ).drop("_cut_size")
