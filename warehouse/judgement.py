"""Warnings that need the warehouse: restatement, disagreement, outlier, derived_mismatch.

Every submission of a run is judged against the warehouse as it stood once the
submissions before it, and then itself, were applied. The run's versions are
written first (`warehouse/sql/load/versions.sql`); then each rule is one query
over all the run's rows (`run_rows`, with each row's receipt time `received_at`) beside
every version (`history`): the state just before a submission is the versions
current at an instant before its receipt, the state once it is applied the
versions current at its receipt. So a run of thousands of files is judged in four
queries, and each file exactly as if it had come alone after the ones before it.

`ctip validate` uses the same queries on a read-only connection, over a view of
the held versions with one file's versions laid over them (`what_if_sql`).
"""

from __future__ import annotations

import duckdb
import polars as pl

from schemas.findings import FINDINGS_SCHEMA
from schemas.registry import TOTAL, Registry
from warehouse.marts import figures_sql, tilings_sql
from warehouse.sqlfiles import sql_text

RULES = ("restatement", "disagreement", "outlier", "derived_mismatch")


def _held(version: str, row: str, once_applied: bool) -> str:
    """The versions current just before (or once) the submission of `row` was applied."""
    at, v = f"{row}.received_at", version
    if once_applied:
        return f"({v}.valid_from <= {at} and ({v}.valid_to is null or {v}.valid_to > {at}))"
    return f"({v}.valid_from < {at} and ({v}.valid_to is null or {v}.valid_to >= {at}))"


def _match(columns, left: str, right: str) -> str:
    return " and ".join(f"{left}.{c} = {right}.{c}" for c in columns)


def _sql(registry: Registry, name: str, history: str) -> str:
    dims = registry.dimension_names
    keys = registry.key_columns
    cut = [c for c in keys if c != "reporter"]
    cell = [c for c in keys if c != "period"]
    fragments = {
        "history": history,
        "tilings": tilings_sql("effective", by=("judged",), row="o.row_number"),
        "dims_plain": ", ".join(dims),
        **{f"dims_{alias}": ", ".join(f"{alias}.{d}" for d in dims) for alias in "icodf"},
        **{f"key_match_{a}{b}": _match(keys, a, b) for a, b in ("io", "sb", "sc", "so")},
        "cut_match_io": _match(cut, "i", "o"),
        **{f"cell_match_{a}{b}": _match(cell, a, b) for a, b in ("ib", "ic", "co", "ft", "cb", "yo", "id", "cd")},
        "figures": figures_sql("effective", by=("judged",)),
        "held_before_o": _held("o", "i", once_applied=False),
        **{f"held_after_{v}": _held(v, "i", once_applied=True) for v in "obc"},
        "held_after_oc": _held("o", "c", once_applied=True),
        "held_after_oy": _held("o", "y", once_applied=True),
    }
    return sql_text("judgement", f"{name}.sql").format(**fragments)


def versions_sql(registry: Registry, history: str) -> str:
    """The query of the run's versions (`run_versions`), from `run_rows` beside `history`."""
    return sql_text("load", "versions.sql").format(history=history, keys=", ".join(registry.key_columns))


def what_if_sql(registry: Registry, history: str) -> str:
    """A view of `history` with the versions in `run_versions` laid over it, written nowhere."""
    keys = registry.key_columns
    return f"""
        select h.* replace (coalesce(v.ends, h.valid_to) as valid_to)
        from {history} as h
        left join (select {", ".join(keys)}, ends from run_versions where sequence = 0 and ends is not null) as v
            on {_match(keys, "h", "v")} and h.valid_to is null
        union all by name
        select {", ".join(keys)}, period_type, value, status, comment, submission_id, row_number,
               received_at as valid_from, ends as valid_to
        from run_versions where sequence > 0 and present"""


def _where(row: dict, registry: Registry) -> str:
    cut = ", ".join(f"{d}={row[d]}" for d in registry.dimension_names if row[d] != TOTAL)
    return f"{row['indicator']} for {row['period']} in {row['area']}" + (f" ({cut})" if cut else "")


def judge_run(
    con: duckdb.DuckDBPyConnection, registry: Registry, order: dict[str, int], history: str = "core.observation_history"
) -> pl.DataFrame:
    """The warnings of every submission in `run_rows`, each against the warehouse as known at its receipt.

    `history` already holds the run's own versions; `order` gives each submission's
    sequence, so the warnings come out submission by submission, rule by rule, row by row.
    """
    severity = {rule_id: rule.severity for rule_id, rule in registry.rules.items()}
    found: list[tuple] = []

    def add(rule: str, row: dict, text: str) -> None:
        found.append((order[row["submission_id"]], RULES.index(rule), row["row_number"], row["submission_id"],
                      severity[rule], rule, row["row_number"], "value", text))

    for row in con.sql(_sql(registry, "restatement", history)).pl().iter_rows(named=True):
        add("restatement", row,
            f"row {row['row_number']}: {_where(row, registry)} was {row['held_value']:,} (held since "
            f"{row['valid_from']:%Y-%m-%d %H:%M} UTC); this file restates it as {row['new_value']:,}")

    consolidating = list(registry.consolidating_reporters)
    disagreeing = con.sql(_sql(registry, "disagreement", history), params={"consolidating": consolidating}).pl()
    for row in disagreeing.sort("other_reporter").iter_rows(named=True):
        add("disagreement", row,
            f"row {row['row_number']}: {row['reporter']} gives {_where(row, registry)} as {row['value']:,}; "
            f"{row['other_reporter']} holds {row['other_value']:,} (difference {row['value'] - row['other_value']:+,})")

    outlier = registry.rule("outlier").params
    pairs = con.sql(
        _sql(registry, "outlier", history),
        params={"threshold_pct": int(outlier["threshold_pct"]), "min_base": int(outlier["min_base"])},
    ).pl()
    for row in pairs.sort("period", "base_period").iter_rows(named=True):
        pct = 100 * (row["value"] - row["base_value"]) / row["base_value"]
        parts = row["base_derived_from"]
        if row["row_is_base"]:
            base = (f"adds up to {row['base_value']:,} ({', '.join(parts)})" if parts
                    else f"is {row['base_value']:,}")
            text = (
                f"row {row['row_number']}: {row['indicator']} for {row['base_period']} {base}; "
                f"against it the held {row['period']} figure {row['value']:,} is a change of {pct:+.1f}%"
            )
        else:
            text = (
                f"row {row['row_number']}: {_where(row, registry)} is {row['value']:,}, a change of {pct:+.1f}% "
                f"against {row['base_value']:,} in {row['base_period']}"
                + (f" (derived: {', '.join(parts)} add up to it)" if parts else "")
            )
        add("outlier", row,
            f"{text}; more than {outlier['threshold_pct']}% from a base of at least {outlier['min_base']}: "
            "check for a typing error")

    mismatches = con.sql(_sql(registry, "derived_mismatch", history)).pl()
    for row in mismatches.sort("period", "parts_value").iter_rows(named=True):
        parts = row["derived_from"]
        given = (f"its parts ({', '.join(parts)}) add up to" if len(parts) > 1
                 else f"{parts[0]}, the same months, is")
        add("derived_mismatch", row,
            f"row {row['row_number']}: {_where(row, registry)} is reported as {row['reported_value']:,}, but "
            f"{given} {row['parts_value']:,}")

    found.sort(key=lambda f: f[:3])
    return pl.DataFrame([f[3:] for f in found], schema=FINDINGS_SCHEMA, orient="row")
