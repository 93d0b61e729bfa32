"""`ctip validate`: the run's reading and validation on files a ministry is about to send.

Nothing is archived or written; the warehouse, when there is one, is only read.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from flows import steps
from flows.settings import Settings
from schemas.findings import FINDINGS_SCHEMA, count_of
from schemas.registry import Registry
from schemas.shapes import Receipt
from schemas.texts import message
from transforms.findings import Finding, findings_frame
from transforms.read import Unreadable, format_of, unreadable_finding
from warehouse.archive import NotRegularFile, read_regular, sha256_of
from warehouse.judgement import judge_approvals, judge_run, versions_sql, what_if_sql


def _warehouse_warnings(
    prepared: steps.Prepared, settings: Settings, registry: Registry, lang: str = "en", others_withheld: bool = False
) -> pl.DataFrame:
    """Restatements, disagreements and outliers of each file as if it came alone now, or its rejection when it
    would change approved figures (period_approved); read-only. `others_withheld`: as `judge_run`."""
    frames = [pl.DataFrame(schema=FINDINGS_SCHEMA)]
    with _judged_against(settings) as con:
        con.execute("set TimeZone = 'UTC'")
        approvals = _approvals_relation(con)
        for decision in prepared.decisions:
            if decision.status != "loaded":
                continue
            receipt = decision.receipt
            rows = prepared.observations.filter(pl.col("submission_id") == receipt.submission_id).with_columns(
                pl.lit(receipt.sequence).alias("sequence"),
                pl.lit(receipt.received_at).alias("received_at"),
                pl.lit(receipt.received_at).alias("arrived_at"),
            )
            con.register("run_rows", rows)
            refused = judge_approvals(con, registry, approvals=approvals, lang=lang) if approvals else None
            if refused is not None and refused.height:  # rejected whole, as a run would: no other warning
                frames.append(refused)
                con.unregister("run_rows")
                continue
            con.register("run_versions", con.sql(versions_sql(registry, "core.observation_history")).pl())
            con.execute(f"create or replace temp view what_if as {what_if_sql(registry, 'core.observation_history')}")
            frames.append(
                judge_run(
                    con,
                    registry,
                    {receipt.submission_id: receipt.sequence},
                    history="what_if",
                    lang=lang,
                    others_withheld=others_withheld,
                )
            )
            con.unregister("run_rows")
            con.unregister("run_versions")
    return pl.concat(frames, how="vertical")


def _judged_against(settings: Settings) -> duckdb.DuckDBPyConnection:
    """The warehouse a file is judged against, read-only; without one, an empty warehouse in memory, so that a file
    is still judged against itself (an outlier or a derived mismatch between its own figures) as a first run
    would judge it."""
    from warehouse.queries import empty_warehouse, open_analyst

    return open_analyst(settings.warehouse) if settings.warehouse.exists() else empty_warehouse()


def _approvals_relation(con) -> str | None:
    """`audit.approvals` when the analyst file has it (one published before approvals existed has none)."""
    from warehouse.approvals import has_approvals

    return "audit.approvals" if has_approvals(con) else None


def check_files(
    files: list[Path],
    settings: Settings,
    registry: Registry,
    now: datetime,
    lang: str = "en",
    others_withheld: bool = False,
) -> list[dict]:
    """One report per file: its findings (row, column, rule, message in `lang`) and their counts.
    `others_withheld`: a disagreement does not give the other reporter's figure (as `judge_run`)."""
    receipts, contents, unsupported = [], {}, {}
    first: dict[str, int] = {}
    for sequence, path in enumerate(files, start=1):
        file_format = format_of(path.name)
        shown = steps.display_name(path.name)
        if file_format is None:
            unsupported[sequence] = Finding(
                "unreadable", "error", message("unreadable", "not_supported", lang, file=shown)
            )
            continue
        try:
            content = read_regular(path, registry.limits.max_file_bytes)
        except NotRegularFile:
            unsupported[sequence] = Finding(
                "unreadable", "error", message("unreadable", "not_regular", lang, file=shown)
            )
            continue
        if content is None:
            too_big = Unreadable("too_big", size=path.stat().st_size, limit=registry.limits.max_file_bytes)
            unsupported[sequence] = unreadable_finding(too_big, file_format, lang)
            continue
        submission_id = sha256_of(content)
        contents[submission_id] = content
        first.setdefault(submission_id, sequence)
        receipts.append(Receipt(sequence, submission_id, path.name, file_format, len(content), now, now))
    prepared = steps.prepare(receipts, contents, first, {}, registry, settings.zone, lang)
    warnings = _warehouse_warnings(prepared, settings, registry, lang, others_withheld)
    findings = pl.concat([prepared.findings, warnings], how="vertical_relaxed")
    reports = []
    for sequence, path in enumerate(files, start=1):
        if sequence in unsupported:
            found = findings_frame("", [unsupported[sequence]])
        else:
            submission_id = next(r.submission_id for r in receipts if r.sequence == sequence)
            found = findings.filter(pl.col("submission_id") == submission_id)
        rows = found.sort("row_number", nulls_last=False).to_dicts()
        reports.append(
            {
                "file": steps.display_name(str(path)),
                "errors": count_of([f for f in rows if f["severity"] == "error"]),
                "warnings": count_of([f for f in rows if f["severity"] == "warning"]),
                "findings": [{k: v for k, v in f.items() if k != "submission_id"} for f in rows],
            }
        )
    return reports
