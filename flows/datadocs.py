"""The validation pages of a run (ctip's Data Docs), written to `<warehouse>.ctip/docs/`.

Each batch a run validates is one validation: one page naming the run and its
submissions, with each submission's outcome and first findings and every
expectation of the Great Expectations suites that judged them (rows checked,
rows failed, a few values that failed). `index.html` lists the validations, newest
first. The pages are rendered by Jinja with autoescaping on, so no name, code,
value or message can add markup; their CSS is inline, they have no script and
refer to nothing outside the folder, so they open offline.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from flows.pages import render_page
from schemas.findings import count_of
from warehouse.durable import atomic_write_text

if TYPE_CHECKING:  # the steps call these pages, not the other way round
    from flows.batches import Prepared


PAGES = "validations"  # the folder of the pages (and of the facts the index is built from)
FINDINGS_PER_SUBMISSION = 20  # shown on the page; every finding is in audit.findings
KEPT_VALIDATIONS = 200  # the newest pages kept; older ones are removed
# What Great Expectations' own Data Docs site left in the folder (pages that load scripts from other hosts).
OLD_SITE = ("static", "expectations")


def validation(prepared: Prepared, findings: pl.DataFrame) -> dict | None:
    """One batch's validation as plain values: its submissions with their first findings, and its checks.

    None for a batch of duplicates alone, which nothing validated.
    """
    originals = [d for d in prepared.decisions if d.status != "duplicate"]
    if not originals:
        return None
    by_submission: dict[str, list[dict]] = {}
    for finding in findings.sort("submission_id", "row_number", nulls_last=False).iter_rows(named=True):
        by_submission.setdefault(finding["submission_id"], []).append(finding)
    submissions = []
    for decision in prepared.decisions:
        receipt = decision.receipt
        found = [] if decision.status == "duplicate" else by_submission.get(receipt.submission_id, [])
        ordered = sorted(found, key=lambda f: f["severity"] != "error")  # errors first, each in row order
        submissions.append(
            {
                "sequence": receipt.sequence,
                "file_name": receipt.file_name,
                "reporter": decision.reporter or "",
                "status": decision.status,
                "received_at": f"{receipt.received_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC",
                "errors": count_of([f for f in found if f["severity"] == "error"]),
                "warnings": count_of([f for f in found if f["severity"] == "warning"]),
                "findings": [
                    {k: ordered_finding[k] for k in ("severity", "rule", "row_number", "column_name", "message")}
                    for ordered_finding in ordered[:FINDINGS_PER_SUBMISSION]
                ],
                "more": max(0, len(found) - FINDINGS_PER_SUBMISSION),
            }
        )
    sequences = [d.receipt.sequence for d in originals]
    return {
        "first": min(sequences),
        "last": max(sequences),
        "submissions": submissions,
        "checks": prepared.checks,
    }


def write_site(docs_dir: Path, started: datetime, validations: list[dict | None]) -> Path | None:
    """Write a page for each of the run's validations and rebuild the index; the index's path, or None
    when the run validated nothing (the site is then left as it was)."""
    done = [v for v in validations if v is not None]
    if not done:
        return None
    pages = docs_dir / PAGES
    pages.mkdir(parents=True, exist_ok=True)
    for leftover in OLD_SITE:
        shutil.rmtree(docs_dir / leftover, ignore_errors=True)
    for folder in pages.iterdir():  # the old site's validation pages sat in folders of their own
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
    run = f"{started.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    for number, item in enumerate(done, start=1):
        stem = f"{started.astimezone(UTC):%Y%m%dT%H%M%S%f}-{number:03d}"
        names = [s["file_name"] for s in item["submissions"] if s["status"] != "duplicate"]
        facts = {
            "page": f"{PAGES}/{stem}.html",
            "title": f"Run of {run}, validation {number} of {len(done)}: receipts {_span(item)}",
            "run": run,
            "files": names,
            "counts": {
                status: sum(1 for s in item["submissions"] if s["status"] == status)
                for status in ("loaded", "rejected", "duplicate")
            },
            "failed_checks": sum(1 for c in item["checks"] if not c["success"]),
        }
        _write(pages / f"{stem}.html", render("validation.html.j2", {**facts, **item, "index": "../index.html"}))
        _write(pages / f"{stem}.json", json.dumps(facts))
    entries = sorted(
        (json.loads(path.read_text()) for path in pages.glob("*.json")), key=lambda e: e["page"], reverse=True
    )
    for stale in entries[KEPT_VALIDATIONS:]:
        for suffix in (".html", ".json"):
            (docs_dir / stale["page"]).with_suffix(suffix).unlink(missing_ok=True)
    index = docs_dir / "index.html"
    _write(index, render("validations.html.j2", {"validations": entries[:KEPT_VALIDATIONS]}))
    return index


def _span(item: dict) -> str:
    return f"#{item['first']}" if item["first"] == item["last"] else f"#{item['first']}–#{item['last']}"


def render(template: str, context: dict) -> str:
    """A page from its Jinja2 template, every value escaped."""
    return render_page(template, context)


def _write(target: Path, text: str) -> None:
    """Write the whole file under a temporary name, then rename it over `target`."""
    atomic_write_text(target, text)
