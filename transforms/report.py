"""The figures of `ctip report`, shaped for a page: frames in, plain dicts out.

No I/O and no HTML here: the command reads the warehouse, these functions pick and
order the rows and write the numbers as the news report puts them ("78 cases
against 62, +25.8%"), and the template only lays them out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from schemas.percent import exact_percent
from schemas.registry import TOTAL, UNKNOWN, Registry
from schemas.texts import text
from transforms.periods import PERIOD_TYPES, parse_period
from transforms.periods import period_type_name as english_period_type_name

# The order the breakdowns are read in (victims by age band and where they were
# handed over, then suspects by sex and citizenship); any other dimension follows,
# in the order of the registry.
BREAKDOWN_ORDER = ("age", "referral", "sex", "citizenship", "offence", "country")


# ------------------------------------------------------------------ numbers
def count_text(value: int | None) -> str:
    """A count with thousands separators: "1,204"; "—" for none."""
    return "—" if value is None else f"{value:,}"


def signed_count(value: int | None) -> str:
    """A change of a count, its sign always shown: "+16", "-1,204"; "—" for none."""
    return "—" if value is None else f"{value:+,}"


def percent_one_decimal(change: int | None, base_value: int | None) -> str:
    """A change of `base_value` by `change` in per cent as reports quote it: to one decimal, half away from zero
    (as `change_pct_rounded` and `ctip claims` round it), its sign always shown: "+25.8%"; "—" for none (or a
    zero base)."""
    if change is None or not base_value:
        return "—"
    return f"{exact_percent(change, base_value, 1):+}%"


def period_type_name(period_type: str, lang: str = "en") -> str:
    """A period type as prose names it ("half-year") in `lang`; an unknown type as it is."""
    if lang == "en" or period_type not in PERIOD_TYPES:
        return english_period_type_name(period_type)
    return text("report", f"period_type_{period_type}", lang)  # every type of PERIOD_TYPES has one


def noun(indicator: str, registry: Registry | None = None, lang: str = "en") -> str:
    """How a sentence names an indicator: its code in words ("victims rescued"); in another language its label."""
    if lang != "en" and registry is not None:
        return registry.label("indicator", indicator, lang)
    return indicator.replace("_", " ")


def headline_sentence(
    indicator: str,
    value: int | None,
    base_value: int | None,
    change_pct: float | None,
    base_period: str | None,
    lang: str = "en",
    registry: Registry | None = None,
) -> str:
    """ "78 cases against 62, +25.8%", or what can be said when the base is missing or zero."""
    said = {"value": count_text(value), "noun": noun(indicator, registry, lang)}
    if base_value is None:
        if base_period:
            return text("report", "sentence_no_base", lang, base_period=base_period, **said)
        return text("report", "sentence_alone", lang, **said)
    if change_pct is None:
        return text("report", "sentence_zero_base", lang, base_value=count_text(base_value), **said)
    return text(
        "report",
        "sentence",
        lang,
        base_value=count_text(base_value),
        pct=percent_one_decimal(value - base_value, base_value),
        **said,
    )


# ------------------------------------------------------------------ codes and order
def reporter_order(registry: Registry, present: Iterable[str]) -> list[str]:
    """The reporters present: the consolidating ones (the NCCT) first, then the registry's order."""
    present = set(present)
    known = [
        *registry.consolidating_reporters,
        *(code for code in registry.reporters if code not in registry.consolidating_reporters),
    ]
    return [code for code in known if code in present] + sorted(present - set(known))


def code_label(registry: Registry, dimension: str, code: str, lang: str = "en") -> str:
    """A dimension code with its label from the registry: "Y_LT15 (under 15)"; in `lang` when asked."""
    if code == UNKNOWN:
        return f"{code} ({text('report', 'unknown', lang)})"
    label = registry.dimensions[dimension].labels.get(code)
    if label and lang != "en":
        label = registry.label(f"code:{dimension}", code, lang)
    return f"{code} ({label})" if label else code


def area_label(registry: Registry, code: str, lang: str = "en") -> str:
    area = registry.areas.get(code)
    if not (area and area.name):
        return code
    return f"{code} ({area.name if lang == 'en' else registry.label('area', code, lang)})"


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


def disagreement_notes(disagreements: pl.DataFrame | None, registry: Registry, lang: str = "en") -> dict[tuple, str]:
    """(reporter, area, period, indicator, dimensions...) -> what the other side holds, from
    marts.reporter_disagreements: "NCCT holds 78 (difference -3)" beside a ministry's figure, and
    "MOI holds 75" beside the NCCT's."""
    notes: dict[tuple, list[str]] = {}
    if disagreements is None:
        return {}
    dims = list(registry.dimension_names)
    for row in disagreements.iter_rows(named=True):
        cut = tuple(row[d] for d in dims)
        place = (row["area"], row["period"], row["indicator"], *cut)
        notes.setdefault((row["reporter"], *place), []).append(
            text(
                "report",
                "holds_difference",
                lang,
                reporter=row["consolidated_reporter"],
                value=count_text(row["consolidated_value"]),
                difference=signed_count(row["difference"]),
            )
        )
        notes.setdefault((row["consolidated_reporter"], *place), []).append(
            text("report", "holds", lang, reporter=row["reporter"], value=count_text(row["reporter_value"]))
        )
    return {key: "; ".join(texts) for key, texts in notes.items()}


def _disagreement(row: dict, registry: Registry, notes: dict[tuple, str] | None) -> str:
    if not notes:
        return ""
    key = (row["reporter"], row["area"], row["period"], row["indicator"], *(row[d] for d in registry.dimension_names))
    return notes.get(key, "")


def _status_text(status: str | None, registry: Registry, lang: str) -> str:
    if status in (None, registry.defaults["status"]):
        return ""
    meaning = registry.statuses.get(status, status)
    return meaning if lang == "en" or status not in registry.statuses else registry.label("status", status, lang)


def _figures(row: dict, registry: Registry, notes: dict[tuple, str] | None = None, lang: str = "en") -> dict:
    status = row.get("status")
    return {
        "disagreement": _disagreement(row, registry, notes),
        "value": row["value"],
        "base_value": row["base_value"],
        "change": row["change"],
        "change_pct": row["change_pct"],
        "value_text": count_text(row["value"]),
        "base_text": count_text(row["base_value"]),
        "change_text": signed_count(row["change"]),
        "pct_text": percent_one_decimal(row["change"], row["base_value"]),
        "status": status,
        "status_text": _status_text(status, registry, lang),
        "derived": bool(row.get("is_derived")),
        "comment": row.get("comment") or "",
    }


# ------------------------------------------------------------------ the sections
@dataclass(frozen=True)
class Figures:
    """What the figure sections are made of: the comparison rows of one period (columns of
    marts.period_comparison), the observations with a `comment` (joined on the key), the notes on
    figures (by key) and the language of the words."""

    rows: pl.DataFrame
    registry: Registry
    comments: pl.DataFrame | None = None
    notes: dict[tuple, str] | None = None
    lang: str = "en"


def headlines(figures: Figures) -> list[dict]:
    """Per reporter (the NCCT first), the headline row of each indicator, with its sentence."""
    rows, registry, notes, lang = figures.rows, figures.registry, figures.notes, figures.lang
    picked = _with_comments(rows.filter(headline_filter(registry)), figures.comments, registry)
    ranks = _indicator_rank(registry)
    by_reporter: dict[str, list[dict]] = {}
    for row in picked.iter_rows(named=True):
        indicator = registry.indicators.get(row["indicator"])
        by_reporter.setdefault(row["reporter"], []).append(
            {
                "indicator": row["indicator"],
                "label": (indicator.label if lang == "en" else registry.label("indicator", row["indicator"], lang))
                if indicator
                else row["indicator"],
                "unit": indicator.unit if indicator else "",
                "base_period": row.get("base_period"),
                "sentence": headline_sentence(
                    row["indicator"],
                    row["value"],
                    row["base_value"],
                    row["change_pct"],
                    row.get("base_period"),
                    lang,
                    registry,
                ),
                **_figures(row, registry, notes, lang),
            }
        )
    return [
        {
            "reporter": code,
            "name": (registry.reporters[code].name if lang == "en" else registry.label("reporter", code, lang))
            if code in registry.reporters
            else code,
            "rows": sorted(by_reporter[code], key=lambda r: (ranks.get(r["indicator"], len(ranks)), r["indicator"])),
        }
        for code in reporter_order(registry, by_reporter)
    ]


def breakdowns(figures: Figures) -> list[dict]:
    """One table per dimension: the rows of the period cut by that dimension alone, with code labels.

    Every dimension of the registry gets a table (empty when nothing is cut by it),
    in BREAKDOWN_ORDER; then, only when present, the provinces (areas other than the
    whole country, uncut) and the rows cut by more than one dimension at once.
    """
    rows, registry, notes, lang = figures.rows, figures.registry, figures.notes, figures.lang
    picked = _with_comments(rows.filter(~headline_filter(registry)), figures.comments, registry)
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
            "area_text": area_label(registry, row["area"], lang) if row["area"] != country else row["area"],
            **_figures(row, registry, notes, lang),
        }
        order = (
            reporter_rank.get(row["reporter"], len(reporter_rank)),
            indicator_rank.get(row["indicator"], 99),
            row["area"] != country,
            registry.area_rank(row["area"]),
            row["area"],
        )
        if not cut:
            provinces.append(
                {**entry, "code": row["area"], "code_text": area_label(registry, row["area"], lang), "_order": order}
            )
        elif len(cut) == 1:
            (dimension,) = cut
            code = row[dimension]
            tables[dimension].append(
                {
                    **entry,
                    "code": code,
                    "code_text": code_label(registry, dimension, code, lang),
                    "_order": (*order, code_ranks[dimension].get(code, len(code_ranks[dimension])), code),
                }
            )
        else:
            said = ", ".join(
                f"{_dimension_name(registry, d, lang)}: {code_label(registry, d, row[d], lang)}" for d in cut
            )
            cross.append({**entry, "code": ",".join(row[d] for d in cut), "code_text": said, "_order": (*order, said)})

    def finish(entries: list[dict]) -> list[dict]:
        return [{k: v for k, v in e.items() if k != "_order"} for e in sorted(entries, key=lambda e: e["_order"])]

    sections = [
        {
            "key": d,
            "title": registry.dimensions[d].parts_label if lang == "en" else _dimension_name(registry, d, lang),
            "heading": _dimension_name(registry, d, lang),
            "rows": finish(tables[d]),
            "show_area": True,
        }
        for d in dimensions
    ]
    if provinces:
        sections.append(
            {
                "key": "area",
                "title": text("report", "provinces", lang),
                "heading": text("report", "province_heading", lang),
                "rows": finish(provinces),
                "show_area": False,
            }
        )
    if cross:
        sections.append(
            {
                "key": "cross",
                "title": text("report", "cross", lang),
                "heading": text("report", "cross_heading", lang),
                "rows": finish(cross),
                "show_area": True,
            }
        )
    return sections


def _dimension_name(registry: Registry, dimension: str, lang: str) -> str:
    """What a dimension is called ("age"), in `lang`."""
    return registry.dimensions[dimension].label if lang == "en" else registry.label("dimension", dimension, lang)


def series(frame: pl.DataFrame, registry: Registry, period_type: str) -> dict[tuple[str, str], list[dict]]:
    """(reporter, indicator) -> the headline figure in every period of `period_type` held, in time order."""
    picked = frame.filter(headline_filter(registry) & (pl.col("period_type") == period_type))
    found: dict[tuple[str, str], list[dict]] = {}
    for row in picked.iter_rows(named=True):
        found.setdefault((row["reporter"], row["indicator"]), []).append(
            {
                "period": row["period"],
                "value": row["value"],
                "status": row.get("status"),
                "derived": bool(row.get("is_derived")),
            }
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


def rejected_submissions(submissions: pl.DataFrame, findings: pl.DataFrame, first: int = 3) -> list[dict]:
    """The rejected submissions given (those that name the period), in the order received, each with
    its first errors (in row order) and how many findings it has in all."""
    rows = []
    errors = findings.filter(pl.col("severity") == "error").sort("row_number", nulls_last=False)
    for item in submissions.sort("sequence").iter_rows(named=True):
        own = errors.filter(pl.col("submission_id") == item["submission_id"])
        rows.append(
            {
                "sequence": item["sequence"],
                "file": item["file_name"],
                "reporter": item["reporter"] or "",
                "received": f"{item['received_at']:%Y-%m-%d %H:%M}" if item.get("received_at") else "",
                "errors": own.height,
                "first": [f"{f['rule']}: {f['message']}" for f in own.head(first).iter_rows(named=True)],
                "more": max(0, own.height - first),
            }
        )
    return rows
