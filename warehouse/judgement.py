"""Warnings that need the warehouse: restatement, disagreement, outlier, derived_mismatch.

Each submission is judged against the warehouse as it stands after every
submission applied before it; the queries read the incoming rows (a relation
named `incoming`) beside the current observations, so the same judgement serves
the load (inside its transaction, before the rows are applied) and `ctip validate`
(on a read-only connection).
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import polars as pl

from schemas.findings import FINDINGS_SCHEMA
from schemas.registry import TOTAL, Registry
from warehouse.sqlfiles import sql_text

SQL = "judgement"


# (longer, shorter) period types that sql/marts/derived_figures.sql derives one from the other.
DERIVATIONS = (("year", "half"), ("half", "quarter"), ("half", "month"), ("quarter", "month"), ("ytd", "month"))
AS_OF = (
    "(select * from core.observation_history "
    "where valid_from <= $as_of and (valid_to is null or valid_to > $as_of))"
)


def _sql(registry: Registry, name: str) -> str:
    dims = registry.dimension_names
    return sql_text(SQL, f"{name}.sql").format(
        observations=AS_OF,
        derived=sql_text("marts", "derived_figures.sql").format(source="effective"),
        dims_d=", ".join(f"d.{d}" for d in dims),
        dims_match_s=" and ".join(f"s.{d} = d.{d}" for d in dims),
        dims_match_r=" and ".join(f"r.{d} = d.{d}" for d in dims),
        dims=", ".join(dims),
        dims_i=", ".join(f"i.{d}" for d in dims),
        dims_o=", ".join(f"o.{d}" for d in dims),
        dims_c=", ".join(f"c.{d}" for d in dims),
        dims_match=" and ".join(f"b.{d} = c.{d}" for d in dims),
        key_match=" and ".join(f"i.{c} = o.{c}" for c in registry.key_columns),
        cut_match=" and ".join(f"i.{c} = o.{c}" for c in registry.key_columns if c != "reporter"),
    )


def _where(row: dict, registry: Registry) -> str:
    cut = ", ".join(f"{d}={row[d]}" for d in registry.dimension_names if row[d] != TOTAL)
    return f"{row['indicator']} for {row['period']} in {row['area']}" + (f" ({cut})" if cut else "")


def judge(con: duckdb.DuckDBPyConnection, registry: Registry, submission_id: str, as_of: datetime) -> pl.DataFrame:
    """The warnings of the submission whose rows are in `incoming`, against the warehouse as known at `as_of`.

    For a load, `as_of` is the submission's receipt, which is the state after every
    submission applied before it; a backfill replays with the original receipt times.
    """
    findings = []
    severity = {rule_id: rule.severity for rule_id, rule in registry.rules.items()}

    for row in con.sql(_sql(registry, "restatement"), params={"as_of": as_of}).pl().iter_rows(named=True):
        findings.append((
            submission_id, severity["restatement"], "restatement", row["row_number"], "value",
            f"row {row['row_number']}: {_where(row, registry)} was {row['held_value']:,} (held since "
            f"{row['valid_from']:%Y-%m-%d %H:%M} UTC); this file restates it as {row['new_value']:,}",
        ))

    consolidating = list(registry.consolidating_reporters)
    disagreeing = con.sql(_sql(registry, "disagreement"), params={"consolidating": consolidating, "as_of": as_of}).pl()
    for row in disagreeing.iter_rows(named=True):
        findings.append((
            submission_id, severity["disagreement"], "disagreement", row["row_number"], "value",
            f"row {row['row_number']}: {row['reporter']} gives {_where(row, registry)} as {row['value']:,}; "
            f"{row['other_reporter']} holds {row['other_value']:,} (difference {row['value'] - row['other_value']:+,})",
        ))

    outlier = registry.rule("outlier").params
    pairs = con.sql(
        _sql(registry, "outlier"),
        params={"threshold_pct": int(outlier["threshold_pct"]), "min_base": int(outlier["min_base"]), "as_of": as_of},
    ).pl()
    for row in pairs.iter_rows(named=True):
        pct = 100 * (row["value"] - row["base_value"]) / row["base_value"]
        if row["row_is_base"]:
            text = (
                f"row {row['row_number']}: {row['indicator']} for {row['base_period']} is {row['base_value']:,}; "
                f"against it the held {row['period']} figure {row['value']:,} is a change of {pct:+.1f}%"
            )
        else:
            text = (
                f"row {row['row_number']}: {_where(row, registry)} is {row['value']:,}, a change of {pct:+.1f}% "
                f"against {row['base_value']:,} in {row['base_period']}"
            )
        findings.append((
            submission_id, severity["outlier"], "outlier", row["row_number"], "value",
            f"{text}; more than {outlier['threshold_pct']}% from a base of at least {outlier['min_base']}: "
            "check for a typing error",
        ))
    held_types = {t for (t,) in con.sql(_sql(registry, "period_types"), params={"as_of": as_of}).fetchall()}
    if not any({longer, shorter} <= held_types for longer, shorter in DERIVATIONS):
        return pl.DataFrame(findings, schema=FINDINGS_SCHEMA, orient="row")  # nothing can be derived
    mismatches = con.sql(_sql(registry, "derived_mismatch"), params={"as_of": as_of}).pl()
    for row in mismatches.iter_rows(named=True):
        parts = ", ".join(row["derived_from"])
        findings.append((
            submission_id, severity["derived_mismatch"], "derived_mismatch", row["row_number"], "value",
            f"row {row['row_number']}: {_where(row, registry)} is reported as {row['reported_value']:,}, but its "
            f"parts ({parts}) add up to {row['parts_value']:,}",
        ))
    return pl.DataFrame(findings, schema=FINDINGS_SCHEMA, orient="row")
