"""Statistical disclosure control of published counts: primary and secondary cell suppression.

A figure is one count: reporter, area, indicator, period and the six dimensions.
Counts from 1 to K-1 are suppressed (SDMX confidentiality status `C`); then other
figures are suppressed (`D`) until no group of figures that add up to a total has
exactly one suppressed member, so that no suppressed count can be recovered by
subtracting published figures from a published total. `F` is free.

The additive groups, within a (reporter, area, indicator, period) slice, along each
dimension D (rows that agree on every other key column):

- the total (D = `_T`) against its parts: the leaves, `_U`, and each aggregate that
  is present in place of its leaves (as in transforms/parts.py);
- each aggregate (such as `Y_LT18` or `FOREIGN`) against its leaves;
- where an aggregate is present, the total against the leaves as well.

Cross-cuts follow: offence=HT, sex=F is a part of offence=HT, sex=_T along sex and
of offence=_T, sex=F along offence. Groups that are incomplete (not every leaf
present) are treated as additive too: the total less the published parts still
bounds the one missing figure. Across slices, two more kinds of group: the country
against its provinces (`KH` against `KH-1`, `KH-2`, ...), and, for each reporter,
area, indicator and cut, a period against any set of held periods that tile it
exactly (a year is its two halves, and the comparison table derives such figures).

Pure functions on Polars frames; no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

import polars as pl

from schemas.registry import TOTAL, UNKNOWN, Registry
from schemas.shapes import DIMENSIONS
from transforms.periods import parse_period

FREE, PRIMARY, SECONDARY = "F", "C", "D"
DEFAULT_MIN_CELL = 10
SLICE = ("reporter", "area", "indicator", "period")
PUBLIC_COLUMNS = (
    "reporter",
    "area",
    "indicator",
    *DIMENSIONS,
    "period",
    "period_type",
    "value",
    "base_period",
    "base_value",
    "change",
    "change_pct",
)
PUBLIC_TYPES = {"value": pl.Int64, "base_value": pl.Int64, "change": pl.Int64, "change_pct": pl.Float64}
MEMBER_SCHEMA = {"_group": pl.Int64, "_step": pl.Int64, "_cell": pl.Int64, "_total": pl.Boolean}


def confidentiality(figures: pl.DataFrame, registry: Registry, min_cell: int = DEFAULT_MIN_CELL) -> pl.DataFrame:
    """`figures` with a `conf` column: `F`, `C` (1 <= value < min_cell) or `D` (protects a `C`).

    `figures` holds one row per figure: the columns of SLICE, the dimensions and
    `value` (a count; null where there is no figure, whose `conf` is null too).
    Keys must be unique among the rows with a value.
    """
    if min_cell < 1:
        raise ValueError(f"min_cell must be at least 1, not {min_cell}")
    dims = list(registry.dimension_names)
    key = [*SLICE, *dims]
    frame = figures.with_row_index("_row")
    cells = (
        frame.filter(pl.col("value").is_not_null())
        .select("_row", *key, pl.col("value").cast(pl.Int64))
        .with_row_index("_cell")
        .with_columns(pl.col("_cell").cast(pl.Int64))
    )
    if cells.select(pl.struct(key).is_duplicated().any()).item():
        raise ValueError("two figures share a key")
    primary = cells["value"].is_between(1, min_cell - 1)
    suppressed = _protect(cells, primary, _groups(cells, registry))
    conf = cells.select(
        "_row",
        pl.when(primary)
        .then(pl.lit(PRIMARY))
        .when(suppressed)
        .then(pl.lit(SECONDARY))
        .otherwise(pl.lit(FREE))
        .alias("conf"),
    )
    return frame.join(conf, on="_row", how="left").sort("_row").drop("_row")


def protect_comparison(
    comparison: pl.DataFrame, registry: Registry, min_cell: int = DEFAULT_MIN_CELL, carried: tuple[str, ...] = ()
) -> pl.DataFrame:
    """The comparison table for publication: PUBLIC_COLUMNS plus `value_conf` and `base_value_conf`, and the
    `carried` columns of `comparison` as they are (statuses, flags: nothing that is a count).

    Suppressed counts are null; `change` and `change_pct` are null when either of
    their counts is suppressed. A figure gets one status wherever it shows: the
    base values of one period are the values of that period's own rows, so both
    columns are protected as one table of the period's figures.
    """
    key = [*SLICE, *registry.dimension_names]
    base_key = ["base_period" if c == "period" else c for c in key]
    rows = comparison.select(*PUBLIC_COLUMNS, *carried).with_columns(
        [pl.col(name).cast(dtype) for name, dtype in PUBLIC_TYPES.items()]
    )
    base = rows.select(*base_key, "base_value").rename({"base_period": "period", "base_value": "value"})
    figures = pl.concat([rows.select(*key, "value"), base.select(*key, "value")])
    figures = figures.filter(pl.col("value").is_not_null()).unique()
    conf = confidentiality(figures, registry, min_cell).select(*key, "conf")
    out = (
        rows.join(conf.rename({"conf": "value_conf"}), on=key, how="left", maintain_order="left")
        .join(
            conf.rename({"period": "base_period", "conf": "base_value_conf"}),
            on=base_key,
            how="left",
            maintain_order="left",
        )
        .with_columns(
            pl.when(pl.col(column).is_not_null()).then(pl.col(f"{column}_conf")).alias(f"{column}_conf")
            for column in ("value", "base_value")
        )
    )
    hidden_value = pl.col("value_conf").is_in([PRIMARY, SECONDARY]).fill_null(False)
    hidden_base = pl.col("base_value_conf").is_in([PRIMARY, SECONDARY]).fill_null(False)
    either = hidden_value | hidden_base
    return out.with_columns(
        pl.when(hidden_value).then(None).otherwise(pl.col("value")).alias("value"),
        pl.when(hidden_base).then(None).otherwise(pl.col("base_value")).alias("base_value"),
        pl.when(either).then(None).otherwise(pl.col("change")).alias("change"),
        pl.when(either).then(None).otherwise(pl.col("change_pct")).alias("change_pct"),
    ).select(*PUBLIC_COLUMNS, "value_conf", "base_value_conf", *carried)


# ------------------------------------------------------------------ suppression
def _protect(cells: pl.DataFrame, primary: pl.Series, members: pl.DataFrame) -> pl.Series:
    """Suppressed cells at the fixed point: no group has exactly one suppressed member.

    Each step's groups are disjoint (one dimension's totals, or its aggregates), so
    a step settles all of them at once; period groups overlap, so within that step
    one group per series (reporter, area, indicator, cut) is settled at a time.
    The cell suppressed is the smallest published part (non-zero parts first: a
    suppressed zero beside a small count protects nothing), or else the total.
    """
    suppressed = primary.alias("_suppressed")
    if members.height == 0:
        return suppressed
    members = members.join(cells.select("_cell", "value"), on="_cell", how="left").with_columns(
        (pl.col("value") == 0).alias("_zero")
    )
    steps = []
    for number in sorted(members["_step"].unique().to_list()):
        step = members.filter(pl.col("_step") == number)
        steps.append((step, step["_series"].is_not_null().any() if "_series" in step.columns else False))
    while True:
        added = 0
        for step, by_series in steps:
            flagged = step.with_columns(suppressed.gather(step["_cell"]).alias("_suppressed"))
            open_groups = (
                flagged.group_by("_group").agg(pl.col("_suppressed").sum().alias("_n")).filter(pl.col("_n") == 1)
            )
            if open_groups.height == 0:
                continue
            picks = (
                flagged.join(open_groups.select("_group"), on="_group", how="semi")
                .filter(~pl.col("_suppressed"))
                .sort("_group", "_total", "_zero", "value", "_cell")
                .group_by("_group", maintain_order=True)
                .first()
            )
            if by_series:
                picks = picks.sort("_series", "_size", "_group").group_by("_series", maintain_order=True).first()
            cells_to_hide = picks["_cell"].unique()
            suppressed = suppressed.scatter(cells_to_hide, True)
            added += cells_to_hide.len()
        if added == 0:
            return suppressed


# ------------------------------------------------------------------ groups
def _groups(cells: pl.DataFrame, registry: Registry) -> pl.DataFrame:
    """Members of every additive group: `_group`, `_step`, `_cell`, `_total` (periods: `_series`, `_size` too)."""
    parts: list[pl.DataFrame] = []
    step = 0
    for name in registry.dimension_names:
        for frame in _dimension_groups(cells, registry, name):
            parts.append(frame.with_columns(pl.lit(step, pl.Int64).alias("_step")))
            step += 1
    parts.append(_area_groups(cells, registry).with_columns(pl.lit(step, pl.Int64).alias("_step")))
    dimension_members = _number_groups(parts)
    period_members = _period_groups(cells, registry, step + 1)
    if period_members.height == 0:
        return dimension_members
    offset = (dimension_members["_group"].max() or 0) + 1 if dimension_members.height else 0
    period_members = period_members.with_columns(pl.col("_group") + offset)
    return pl.concat([dimension_members, period_members], how="diagonal_relaxed")


def _number_groups(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Give each (step, group key) a global `_group` number; keep groups with one total and a part."""
    numbered = []
    offset = 0
    for frame in frames:
        keys = [c for c in frame.columns if c not in ("_cell", "_total", "_step")]
        grouped = (
            frame.group_by(keys)
            .agg(pl.col("_cell"), pl.col("_total"), pl.col("_step").first())
            .filter((pl.col("_total").list.sum() == 1) & (pl.col("_total").list.len() >= 2))
        )
        if grouped.height == 0:
            continue
        numbered.append(
            grouped.select(
                (pl.int_range(pl.len(), dtype=pl.Int64) + offset).alias("_group"), "_step", "_cell", "_total"
            ).explode("_cell", "_total")
        )
        offset += grouped.height
    if not numbered:
        return pl.DataFrame(schema=MEMBER_SCHEMA)
    return pl.concat(numbered).select(list(MEMBER_SCHEMA)).cast(MEMBER_SCHEMA)  # type: ignore[arg-type]


def _dimension_groups(cells: pl.DataFrame, registry: Registry, name: str) -> list[pl.DataFrame]:
    """The groups along one dimension: its aggregates against their leaves, then the total against its parts."""
    dimension = registry.dimensions[name]
    other = [*SLICE, *(d for d in registry.dimension_names if d != name)]
    rows = cells.select("_cell", *other, name)
    frames = []
    if dimension.aggregates:
        mapping = pl.DataFrame(
            {name: list(dimension.aggregate_of()), "_aggregate": list(dimension.aggregate_of().values())},
            schema={name: pl.String, "_aggregate": pl.String},
        )
        leaves = rows.join(mapping, on=name, how="inner").with_columns(pl.lit(False).alias("_total"))
        aggregates = rows.filter(pl.col(name).is_in(list(dimension.aggregates))).with_columns(
            pl.col(name).alias("_aggregate"), pl.lit(True).alias("_total")
        )
        frames.append(pl.concat([aggregates, leaves]).select("_cell", "_total", *other, "_aggregate"))
        present = aggregates.select(*other, "_aggregate").unique()
        shadowed = leaves.join(present, on=[*other, "_aggregate"], how="semi").select("_cell")
    else:
        shadowed = pl.DataFrame(schema={"_cell": pl.Int64})
    codes = [c for c in dimension.codes if c != TOTAL]
    total_parts = (
        rows.filter(pl.col(name).is_in(codes))
        .join(shadowed, on="_cell", how="anti")
        .with_columns(pl.lit(False).alias("_total"))
    )
    totals = rows.filter(pl.col(name) == TOTAL).with_columns(pl.lit(True).alias("_total"))
    frames.append(pl.concat([totals, total_parts]).select("_cell", "_total", *other))
    if dimension.aggregates:  # where an aggregate stands in, the total against the leaves too
        with_aggregate = present.select(other).unique()
        leaf_parts = (
            rows.filter(pl.col(name).is_in([*dimension.leaves, UNKNOWN]))
            .join(with_aggregate, on=other, how="semi")
            .with_columns(pl.lit(False).alias("_total"))
        )
        leaf_totals = totals.join(with_aggregate, on=other, how="semi")
        frames.append(pl.concat([leaf_totals, leaf_parts]).select("_cell", "_total", *other))
    return frames


def _area_groups(cells: pl.DataFrame, registry: Registry) -> pl.DataFrame:
    """A country against its provinces (`KH` against `KH-1`, `KH-2`, ...), cut by cut and period by period."""
    parents = {code: code.split("-")[0] for code in registry.areas if "-" in code}
    parents = {code: parent for code, parent in parents.items() if parent in registry.areas}
    countries = sorted(set(parents.values()))
    mapping = pl.DataFrame(
        {
            "area": [*parents, *countries],
            "_parent": [*parents.values(), *countries],
            "_total": [False] * len(parents) + [True] * len(countries),
        },
        schema={"area": pl.String, "_parent": pl.String, "_total": pl.Boolean},
    )
    other = [c for c in (*SLICE, *registry.dimension_names) if c != "area"]
    return (
        cells.select("_cell", "area", *other)
        .join(mapping, on="area", how="inner")
        .select("_cell", "_total", *other, "_parent")
    )


def _period_groups(cells: pl.DataFrame, registry: Registry, step: int) -> pl.DataFrame:
    """Groups of a period and held periods that tile it, per reporter, area, indicator and cut."""
    series_key = ["reporter", "area", "indicator", *registry.dimension_names]
    held = cells.select("reporter", "area", "indicator", "period").unique()
    sets = held.group_by("reporter", "area", "indicator").agg(pl.col("period").sort())
    rows = []
    for reporter, area, indicator, periods in sets.iter_rows():
        for number, (total, tiling) in enumerate(_tilings(tuple(periods))):
            size = len(tiling) + 1
            rows.append((reporter, area, indicator, number, total, True, size))
            rows.extend((reporter, area, indicator, number, part, False, size) for part in tiling)
    if not rows:
        return pl.DataFrame(schema=MEMBER_SCHEMA)
    tilings = pl.DataFrame(
        rows,
        orient="row",
        schema={
            "reporter": pl.String,
            "area": pl.String,
            "indicator": pl.String,
            "_tiling": pl.Int64,
            "period": pl.String,
            "_total": pl.Boolean,
            "_size": pl.Int64,
        },
    )
    members = tilings.join(cells.select("_cell", *SLICE, *registry.dimension_names), on=list(SLICE), how="inner")
    group_key = [*series_key, "_tiling"]
    complete = (
        members.group_by(group_key)
        .agg(pl.len().alias("_held"), pl.col("_size").first())
        .filter(pl.col("_held") == pl.col("_size"))
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_group"))
        .with_columns(pl.struct(series_key).rank("dense").cast(pl.Int64).alias("_series"))
        .select(*group_key, "_group", "_series")
    )
    return members.join(complete, on=group_key, how="inner").select(
        "_group", pl.lit(step, pl.Int64).alias("_step"), "_cell", "_total", "_series", "_size"
    )


@lru_cache(maxsize=1024)
def _tilings(periods: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(total, parts) for every period and every set of other held periods that exactly tile it."""
    spans = {}
    for code in periods:
        period = parse_period(code)
        if period is not None:
            spans[code] = (_month(period.start), _month(period.end))
    starting: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for code, (start, end) in sorted(spans.items()):
        starting[start].append((end, code))
    found = []
    for total, (start, end) in sorted(spans.items()):
        pending = [(start, ())]  # (position reached, parts so far)
        while pending:
            position, chosen = pending.pop()
            if position == end:
                found.append((total, chosen))
                continue
            pending.extend(
                (part_end, (*chosen, part))
                for part_end, part in starting[position]
                if part != total and part_end <= end
            )
    return tuple(found)


def _month(day) -> int:
    return day.year * 12 + day.month - 1
