"""The steps of a run as plain functions: discover, take, prepare, publish, summarise.

The Prefect flow in `flows/nightly.py` wires them; tests call them directly.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import polars as pl

from schemas.findings import cap_findings
from schemas.registry import Registry
from transforms.expectations import SuiteRunner
from transforms.findings import Finding, empty_findings, findings_frame
from transforms.normalise import conform, normalise
from transforms.read import format_of, read_submission
from transforms.validate import validate
from warehouse.archive import Archive, ChangedWhileRead, NotRegularFile
from warehouse.layout import WarehouseFiles
from warehouse.lock import WriterLock
from warehouse.store import Decision, Receipt, Warehouse
from warehouse.uploads import UploadLedger

LOAD_COLUMNS = [
    "submission_id", "row_number", "reporter", "area", "period", "period_type", "period_start", "period_end",
    "base_period", "indicator", "sex", "age", "citizenship", "referral", "offence", "country",
    "value", "status", "comment", "action",
]


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
class Taken:
    receipts: list[Receipt]
    unchanged: int
    in_progress: list[str]
    ignored: list[str] = field(default_factory=list)  # no longer a regular file when it was taken


@dataclass
class Prepared:
    decisions: list[Decision]
    observations: pl.DataFrame
    findings: pl.DataFrame
    periods: pl.DataFrame  # submission_id, period, period_start, period_end: what each file names
    checks: list[dict] = field(default_factory=list)  # every expectation run on the chunk (SuiteRunner.checks)


@dataclass
class RunSummary:
    submissions: list[dict] = field(default_factory=list)  # one per decision, in order
    findings: list[dict] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    in_progress: list[str] = field(default_factory=list)
    unchanged: int = 0
    docs: str | None = None  # the index of the validation pages, when the run validated anything

    def count(self, status: str) -> int:
        return sum(1 for s in self.submissions if s["status"] == status)

    @property
    def warnings(self) -> int:
        return sum(1 for f in self.findings if f["severity"] == "warning")


def discover(inbox: Path) -> Discovery:
    """Regular files at the top of the inbox, in the order they are applied: modification time, then name.

    Links, folders, devices and pipes are ignored whatever their names: a link could
    point at any file of the machine, a device or a pipe never ends.
    """
    found, ignored = [], []
    with os.scandir(inbox) if inbox.is_dir() else contextlib.nullcontext([]) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            file_format = format_of(entry.name) if entry.is_file(follow_symlinks=False) else None
            if file_format is None:
                ignored.append(display_name(entry.name))
            else:
                found.append((entry.stat(follow_symlinks=False).st_mtime_ns, entry.name, InboxFile(Path(entry.path), file_format)))
    found.sort(key=lambda item: item[:2])
    return Discovery([candidate for _, _, candidate in found], ignored)


def take(discovery: Discovery, warehouse: Warehouse, archive: Archive, now: datetime,
         uploads: UploadLedger | None = None) -> Taken:
    """Archive every new file before anything else, then give it a receipt (with its uploader, if the portal sent it).

    Each file is copied in a window at a time, so its size costs no memory; one that
    changes while it is copied is left for the next run, one that is no longer a
    regular file is ignored.
    """
    received = warehouse.received()
    archive.clear_leftovers()
    files, unchanged, in_progress, ignored = [], 0, [], []
    for candidate in discovery.candidates:
        try:
            copied = archive.copy_in(candidate.path)
        except (ChangedWhileRead, FileNotFoundError):
            in_progress.append(candidate.name)
            continue
        except NotRegularFile:
            ignored.append(candidate.name)
            continue
        if (candidate.name, copied.submission_id) in received:
            copied.temporary.unlink(missing_ok=True)
            unchanged += 1
            continue
        archive.keep(copied)
        files.append(
            {
                "submission_id": copied.submission_id,
                "file_name": candidate.name,
                "format": candidate.format,
                "size_bytes": copied.size_bytes,
                "modified_at": datetime.fromtimestamp(copied.modified_ns / 1e9, tz=UTC),
            }
        )
    uploaded = uploads.by_inbox_name([(f["file_name"], f["submission_id"]) for f in files]) if uploads else {}
    for item in files:
        item["uploaded_by"], item["uploaded_at"] = uploaded.get((item["file_name"], item["submission_id"]), (None, None))
    return Taken(warehouse.record_receipts(files, now), unchanged, in_progress, ignored)


def prepare(
    receipts: list[Receipt],
    contents: dict[str, bytes],
    first_receipts: dict[str, int],
    known_reporters: dict[str, str | None],
    registry: Registry,
    zone: ZoneInfo,
) -> Prepared:
    """Read, normalise and validate every receipt's file together, and decide each one's fate.

    `contents` maps submission id to bytes (from the archive); `first_receipts` the
    sequence under which each content was first taken, which tells duplicates apart.
    Every expectation run is kept in the result's `checks`, for the validation pages.
    """
    originals = [r for r in receipts if first_receipts.get(r.submission_id, r.sequence) >= r.sequence]
    file_findings, frames, set_aside = [], {}, set()
    for receipt in originals:
        try:
            found, frame = _read_one(receipt, contents.get(receipt.submission_id), registry, zone)
        except Exception as problem:  # ctip's failure on this one file, not the file's: set it aside, go on
            found, frame = [failure_finding("reading", problem)], None
            set_aside.add(receipt.submission_id)
        if frame is not None:
            frames[receipt.submission_id] = frame
        file_findings.append(findings_frame(receipt.submission_id, found))
    observations, row_findings, failed, checks = _judge_rows(frames, registry)
    for submission_id, problem in failed.items():
        file_findings.append(findings_frame(submission_id, [failure_finding("validating", problem)]))
        set_aside.add(submission_id)
    findings = cap_findings(
        pl.concat([empty_findings(), *file_findings, *row_findings], how="vertical"), registry.limits.max_findings_per_rule
    )

    rejected = set(findings.filter(pl.col("severity") == "error")["submission_id"].to_list())
    reporters = dict(known_reporters)
    if observations is not None:
        reporters.update(
            observations.filter(pl.col("reporter") != "").group_by("submission_id").agg(pl.col("reporter").first()).iter_rows()
        )
    decisions, original_sequences = [], {r.sequence for r in originals}
    for receipt in receipts:
        if receipt.sequence not in original_sequences:
            status = "duplicate"
        else:
            status = "rejected" if receipt.submission_id in rejected else "loaded"
        decisions.append(Decision(
            receipt, status, reporters.get(receipt.submission_id),
            set_aside=status == "rejected" and receipt.submission_id in set_aside,
        ))
    loaded = [d.receipt.submission_id for d in decisions if d.status == "loaded"]
    if observations is None:
        load_rows = pl.DataFrame(schema={c: pl.String for c in LOAD_COLUMNS})
        periods = pl.DataFrame(schema={"submission_id": pl.String, "period": pl.String, "period_start": pl.Date, "period_end": pl.Date})
    else:
        load_rows = observations.filter(pl.col("submission_id").is_in(loaded) & pl.col("keyed")).select(LOAD_COLUMNS)
        periods = observations.filter(pl.col("period").is_not_null()).select(
            "submission_id", "period", "period_start", "period_end"
        ).unique(maintain_order=True)
    return Prepared(decisions, load_rows, findings, periods, checks)


# What a finding says when ctip itself failed on a file: the operator's way to try it again.
RETRY_HINT = "it was set aside; to try it again, copy the file into the inbox under another name"


def failure_finding(step: str, problem: BaseException) -> Finding:
    """The `unreadable` finding of a file ctip failed on while `step`, naming the failure."""
    detail = f"{type(problem).__name__}: {problem}"
    if len(detail) > 500:
        detail = detail[:500] + " …"
    return Finding("unreadable", "error", f"ctip failed while {step} this file ({detail}); {RETRY_HINT}")


def _read_one(receipt: Receipt, content: bytes | None, registry: Registry, zone: ZoneInfo):
    """One file's findings, and its conformed frame when it has rows to judge."""
    limit = registry.limits.max_file_bytes
    if content is None or receipt.size_bytes > limit:
        message = (
            f"cannot be read as {receipt.format.upper()}: the file is {receipt.size_bytes:,} bytes; "
            f"the limit is {limit:,} bytes"
        )
        return [Finding("unreadable", "error", message)], None
    raw = read_submission(content, receipt.format, registry.limits)
    found = list(raw.findings)
    if not raw.readable:
        return found, None
    conformed, column_findings = conform(raw.frame, registry)
    found += column_findings
    if conformed is None:
        return found, None
    judged_on = receipt.received_at.astimezone(zone).date()
    return found, conformed.with_columns(
        pl.lit(receipt.submission_id).alias("submission_id"), pl.lit(judged_on).alias("judged_on")
    )


def _judge_rows(frames: dict[str, pl.DataFrame], registry: Registry):
    """Normalised observations and row findings of every file together; when that fails, of each file alone,
    so that the one file ctip fails on is told apart from the others (returned with its failure). Also every
    expectation run, for the validation pages."""
    if not frames:
        return None, [], {}, []
    try:
        observations = normalise(pl.concat(list(frames.values()), how="vertical"), registry)
        runner = SuiteRunner()
        return observations, [validate(observations, registry, runner)], {}, runner.checks
    except Exception as problem:
        if len(frames) == 1:
            return None, [], {next(iter(frames)): problem}, []
    judged, row_findings, failed, checks = [], [], {}, []
    for submission_id, frame in frames.items():
        try:
            observations = normalise(frame, registry)
            runner = SuiteRunner()
            row_findings.append(validate(observations, registry, runner))
            judged.append(observations)
            checks += runner.checks
        except Exception as problem:
            failed[submission_id] = problem
    return (pl.concat(judged, how="vertical") if judged else None), row_findings, failed, checks


def run_once(
    inbox: Path, warehouse_path: Path, registry: Registry, zone: ZoneInfo, now: datetime,
    lock_timeout_seconds: float = 600.0,
) -> RunSummary:
    """The nightly job without an orchestrator: every step in order, as the one writer."""
    from flows import datadocs

    discovery = discover(inbox)
    files = WarehouseFiles(warehouse_path)
    with WriterLock(files.lock_file, lock_timeout_seconds), Warehouse.open(files, registry) as warehouse:
        warehouse.publish_analyst_file(now)  # mends a run killed after loading, before publishing
        taken = take(discovery, warehouse, Archive(files.archive_dir), now, UploadLedger(files.uploads_db))
        pending = collect_pending(warehouse)
        decisions, findings, validations = list(pending.settled), [pending.settled_findings], []
        batches = pending.batches(1)  # the same steps as the flow's, one chunk per batch
        for batch in batches:
            batch.learn(decisions)
            begin_batch(warehouse, batch)
            parts = [
                prepare_chunk(batch, piece, read_contents(files, piece, registry), registry, zone)
                for piece in batch.original_chunks(1)
            ]
            prepared = merge_prepared(batch, parts, registry)
            findings.append(load_isolated(warehouse, prepared))
            decisions += prepared.decisions
            validations.append(datadocs.validation(prepared, findings[-1]))
        warehouse.publish_analyst_file(now)
        docs = datadocs.write_site(files.docs_dir, now, validations)
        return summarise(decisions, pl.concat([empty_findings(), *findings], how="vertical_relaxed"), discovery, taken,
                         docs)


# The new files' bytes read and validated together, at most (a single file may be larger):
# what bounds a run's memory, whatever the size of the inbox.
CHUNK_BYTES = 8 * 1024 * 1024


# Runs that may begin handling a receipt without finishing it (the process was killed) before it is set aside.
MAX_ATTEMPTS = 2


@dataclass
class Pending:
    """What a run has to prepare: receipts in order, and what tells duplicates apart and names their reporters."""

    receipts: list[Receipt]
    first_receipts: dict[str, int]
    known_reporters: dict[str, str | None]
    tried: frozenset[int] = frozenset()  # receipts an earlier run began without finishing: each is handled alone
    settled: list[Decision] = field(default_factory=list)  # set aside before this run began preparing
    settled_findings: pl.DataFrame = field(default_factory=empty_findings)

    def is_original(self, receipt: Receipt) -> bool:
        return self.first_receipts[receipt.submission_id] == receipt.sequence

    def batches(self, chunks: int) -> list[Pending]:
        """Consecutive receipts whose originals come to about `chunks` x CHUNK_BYTES: each loaded in its own transaction.

        A receipt an earlier run began without finishing goes alone, so that a file that
        stops the process stops it alone, and only its own receipt is set aside.
        """
        runs = []
        for run in consecutive_runs(self.receipts, chunks * CHUNK_BYTES, counted=self.is_original):
            current: list[Receipt] = []
            for receipt in run:
                if receipt.sequence in self.tried and self.is_original(receipt):
                    runs += [current, [receipt]] if current else [[receipt]]
                    current = []
                else:
                    current.append(receipt)
            if current:
                runs.append(current)
        return [Pending(run, self.first_receipts, dict(self.known_reporters), self.tried) for run in runs]

    def learn(self, decisions: list[Decision]) -> None:
        """The reporters of originals decided in earlier batches, for their duplicates in this one."""
        self.known_reporters.update({d.receipt.submission_id: d.reporter for d in decisions if d.status != "duplicate"})

    def originals(self) -> list[Receipt]:
        return [r for r in self.receipts if self.is_original(r)]

    def original_chunks(self, chunks: int) -> list[list[Receipt]]:
        """The originals (not duplicates) in order, cut into at most `chunks` runs of consecutive receipts."""
        originals = self.originals()
        size = max(1, -(-len(originals) // max(1, chunks)))
        return [originals[i:i + size] for i in range(0, len(originals), size)]


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


def collect_pending(warehouse: Warehouse) -> Pending:
    """Every receipt without a final status, in order; those that runs began MAX_ATTEMPTS times
    without finishing are set aside first (rejected, rule `unreadable`), so no file stops every run."""
    pending = warehouse.pending_receipts()
    first = warehouse.first_receipts()
    attempts = warehouse.attempts_of([r.sequence for r in pending])
    stuck = [r for r in pending if attempts.get(r.sequence, 0) >= MAX_ATTEMPTS and first[r.submission_id] == r.sequence]
    settled, settled_findings = [], empty_findings()
    if stuck:
        settled = [Decision(r, "rejected", None, set_aside=True) for r in stuck]
        settled_findings = pl.concat([
            findings_frame(r.submission_id, [Finding(
                "unreadable", "error",
                f"ctip stopped {attempts[r.sequence]} times while handling this file (the process ended without "
                f"an error it could report, such as a crash or running out of memory); {RETRY_HINT}",
            )])
            for r in stuck
        ])
        settled_findings = warehouse.apply(settled, pl.DataFrame(schema={c: pl.String for c in LOAD_COLUMNS}),
                                           settled_findings)
        pending = warehouse.pending_receipts()
        first = warehouse.first_receipts()
    known = warehouse.reporters_of([r.submission_id for r in pending])
    tried = frozenset(r.sequence for r in pending if attempts.get(r.sequence, 0) > 0)
    return Pending(pending, first, known, tried, settled, settled_findings)


def begin_batch(warehouse: Warehouse, batch: Pending) -> None:
    """Count this run's attempt at the batch's originals before anything reads them."""
    warehouse.note_attempt([r.sequence for r in batch.originals()])


def load_isolated(warehouse: Warehouse, prepared: Prepared) -> pl.DataFrame:
    """Apply a prepared batch in one transaction; if that fails for a reason other than the disk or the lock,
    apply its submissions one by one, so that the one ctip cannot load is set aside and the others load."""
    try:
        return warehouse.apply(prepared.decisions, prepared.observations, prepared.findings, prepared.periods)
    except (OSError, duckdb.IOException):
        raise
    except Exception as problem:
        if len(prepared.decisions) == 1:
            return _set_aside_on_load(warehouse, prepared.decisions[0], problem)
    recorded = []
    for decision in prepared.decisions:
        mine = pl.col("submission_id") == decision.receipt.submission_id
        own = (lambda frame: frame.filter(mine)) if decision.status != "duplicate" else (lambda frame: frame.clear())
        try:
            recorded.append(warehouse.apply(
                [decision], own(prepared.observations), own(prepared.findings), own(prepared.periods)
            ))
        except (OSError, duckdb.IOException):
            raise
        except Exception as problem:
            recorded.append(_set_aside_on_load(warehouse, decision, problem))
    return pl.concat([empty_findings(), *recorded], how="vertical_relaxed")


def _set_aside_on_load(warehouse: Warehouse, decision: Decision, problem: Exception) -> pl.DataFrame:
    rejected = Decision(decision.receipt, "rejected", decision.reporter, set_aside=True)
    findings = findings_frame(decision.receipt.submission_id, [failure_finding("loading", problem)])
    return warehouse.apply([rejected], pl.DataFrame(schema={c: pl.String for c in LOAD_COLUMNS}), findings)


def read_contents(files: WarehouseFiles, receipts: list[Receipt], registry: Registry | None = None) -> dict[str, bytes]:
    """The archived bytes of these receipts, by submission id; a file beyond the size limit is not read
    (it is rejected by its size alone)."""
    archive = Archive(files.archive_dir)
    limit = (registry or _registry()).limits.max_file_bytes
    return {r.submission_id: archive.get(r.submission_id) for r in receipts if r.size_bytes <= limit}


def _registry() -> Registry:
    from schemas import load_registry

    return load_registry()


def prepare_chunk(pending: Pending, chunk: list[Receipt], contents: dict[str, bytes], registry: Registry,
                  zone: ZoneInfo) -> Prepared:
    """`prepare` for one run of original receipts, given their bytes; chunks can be prepared apart (on other workers)."""
    return prepare(chunk, contents, pending.first_receipts, pending.known_reporters, registry, zone)


def prepare_chunk_on_worker(pending: Pending, chunk: list[Receipt], contents: dict[str, bytes],
                            timezone: str) -> Prepared:
    """`prepare_chunk` with only plain arguments (the bytes travel along), for a task that may run in another process."""
    from schemas import load_registry

    return prepare_chunk(pending, chunk, contents, load_registry(), ZoneInfo(timezone))


@dataclass(frozen=True)
class Stashed:
    """A prepared chunk kept on disk (Arrow IPC files in `folder`) until it is applied; only its decisions in memory."""

    decisions: list[Decision]
    folder: Path


def stash(prepared: Prepared, folder: Path) -> Stashed:
    """Write a prepared chunk's frames to `folder`, so that holding on to its result costs no memory."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("observations", "findings", "periods"):
        getattr(prepared, name).write_ipc(folder / f"{name}.arrow")
    return Stashed(prepared.decisions, folder)


def unstash(stashed: Stashed) -> Prepared:
    """The prepared chunk back from its files, which are removed."""
    frames = {name: pl.read_ipc(stashed.folder / f"{name}.arrow")
              for name in ("observations", "findings", "periods")}
    shutil.rmtree(stashed.folder)
    return Prepared(stashed.decisions, **frames)


def merge_prepared(pending: Pending, parts: list[Prepared], registry: Registry) -> Prepared:
    """The prepared chunks as one, with the duplicates decided in receipt order."""
    decided = {d.receipt.sequence: d for part in parts for d in part.decisions}
    reporters = {**pending.known_reporters, **{d.receipt.submission_id: d.reporter for d in decided.values()}}
    decisions = [
        decided.get(r.sequence) or Decision(r, "duplicate", reporters.get(r.submission_id)) for r in pending.receipts
    ]

    def stack(frames: list[pl.DataFrame], empty: pl.DataFrame) -> pl.DataFrame:
        filled = [f for f in frames if f.height]
        return pl.concat(filled, how="vertical") if filled else empty

    empty = prepare([], {}, {}, {}, registry, ZoneInfo("UTC"))  # the frames' shapes, empty
    return Prepared(
        decisions=decisions,
        observations=stack([p.observations for p in parts], empty.observations),
        findings=stack([p.findings for p in parts], empty.findings),
        periods=stack([p.periods for p in parts], empty.periods),
        checks=[check for part in parts for check in part.checks],
    )


def summarise(decisions: list[Decision], findings: pl.DataFrame, discovery: Discovery, taken: Taken,
              docs: Path | None = None) -> RunSummary:
    names = {d.receipt.submission_id: d.receipt.file_name for d in decisions if d.status != "duplicate"}
    return RunSummary(
        submissions=[
            {
                "file_name": d.receipt.file_name,
                "submission_id": d.receipt.submission_id,
                "sequence": d.receipt.sequence,
                "status": d.status,
                "reporter": d.reporter,
                "original": names.get(d.receipt.submission_id) if d.status == "duplicate" else None,
            }
            for d in decisions
        ],
        findings=findings.sort("submission_id", "row_number", nulls_last=False).to_dicts(),
        ignored=[*discovery.ignored, *taken.ignored],
        in_progress=taken.in_progress,
        unchanged=taken.unchanged,
        docs=str(docs) if docs else None,
    )


def outcome_rows(summary: RunSummary) -> list[dict]:
    """One plain row per submission: file, reporter, status, error and warning counts, first problem."""
    rows = []
    for item in summary.submissions:
        found = [] if item["status"] == "duplicate" else [
            f for f in summary.findings if f["submission_id"] == item["submission_id"]
        ]
        errors = [f for f in found if f["severity"] == "error"]
        rows.append(
            {
                "sequence": int(item["sequence"]),
                "file": item["file_name"],
                "reporter": item["reporter"] or "",
                "status": item["status"],
                "errors": len(errors),
                "warnings": len(found) - len(errors),
                "first_problem": (errors or found or [{"message": ""}])[0]["message"],
            }
        )
    return rows


def now_utc() -> datetime:
    return datetime.now(UTC)


def progress_bar(show: bool):
    """A Rich progress display on stderr (a bar per stage, files done of all); without `show`, it shows nothing."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), disable=not show, transient=False,
    )

