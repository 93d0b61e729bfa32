"""A run's pending receipts cut into batches, a batch's originals into shards, and the prepared shards merged.

A batch is consecutive pending receipts loaded in one transaction; a shard is the share
of a batch's originals read and validated together as one frame, by one worker. The
shards of a batch are merged before it is loaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from schemas.findings import count_of
from schemas.shapes import Decision, Receipt, empty_load_rows, empty_periods_named
from transforms.decisions import decide, is_original
from transforms.findings import empty_findings

# The batch an earlier run began without finishing is handled in at most this many batches (see Pending.batches).
SUSPECT_BATCHES = 64

# The originals' bytes read and validated together as one shard, at most (a single file may be larger):
# what bounds a run's memory, whatever the size of the inbox.
BATCH_BYTES = 8 * 1024 * 1024


@dataclass
class Prepared:
    """A batch or a shard read and validated: the decision on each receipt, and what its load needs."""

    decisions: list[Decision]
    observations: pl.DataFrame  # the rows to load, in the columns of schemas.shapes.LOAD_COLUMNS
    findings: pl.DataFrame
    periods: pl.DataFrame  # submission_id, period, period_start, period_end: what each file names
    checks: list[dict] = field(default_factory=list)  # every expectation run on the shard (SuiteRunner.checks)


@dataclass
class Pending:
    """What a run has to prepare: receipts in order, and what tells duplicates apart and names their reporters."""

    receipts: list[Receipt]
    original_sequences: dict[str, int]  # submission id -> the sequence of its original
    known_reporters: dict[str, str | None]
    # receipts an earlier run began without finishing -> how many files the batch that began them had
    tried: dict[int, int] = field(default_factory=dict)
    settled: list[Decision] = field(default_factory=list)  # set aside before this run began preparing
    settled_findings: pl.DataFrame = field(default_factory=empty_findings)

    def is_original(self, receipt: Receipt) -> bool:
        return is_original(receipt, self.original_sequences)

    def batches(self, shards: int) -> list[Pending]:
        """Consecutive receipts whose originals come to about `shards` x BATCH_BYTES (one BATCH_BYTES for each
        shard, a shard to a worker): each batch is loaded in its own transaction.

        The originals of a batch an earlier run began without finishing go in batches of their own, of at most
        1/SUSPECT_BATCHES of the files it had (a batch of at most SUSPECT_BATCHES files: each file alone), so
        that a file that stops the process is narrowed down run by run to a batch of its own, and only its own
        receipt is set aside, while a run stopped by something else costs the next one little.
        """
        batches = []
        for cut in consecutive_runs(self.receipts, shards * BATCH_BYTES, counted=self.is_original):
            current: list[Receipt] = []
            limit = files = 0  # limit: files at most in the current batch (0: a batch of files not begun before)
            for receipt in cut:
                if self.is_original(receipt):
                    begun = self.tried.get(receipt.sequence)
                    wanted = 0 if begun is None else suspect_batch_files(begun)
                    if files and (wanted != limit or files == limit):
                        batches.append(current)
                        current, files = [], 0
                    limit, files = wanted, files + 1
                current.append(receipt)  # a duplicate stays where it falls
            if current:
                batches.append(current)
        return [Pending(batch, self.original_sequences, dict(self.known_reporters), self.tried) for batch in batches]

    def remember_reporters(self, decisions: list[Decision]) -> None:
        """The reporters of originals decided in earlier batches, for their duplicates in this one."""
        self.known_reporters.update({d.receipt.submission_id: d.reporter for d in decisions if d.status != "duplicate"})

    def originals(self) -> list[Receipt]:
        return [r for r in self.receipts if self.is_original(r)]

    def original_shards(self, shards: int) -> list[list[Receipt]]:
        """The originals (not duplicates) in order, cut into at most `shards` runs of consecutive receipts."""
        originals = self.originals()
        size = max(1, -(-len(originals) // max(1, shards)))
        return [originals[i : i + size] for i in range(0, len(originals), size)]


def suspect_batch_files(begun_with: int) -> int:
    """At most how many files go together in a batch of originals a run began in a batch of `begun_with`."""
    return max(1, -(-begun_with // SUSPECT_BATCHES))


def consecutive_runs(
    receipts: list[Receipt], max_bytes: int, max_files: int | None = None, counted=lambda receipt: True
) -> list[list[Receipt]]:
    """Receipts in order, cut where the `counted` ones would pass `max_bytes` or `max_files`.

    A file larger than `max_bytes` goes alone; receipts not counted (duplicates) stay where they fall.
    """
    runs: list[list[Receipt]] = [[]]
    size = files = 0
    for receipt in receipts:
        if counted(receipt):
            if files and (size + receipt.size_bytes > max_bytes or (max_files is not None and files >= max_files)):
                runs.append([])
                size = files = 0
            size += receipt.size_bytes
            files += 1
        runs[-1].append(receipt)
    return [run for run in runs if run]


def merge_prepared(batch: Pending, shards: list[Prepared]) -> Prepared:
    """A batch's prepared shards as one, every receipt of the batch decided in receipt order."""
    decided = [d for shard in shards for d in shard.decisions]
    decisions = decide(
        batch.receipts,
        batch.original_sequences,
        rejected={d.receipt.submission_id for d in decided if d.status == "rejected"},
        set_aside={d.receipt.submission_id for d in decided if d.set_aside},
        reporters={**batch.known_reporters, **{d.receipt.submission_id: d.reporter for d in decided}},
    )

    def stack(frames: list[pl.DataFrame], empty: pl.DataFrame) -> pl.DataFrame:
        filled = [f for f in frames if f.height]
        return pl.concat(filled, how="vertical") if filled else empty

    return Prepared(
        decisions=decisions,
        observations=stack([s.observations for s in shards], empty_load_rows()),
        findings=stack([s.findings for s in shards], empty_findings()),
        periods=stack([s.periods for s in shards], empty_periods_named()),
        checks=[check for shard in shards for check in shard.checks],
    )


# ------------------------------------------------------------ what a run found and did
@dataclass(frozen=True)
class InboxFile:
    path: Path
    format: str

    @property
    def name(self) -> str:
        return display_name(self.path.name)


def display_name(name: str) -> str:
    """A file name as text: bytes that are not UTF-8 shown as \\xNN escapes, so any name can be stored and shown."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


@dataclass
class Discovery:
    candidates: list[InboxFile]
    ignored: list[str]


@dataclass
class Received:
    """What `receive` did with the files discovered."""

    receipts: list[Receipt]  # the new files' receipts, in order
    already_received: int  # files whose name and bytes were received and finished before: nothing to do
    in_progress: list[str]  # changing while copied: left for the next run
    ignored: list[str] = field(default_factory=list)  # no longer a regular file when it was received
    # already received, but a later file of the same name brought other bytes since: not applied again
    put_back: list[str] = field(default_factory=list)


@dataclass
class RunSummary:
    submissions: list[dict] = field(default_factory=list)  # one per decision, in order
    findings: list[dict] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    in_progress: list[str] = field(default_factory=list)
    already_received: int = 0
    put_back: list[str] = field(default_factory=list)  # see Received
    docs: str | None = None  # the index of the validation pages, when the run validated anything
    docs_failed: str | None = None  # why the validation pages could not be written
    notices: str | None = None  # what became of the run's notices by e-mail, in one line
    orchestration: str | None = None  # where the run was reported (a Prefect server), in one line

    def count(self, status: str) -> int:
        return sum(1 for s in self.submissions if s["status"] == status)

    @property
    def warnings(self) -> int:
        return count_of([f for f in self.findings if f["severity"] == "warning"])
