"""Backfill: replay the archived submissions that touch a range of periods.

Each replayed submission is applied whole and once, in its original order, under
today's rules, judged as of its original receipt and keeping its `received_at`.
History from the first replayed submission on is rewritten to what today's rules
would have published then; with unchanged rules the warehouse comes out the same.

The parent flow plans the replay; shard by shard in receipt order, a child flow
run reads and validates the shard's submissions with the run's own steps (so the
Prefect UI shows the progress) and the parent stages its rows in the writer's
database (`pipeline.staged_rows`), so only one shard's rows are in memory at a
time, whatever the size of the archive. Then one transaction rewinds and loads
every staged row at once (the backfill is one batch), each submission judged as
of its receipt, and a fresh generation of the analyst file is published.
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
from flows.batches import BATCH_BYTES, Pending, Prepared, consecutive_runs
from schemas import load_registry
from schemas.shapes import Decision, Receipt, Rewind
from transforms.decisions import after_load
from transforms.findings import with_errors
from transforms.periods import parse_period
from warehouse import database, replay
from warehouse.archive import Archive
from warehouse.layout import WarehouseFiles
from warehouse.loading import load_decisions, load_transaction
from warehouse.lock import WriterLock

SHARD_FILES = 200  # submissions read and validated together in one child flow run, at most ...
SHARD_BYTES = BATCH_BYTES // 2  # ... and about this many bytes of them (one file may be larger)


@dataclass
class BackfillSummary:
    replayed: list[dict]
    since: datetime | None
    findings: list[dict]

    def count(self, status: str) -> int:
        return sum(1 for s in self.replayed if s["status"] == status)


@dataclass(frozen=True)
class Stashed:
    """A prepared shard kept on disk (Arrow IPC files in `folder`) until it is staged; only its decisions in memory."""

    decisions: list[Decision]
    folder: Path


STASHED_FRAMES = ("observations", "findings", "periods")


def stash(prepared: Prepared, folder: Path) -> Stashed:
    """Write a prepared shard's frames to `folder`, so that holding on to its result costs no memory."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in STASHED_FRAMES:
        getattr(prepared, name).write_ipc(folder / f"{name}.arrow")
    return Stashed(prepared.decisions, folder)


def unstash(stashed: Stashed) -> Prepared:
    """The prepared shard back from its files, which are removed."""
    frames = {name: pl.read_ipc(stashed.folder / f"{name}.arrow") for name in STASHED_FRAMES}
    shutil.rmtree(stashed.folder)
    return Prepared(stashed.decisions, **frames)


@flow(name="ctip-backfill-shard")
def replay_shard(warehouse: str, receipts: list[dict], timezone: str) -> Stashed:
    """Read and validate one shard of the replayed submissions, judged as of their receipts.

    The result waits in the warehouse's scratch folder: Prefect keeps every child
    flow's result until the parent ends, which must not mean every shard's rows.
    """
    files = WarehouseFiles(Path(warehouse))
    registry = load_registry()
    shard = [Receipt(**r) for r in receipts]
    # Every receipt replayed was once decided an original (duplicates are not replayed), and is replayed as one:
    # with no originals recorded, each receipt is its own.
    replayed = Pending(shard, original_sequences={}, known_reporters={})
    prepared = steps.prepare_shard(
        replayed, shard, steps.read_contents(Archive(files.archive_dir), shard, registry), registry, ZoneInfo(timezone)
    )
    return stash(prepared, files.scratch_dir / f"shard-{shard[0].sequence}")


def replay_shards(receipts: list[Receipt]) -> list[list[Receipt]]:
    """Consecutive receipts in shards of at most SHARD_FILES files and about SHARD_BYTES bytes."""
    return consecutive_runs(receipts, SHARD_BYTES, max_files=SHARD_FILES)


@flow(name="ctip-backfill", log_prints=True)
def backfill(
    first_period: str,
    last_period: str,
    warehouse: str,
    reporter: str | None = None,
    timezone: str = "Asia/Phnom_Penh",
    lock_timeout_seconds: float = 600.0,
    show_progress: bool = True,
    shards_as_flows: bool = True,
) -> BackfillSummary:
    """Replay every archived submission touching first_period..last_period (of one reporter, if given).

    Each shard is a child flow run; without `shards_as_flows` (the backfill run as a plain function, with no
    Prefect server), the same function called directly."""
    first, last = parse_period(first_period), parse_period(last_period)
    if first is None or last is None:
        raise ValueError(f"not a period range: {first_period} .. {last_period}")
    files = WarehouseFiles(Path(warehouse))
    registry = load_registry()
    with WriterLock(files.lock_file, lock_timeout_seconds, purpose=f"ctip backfill {first.code}..{last.code}"):
        with database.open_writer(files, registry) as writer:
            plan = replay.receipts_to_replay(writer.con, first.start, last.end, reporter)
            if plan is None:
                return BackfillSummary([], None, [])
            since, receipts = plan
            periods_of = replay.periods_of(writer.con, [r.submission_id for r in receipts])
            progress = steps.progress_bar(show_progress)
            decisions, findings, periods = [], [], []
            shutil.rmtree(files.scratch_dir, ignore_errors=True)  # what a killed backfill left
            replay.clear_staged_rows(writer.con)
            with progress:
                bar = progress.add_task(f"replaying {first.code}..{last.code}", total=len(receipts))
                for shard in replay_shards(receipts):
                    named = sorted({p for r in shard for p in periods_of.get(r.submission_id, [])})
                    shown = f"{named[0]}..{named[-1]}" if named else "files without a readable period"
                    progress.update(bar, description=f"replaying {shown}")
                    replayed = replay_shard if shards_as_flows else replay_shard.fn
                    prepared = unstash(replayed(str(files.analyst_file), [r.__dict__ for r in shard], timezone))
                    replay.stage_rows(writer.con, prepared.observations)
                    decisions += prepared.decisions
                    findings.append(prepared.findings)
                    periods.append(prepared.periods)
                    progress.advance(bar, len(shard))
            rewind = Rewind(since=since, reporter=reporter, sequences=tuple(r.sequence for r in receipts))
            try:
                with load_transaction(writer, rewind):
                    recorded = load_decisions(
                        writer,
                        decisions,
                        replay.STAGED_ROWS,
                        pl.concat(findings, how="vertical_relaxed"),
                        pl.concat(periods, how="vertical_relaxed"),
                    )
            finally:
                replay.clear_staged_rows(writer.con)
            decisions = after_load(decisions, with_errors(recorded))  # the load may reject (period_approved)
            database.publish_analyst_file(writer, steps.now_utc(), force_full=True, zone=timezone)
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
