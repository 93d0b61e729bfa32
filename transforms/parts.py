"""Parts against their total, side by side, for every dimension and every aggregate.

Rows of one submission that agree on every key column but one dimension D are the
parts (D not `_T`) of the row where D is `_T`. An aggregate that is present (such as
`Y_LT18` or `FOREIGN`) replaces its codes against the total, and its codes are
compared with it instead. This module only lines the figures up; the validator's
expectations judge them.
"""

from __future__ import annotations

import polars as pl

from schemas.registry import TOTAL, Registry

# Polars' engine for these queries of a few hundred thousand rows at most: the in-memory one took half the
# streaming one's time (Polars 2's default) for the checks of a 150,000-row batch on two cores
ENGINE = "in-memory"

CHECK_COLUMNS = {
    "submission_id": pl.String,
    "reporter": pl.String,
    "area": pl.String,
    "period": pl.String,
    "indicator": pl.String,
    "dimension": pl.String,
    "parent_code": pl.String,
    "parent_row": pl.Int64,
    "parent_value": pl.Int64,
    "parts_sum": pl.Int128,
    "complete": pl.Boolean,
    "part_rows": pl.List(pl.Int64),
    "part_codes": pl.List(pl.String),
    "part_values": pl.List(pl.Int64),
    # the codes the parts and their parent share in the other dimensions, where not the total ("offence=HT"), in
    # the registry's order: which total a message names
    "fixed": pl.List(pl.String),
}


def parts_against_totals(observations: pl.DataFrame, registry: Registry) -> pl.DataFrame:
    """One row per (total or aggregate) with its parts present: their sum and whether complete.

    `observations` holds rows that set a value (action I, value parsed), with the
    key columns, `submission_id`, `row_number` and `value`. The checks of every
    dimension are planned first and computed together (one query, not a few dozen
    small ones: a small file's cost was the frame operations' own).
    """
    names = registry.dimension_names
    if observations.height == 0 or not names:
        return pl.DataFrame(schema=CHECK_COLUMNS)
    # A dimension with no total and no aggregate has nothing to add parts up to; one with no code but the total
    # has no parts: neither has checks.
    with_checks = observations.select(
        (
            pl.col(name).is_in([TOTAL, *registry.dimensions[name].aggregates]).any() & (pl.col(name) != TOTAL).any()
        ).alias(name)
        for name in names
    ).row(0)
    rows = observations.lazy()
    plans = [
        plan
        for name, checked in zip(names, with_checks, strict=True)
        if checked
        for plan in _dimension_checks(rows, registry, name)
    ]
    if not plans:
        return pl.DataFrame(schema=CHECK_COLUMNS)
    return pl.concat(plans, how="vertical").collect(engine=ENGINE)


def _dimension_checks(observations: pl.LazyFrame, registry: Registry, name: str) -> list[pl.LazyFrame]:
    dimension = registry.dimensions[name]
    group = ["submission_id", *(c for c in registry.key_columns if c != name)]
    aggregate_of = dimension.aggregate_of()
    part_codes = [c for c in dimension.codes if c != TOTAL]
    codes = pl.LazyFrame(
        {
            name: part_codes,
            "_aggregate": [aggregate_of.get(c) for c in part_codes],
            "_leaves": [dimension.leaf_count(c) for c in part_codes],
        },
        schema={name: pl.String, "_aggregate": pl.String, "_leaves": pl.Int64},
    )
    rows = observations.select(*group, name, "row_number", "value")
    parts = rows.join(codes, on=name, how="inner")  # unknown codes are judged elsewhere
    present_aggregates = (
        parts.filter(pl.col(name).is_in(list(dimension.aggregates)))
        .select(*group, pl.col(name).alias("_aggregate"), pl.lit(True).alias("_shadowed"))
        .unique(subset=[*group, "_aggregate"])
    )
    parts = parts.join(present_aggregates, on=[*group, "_aggregate"], how="left")

    parents = rows.filter(pl.col(name).is_in([TOTAL, *dimension.aggregates])).rename(
        {"row_number": "parent_row", "value": "parent_value", name: "parent_code"}
    )  # a row is a parent only where its code is the total or an aggregate
    checks = []
    against_total = parts.filter(pl.col("_shadowed").is_null())
    total_leaves = len(dimension.leaves)
    checks.append(
        _sum_parts(against_total, group, name)
        .with_columns(pl.lit(TOTAL).alias("parent_code"))
        .join(parents, on=[*group, "parent_code"], how="inner")
        .with_columns((pl.col("_covered") == total_leaves).alias("complete"))
    )
    if dimension.aggregates:
        leaf_counts = pl.LazyFrame(
            {"parent_code": list(dimension.aggregates), "_needed": [len(v) for v in dimension.aggregates.values()]},
            schema={"parent_code": pl.String, "_needed": pl.Int64},
        )
        in_aggregates = parts.filter(pl.col("_aggregate").is_not_null() & pl.col("_shadowed"))
        checks.append(
            _sum_parts(in_aggregates, [*group, "_aggregate"], name)
            .rename({"_aggregate": "parent_code"})
            .join(parents, on=[*group, "parent_code"], how="inner")
            .join(leaf_counts, on="parent_code", how="left")
            .with_columns((pl.col("_covered") == pl.col("_needed")).alias("complete"))
        )
    # in the order of the parents' rows, whatever order the joins and groups leave (a finding's place decides
    # which are kept when a rule's findings are capped)
    others = [d for d in registry.dimension_names if d != name]
    fixed = pl.concat_list(
        [pl.when(pl.col(d) != TOTAL).then(pl.lit(f"{d}=") + pl.col(d)).otherwise(None) for d in others]
    ).list.drop_nulls()
    return [
        c.with_columns(pl.lit(name).alias("dimension"), fixed.alias("fixed"))
        .select(list(CHECK_COLUMNS))
        .sort("submission_id", "parent_row")
        for c in checks
    ]


def _sum_parts(parts: pl.LazyFrame, group: list[str], name: str) -> pl.LazyFrame:
    ordered = parts.sort("row_number")
    return ordered.group_by(group).agg(
        pl.col("value").cast(pl.Int128).sum().alias("parts_sum"),
        pl.col("_leaves").sum().alias("_covered"),
        pl.col("row_number").alias("part_rows"),
        pl.col(name).alias("part_codes"),
        pl.col("value").alias("part_values"),
    )
