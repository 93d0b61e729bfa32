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
area, indicator and cut, the relations among its held periods (a year is its two
halves, year to June is year to May and June; `_period_groups`).

That rule alone does not protect a table whose groups overlap: solving all the
relations together can still pin a suppressed count. So the suppression then passes
the interval audit of transforms/audit.py: every small count's feasible interval,
given everything published and every relation that holds in the data, must be at
least K wide and contain 0 or a value of at least K; while one is not, the groups
that pin it give up more figures (`D`). `C` and `D` are kept apart for the office's
audit; the public table shows `C` for both (`protect_comparison`).

Pure functions on Polars frames; no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import NamedTuple

import numpy as np
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
AUDIT_COLUMNS = ("value", "status", "lower", "upper", "exact", "protected")  # after the key columns
MEMBER_SCHEMA = {"_group": pl.Int64, "_step": pl.Int64, "_cell": pl.Int64, "_total": pl.Boolean}
# a group's members sum to 0 with `_coef` (+1 a part, -1 a total); where `_coef` is null, -1 marks the `_total`


def confidentiality(
    figures: pl.DataFrame,
    registry: Registry,
    min_cell: int = DEFAULT_MIN_CELL,
    workers: int = 1,
    known: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """`figures` with a `conf` column: `F`, `C` (1 <= value < min_cell) or `D` (protects a `C`).

    A suppressed figure also gets `lower` and `upper` from the interval audit (`upper`
    null when unbounded): its feasible interval where `exact`, otherwise a range of
    feasible values that the interval contains; and `protected`, true once the table
    is returned: the suppression grows until every suppressed figure passes.

    `figures` holds one row per figure: the columns of SLICE, the dimensions and
    `value` (a count; null where there is no figure, whose `conf` is null too).
    Keys must be unique among the rows with a value. `workers`: how many components of
    the audit's relations are solved at once (the outcome is the same for any number).
    `known`: figures already made public (the key and `value`, as an earlier release
    published them): a figure that holds the same value is known to every reader, so it
    is never suppressed to protect another (suppressing it would hide nothing), and the
    protection looks for figures not yet public instead.
    """
    if min_cell < 1:
        raise ValueError(f"min_cell must be at least 1, not {min_cell}")
    dims = list(registry.dimension_names)
    key = [*SLICE, *dims]
    frame = figures.with_row_index("_row")
    cells = (
        frame.filter(pl.col("value").is_not_null())
        .select("_row", *key, pl.col("value").cast(pl.Int64))
        .sort(key, nulls_last=True, maintain_order=True)  # cells in key order: the rows' order changes nothing
        .with_row_index("_cell")
        .with_columns(pl.col("_cell").cast(pl.Int64))
    )
    if cells.select(pl.struct(key).is_duplicated().any()).item():
        raise ValueError("two figures share a key")
    primary = cells["value"].is_between(1, min_cell - 1)
    if known is not None and known.height:
        public = known.select(*key, pl.col("value").cast(pl.Int64)).unique().with_columns(pl.lit(True).alias("_known"))
        cells = cells.join(public, on=[*key, "value"], how="left", maintain_order="left", nulls_equal=True)
        cells = cells.with_columns(pl.col("_known").fill_null(False))
    else:
        cells = cells.with_columns(pl.lit(False).alias("_known"))
    members = _groups(cells, registry)
    suppressed, intervals = _audited(cells, primary, _protect(cells, primary, members), members, min_cell, workers)
    conf = (
        cells.select(
            "_row",
            "_cell",
            pl.when(primary)
            .then(pl.lit(PRIMARY))
            .when(suppressed)
            .then(pl.lit(SECONDARY))
            .otherwise(pl.lit(FREE))
            .alias("conf"),
        )
        .join(intervals.select("_cell", "lower", "upper", "exact", "protected"), on="_cell", how="left")
        .drop("_cell")
    )
    return frame.join(conf, on="_row", how="left").sort("_row").drop("_row")


class UnprotectedTable(ValueError):
    """Some small counts cannot be protected: every relation that pins them has nothing left to suppress, its
    other members being suppressed already or public (figures an earlier release published, `known`).

    `figures`: each such small count, its key, `value` and the `lower` and `upper` bounds that what is published
    leaves it (`upper` null when unbounded), numbered by `small` from 1. `public`: the figures already public in
    the relations that pin them, the key and `value`, with the `small` count each one helps pin.
    """

    def __init__(self, figures: pl.DataFrame, public: pl.DataFrame | None = None):
        counts = f"{figures.height} small count{'' if figures.height == 1 else 's'}"
        why = (
            "figures already public pin them" if public is not None and public.height else "nothing is left to suppress"
        )
        super().__init__(f"{counts} cannot be protected: {why}")
        self.figures = figures
        self.public = public if public is not None else figures.clear().select(pl.exclude("lower", "upper"))
        self.cells = figures.height


class Protection(NamedTuple):
    """A protected comparison table and its audit: what may be published, and what the office keeps."""

    table: pl.DataFrame  # PUBLIC_COLUMNS, value_conf, base_value_conf, the carried columns
    audit: pl.DataFrame  # the key, AUDIT_COLUMNS: every suppressed figure, its true count, status and interval


def protect_comparison(
    comparison: pl.DataFrame,
    registry: Registry,
    min_cell: int = DEFAULT_MIN_CELL,
    carried: tuple[str, ...] = (),
    workers: int = 1,
    known: pl.DataFrame | None = None,
) -> Protection:
    """The comparison table for publication: PUBLIC_COLUMNS plus `value_conf` and `base_value_conf`, and the
    `carried` columns of `comparison` as they are (statuses, flags: nothing that is a count); with the audit of
    every count it suppresses.

    Suppressed counts are null; `change` and `change_pct` are null when either of
    their counts is suppressed. A figure gets one status wherever it shows: the
    base values of one period are the values of that period's own rows, so both
    columns are protected as one table of the period's figures. The public table
    says `C` for every suppressed count, primary or secondary alike, so that the
    status does not tell a small count from one suppressed to protect it; the audit
    keeps `C` and `D` apart. `workers` and `known` as in `confidentiality`.
    """
    key = [*SLICE, *registry.dimension_names]
    base_key = ["base_period" if c == "period" else c for c in key]
    rows = comparison.select(*PUBLIC_COLUMNS, *carried).with_columns(
        [pl.col(name).cast(dtype) for name, dtype in PUBLIC_TYPES.items()]
    )
    base = rows.select(*base_key, "base_value").rename({"base_period": "period", "base_value": "value"})
    figures = pl.concat([rows.select(*key, "value"), base.select(*key, "value")])
    figures = figures.filter(pl.col("value").is_not_null()).unique(maintain_order=True)
    protected = confidentiality(figures, registry, min_cell, workers, known)
    conf = protected.select(
        *key, pl.when(pl.col("conf") == SECONDARY).then(pl.lit(PRIMARY)).otherwise(pl.col("conf")).alias("conf")
    )
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
    hidden_value = (pl.col("value_conf") == PRIMARY).fill_null(False)
    hidden_base = (pl.col("base_value_conf") == PRIMARY).fill_null(False)
    either = hidden_value | hidden_base
    table = out.with_columns(
        pl.when(hidden_value).then(None).otherwise(pl.col("value")).alias("value"),
        pl.when(hidden_base).then(None).otherwise(pl.col("base_value")).alias("base_value"),
        pl.when(either).then(None).otherwise(pl.col("change")).alias("change"),
        pl.when(either).then(None).otherwise(pl.col("change_pct")).alias("change_pct"),
    ).select(*PUBLIC_COLUMNS, "value_conf", "base_value_conf", *carried)
    audit = (
        protected.filter(pl.col("conf").is_in([PRIMARY, SECONDARY]))
        .rename({"conf": "status"})
        .sort(*key)
        .select(*key, *AUDIT_COLUMNS)
    )
    return Protection(table, audit)


# ------------------------------------------------------------------ suppression
def _protect(cells: pl.DataFrame, primary: pl.Series, members: pl.DataFrame) -> pl.Series:
    """Suppressed cells at the fixed point: no group has exactly one suppressed member.

    Each step's groups are disjoint (one dimension's totals, or its aggregates), so
    a step settles all of them at once; period groups overlap, so within that step
    one group per series (reporter, area, indicator, cut) is settled at a time.
    The cell suppressed is the smallest published part (non-zero parts first: a
    suppressed zero beside a small count protects nothing), or else the total; never
    one already public (`_known`).
    """
    suppressed = primary.alias("_suppressed")
    if members.height == 0:
        return suppressed
    members = members.join(cells.select("_cell", "value", "_known"), on="_cell", how="left").with_columns(
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
                .filter(~pl.col("_suppressed") & ~pl.col("_known"))
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


# ------------------------------------------------------------------ audit
def _audited(
    cells: pl.DataFrame,
    primary: pl.Series,
    suppressed: pl.Series,
    members: pl.DataFrame,
    min_cell: int,
    workers: int = 1,
) -> tuple[pl.Series, pl.DataFrame]:
    """Suppressed cells once every one passes the interval audit, and their intervals (transforms/audit.py).

    While a cell is unprotected, each group whose relation pins it (a binding row of
    its LPs) gives up its smallest published member (a part before the total, a
    non-zero count before a zero); the rule of `_protect` is applied again (no group
    with exactly one suppressed member), and the audit runs again.
    """
    values = cells["value"].to_numpy()
    from transforms.audit import Auditor, relations_that_hold  # the solver is loaded when a table is protected

    auditor = Auditor(relations_that_hold(members, values), values, min_cell, workers)
    ranked = (
        members.join(cells.select("_cell", "value", "_known"), on="_cell", how="left")
        .filter(~pl.col("_known"))  # suppressing a figure already public hides nothing
        .sort("_total", pl.col("value") == 0, "value", "_cell")
    )
    hidden = suppressed.to_numpy().copy()
    sensitive = primary.to_numpy()
    while True:
        pinning = auditor.propagated_pins(hidden, sensitive)  # cheap proofs first, then the LPs
        if not pinning:
            result = auditor.audit(hidden, sensitive)
            if not result.pinning:
                return pl.Series("_suppressed", hidden), result.intervals
            pinning = result.pinning
        pinned = sorted(pinning)
        widening = (
            pl.col("_group").is_in(sorted({group for pins in pinning.values() for group in pins})),
            # the pinning relations have nothing published left: those of the pinned cells, then of any suppressed
            pl.col("_group").is_in(ranked.filter(pl.col("_cell").is_in(pinned))["_group"].unique().to_list()),
            pl.col("_group").is_in(
                ranked.filter(pl.Series(hidden[ranked["_cell"].to_numpy()]))["_group"].unique().to_list()
            ),
        )
        picks = np.zeros(0, dtype=np.int64)
        for scope in widening:
            candidates = ranked.filter(scope)
            candidates = candidates.filter(pl.Series(~hidden[candidates["_cell"].to_numpy()]))
            picks = candidates.group_by("_group", maintain_order=True).first()["_cell"].to_numpy()
            if picks.size:
                break
        if picks.size == 0:
            raise _unprotected(cells, members, auditor, hidden, sensitive, pinning)
        hidden[picks] = True
        hidden = _protect(cells, pl.Series(hidden), members).to_numpy().copy()  # and again no group with one


def _unprotected(cells, members, auditor, hidden, sensitive, pinning: dict[int, set[int]]) -> UnprotectedTable:
    """The small counts that stay pinned with nothing left to suppress, with the bounds the published figures
    leave them, and the public figures (`_known`) of the relations that pin them."""
    key = [c for c in cells.columns if c not in ("_row", "_cell", "value", "_known")]
    intervals = auditor.audit(hidden, sensitive).intervals.select("_cell", "lower", "upper")
    figures = (
        cells.filter(pl.col("_cell").is_in(sorted(pinning)))
        .join(intervals, on="_cell", how="left", maintain_order="left")
        .with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + 1).alias("small"))  # cells are in key order
    )
    links = pl.DataFrame(
        [(cell, group) for cell, groups in pinning.items() for group in groups],
        schema={"_cell": pl.Int64, "_group": pl.Int64},
        orient="row",
    )
    public = (
        links.join(figures.select("_cell", "small"), on="_cell")
        .join(members.select("_group", pl.col("_cell").alias("_member")), on="_group")
        .join(cells.filter(pl.col("_known")).select(pl.col("_cell").alias("_member"), *key, "value"), on="_member")
        .select("small", *key, "value")
        .unique()
        .sort("small", *key)
    )
    return UnprotectedTable(figures.select("small", *key, "value", "lower", "upper"), public)


# ------------------------------------------------------------------ groups
def _groups(cells: pl.DataFrame, registry: Registry) -> pl.DataFrame:
    """Members of every additive group: `_group`, `_step`, `_cell`, `_total` (periods: `_series`, `_size` too)."""
    parts: list[pl.LazyFrame] = []
    step = 0
    lazy_cells = cells.lazy()
    for name in registry.dimension_names:
        for frame in _dimension_groups(lazy_cells, registry, name):
            parts.append(frame.with_columns(pl.lit(step, pl.Int64).alias("_step")))
            step += 1
    parts.append(_area_groups(lazy_cells, registry).with_columns(pl.lit(step, pl.Int64).alias("_step")))
    dimension_members = _number_groups(parts)
    period_members = _period_groups(cells, registry, step + 1)
    if period_members.height == 0:
        return dimension_members
    offset = (dimension_members["_group"].max() or 0) + 1 if dimension_members.height else 0
    period_members = period_members.with_columns(pl.col("_group") + offset)
    return pl.concat([dimension_members, period_members], how="diagonal_relaxed")


def _number_groups(frames: list[pl.LazyFrame]) -> pl.DataFrame:
    """Give each (step, group key) a global `_group` number; keep groups with one total and a part.

    The frames are queries, computed together: a small table's groups are dozens of tiny frames,
    whose cost one at a time is the frame library's overhead per operation, not the work."""
    grouped_queries = []
    for frame in frames:
        keys = [c for c in frame.collect_schema().names() if c not in ("_cell", "_total", "_step")]
        grouped_queries.append(
            frame.group_by(keys)
            .agg(pl.col("_cell"), pl.col("_total"), pl.col("_step").first())
            .sort(keys, nulls_last=True)  # numbered in key order, the same every time
            .filter((pl.col("_total").list.sum() == 1) & (pl.col("_total").list.len() >= 2))
            .select("_step", "_cell", "_total")
        )
    numbered = []
    offset = 0
    for grouped in pl.collect_all(grouped_queries):
        if grouped.height == 0:
            continue
        numbered.append(
            grouped.lazy()
            .select((pl.int_range(pl.len(), dtype=pl.Int64) + offset).alias("_group"), "_step", "_cell", "_total")
            .explode("_cell", "_total")
        )
        offset += grouped.height
    if not numbered:
        return pl.DataFrame(schema=MEMBER_SCHEMA)
    return pl.concat(numbered).select(list(MEMBER_SCHEMA)).cast(MEMBER_SCHEMA).collect()  # type: ignore[arg-type]


def _dimension_groups(cells: pl.LazyFrame, registry: Registry, name: str) -> list[pl.LazyFrame]:
    """The groups along one dimension: its aggregates against their leaves, then the total against its parts."""
    dimension = registry.dimensions[name]
    other = [*SLICE, *(d for d in registry.dimension_names if d != name)]
    rows = cells.select("_cell", *other, name)
    frames = []
    if dimension.aggregates:
        mapping = pl.LazyFrame(
            {name: list(dimension.aggregate_of()), "_aggregate": list(dimension.aggregate_of().values())},
            schema={name: pl.String, "_aggregate": pl.String},
        )
        # in the cells' order, whichever side the join builds on (a group's members come out the same every time)
        leaves = rows.join(mapping, on=name, how="inner", maintain_order="left").with_columns(
            pl.lit(False).alias("_total")
        )
        aggregates = rows.filter(pl.col(name).is_in(list(dimension.aggregates))).with_columns(
            pl.col(name).alias("_aggregate"), pl.lit(True).alias("_total")
        )
        frames.append(pl.concat([aggregates, leaves]).select("_cell", "_total", *other, "_aggregate"))
        present = aggregates.select(*other, "_aggregate").unique()
        shadowed = leaves.join(present, on=[*other, "_aggregate"], how="semi").select("_cell")
    else:
        shadowed = pl.LazyFrame(schema={"_cell": pl.Int64})
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


def _area_groups(cells: pl.LazyFrame, registry: Registry) -> pl.LazyFrame:
    """A country against its provinces (`KH` against `KH-1`, `KH-2`, ...), cut by cut and period by period."""
    parents = {code: code.split("-")[0] for code in registry.areas if "-" in code}
    parents = {code: parent for code, parent in parents.items() if parent in registry.areas}
    countries = sorted(set(parents.values()))
    mapping = pl.LazyFrame(
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
        .join(mapping, on="area", how="inner", maintain_order="left")
        .select("_cell", "_total", *other, "_parent")
    )


def _period_groups(cells: pl.DataFrame, registry: Registry, step: int) -> pl.DataFrame:
    """Period relations per series (reporter, area, indicator, cut): `_coef` +1 or -1 on each member.

    A period's count is the difference of a running count between its first and
    last month, so the held periods of a series are the edges of a graph on month
    boundaries, and every relation among them (a tiling such as a year and its two
    halves, or a difference such as year-to-December less year-to-October equals
    November plus December) is a cycle of that graph. The fundamental cycles of a
    spanning forest built from the shortest periods first span them all: each held
    period not in the forest equals the signed path between its ends (with months
    held, every longer period against its months). Besides them, the short tilings of
    `_short_tilings` (a year to date as an earlier one and the month or two after it),
    which the cycles imply only in combination: as groups of their own, the rule of
    `_protect` and the bound propagation of the audit see them too. They are marked
    `_implied`: where every cycle of their series holds, the linear programmes of the
    audit leave them out (the same feasible set, with fewer rows).
    """
    series_key = ["reporter", "area", "indicator", *registry.dimension_names]
    rows = cells.select("_cell", *series_key, "period")
    series = (
        rows.group_by(series_key, maintain_order=True)
        .agg(pl.col("period").sort().alias("_periods"))
        .with_columns(pl.col("_periods").list.join(",").alias("_pattern"))
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_series"))
    )
    relations = []
    for pattern in series["_pattern"].unique().sort().to_list():
        held = tuple(pattern.split(","))
        cycles = len(_cycles(held))
        for number, cycle in enumerate(_period_relations(held)):
            relations.extend((pattern, number, period, coef, len(cycle), number >= cycles) for period, coef in cycle)
    if not relations:
        return pl.DataFrame(schema=MEMBER_SCHEMA)
    relations_frame = pl.DataFrame(
        relations,
        orient="row",
        schema={
            "_pattern": pl.String,
            "_cycle": pl.Int64,
            "period": pl.String,
            "_coef": pl.Int64,
            "_size": pl.Int64,
            "_implied": pl.Boolean,
        },
    )
    members = (
        series.select(*series_key, "_series", "_pattern")
        .join(relations_frame, on="_pattern", how="inner")
        .join(rows, on=[*series_key, "period"], how="inner")
        .with_columns(pl.struct("_series", "_cycle").rank("dense").cast(pl.Int64).alias("_group") - 1)
    )
    return members.select(
        "_group",
        pl.lit(step, pl.Int64).alias("_step"),
        "_cell",
        (pl.col("_coef") < 0).alias("_total"),
        "_coef",
        "_series",
        "_size",
        "_implied",
    )


@lru_cache(maxsize=1024)
def _period_relations(periods: tuple[str, ...]) -> tuple[tuple[tuple[str, int], ...], ...]:
    """The fundamental cycles among held periods, then the short tilings that are not one of them."""
    cycles = _cycles(periods)
    seen = {frozenset(cycle) for cycle in cycles}
    extra = []
    for total, parts in _short_tilings(periods):
        relation = ((total, -1), *((part, 1) for part in parts))
        if frozenset(relation) not in seen:
            seen.add(frozenset(relation))
            extra.append(relation)
    return (*cycles, *extra)


def _short_tilings(periods: tuple[str, ...], most_parts: int = 3) -> list[tuple[str, tuple[str, ...]]]:
    """(total, parts): a held period as a held period that starts with it, then one or two held periods that
    cover the rest (year to December = year to October + November + December; a year = its first half + the
    second; a half = its first quarter + the second)."""
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
        for first_end, first in starting[start]:
            if first == total or first_end >= end:
                continue
            pending = [(first_end, (first,))]
            while pending:
                position, chosen = pending.pop()
                for part_end, part in starting[position]:
                    if part_end == end:
                        found.append((total, (*chosen, part)))
                    elif part_end < end and len(chosen) + 1 < most_parts:
                        pending.append((part_end, (*chosen, part)))
    return found


@lru_cache(maxsize=1024)
def _cycles(periods: tuple[str, ...]) -> tuple[tuple[tuple[str, int], ...], ...]:
    """The fundamental cycles among held periods: ((period, coef), ...) whose signed counts add up to 0."""
    spans = {}
    for code in periods:
        period = parse_period(code)
        if period is not None:
            spans[code] = (_month(period.start), _month(period.end))
    parent: dict[int, int] = {}

    def root(node: int) -> int:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    tree: dict[int, list[tuple[int, str]]] = defaultdict(list)
    rest = []
    for code, (start, end) in sorted(spans.items(), key=lambda item: (item[1][1] - item[1][0], item[0])):
        a, b = root(start), root(end)
        if a == b:
            rest.append(code)
            continue
        parent[a] = b
        tree[start].append((end, code))
        tree[end].append((start, code))
    found = []
    for code in rest:
        start, end = spans[code]
        path = _path(tree, start, end)  # (period, +1 walked forward, -1 backward) from start to end
        found.append(((code, -1), *path))
    return tuple(found)


def _path(tree: dict[int, list[tuple[int, str]]], start: int, end: int) -> tuple[tuple[str, int], ...]:
    """The signed periods of the tree path from month boundary `start` to `end`."""
    previous: dict[int, tuple[int, str]] = {start: (start, "")}
    pending = [start]
    while pending:
        node = pending.pop()
        if node == end:
            break
        for other, code in tree[node]:
            if other not in previous:
                previous[other] = (node, code)
                pending.append(other)
    steps = []
    node = end
    while node != start:
        before, code = previous[node]
        steps.append((code, 1 if before < node else -1))
        node = before
    return tuple(reversed(steps))


def _month(day) -> int:
    return day.year * 12 + day.month - 1
