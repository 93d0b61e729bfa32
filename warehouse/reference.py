"""The registry's code lists copied into the warehouse, where analysts and the load's audit read them."""

from __future__ import annotations

import hashlib

import duckdb
import polars as pl

from schemas.registry import Registry
from warehouse.database import digest_of, insert_frame, keep_digest


def reference_frames(registry: Registry) -> dict[str, pl.DataFrame]:
    """The rows of each reference table (reporters, indicators, codes, areas) as the registry gives them."""
    reporters = registry.reporters.values()
    codes = []
    for name, dim in registry.dimensions.items():
        aggregate_of = dim.aggregate_of()
        codes += [(name, code, dim.labels.get(code), code in dim.leaves, aggregate_of.get(code)) for code in dim.codes]
    return {
        "core.reporters": pl.DataFrame(
            {
                "reporter": list(registry.reporters),
                "name": [r.name for r in reporters],
                "consolidates": [r.consolidates for r in reporters],
                "period_type": [r.calendar.period_type if r.calendar else None for r in reporters],
                "due_days": [r.calendar.due_days if r.calendar else None for r in reporters],
                "first_period": [r.calendar.first_period if r.calendar else None for r in reporters],
            },
            schema_overrides={"period_type": pl.String, "due_days": pl.Int32, "first_period": pl.String},
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
        "core.codes": pl.DataFrame(codes, schema=["dimension", "code", "label", "is_leaf", "aggregate"], orient="row"),
        "core.areas": pl.DataFrame(
            [(a.code, a.name, a.first_year, a.last_year) for a in registry.areas.values()],
            schema={"area": pl.String, "name": pl.String, "first_year": pl.Int32, "last_year": pl.Int32},
            orient="row",
        ),
    }


def refresh_reference(con: duckdb.DuckDBPyConnection, registry: Registry) -> None:
    """Make the reference tables hold the registry's rows; they are rewritten only when those differ from the
    rows copied last (`pipeline.digests`), so a load under an unchanged registry writes none of them."""
    tables = reference_frames(registry)
    digest = hashlib.sha256(repr([(table, frame.rows()) for table, frame in tables.items()]).encode()).hexdigest()
    if digest_of(con, "reference") == digest:
        return
    for table, frame in tables.items():
        con.execute(f"delete from {table}")
        insert_frame(con, table, frame)
    keep_digest(con, "reference", digest)
