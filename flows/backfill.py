"""Backfill: replay the archived submissions that touch a range of periods.

Each replayed submission is applied whole and once, in its original order, under
today's rules, judged as of its original receipt and keeping its `received_at`.
History from the first replayed submission on is rewritten to what today's rules
would have published then; with unchanged rules the warehouse comes out the same.

The parent flow plans the replay; chunk by chunk in receipt order, a child flow
run reads and validates the chunk's submissions (so the Prefect UI shows the
progress) and the parent stages its rows in the writer's database
(`pipeline.staged_rows`), so only one chunk's rows are in memory at a time,
whatever the size of the archive. Then one transaction rewinds and applies every
staged row at once, each submission judged as of its receipt, and a fresh
generation of the analyst file is published.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
from prefect import flow

from flows import steps
from schemas import load_registry
from transforms.periods import parse_period
from warehouse.layout import WarehouseFiles
from warehouse.lock import WriterLock
from warehouse.store import STAGED_ROWS, Decision, Receipt, Rewind, Warehouse

CHUNK = 200  # submissions read and validated together in one child flow run, at most ...
CHUNK_BYTES = steps.CHUNK_BYTES // 2  # ... and about this many bytes of them (one file may be larger)


@dataclass
class BackfillSummary:
    replayed: list[dict]
    since: datetime | None
    findings: list[dict]

    def count(self, status: str) -> int:
        return sum(1 for s in self.replayed if s["status"] == status)


@flow(name="ctip-backfill-chunk")
def replay_chunk(warehouse: str, receipts: list[dict], timezone: str) -> steps.Stashed:
    """Read and validate one chunk of the replayed submissions, judged as of their receipts.

    The result waits in the warehouse's scratch folder: Prefect keeps every child
    flow's result until the parent ends, which must not mean every chunk's rows.
    """
    files = WarehouseFiles(Path(warehouse))
    chunk = [Receipt(**r) for r in receipts]
    pending = steps.Pending(chunk, {r.submission_id: r.sequence for r in chunk}, {})
    prepared = steps.prepare_chunk(pending, chunk, steps.read_contents(files, chunk), load_registry(), ZoneInfo(timezone))
    return steps.stash(prepared, files.scratch_dir / f"chunk-{chunk[0].sequence}")


def chunked(receipts: list[Receipt]) -> list[list[Receipt]]:
    """Consecutive receipts in chunks of at most CHUNK files and about CHUNK_BYTES bytes."""
    return steps.consecutive_runs(receipts, CHUNK_BYTES, max_files=CHUNK)


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
            progress = steps.progress_bar(show_progress)
            decisions, findings, periods = [], [], []
            shutil.rmtree(files.scratch_dir, ignore_errors=True)  # what a killed backfill left
            opened.clear_staged()
            with progress:
                bar = progress.add_task(f"replaying {first.code}..{last.code}", total=len(receipts))
                for chunk in chunked(receipts):
                    named = sorted({p for r in chunk for p in periods_of.get(r.submission_id, [])})
                    shown = f"{named[0]}..{named[-1]}" if named else "files without a readable period"
                    progress.update(bar, description=f"replaying {shown}")
                    prepared = steps.unstash(
                        replay_chunk(str(files.analyst_file), [r.__dict__ for r in chunk], timezone)
                    )
                    opened.stage(prepared.observations)
                    decisions += prepared.decisions
                    findings.append(prepared.findings)
                    periods.append(prepared.periods)
                    progress.advance(bar, len(chunk))
            rewind = Rewind(since=since, reporter=reporter, sequences=tuple(r.sequence for r in receipts))
            try:
                with opened.loading(rewind):
                    recorded = opened.load_part(
                        decisions, STAGED_ROWS, pl.concat(findings, how="vertical_relaxed"),
                        pl.concat(periods, how="vertical_relaxed"),
                    )
            finally:
                opened.clear_staged()
            opened.publish_analyst_file(steps.now_utc(), force_full=True)
    return BackfillSummary(
        replayed=[_outcome(d) for d in decisions],
        since=since,
        findings=recorded.to_dicts(),
    )


def _outcome(decision: Decision) -> dict:
    return {
        "sequence": decision.receipt.sequence,
        "file_name": decision.receipt.file_name,
        "status": decision.status,
        "reporter": decision.reporter,
    }
