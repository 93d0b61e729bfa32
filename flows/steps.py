"""The steps of a run as plain functions: discover, receive, collect, prepare, load, publish, summarise.

The run loop (`flows/runloop.py`) calls them in order: `run_once` gives it these
functions, the Prefect flow in `flows/nightly.py` the tasks made of them. Tests call
them directly.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import polars as pl

from flows import runloop
from flows.batches import Discovery, InboxFile, Pending, Prepared, Received, RunSummary, display_name  # noqa: F401 - named here too
from flows.settings import validation_pages_wanted
from schemas.findings import cap_findings, in_other_words
from schemas.registry import Registry
from schemas.shapes import LOAD_COLUMNS, Decision, Receipt, empty_load_rows, empty_periods_named
from schemas.texts import message
from transforms.decisions import decide, is_original
from transforms.expectations import SuiteRunner
from transforms.findings import Finding, empty_findings, findings_frame
from transforms.normalise import conform, normalise
from transforms.read import (
    ROW_NUMBER,
    Unreadable,
    format_of,
    frame_of,
    one_after_another,
    read_columns,
    unreadable_finding,
)
from transforms.validate import validate
from warehouse import database, receipts
from warehouse.archive import Archive, ChangedWhileRead, NotRegularFile
from warehouse.database import Writer
from warehouse.layout import WarehouseFiles
from warehouse.loading import load_batch
from warehouse.lock import WriterLock
from warehouse.uploads import UploadLedger


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
                found.append(
                    (
                        entry.stat(follow_symlinks=False).st_mtime_ns,
                        entry.name,
                        InboxFile(Path(entry.path), file_format),
                    )
                )
    found.sort(key=lambda item: item[:2])
    return Discovery([candidate for _, _, candidate in found], ignored)


def anything_new(inbox: Path, files: WarehouseFiles) -> bool:
    """Whether a run would find work: a file of the inbox that no receipt has by name, size and modification
    time, or a receipt without its final status. Reads the writer's database without writing; when another
    writer holds it, or there is none yet with files waiting, the answer is yes (the run itself finds out)."""
    candidates = discover(inbox).candidates
    if not files.state_db.exists():
        return bool(candidates)
    inbox_files = pl.DataFrame(
        [
            {
                "file_name": c.name,
                "size_bytes": c.path.stat().st_size,
                "modified_at": modified_at(c.path.stat().st_mtime_ns),
            }
            for c in candidates
        ],
        schema={"file_name": pl.String, "size_bytes": pl.Int64, "modified_at": pl.Datetime("us", "UTC")},
    )
    try:
        with duckdb.connect(str(files.state_db), read_only=True) as con:
            return receipts.unreceived_count(con, inbox_files) > 0 or receipts.pending_count(con) > 0
    except (duckdb.Error, OSError):
        return True


def modified_at(mtime_ns: int) -> datetime:
    """A file's modification time as its receipt keeps it."""
    return datetime.fromtimestamp(mtime_ns / 1e9, tz=UTC)


def receive(
    discovery: Discovery, writer: Writer, archive: Archive, now: datetime, uploads: UploadLedger | None = None
) -> Received:
    """Archive every new file before anything else, then give it a receipt (with its uploader, if the portal sent it).

    Each file is copied in a window at a time, so its size costs no memory; one that
    changes while it is copied is left for the next run, one that is no longer a
    regular file is ignored. The new files are kept together (`Archive.keep_all`: two
    flushes to disk in all, not two per file) before any of them is given a receipt.
    """
    received = receipts.received_files(writer.con)
    unfinished = receipts.received_files(writer.con, pending_only=True)  # this run finishes them: counted there
    archive.clear_leftovers()
    files, copies, already_received, in_progress, ignored, put_back = [], [], 0, [], [], []
    latest = None  # file name -> the latest bytes loaded under it, read when first needed
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
            already_received += (candidate.name, copied.submission_id) not in unfinished
            latest = receipts.latest_loaded_by_name(writer.con) if latest is None else latest
            if latest.get(candidate.name, copied.submission_id) != copied.submission_id:  # an earlier version put
                put_back.append(candidate.name)  # back after a later one was loaded: said, not applied
            continue
        copies.append(copied)
        files.append(
            {
                "submission_id": copied.submission_id,
                "file_name": candidate.name,
                "format": candidate.format,
                "size_bytes": copied.size_bytes,
                "modified_at": modified_at(copied.modified_ns),
            }
        )
    archive.keep_all(copies)  # every new file's bytes safe on disk before any of them is given a receipt
    uploaded = uploads.by_inbox_name([(f["file_name"], f["submission_id"]) for f in files]) if uploads else {}
    for item in files:
        item["uploaded_by"], item["uploaded_at"], item["uploaded_for"] = uploaded.get(
            (item["file_name"], item["submission_id"]), (None, None, None)
        )
    return Received(receipts.record_receipts(writer.con, files, now), already_received, in_progress, ignored, put_back)


def prepare(
    to_prepare: list[Receipt],
    contents: dict[str, bytes],
    original_sequences: dict[str, int],
    known_reporters: dict[str, str | None],
    registry: Registry,
    zone: ZoneInfo,
    lang: str = "en",
) -> Prepared:
    """Read, normalise and validate every original's file together, and decide on each receipt.

    `contents` maps submission id to bytes (from the archive); `original_sequences`
    the sequence of each submission's original, which tells duplicates apart.
    Every expectation run is kept in the result's `checks`, for the validation pages.
    The findings' messages are in `lang` (the warehouse keeps English; `ctip validate` may ask for another).
    """
    originals = [r for r in to_prepare if is_original(r, original_sequences)]
    file_findings, read, set_aside = [], [], set()
    for receipt in originals:
        try:
            found, columns = _read_one(receipt, contents.get(receipt.submission_id), registry, lang)
        except Exception as problem:  # ctip's failure on this one file, not the file's: set it aside, go on
            found, columns = [failure_finding("reading", problem, lang)], None
            set_aside.add(receipt.submission_id)
        if columns is not None:
            read.append((receipt, columns))
        if found:
            file_findings.append(findings_frame(receipt.submission_id, found))
    columns = None  # the cells as read are held by `read` alone, which lets them go as they become frames
    frames, column_findings, failed = _conformed(read, registry, zone, lang)
    for submission_id, problem in failed.items():
        column_findings.append(findings_frame(submission_id, [failure_finding("reading", problem, lang)]))
        set_aside.add(submission_id)
    observations, row_findings, failed, checks = _judge_rows(frames, registry, lang)
    for submission_id, problem in failed.items():
        file_findings.append(findings_frame(submission_id, [failure_finding("validating", problem, lang)]))
        set_aside.add(submission_id)
    findings = cap_findings(
        pl.concat([empty_findings(), *file_findings, *column_findings, *row_findings], how="vertical"),
        registry.limits.max_findings_per_rule,
        lang,
    )

    rejected = set(findings.filter(pl.col("severity") == "error")["submission_id"].to_list())
    reporters = dict(known_reporters)
    if observations is not None:
        reporters.update(
            observations.filter(pl.col("reporter") != "")
            .group_by("submission_id")
            .agg(pl.col("reporter").first())
            .iter_rows()
        )
    # A file sent through the portal is its account's reporter's, whatever its rows name (a file naming another
    # reporter on every row is refused at upload; one naming several is received and rejected as that reporter's).
    reporters.update({r.submission_id: r.uploaded_for for r in to_prepare if r.uploaded_for})
    decisions = decide(to_prepare, original_sequences, rejected, set_aside, reporters)
    loaded = [d.receipt.submission_id for d in decisions if d.status == "loaded"]
    if observations is None:
        load_rows, periods = empty_load_rows(), empty_periods_named()
    else:
        load_rows = observations.filter(pl.col("submission_id").is_in(loaded) & pl.col("loadable")).select(LOAD_COLUMNS)
        periods = (
            observations.filter(pl.col("period").is_not_null())
            .group_by("submission_id", "period", "period_start", "period_end", maintain_order=True)
            .agg(pl.col("value_given").sum().cast(pl.Int64).alias("figures"))
        )
    return Prepared(decisions, load_rows, findings, periods, checks)


# What a finding says when ctip itself failed on a file: the operator's way to try it again.
RETRY_HINT = message("common", "retry_hint")


def failure_finding(step: str, problem: BaseException, lang: str = "en") -> Finding:
    """The `unreadable` finding of a file ctip failed on while `step` (reading, validating, loading)."""
    detail = f"{type(problem).__name__}: {problem}"
    if len(detail) > 500:
        detail = detail[:500] + " …"
    hint = message("common", "retry_hint", lang)
    step_words = message("common", step, lang)
    return Finding(
        "unreadable", "error", message("unreadable", "failed", lang, step=step_words, detail=detail, hint=hint)
    )


def _read_one(receipt: Receipt, content: bytes | None, registry: Registry, lang: str = "en"):
    """One file's findings, and its columns of text cells as read (before `conform`) when it has any."""
    limit = registry.limits.max_file_bytes
    if content is None or receipt.size_bytes > limit:
        too_big = Unreadable("too_big", size=receipt.size_bytes, limit=limit)
        return [unreadable_finding(too_big, receipt.format, lang)], None
    columns, found = read_columns(content, receipt.format, registry.limits, lang)
    return found, columns


def _conformed(
    read: list[tuple[Receipt, dict[str, list | pl.Series]]], registry: Registry, zone: ZoneInfo, lang: str = "en"
):
    """The files read, fitted to the contract's columns (`conform`) with `submission_id` and `judged_on`: the cells
    of the files with the same header made one frame (`frame_of`) and conformed together (a header's findings are
    each of its files' findings), so that many small files cost a few frame operations a header, none a file.
    A file's cells as read are let go (from `read`) once they are in a frame.

    Returns the frames, in receipt order, the column findings of each file, and the files ctip failed on."""
    by_header: dict[tuple[str, ...], list[int]] = {}  # the format first: a blank JSON code is an absent one
    for position, (receipt, columns) in enumerate(read):
        by_header.setdefault((receipt.format, *columns), []).append(position)
    frames, findings, failed = [], [], {}

    def fitted(text: pl.DataFrame, positions: list[int], heights: list[int]) -> None:
        receipts = [read[i][0] for i in positions]
        conformed, found = conform(text, registry, lang, receipts[0].format)
        if conformed is not None:
            each = _repeated(heights)
            ids = pl.Series("submission_id", [receipt.submission_id for receipt in receipts], pl.String)
            judged = pl.Series("judged_on", [r.received_at.astimezone(zone).date() for r in receipts], pl.Date)
            order = pl.Series(_POSITION, positions, pl.Int64)
            frames.append(conformed.with_columns(ids.gather(each), judged.gather(each), order.gather(each)))
        if found:
            findings.extend(findings_frame(receipt.submission_id, found) for receipt in receipts)

    for positions in by_header.values():
        heights = [len(read[i][1][ROW_NUMBER]) for i in positions]
        try:
            text = frame_of(one_after_another([read[i][1] for i in positions]))
            for i in positions:
                read[i] = (read[i][0], None)
            fitted(text, positions, heights)
        except Exception as problem:  # ctip's failure: told apart file by file
            if len(positions) == 1:
                failed[read[positions[0]][0].submission_id] = problem
                continue
            starts = [sum(heights[:k]) for k in range(len(positions))]
            for position, start, height in zip(positions, starts, heights, strict=True):
                try:
                    columns = read[position][1]
                    alone = frame_of(columns) if columns is not None else text.slice(start, height)
                    fitted(alone, [position], [height])
                except Exception as problem:
                    failed[read[position][0].submission_id] = problem
        text = None
    if len(frames) <= 1:
        return [frame.drop(_POSITION) for frame in frames], findings, failed
    stacked = pl.concat(frames, how="vertical").sort(_POSITION, maintain_order=True)
    return [stacked.drop(_POSITION)], findings, failed


_POSITION = "_receipt_position"  # the position of a row's file among the files read, to keep them in receipt order


def _repeated(heights: list[int]) -> pl.Series:
    """The index of each file for each of its rows: [0, 0, 1, 2, 2, 2] for heights [2, 1, 3]."""
    return pl.Series("index", range(len(heights)), pl.UInt32).repeat_by(pl.Series(heights, dtype=pl.UInt32)).explode()


def _judge_rows(frames: list[pl.DataFrame], registry: Registry, lang: str = "en"):
    """Normalised observations and row findings of every file together; when that fails, of each file alone,
    so that the one file ctip fails on is told apart from the others (returned with its failure). Also every
    expectation run, for the validation pages."""
    if not frames:
        return None, [], {}, []
    stacked = pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]
    try:
        observations = normalise(stacked, registry)
        runner = SuiteRunner()
        return observations, [validate(observations, registry, runner, lang)], {}, runner.checks
    except Exception as problem:
        files = stacked.partition_by("submission_id", maintain_order=True, as_dict=True)
        if len(files) == 1:
            return None, [], {stacked["submission_id"][0]: problem}, []
    judged, row_findings, failed, checks = [], [], {}, []
    for (submission_id,), frame in files.items():
        try:
            observations = normalise(frame, registry)
            runner = SuiteRunner()
            row_findings.append(validate(observations, registry, runner, lang))
            judged.append(observations)
            checks += runner.checks
        except Exception as problem:
            failed[submission_id] = problem
    return (pl.concat(judged, how="vertical") if judged else None), row_findings, failed, checks


def run_once(
    inbox: Path,
    warehouse_path: Path,
    registry: Registry,
    zone: ZoneInfo,
    now: datetime,
    lock_timeout_seconds: float = 600.0,
    validation_pages: bool | None = None,
    show_progress: bool = False,
) -> RunSummary:
    """The nightly job without an orchestrator: the run loop with these plain functions, as the one writer.

    `validation_pages` says whether the run writes its validation pages; by default, as
    the settings say (CTIP_VALIDATION_PAGES). `show_progress` shows a progress bar on stderr.
    """
    files = WarehouseFiles(warehouse_path)
    if validation_pages is None:
        validation_pages = validation_pages_wanted()
    archive = Archive(files.archive_dir)  # one for the run: it remembers the small files it takes in
    with WriterLock(files.lock_file, lock_timeout_seconds), database.open_writer(files, registry) as writer:

        def receive_new(discovery: Discovery) -> Received:
            database.publish_analyst_file(
                writer, now, zone=zone.key
            )  # mends a run killed after loading, before publishing
            return receive(discovery, writer, archive, now, UploadLedger(files.uploads_db))

        def prepare_shards(batch: Pending, shards: list[list[Receipt]]) -> Iterator[Prepared]:
            for shard in shards:
                yield prepare_shard(batch, shard, read_contents(archive, shard, registry), registry, zone)

        steps = runloop.RunSteps(
            discover=lambda: discover(inbox),
            receive=receive_new,
            collect=lambda: import_validator_ahead(collect_pending(writer)),
            begin_batch=lambda batch: begin_batch(writer, batch),
            forget_attempt=lambda batch: forget_attempt(writer, batch),
            prepare_shards=prepare_shards,
            load=lambda prepared: load_isolated(writer, prepared),
            publish=lambda: database.publish_analyst_file(writer, now, zone=zone.key),
            summarise=summarise,
            notify=lambda: notify(writer, zone.key),
        )
        with progress_bar(show_progress) as progress:
            return runloop.run_batches(steps, 1, now, files.docs_dir if validation_pages else None, progress)


def notify(writer: Writer, zone: str) -> str:
    """The run's notices by e-mail (flows/notices.py), then the analyst file shows them. Never raises."""
    from flows import notices
    from flows.settings import SettingsError, mail_settings

    try:
        mail = mail_settings()
    except SettingsError as problem:
        return f"Notices by e-mail were not sent: {problem}"
    line = notices.after_run(writer, mail, zone, errors_in_language(writer, zone))
    try:
        database.publish_analyst_file(writer, now_utc(), zone=zone)
    except Exception as problem:  # the next run publishes them
        line += f" (not yet shown in the analyst file: {type(problem).__name__}: {problem})"
    return line


def errors_in_language(writer: Writer, zone: str):
    """For a notice: the errors of a rejected submission judged again from its archived bytes in another
    language: each kept error with the message of the same error found again (`in_other_words`)."""

    def translated(submission_id: str, found: dict, stored: list[dict], lang: str) -> list[dict]:
        try:
            content = Archive(writer.files.archive_dir).get(submission_id)
            at = now_utc()
            receipt = Receipt(1, submission_id, found["file_name"], found["format"], len(content), at, at)
            prepared = prepare(
                [receipt], {submission_id: content}, {submission_id: 1}, {}, writer.registry, ZoneInfo(zone), lang
            )
        except Exception:  # the kept (English) errors are still right
            return stored
        again = (
            prepared.findings.filter(pl.col("severity") == "error")
            .sort("row_number", "rule", "column_name", nulls_last=False)
            .select("rule", "row_number", "column_name", "message")
            .to_dicts()
        )
        return in_other_words(stored, again)

    return translated


# Runs that may begin handling a receipt without finishing it (the process was killed) before it is set aside,
# the last of them handling it alone.
MAX_ATTEMPTS = 2


def import_validator_ahead(pending: Pending) -> Pending:
    """`pending`, as it is; when it has a file to validate, Great Expectations is imported from now on, on a
    thread of its own, while the run reads the files (reading and conforming them is mostly Polars' work, which
    lets the import go on): the validation that needs it then waits only for what is left of it."""
    if pending.originals():
        threading.Thread(target=_import_validator, name="importing the validator", daemon=True).start()
    return pending


def _import_validator() -> None:
    with contextlib.suppress(Exception):  # a failure is the validation's to report, when it imports it itself
        importlib.import_module("transforms.validator")


def collect_pending(writer: Writer) -> Pending:
    """Every receipt without a final status, in order; those that runs began MAX_ATTEMPTS times or more
    without finishing, the last time alone, are set aside first (rejected, rule `unreadable`), so no file stops
    every run."""
    con = writer.con
    pending = receipts.pending_receipts(con)
    originals = receipts.original_sequences(con)
    attempts = receipts.attempts_of(con, [r.sequence for r in pending])

    def stuck_on(receipt: Receipt) -> bool:
        runs, batch_files = attempts.get(receipt.sequence, (0, 0))
        return runs >= MAX_ATTEMPTS and batch_files == 1 and is_original(receipt, originals)

    stuck = [r for r in pending if stuck_on(r)]
    settled, settled_findings = [], empty_findings()
    if stuck:
        stuck_ids = {r.submission_id for r in stuck}
        settled = decide(stuck, originals, rejected=stuck_ids, set_aside=stuck_ids)
        settled_findings = pl.concat(
            [
                findings_frame(
                    r.submission_id,
                    [
                        Finding(
                            "unreadable",
                            "error",
                            message("unreadable", "stopped", count=attempts[r.sequence][0], hint=RETRY_HINT),
                        )
                    ],
                )
                for r in stuck
            ]
        )
        settled_findings = load_batch(writer, settled, empty_load_rows(), settled_findings)
        pending = receipts.pending_receipts(con)
        originals = receipts.original_sequences(con)
    known = receipts.reporters_of(con, [r.submission_id for r in pending])
    tried = {r.sequence: attempts[r.sequence][1] for r in pending if r.sequence in attempts}
    return Pending(pending, originals, known, tried, settled, settled_findings)


def begin_batch(writer: Writer, batch: Pending) -> None:
    """Count this run's attempt at the batch's originals before anything reads them."""
    receipts.note_attempt(writer.con, [r.sequence for r in batch.originals()])


def forget_attempt(writer: Writer, batch: Pending) -> None:
    """Take back the attempt `begin_batch` counted (the run was stopped, its transaction rolled back); at worst,
    when the database cannot be written now, the attempt stays counted."""
    with contextlib.suppress(duckdb.Error):
        receipts.forget_attempt(writer.con, [r.sequence for r in batch.originals()])


def load_isolated(writer: Writer, prepared: Prepared) -> pl.DataFrame:
    """Load a prepared batch in one transaction; if that fails for a reason other than the disk or the lock,
    load its submissions one by one, so that the one ctip cannot load is set aside and the others load."""
    try:
        return load_batch(writer, prepared.decisions, prepared.observations, prepared.findings, prepared.periods)
    except (OSError, duckdb.IOException):
        raise
    except Exception as problem:
        if len(prepared.decisions) == 1:
            return _set_aside_on_load(writer, prepared.decisions[0], problem)
    recorded = []
    for decision in prepared.decisions:
        frames = (prepared.observations, prepared.findings, prepared.periods)
        if decision.status == "duplicate":  # a duplicate brings nothing of its own
            own = [frame.clear() for frame in frames]
        else:
            own = [frame.filter(pl.col("submission_id") == decision.receipt.submission_id) for frame in frames]
        try:
            recorded.append(load_batch(writer, [decision], *own))
        except (OSError, duckdb.IOException):
            raise
        except Exception as problem:
            recorded.append(_set_aside_on_load(writer, decision, problem))
    return pl.concat([empty_findings(), *recorded], how="vertical_relaxed")


def _set_aside_on_load(writer: Writer, decision: Decision, problem: Exception) -> pl.DataFrame:
    submission_id = decision.receipt.submission_id
    [rejected] = decide(
        [decision.receipt],
        {},
        rejected={submission_id},
        set_aside={submission_id},
        reporters={submission_id: decision.reporter},
    )
    findings = findings_frame(submission_id, [failure_finding("loading", problem)])
    return load_batch(writer, [rejected], empty_load_rows(), findings)


def read_contents(archive: Archive, shard: list[Receipt], registry: Registry) -> dict[str, bytes]:
    """The archived bytes of these receipts, by submission id; a file beyond the size limit is not read
    (it is rejected by its size alone)."""
    limit = registry.limits.max_file_bytes
    return {r.submission_id: archive.get(r.submission_id) for r in shard if r.size_bytes <= limit}


def prepare_shard(
    batch: Pending, shard: list[Receipt], contents: dict[str, bytes], registry: Registry, zone: ZoneInfo
) -> Prepared:
    """`prepare` for one shard of a batch's originals, given their bytes; shards can be prepared apart (on other
    workers)."""
    return prepare(shard, contents, batch.original_sequences, batch.known_reporters, registry, zone)


def prepare_shard_in_any_process(
    batch: Pending, shard: list[Receipt], contents: dict[str, bytes], timezone: str
) -> Prepared:
    """`prepare_shard` with only plain arguments (the bytes travel along, the registry is loaded where it runs),
    for a task that may run on a worker in another process."""
    from schemas import load_registry

    return prepare_shard(batch, shard, contents, load_registry(), ZoneInfo(timezone))


def summarise(
    decisions: list[Decision],
    findings: pl.DataFrame,
    discovery: Discovery,
    received: Received,
    docs: Path | None = None,
) -> RunSummary:
    return RunSummary(
        submissions=[
            {
                "file_name": d.receipt.file_name,
                "submission_id": d.receipt.submission_id,
                "sequence": d.receipt.sequence,
                "status": d.status,
                "reporter": d.reporter,
            }
            for d in decisions
        ],
        findings=findings.sort("submission_id", "row_number", nulls_last=False).to_dicts(),
        ignored=[*discovery.ignored, *received.ignored],
        in_progress=received.in_progress,
        already_received=received.already_received,
        put_back=received.put_back,
        docs=str(docs) if docs else None,
    )


def outcome_rows(summary: RunSummary) -> list[dict]:
    """One plain row per submission: file, reporter, status, error and warning counts, first problem."""
    rows = []
    for item in summary.submissions:
        found = (
            []
            if item["status"] == "duplicate"
            else [f for f in summary.findings if f["submission_id"] == item["submission_id"]]
        )
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
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not show,
        transient=False,
    )
