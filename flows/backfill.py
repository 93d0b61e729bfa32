"""Backfill: replay the archived submissions that touch a range of periods.

Each replayed submission is applied whole and once, in its original order, under
today's rules, judged as of its original receipt and keeping its `received_at`.
History from the first replayed submission on is rewritten to what today's rules
would have published then; with unchanged rules the warehouse comes out the same.

The parent flow plans the replay, reads and validates the submissions in child
flow runs (one per chunk, in order, so the Prefect UI shows the progress), then
rewinds and re-applies everything in one transaction and publishes a fresh
generation of the analyst file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prefect import flow
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from flows import steps
from schemas import load_registry
from transforms.periods import parse_period
from warehouse.archive import Archive
from warehouse.layout import WarehouseFiles
from warehouse.lock import WriterLock
from warehouse.store import Decision, Rewind, Warehouse

CHUNK = 200  # submissions read and validated together in one child flow run


@dataclass
class BackfillSummary:
    replayed: list[dict]
    since: datetime | None
    findings: list[dict]

    def count(self, status: str) -> int:
        return sum(1 for s in self.replayed if s["status"] == status)


@flow(name="ctip-backfill-chunk")
def replay_chunk(warehouse: str, sequences: list[int], timezone: str) -> steps.Prepared:
    """Read and validate one chunk of the replayed submissions, judged as of their receipts."""
    files = WarehouseFiles(Path(warehouse))
    registry = load_registry()
    with Warehouse.open(files, registry) as opened:
        receipts = opened.receipts_by_sequence(sequences)
    archive = Archive(files.archive_dir)
    chunk = steps.Pending(
        receipts, {r.submission_id: archive.get(r.submission_id) for r in receipts},
        {r.submission_id: r.sequence for r in receipts}, {},
    )
    return steps.prepare_chunk(chunk, receipts, registry, ZoneInfo(timezone))


@flow(name="ctip-backfill", log_prints=True)
def backfill(
    first_period: str, last_period: str, warehouse: str, reporter: str | None = None,
    timezone: str = "Asia/Phnom_Penh", lock_timeout_seconds: float = 600.0, show_progress: bool = True,
) -> BackfillSummary:
    """Replay every archived submission touching first_period..last_period (of one reporter, if given)."""
    first, last = parse_period(first_period), parse_period(last_period)
    if first is None or last is None:
        raise ValueError(f"not a period range: {first_period} .. {last_period}")
    files = WarehouseFiles(Path(warehouse))
    registry = load_registry()
    with WriterLock(files.lock_file, lock_timeout_seconds, purpose=f"ctip backfill {first.code}..{last.code}"):
        with Warehouse.open(files, registry) as opened:
            plan = opened.backfill_receipts(first.start, last.end, reporter)
            if plan is None:
                return BackfillSummary([], None, [])
            since, receipts = plan
            periods_of = opened.periods_of([r.submission_id for r in receipts])
        chunks = [receipts[i:i + CHUNK] for i in range(0, len(receipts), CHUNK)]
        parts = []
        progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            console=Console(stderr=True), disable=not show_progress,
        )
        with progress:
            bar = progress.add_task(f"replaying {first.code}..{last.code}", total=len(receipts))
            for chunk in chunks:
                named = sorted({p for r in chunk for p in periods_of.get(r.submission_id, [])})
                shown = f"{named[0]}..{named[-1]}" if named else "files without a readable period"
                progress.update(bar, description=f"replaying {shown}")
                parts.append(replay_chunk(str(files.analyst_file), [r.sequence for r in chunk], timezone))
                progress.advance(bar, len(chunk))
        order = steps.Pending(receipts, {}, {r.submission_id: r.sequence for r in receipts}, {})
        prepared = steps.merge_prepared(order, parts, registry)
        rewind = Rewind(since=since, reporter=reporter, sequences=tuple(r.sequence for r in receipts))
        with Warehouse.open(files, registry) as opened:
            findings = opened.apply(prepared.decisions, prepared.observations, prepared.findings, prepared.periods, rewind)
            opened.publish_analyst_file(steps.now_utc(), force_full=True)
    return BackfillSummary(
        replayed=[_outcome(d) for d in prepared.decisions],
        since=since,
        findings=findings.to_dicts(),
    )


def _outcome(decision: Decision) -> dict:
    return {
        "sequence": decision.receipt.sequence,
        "file_name": decision.receipt.file_name,
        "status": decision.status,
        "reporter": decision.reporter,
    }
