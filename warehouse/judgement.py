"""Rules that need the warehouse: the warnings restatement, disagreement, outlier, derived_mismatch, and
the error period_approved.

Every submission of a run is judged against the warehouse as it stood once the
submissions before it, and then itself, were applied. The run's versions are
written first (`warehouse/sql/load/versions.sql`); then each rule is one query,
`warehouse/sql/judgement/<rule>.sql`, over all the run's rows (`run_rows`, with each row's receipt time `received_at`) beside
every version (`history`): the state just before a submission is the versions
current at an instant before its receipt, the state once it is applied the
versions current at its receipt. So a run of thousands of files is judged in four
queries, and each file exactly as if it had come alone after the ones before it.

`ctip validate` uses the same queries on a read-only connection, over a view of
the held versions with one file's versions laid over them (`what_if_sql`,
`warehouse/sql/load/what_if.sql`). The queries are templates: `judgement_sql` renders
one with the registry's key, and `python -m warehouse.sqlfiles judgement/outlier.sql`
prints it whole to read or run in the DuckDB CLI.

The error `period_approved` is judged before any version is written (`judge_approvals`): a
submission it rejects brings none of its rows, so the submissions after it are judged as if
it had never come.
"""

from __future__ import annotations

from datetime import UTC

import duckdb
import polars as pl

from schemas.findings import FINDINGS_SCHEMA, where
from schemas.percent import exact_percent
from schemas.registry import TOTAL, Registry
from schemas.texts import message
from warehouse.database import query_records
from warehouse.sqlfiles import key_context, render_sql

RULES = ("restatement", "disagreement", "outlier", "derived_mismatch")


def judgement_sql(registry: Registry, name: str, history: str = "core.observation_history", repeated: str = "") -> str:
    """The query of one rule (sql/judgement/<name>.sql) over `run_rows` beside `history`; `repeated`, the table of
    the keys with more than one event in the run (`repeated_keys_sql`), when the load made it."""
    return render_sql(f"judgement/{name}.sql", history=history, repeated=repeated, **key_context(registry))


def judge_approvals(
    con: duckdb.DuckDBPyConnection,
    registry: Registry,
    history: str = "core.observation_history",
    approvals: str = "audit.approvals",
    lang: str = "en",
) -> pl.DataFrame:
    """The `period_approved` errors of the submissions in `run_rows`, each judged as of its arrival (its upload,
    for the portal; else its receipt).

    A submission is rejected when it would add, change or withdraw a figure of a reporter-period whose
    latest act in `approvals` at its arrival is `approve`, against the figures as the submissions before
    it left them. A rejected submission changes nothing, so the earliest one found is rejected for good
    and the rest judged again without it, until no other is found (rarely more than once: only
    reporter-periods ever approved are followed). One finding per submission and reporter-period, at the
    first row that would change it, in `lang`. Where no period was ever approved (as before the first
    sign-off) nothing can be rejected, and the rule's query is not run.
    """
    found: list[tuple] = []
    if not con.execute(f"select exists (select 1 from {approvals} where action = 'approve')").fetchall()[0][0]:
        return pl.DataFrame(found, schema=FINDINGS_SCHEMA, orient="row")
    query = render_sql("judgement/period_approved.sql", history=history, approvals=approvals, **key_context(registry))
    severity = registry.rule("period_approved").severity
    excluded: list[str] = []
    while True:
        rows = query_records(con, query, {"excluded": excluded})
        if not rows:
            break
        first = [row for row in rows if row["sequence"] == rows[0]["sequence"]]  # ordered by sequence
        for row in first:
            text = message(
                "period_approved",
                "approved",
                lang,
                row=row["row_number"],
                column="period",
                reporter=row["reporter"],
                period=row["period"],
                by=row["approved_by"],
                at=row["approved_at"].astimezone(UTC),
            )
            found.append((row["submission_id"], severity, "period_approved", row["row_number"], "period", text))
        excluded.append(first[0]["submission_id"])
    return pl.DataFrame(found, schema=FINDINGS_SCHEMA, orient="row")


def versions_sql(registry: Registry, history: str, repeated: str = "", part: str = "all") -> str:
    """The query of the run's versions (`run_versions`), from `run_rows` beside `history`: of every key (`part`
    "all"), of the keys with more than one event ("repeated") or of the others ("single"). `repeated`, a table
    made with `repeated_keys_sql`, saves working those keys out again."""
    return render_sql("load/versions.sql", history=history, repeated=repeated, part=part, **key_context(registry))


def repeated_keys_sql(registry: Registry, history: str) -> str:
    """The query of the hashes of the keys with more than one event in the run (`key_hash`), for `versions_sql`."""
    return render_sql("load/repeated_keys.sql", history=history, **key_context(registry))


def what_if_sql(registry: Registry, history: str) -> str:
    """A view of `history` with the versions in `run_versions` laid over it, written nowhere."""
    return render_sql("load/what_if.sql", history=history, **key_context(registry))


def _where(row: dict, registry: Registry, lang: str = "en") -> str:
    cut = [f"{d}={row[d]}" for d in registry.dimension_names if row[d] != TOTAL]
    return where(row["indicator"], row["period"], row["area"], cut, lang)


def judge_run(
    con: duckdb.DuckDBPyConnection,
    registry: Registry,
    order: dict[str, int],
    history: str = "core.observation_history",
    lang: str = "en",
    cap: int | None = None,
    repeated: str = "",
    others_withheld: bool = False,
) -> pl.DataFrame:
    """The warnings of every submission in `run_rows`, each against the warehouse as known at its receipt.

    `history` already holds the run's own versions; `order` gives each submission's
    sequence, so the warnings come out submission by submission, rule by rule, row by row.
    `repeated` names the load's table of the keys with more than one event (`repeated_keys_sql`), if any.
    The messages are in `lang`. With a `cap`, only the first `cap` warnings of a rule in
    a submission get their message: the others come with an empty one, for the count
    `cap_findings` keeps of them (a large file's tens of thousands of outliers are
    counted, never read). With `others_withheld`, a disagreement names the other reporter without its
    figure (the portal's answer to a sender, who sees its own reporter's figures only).
    """
    outlier = registry.rule("outlier").params

    def restated(row: dict) -> tuple[str, dict]:
        return "restated", {
            "where": _where(row, registry, lang),
            "held_value": row["held_value"],
            "valid_from": row["valid_from"],
            "new_value": row["new_value"],
        }

    def differs(row: dict) -> tuple[str, dict]:
        sent, held = (row["reporter"], row["value"]), (row["other_reporter"], row["other_value"])
        (ministry, ministry_value), (consolidating, consolidated) = (
            (held, sent) if row["reporter"] in registry.consolidating_reporters else (sent, held)
        )
        return "differs_withheld" if others_withheld else "differs", {
            "reporter": row["reporter"],
            "where": _where(row, registry, lang),
            "value": row["value"],
            "other_reporter": row["other_reporter"],
            "other_value": row["other_value"],
            "ministry": ministry,
            "consolidating": consolidating,
            "difference": ministry_value - consolidated,  # as marts.reporter_disagreements: ministry minus NCCT
        }

    def changed(row: dict) -> tuple[str, dict]:
        parts = row["base_derived_from"]
        return ("base" if row["row_is_base"] else "current") + ("_derived" if parts else ""), {
            "where": _where(row, registry, lang),
            "indicator": row["indicator"],
            "period": row["period"],
            "value": row["value"],
            "base_period": row["base_period"],
            "base_value": row["base_value"],
            "derived_from": ", ".join(parts or []),
            "pct": exact_percent(row["value"] - row["base_value"], row["base_value"], 1),  # as compare gives it
            "threshold_pct": outlier["threshold_pct"],
            "min_base": outlier["min_base"],
        }

    def mismatched(row: dict) -> tuple[str, dict]:
        parts = row["derived_from"]
        return "parts" if len(parts) > 1 else "same_months", {
            "where": _where(row, registry, lang),
            "reported_value": row["reported_value"],
            "parts_value": row["parts_value"],
            "derived_from": ", ".join(parts),
            "other": parts[0],
        }

    params = {
        "disagreement": {"consolidating": list(registry.consolidating_reporters)},
        "outlier": {"threshold_pct": int(outlier["threshold_pct"]), "min_base": int(outlier["min_base"])},
    }
    # each rule: how its rows are ordered within a row number, and its message's key and values for a row
    judged = {
        "restatement": ((), restated),
        "disagreement": (("other_reporter",), differs),
        "outlier": (("period", "base_period"), changed),
        "derived_mismatch": (("period", "parts_value"), mismatched),
    }
    found: list[tuple] = []
    for rule, (ordered_by, described) in judged.items():
        rows = query_records(con, judgement_sql(registry, rule, history, repeated), params.get(rule))
        rows.sort(key=lambda row: tuple((row[c] is not None, row[c]) for c in ordered_by))  # nulls first
        position = RULES.index(rule)
        found.extend(
            (order[row["submission_id"]], position, row["row_number"], row["submission_id"], rule, described, row)
            for row in rows
        )

    found.sort(key=lambda f: f[:3])
    severity = {rule_id: rule.severity for rule_id, rule in registry.rules.items()}
    given: dict[tuple[str, str], int] = {}
    findings = []
    for _, _, row_number, submission_id, rule, described, row in found:
        given[submission_id, rule] = shown = given.get((submission_id, rule), 0) + 1
        text = ""
        if cap is None or shown <= cap:
            key, values = described(row)
            text = message(rule, key, lang, row=row_number, **values)
        findings.append((submission_id, severity[rule], rule, row_number, "value", text))
    return pl.DataFrame(findings, schema=FINDINGS_SCHEMA, orient="row")
