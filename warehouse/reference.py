"""The registry's code lists copied into the warehouse, where analysts and the load's audit read them."""

from __future__ import annotations

import hashlib

import duckdb
import polars as pl

from schemas.registry import Registry
from warehouse.database import digest_of, insert_frame, keep_digest

# The columns of each reference table, in the order of its rows below.
COLUMNS: dict[str, dict[str, pl.DataType]] = {
    "core.reporters": {
        "reporter": pl.String,
        "name": pl.String,
        "consolidates": pl.Boolean,
        "period_type": pl.String,
        "due_days": pl.Int32,
        "first_period": pl.String,
    },
    "core.reporter_indicators": {"reporter": pl.String, "indicator": pl.String},
    "core.indicators": {
        "indicator": pl.String,
        "label": pl.String,
        "unit": pl.String,
        "dimensions": pl.List(pl.String),
    },
    "core.codes": {
        "dimension": pl.String,
        "code": pl.String,
        "label": pl.String,
        "is_leaf": pl.Boolean,
        "aggregate": pl.String,
    },
    "core.areas": {"area": pl.String, "name": pl.String, "first_year": pl.Int32, "last_year": pl.Int32},
}


def reference_rows(registry: Registry) -> dict[str, list[tuple]]:
    """The rows of each reference table (reporters, indicators, codes, areas) as the registry gives them."""
    codes = []
    for name, dim in registry.dimensions.items():
        aggregate_of, leaves = dim.aggregate_of(), set(dim.leaves)
        codes += [(name, code, dim.labels.get(code), code in leaves, aggregate_of.get(code)) for code in dim.codes]
    return {
        "core.reporters": [
            (
                code,
                r.name,
                r.consolidates,
                *(
                    (r.calendar.period_type, r.calendar.due_days, r.calendar.first_period)
                    if r.calendar
                    else (None,) * 3
                ),
            )
            for code, r in registry.reporters.items()
        ],
        "core.reporter_indicators": sorted(registry.allowed_pairs()),
        "core.indicators": [(code, i.label, i.unit, list(i.dimensions)) for code, i in registry.indicators.items()],
        "core.codes": codes,
        "core.areas": [(a.code, a.name, a.first_year, a.last_year) for a in registry.areas.values()],
    }


def refresh_reference(con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    """Make the reference tables hold the registry's rows; they are rewritten only when those differ from the
    rows copied last (`pipeline.digests`), so a load under an unchanged registry writes none of them and makes
    no frame of them."""
    tables = reference_rows(registry)
    digest = hashlib.sha256(repr(tables).encode()).hexdigest()
    if digest_of(con, "reference") == digest:
        return
    for table, rows in tables.items():
        con.execute(f"delete from {table}")
        insert_frame(con, table, pl.DataFrame(rows, schema=COLUMNS[table], orient="row"))
    keep_digest(con, "reference", digest)
