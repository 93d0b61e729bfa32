"""The registry's code lists copied into the warehouse, where analysts and the load's audit read them."""

from __future__ import annotations

import duckdb
import polars as pl

from schemas.registry import Registry
from warehouse.database import insert_frame


def refresh_reference(con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    """Replace the reference tables (reporters, indicators, codes, areas) with the registry's."""
    tables = {
        "core.reporters": pl.DataFrame(
            {
                "reporter": list(registry.reporters),
                "name": [r.name for r in registry.reporters.values()],
                "consolidates": [r.consolidates for r in registry.reporters.values()],
            }
        ),
        "core.reporter_indicators": pl.DataFrame(
            sorted(registry.allowed_pairs()), schema=["reporter", "indicator"], orient="row"
        ),
        "core.indicators": pl.DataFrame(
            {
                "indicator": list(registry.indicators),
                "label": [i.label for i in registry.indicators.values()],
                "unit": [i.unit for i in registry.indicators.values()],
                "dimensions": [list(i.dimensions) for i in registry.indicators.values()],
            },
            schema_overrides={"dimensions": pl.List(pl.String)},
        ),
        "core.codes": pl.DataFrame(
            [
                (name, code, dim.labels.get(code), code in dim.leaves, dim.aggregate_of().get(code))
                for name, dim in registry.dimensions.items()
                for code in dim.codes
            ],
            schema=["dimension", "code", "label", "is_leaf", "aggregate"],
            orient="row",
        ),
        "core.areas": pl.DataFrame(
            [(a.code, a.name, a.first_year, a.last_year) for a in registry.areas.values()],
            schema={"area": pl.String, "name": pl.String, "first_year": pl.Int32, "last_year": pl.Int32},
            orient="row",
        ),
    }
    for table, frame in tables.items():
        con.execute(f"delete from {table}")
        insert_frame(con, table, frame)
