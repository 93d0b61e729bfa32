"""The figures of `ctip report`, shaped for a page: frames in, plain dicts out.

No I/O and no HTML here: the command reads the warehouse, these functions pick and
order the rows and write the numbers as the news report puts them ("78 cases
against 62, +25.8%"), and the template only lays them out.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

from schemas.registry import TOTAL, UNKNOWN, Registry
from transforms.periods import parse_period

# The order the breakdowns are read in (victims by age band and where they were
# handed over, then suspects by sex and citizenship); any other dimension follows,
# in the order of the registry.
BREAKDOWN_ORDER = ("age", "referral", "sex", "citizenship", "offence", "country")
PERIOD_TYPE_NAMES = {"year": "year", "half": "half-year", "quarter": "quarter", "month": "month", "ytd": "year to date"}


# ------------------------------------------------------------------ numbers
def number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def signed(value: int | None) -> str:
    return "—" if value is None else f"{value:+,}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}%"


def noun(indicator: str) -> str:
    """How a sentence names an indicator: its code in words ("victims rescued")."""
    return indicator.replace("_", " ")


def headline_sentence(indicator: str, value: int | None, base_value: int | None, change_pct: float | None,
                      base_period: str | None) -> str:
    """"78 cases against 62, +25.8%", or what can be said when the base is missing or zero."""
    said = f"{number(value)} {noun(indicator)}"
    if base_value is None:
        return f"{said}; no figure for {base_period}" if base_period else said
    if change_pct is None:
        return f"{said} against {number(base_value)}"
    return f"{said} against {number(base_value)}, {percent(change_pct)}"


# ------------------------------------------------------------------ codes and order
def reporter_order(registry: Registry, present: Iterable[str]) -> list[str]:
    """The reporters present: the consolidating ones (the NCCT) first, then the registry's order."""
    present = set(present)
    known = [*registry.consolidating_reporters,
             *(code for code in registry.reporters if code not in registry.consolidating_reporters)]
    return [code for code in known if code in present] + sorted(present - set(known))


def code_label(registry: Registry, dimension: str, code: str) -> str:
    """A dimension code with its label from the registry: "Y_LT15 (under 15)"."""
    if code == UNKNOWN:
        return f"{code} (unknown)"
    label = registry.dimensions[dimension].labels.get(code)
    return f"{code} ({label})" if label else code


def area_label(registry: Registry, code: str) -> str:
    area = registry.areas.get(code)
    return f"{code} ({area.name})" if area and area.name else code


def _code_rank(registry: Registry, dimension: str) -> dict[str, int]:
    """Aggregates first (the part that is a total of its own), then the leaves, then unknown."""
    spec = registry.dimensions[dimension]
    ordered = [*spec.aggregates, *spec.leaves, UNKNOWN, TOTAL]
    return {code: rank for rank, code in enumerate(ordered)}


def _indicator_rank(registry: Registry) -> dict[str, int]:
    return {code: rank for rank, code in enumerate(registry.indicators)}


def period_sort_key(code: str) -> tuple:
    period = parse_period(code)
    return (0, period.start, period.end, code) if period else (1, None, None, code)


def headline_filter(registry: Registry) -> pl.Expr:
    """The headline figure of an indicator: the whole country and `_T` in every dimension."""
    expression = pl.col("area") == registry.defaults["area"]
    for dimension in registry.dimension_names:
        expression = expression & (pl.col(dimension) == TOTAL)
    return expression


def _cut_dimensions(registry: Registry, row: dict) -> list[str]:
    return [d for d in registry.dimension_names if row[d] != TOTAL]


def _with_comments(rows: pl.DataFrame, comments: pl.DataFrame | None, registry: Registry) -> pl.DataFrame:
    keys = [k for k in registry.key_columns]
    if comments is None or comments.height == 0:
        return rows.with_columns(pl.lit(None, dtype=pl.String).alias("comment"))
    picked = comments.select(*keys, pl.col("comment").cast(pl.String)).unique(subset=keys, keep="first")
    return rows.drop("comment", strict=False).join(picked, on=keys, how="left")


def _figures(row: dict, registry: Registry) -> dict:
    status = row.get("status")
    return {
        "value": row["value"],
        "base_value": row["base_value"],
        "change": row["change"],
        "change_pct": row["change_pct"],
        "value_text": number(row["value"]),
        "base_text": number(row["base_value"]),
        "change_text": signed(row["change"]),
        "pct_text": percent(row["change_pct"]),
        "status": status,
        "status_text": "" if status in (None, registry.defaults["status"]) else registry.statuses.get(status, status),
        "derived": bool(row.get("is_derived")),
        "comment": row.get("comment") or "",
    }


# ------------------------------------------------------------------ the sections
def headlines(rows: pl.DataFrame, registry: Registry, comments: pl.DataFrame | None = None) -> list[dict]:
    """Per reporter (the NCCT first), the headline row of each indicator, with its sentence.

    `rows` are comparison rows of one period (columns of marts.period_comparison);
    `comments` (optional) are observations with a `comment`, joined on the key.
    """
    picked = _with_comments(rows.filter(headline_filter(registry)), comments, registry)
    ranks = _indicator_rank(registry)
    by_reporter: dict[str, list[dict]] = {}
    for row in picked.iter_rows(named=True):
        indicator = registry.indicators.get(row["indicator"])
        by_reporter.setdefault(row["reporter"], []).append({
            "indicator": row["indicator"],
            "label": indicator.label if indicator else row["indicator"],
            "unit": indicator.unit if indicator else "",
            "base_period": row.get("base_period"),
            "sentence": headline_sentence(row["indicator"], row["value"], row["base_value"], row["change_pct"],
                                          row.get("base_period")),
            **_figures(row, registry),
        })
    return [
        {
            "reporter": code,
            "name": registry.reporters[code].name if code in registry.reporters else code,
            "rows": sorted(by_reporter[code], key=lambda r: (ranks.get(r["indicator"], len(ranks)), r["indicator"])),
        }
        for code in reporter_order(registry, by_reporter)
    ]


def breakdowns(rows: pl.DataFrame, registry: Registry, comments: pl.DataFrame | None = None) -> list[dict]:
    """One table per dimension: the rows of the period cut by that dimension alone, with code labels.

    Every dimension of the registry gets a table (empty when nothing is cut by it),
    in BREAKDOWN_ORDER; then, only when present, the provinces (areas other than the
    whole country, uncut) and the rows cut by more than one dimension at once.
    """
    picked = _with_comments(rows.filter(~headline_filter(registry)), comments, registry)
    dimensions = [d for d in BREAKDOWN_ORDER if d in registry.dimensions]
    dimensions += [d for d in registry.dimension_names if d not in dimensions]
    reporter_rank = {code: rank for rank, code in enumerate(reporter_order(registry, picked["reporter"].to_list()))}
    indicator_rank = _indicator_rank(registry)
    code_ranks = {d: _code_rank(registry, d) for d in registry.dimension_names}
    country = registry.defaults["area"]
    tables: dict[str, list[dict]] = {d: [] for d in dimensions}
    provinces: list[dict] = []
    cross: list[dict] = []
    for row in picked.iter_rows(named=True):
        cut = _cut_dimensions(registry, row)
        entry = {
            "reporter": row["reporter"],
            "indicator": row["indicator"],
            "area": row["area"],
            "area_text": area_label(registry, row["area"]) if row["area"] != country else row["area"],
            **_figures(row, registry),
        }
        order = (reporter_rank.get(row["reporter"], len(reporter_rank)), indicator_rank.get(row["indicator"], 99),
                 row["area"] != country, row["area"])
        if not cut:
            provinces.append({**entry, "code": row["area"], "code_text": area_label(registry, row["area"]),
                              "_order": order})
        elif len(cut) == 1:
            (dimension,) = cut
            code = row[dimension]
            tables[dimension].append({
                **entry, "code": code, "code_text": code_label(registry, dimension, code),
                "_order": (*order, code_ranks[dimension].get(code, len(code_ranks[dimension])), code),
            })
        else:
            text = ", ".join(f"{registry.dimensions[d].label}: {code_label(registry, d, row[d])}" for d in cut)
            cross.append({**entry, "code": ",".join(row[d] for d in cut), "code_text": text,
                          "_order": (*order, text)})

    def finish(entries: list[dict]) -> list[dict]:
        return [{k: v for k, v in e.items() if k != "_order"} for e in sorted(entries, key=lambda e: e["_order"])]

    sections = [
        {"key": d, "title": registry.dimensions[d].parts_label, "heading": registry.dimensions[d].label,
         "rows": finish(tables[d]), "show_area": True}
        for d in dimensions
    ]
    if provinces:
        sections.append({"key": "area", "title": "provinces", "heading": "area", "rows": finish(provinces),
                         "show_area": False})
    if cross:
        sections.append({"key": "cross", "title": "cut by more than one dimension", "heading": "cut",
                         "rows": finish(cross), "show_area": True})
    return sections


def series(frame: pl.DataFrame, registry: Registry, period_type: str) -> dict[tuple[str, str], list[dict]]:
    """(reporter, indicator) -> the headline figure in every period of `period_type` held, in time order."""
    picked = frame.filter(headline_filter(registry) & (pl.col("period_type") == period_type))
    found: dict[tuple[str, str], list[dict]] = {}
    for row in picked.iter_rows(named=True):
        found.setdefault((row["reporter"], row["indicator"]), []).append(
            {"period": row["period"], "value": row["value"], "status": row.get("status"),
             "derived": bool(row.get("is_derived"))}
        )
    return {key: sorted(points, key=lambda p: period_sort_key(p["period"])) for key, points in found.items()}


def open_warnings(findings: pl.DataFrame, submissions: pl.DataFrame, reporter: str | None = None) -> list[dict]:
    """The warnings recorded against submissions that were loaded (of `reporter`, if given), in the order applied."""
    loaded = submissions.filter(pl.col("status") == "loaded")
    if reporter is not None:
        loaded = loaded.filter(pl.col("reporter") == reporter)
    order = loaded.group_by("submission_id").agg(pl.col("sequence").min(), pl.col("reporter").first())
    picked = findings.filter(pl.col("severity") == "warning").join(order, on="submission_id", how="inner")
    picked = picked.sort("sequence", "file_name", pl.col("row_number"), "rule", "message", nulls_last=False)
    return [
        {
            "rule": row["rule"],
            "file": row["file_name"],
            "reporter": row["reporter"] or "",
            "row": "" if row["row_number"] is None else str(row["row_number"]),
            "column": row.get("column_name") or "",
            "message": row["message"],
        }
        for row in picked.iter_rows(named=True)
    ]


def period_type_name(period_type: str) -> str:
    return PERIOD_TYPE_NAMES.get(period_type, period_type)


def with_labels(frame: pl.DataFrame, registry: Registry) -> pl.DataFrame:
    """`frame` with a `<column>_label` after its columns for the reporter, area, indicator and each dimension.

    A code without a label in the registry keeps the code; `_T` reads "total", `_U` "unknown".
    """

    def labels(column: str) -> dict[str, str]:
        if column == "reporter":
            return {code: reporter.name for code, reporter in registry.reporters.items()}
        if column == "area":
            return {code: area.name for code, area in registry.areas.items() if area.name}
        if column == "indicator":
            return {code: indicator.label for code, indicator in registry.indicators.items()}
        return {**registry.dimensions[column].labels, TOTAL: "total", UNKNOWN: "unknown"}

    columns = ["reporter", "area", "indicator", *registry.dimension_names]
    return frame.with_columns(
        pl.col(column).replace_strict(labels(column), default=pl.col(column), return_dtype=pl.String)
        .alias(f"{column}_label")
        for column in columns
    )
