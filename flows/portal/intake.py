"""What the portal does with an upload: receive it streaming, judge it, archive it, hand it to the inbox.

An upload is spooled to `<warehouse>.ctip/spool/` while it arrives, counting bytes, so a
file over the registry's limit is refused (413) before it is read whole. An accepted
upload is archived under its SHA-256, judged exactly as `ctip validate` judges it
against the warehouse as it stands, written into the inbox under a temporary name and
renamed (as any sender does), and only then recorded in the ledger with its answer.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import shutil
import tempfile
import threading
import time
import unicodedata
from collections.abc import Collection, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import duckdb
import polars as pl
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from flows.checking import check_files
from flows.settings import Settings, usable_cores
from schemas.findings import count_of, in_other_words
from schemas.registry import Registry
from schemas.texts import text
from transforms.normalise import code_cell
from transforms.read import FORMATS, ROW_NUMBER, format_of, read_submission
from warehouse.accounts import Account
from warehouse.archive import Archive
from warehouse.durable import atomic_path
from warehouse.layout import WarehouseFiles
from warehouse.uploads import Upload, UploadLedger

FILE_FIELD = "file"
_SMALL_FIELD_BYTES = 4096  # a form's other fields (the token against forgery) are short
_UNSAFE = re.compile(r'[\\/:*?"<>|]')
_EXTENDED_NAME = re.compile(r"filename\*\s*=\s*[Uu][Tt][Ff]-8'[^']*'([^;\s]+)")


class Refused(Exception):
    """An upload the portal does not take: the HTTP status and a message for the sender (the text `key` of the
    portal's texts with its `values`): `message` in English (the API's), `message_in` a page's language."""

    def __init__(self, status: int, key: str, **values: str):
        self.status, self.key, self.values = status, key, values
        super().__init__(self.message_in("en"))

    @property
    def message(self) -> str:
        return str(self)

    def message_in(self, lang: str) -> str:
        return text("portal", self.key, lang, **self.values)


# The longest name an upload keeps, in bytes of UTF-8: a file system takes 255 for a name, and the inbox's copy
# may gain the start of its SHA-256 and, while it is written, a temporary name around it (a Khmer letter is 3).
MOST_NAME_BYTES = 180


def _cut(text: str, most_bytes: int) -> str:
    """`text` cut to at most `most_bytes` of UTF-8, never inside a character."""
    return text.encode("utf-8")[:most_bytes].decode("utf-8", "ignore")


def safe_file_name(given: str | None) -> str:
    """The sender's name without folders, control characters or a leading dot, and short enough for any file
    system (`MOST_NAME_BYTES`, its extension kept); never used as a path as it is."""
    name = (given or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip().lstrip(".").strip()
    if len(name.encode("utf-8")) > MOST_NAME_BYTES:
        stem, dot, extension = name.rpartition(".")
        if dot and len(extension) <= 8:
            name = _cut(stem, MOST_NAME_BYTES - len(extension.encode("utf-8")) - 1) + dot + extension
        else:
            name = _cut(name, MOST_NAME_BYTES)
    return name or "upload"


@dataclass
class Spooled:
    """An upload received whole into the spool: its file, the sender's name for it, digest and size."""

    path: Path
    file_name: str
    sha256: str
    size: int
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class _Receiver:
    """Callbacks of the streaming multipart parser: the `file` part to disk, short fields to memory."""

    def __init__(self, spool_dir: Path, limit: int):
        self.spool_dir, self.limit = spool_dir, limit
        self.fields: dict[str, str] = {}
        self.file: Spooled | None = None
        self._headers: dict[bytes, bytes] = {}
        self._header_field = b""
        self._header_value = b""
        self._name: str | None = None
        self._buffer = bytearray()
        self._handle = None
        self._digest = None

    def callbacks(self) -> dict:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": lambda data, start, end: self._grow("_header_field", data[start:end]),
            "on_header_value": lambda data, start, end: self._grow("_header_value", data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }

    def _grow(self, name: str, data: bytes) -> None:
        setattr(self, name, getattr(self, name) + data)

    def _part_begin(self) -> None:
        self._headers, self._name, self._buffer = {}, None, bytearray()

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def _headers_finished(self) -> None:
        disposition = self._headers.get(b"content-disposition", b"")
        _, options = parse_options_header(disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        extended = _EXTENDED_NAME.search(disposition.decode("latin-1"))
        if b"filename" not in options and extended:  # only `filename*=UTF-8''...` (RFC 6266), as some clients send
            options[b"filename"] = unquote(extended.group(1), encoding="utf-8", errors="replace").encode("utf-8")
        if self._name == FILE_FIELD and b"filename" in options:
            if self.file is not None:
                raise Refused(400, "refused_one_file")
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            handle = tempfile.NamedTemporaryFile(dir=self.spool_dir, prefix=".upload-", delete=False)
            given = options[b"filename"].decode("utf-8", "replace")
            self.file = Spooled(Path(handle.name), safe_file_name(given), "", 0)
            self._handle, self._digest = handle, hashlib.sha256()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._handle is not None and self._name == FILE_FIELD:
            self.file.size += len(chunk)
            if self.file.size > self.limit:
                raise Refused(413, "refused_too_large", limit=f"{self.limit:,}")
            self._handle.write(chunk)
            self._digest.update(chunk)
        else:
            self._buffer += chunk
            if len(self._buffer) > _SMALL_FIELD_BYTES:
                raise Refused(400, "refused_field_too_long", field=self._name)

    def _part_end(self) -> None:
        if self._handle is not None and self._name == FILE_FIELD:
            self._handle.close()
            self._handle = None
            self.file.sha256 = self._digest.hexdigest()
        elif self._name:
            self.fields[self._name] = self._buffer.decode("utf-8", "replace")

    def abandon(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self.file is not None:
            self.file.discard()


async def receive(request, spool_dir: Path, limit: int) -> Spooled:
    """The request's multipart `file` part, spooled to disk while it streams in; refused when too large."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        raise Refused(400, "refused_not_a_form")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise Refused(413, "refused_too_large", limit=f"{limit:,}")
    receiver = _Receiver(spool_dir, limit)
    parser = MultipartParser(options[b"boundary"], receiver.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        if parser.state != MultipartState.END:  # the closing boundary never came: the sender was cut off
            raise Refused(400, "refused_cut_off")
    except Refused:
        receiver.abandon()
        raise
    except Exception:
        receiver.abandon()
        raise Refused(400, "refused_cut_off") from None
    if receiver.file is None or receiver._handle is not None:
        receiver.abandon()
        raise Refused(400, "refused_no_file")
    receiver.file.fields = receiver.fields
    return receiver.file


def named_reporters(content: bytes, file_format: str, registry: Registry) -> set[str]:
    """The reporter codes the file's rows name (as a run reads them: `code_cell`; "" for a blank cell), read in
    its own format or, when it cannot be read so, in the first other format that reads a reporter in it: another
    reporter's file renamed is still theirs. Empty when no format reads one."""
    others = [each for each in dict.fromkeys(FORMATS.values()) if each != file_format]
    for each in [file_format, *others]:
        raw = read_submission(content, each, registry.limits)
        if raw.readable and "reporter" in raw.frame.columns:
            cells = [c for c in raw.frame.columns if c != ROW_NUMBER]
            rows = raw.frame.filter(pl.any_horizontal(pl.col(cells).is_not_null()))  # blank lines name nobody
            return set(rows.select(code_cell("reporter"))["reporter"].to_list())  # the code a run reads from it
    return set()


@dataclass(frozen=True)
class State:
    """Where a submission stands: `waiting` for a run, or its status in `audit.submissions`."""

    state: str
    sequence: int | None = None
    received_at: datetime | None = None
    errors: tuple[dict, ...] = ()  # of a rejected submission: the errors the run recorded (audit.findings)


class Intake:
    """The portal's one path for an upload, shared by the web pages and the API."""

    def __init__(self, settings: Settings, registry: Registry, separate_judge: bool = False):
        self.settings, self.registry = settings, registry
        self.files = WarehouseFiles(settings.warehouse)
        self.ledger = UploadLedger(self.files.uploads_db)
        self.archive = Archive(self.files.archive_dir)
        self._handing = threading.Lock()  # one upload at a time decides what is new and its name in the inbox
        self._in_hand: dict[str, threading.Event] = {}  # submission id -> set once its hand-over has ended
        self._names_in_hand: set[str] = set()  # inbox names being written
        self._judge = _Judge(settings, registry, separate_judge)
        self._again: dict[tuple[str, str], list[dict]] = {}  # (submission id, language) -> findings judged again

    def close(self) -> None:
        self._judge.close()

    @property
    def size_limit(self) -> int:
        return self.registry.limits.max_file_bytes

    async def receive(self, request) -> Spooled:
        return await receive(request, self.files.upload_spool_dir, self.size_limit)

    def accept(self, spooled: Spooled, account: Account) -> tuple[Upload, bool]:
        """Judge, archive and hand over an upload; (its receipt, whether it is new). Raises Refused.

        Uploads sent at once go through in parallel: they are archived while they wait for their judgement,
        and each writes and flushes its own inbox copy and ledger row. Only the choice of what is new and of
        its name in the inbox is made one upload at a time (`_handing`), so the same bytes sent twice at
        once are handed over once, and two files of one name get two names. No answer is given before its
        bytes are flushed to disk in the archive, and, for a new upload, in the inbox and the ledger.
        """
        try:
            with self._judge.arriving():
                file_format = format_of(spooled.file_name)
                if file_format is None:
                    raise Refused(415, "refused_format", file=spooled.file_name)
                content = spooled.path.read_bytes()
                named = named_reporters(content, file_format, self.registry)
                if len(named) == 1 and named <= set(self.registry.reporters) and named != {account.reporter}:
                    raise Refused(
                        403,
                        "refused_other_reporter",
                        file=spooled.file_name,
                        reporter=next(iter(named)),
                        own=account.reporter,
                    )
                now = datetime.now(UTC)
                first = self.ledger.get(spooled.sha256)
                if first is not None:
                    return self._duplicate(spooled, account, now, first), False
                if self._received(spooled.sha256):  # through the inbox folder: this is their first upload
                    upload = self._duplicate(spooled, account, now, None)
                    self.ledger.record(upload)  # its uploader finds it (the bytes stay out of the inbox)
                    return upload, False
                # with whatever else is waiting; its messages in the sender's language, as `validate --lang` gives
                judged = self._judge.submit(spooled.path, spooled.file_name, account.lang)
            try:
                self.archive.keep(self.archive.copy_in(spooled.path))  # meanwhile (the same bytes twice: one file)
            except BaseException:
                wait([judged])  # the judge has read the spooled file before it is removed
                raise
            report = judged.result()
            while True:
                with self._handing:
                    first = self.ledger.get(spooled.sha256)
                    handing = self._in_hand.get(spooled.sha256)
                    if first is None and handing is None:
                        inbox_name = self._inbox_name(spooled)
                        done = self._in_hand[spooled.sha256] = threading.Event()
                        self._names_in_hand.add(inbox_name)
                        break
                if first is not None:  # the same bytes, uploaded meanwhile (a run finds any other copy a duplicate)
                    return self._duplicate(spooled, account, now, first), False
                handing.wait()  # the same bytes, being handed over now: answer with what they were given
            try:
                self._hand_to_inbox(spooled, inbox_name)
                upload = Upload(
                    submission_id=spooled.sha256,
                    file_name=spooled.file_name,
                    inbox_name=inbox_name,
                    reporter=account.reporter,
                    uploaded_by=account.user,
                    uploaded_at=now,
                    verdict="invalid" if report["errors"] else "valid",
                    errors=report["errors"],
                    warnings=report["warnings"],
                    findings=report["findings"],
                    lang=account.lang,
                )
                self.ledger.record(upload)
                return upload, True
            finally:
                with self._handing:
                    del self._in_hand[spooled.sha256]
                    self._names_in_hand.discard(inbox_name)
                done.set()
        finally:
            spooled.discard()

    def _duplicate(self, spooled: Spooled, account: Account, now: datetime, first: Upload | None) -> Upload:
        return Upload(
            submission_id=spooled.sha256,
            file_name=spooled.file_name,
            inbox_name=first.inbox_name if first else "",
            reporter=account.reporter,
            uploaded_by=account.user,
            uploaded_at=now,
            verdict="duplicate",
            errors=first.errors if first else 0,
            warnings=first.warnings if first else 0,
            findings=first.findings if first else [],
            lang=first.lang if first else account.lang,
        )

    def findings_in(self, upload: Upload, shown: dict, lang: str) -> list[dict]:
        """The findings of a receipt (`receipt`) in `lang`: those of the answer at upload are in the sender's
        language and the run's errors in English; a reader of another language gets each with the message of the
        same finding judged again in theirs from the archived bytes (`in_other_words`), or as kept."""
        own, run = shown["findings"][: len(upload.findings)], shown["findings"][len(upload.findings) :]
        if not ((own and upload.lang != lang) or (run and lang != "en")):
            return shown["findings"]
        again = self._judged_again(upload, lang)
        return [
            *(in_other_words(own, again) if upload.lang != lang else own),
            *(in_other_words(run, again) if lang != "en" else run),
        ]

    def _judged_again(self, upload: Upload, lang: str) -> list[dict]:
        """The findings of an upload's archived bytes judged again in `lang` (none when they cannot be: the kept
        ones are shown), kept for the next reader."""
        key = (upload.submission_id, lang)
        with self._handing:
            if key in self._again:
                return self._again[key]
        try:
            copy = self.files.upload_spool_dir / f".again-{upload.submission_id[:16]}-{threading.get_ident()}"
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(self.archive.get(upload.submission_id))
            try:
                found = self._judge.submit(copy, upload.file_name, lang).result()["findings"]
            finally:
                copy.unlink(missing_ok=True)
        except Exception:  # the kept words are still right
            found = []
        with self._handing:
            if len(self._again) >= 256:  # a reader's few pages, not every upload ever shown
                self._again.pop(next(iter(self._again)))
            self._again[key] = found
        return found

    def _received(self, submission_id: str) -> bool:
        """Whether a run already received these bytes (through the inbox folder, say)."""
        return submission_id in self.states([submission_id])

    def _inbox_name(self, spooled: Spooled) -> str:
        """The sender's name, or, when a file of that name is in the inbox or being put there, the name with the
        start of the SHA-256 (chosen under `_handing`)."""
        name = spooled.file_name
        if (self.settings.inbox / name).exists() or name in self._names_in_hand:
            stem, dot, extension = name.rpartition(".")
            name = f"{stem}-{spooled.sha256[:12]}{dot}{extension}"
        return name

    def _hand_to_inbox(self, spooled: Spooled, name: str) -> None:
        """Write the file into the inbox under a temporary hidden name, then rename it: all or nothing."""
        self.settings.inbox.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.settings.inbox / name) as temporary:
            shutil.copyfile(spooled.path, temporary)

    def states(
        self, submission_ids: list[str], inbox_names: dict[str, str] | None = None, errors_of: Collection[str] = ()
    ) -> dict[str, State]:
        """What the published warehouse says of these submissions: status, sequence and receipt time, and, for
        those of `errors_of` it rejected, the errors the run recorded (a receipt gives them when its answer at
        upload had none to give).

        With `inbox_names`, the row of that name is preferred (the same bytes may have come under two names).
        """
        analyst_file = self.settings.warehouse
        if not submission_ids or not analyst_file.exists():
            return {}
        try:
            with duckdb.connect(str(analyst_file), read_only=True) as con:
                rows = con.execute(
                    "select submission_id, file_name, status, sequence, received_at from audit.submissions "
                    "where submission_id in (select unnest($ids)) order by sequence",
                    {"ids": submission_ids},
                ).fetchall()
                rejected = [row[0] for row in rows if row[2] == "rejected" and row[0] in errors_of]
                errors: dict[str, list[dict]] = {}
                for submission_id, *finding in con.execute(
                    "select submission_id, severity, rule, row_number, column_name, message from audit.findings "
                    "where severity = 'error' and submission_id in (select unnest($ids)) "
                    "order by row_number nulls first, rule",
                    {"ids": rejected},
                ).fetchall():
                    keys = ("severity", "rule", "row_number", "column_name", "message")
                    errors.setdefault(submission_id, []).append(dict(zip(keys, finding, strict=True)))
        except duckdb.Error:
            return {}
        states: dict[str, State] = {}
        for submission_id, file_name, status, sequence, received_at in rows:
            preferred = (inbox_names or {}).get(submission_id) == file_name
            if submission_id not in states or preferred:
                states[submission_id] = State(status, sequence, received_at, tuple(errors.get(submission_id, ())))
        return states


# How long a validation about to start waits for uploads on their way to it (read and checked at that moment):
# far less than a validation, which they would otherwise wait for before their own.
GATHER_SECONDS = 0.2
# The most judging processes a portal starts, however many cores it has (each holds Great Expectations and
# the registry's suites, a few hundred MB).
MOST_JUDGES = 4


def judge_processes() -> int:
    """How many validations the portal runs at once, each in a warm process: one per core it may use (at most
    `MOST_JUDGES`), so one upload's validation need not wait for another's."""
    return min(MOST_JUDGES, usable_cores())


class _Judge:
    """The findings `ctip validate` gives for an upload, under the sender's name; the uploads waiting while
    the validations run are judged together in the next one.

    A validation costs mostly per call, not per file, and judges each file alone against the warehouse as
    it stands (as `ctip validate a.csv b.csv` does), so senders who upload at once wait for one validation
    instead of each other's. A validation about to start waits up to `GATHER_SECONDS` for the uploads
    `arriving` (being read and checked before they are submitted), so that they join it instead of waiting
    for it to end. A judging thread takes the uploads waiting when it is free (its share of them when other
    judges are free too); a sender's thread waits for its own report.

    With `separate`, the validations run in processes of their own (`judge_processes`, each with its
    thread), started with the portal and kept warm (Great Expectations and the registry loaded once): a
    validation is pure Python, and in the portal's process it would share one interpreter lock with every
    request being served; in two processes, uploads that arrive while one batch is judged are judged at
    the same time on another core instead of after it. In the portal's own process one thread judges (its
    validations would take turns for that lock).
    """

    def __init__(self, settings: Settings, registry: Registry, separate: bool = False):
        self.settings, self.registry = settings, registry
        self.spool_dir = WarehouseFiles(settings.warehouse).upload_spool_dir
        self._pools = [_judge_process(registry) for _ in range(judge_processes())] if separate else []
        self._changed = threading.Condition()
        self._waiting: list[tuple[Path, str, str, Future]] = []
        self._arriving = 0
        self._free = 0  # judging threads waiting for uploads
        self._threads: list[threading.Thread] = []

    def close(self) -> None:
        """End the judges' processes, if they have any (when the portal stops)."""
        for pool in self._pools:
            pool.shutdown(wait=True, cancel_futures=True)

    @contextmanager
    def arriving(self) -> Iterator[None]:
        """An upload on its way to `submit` while the block runs."""
        with self._changed:
            self._arriving += 1
        try:
            yield
        finally:
            with self._changed:
                self._arriving -= 1
                self._changed.notify_all()

    def submit(self, path: Path, file_name: str, lang: str = "en") -> Future:
        """The upload's report, its messages in `lang`, to come: its `result()` waits for it."""
        waited: Future = Future()
        with self._changed:
            self._waiting.append((path, file_name, lang, waited))
            if not self._threads:
                for seat in range(max(1, len(self._pools))):
                    thread = threading.Thread(
                        target=self._judge_forever, args=(seat,), name=f"ctip-judge-{seat}", daemon=True
                    )
                    thread.start()
                    self._threads.append(thread)
            self._changed.notify_all()
        return waited

    def _take(self) -> list[tuple[Path, str, str, Future]]:
        """The uploads to judge next: once one is waiting, those waiting and those arriving meanwhile, shared
        with the other judges free at that moment (the first in line first; each takes its share, so that
        two free judges judge two halves at once instead of one judging all)."""
        with self._changed:
            self._free += 1
            try:
                while True:
                    while not self._waiting:
                        self._changed.wait()
                    deadline = time.monotonic() + GATHER_SECONDS
                    while self._arriving and (left := deadline - time.monotonic()) > 0:
                        self._changed.wait(left)
                    if self._waiting:  # unless other judges took them meanwhile
                        share = -(-len(self._waiting) // self._free)
                        taken, self._waiting = self._waiting[:share], self._waiting[share:]
                        return taken
            finally:
                self._free -= 1

    def _judge_forever(self, seat: int) -> None:
        while True:
            taken = self._take()
            for lang in sorted({lang for _, _, lang, _ in taken}):  # together, those of one language
                judged = [(path, name, waited) for path, name, each, waited in taken if each == lang]
                try:
                    reports = self._judge_together([(path, name) for path, name, _ in judged], seat, lang)
                except BaseException as failure:  # each sender gets the error; the judge goes on
                    for *_, waited in judged:
                        waited.set_exception(failure)
                    continue
                for (*_, waited), report in zip(judged, reports, strict=True):
                    waited.set_result(report)

    def _judge_together(self, uploads: list[tuple[Path, str]], seat: int = 0, lang: str = "en") -> list[dict]:
        """Each upload linked under its sender's name in a folder of its own (two may share a name); the
        messages in `lang`."""
        folders = [Path(tempfile.mkdtemp(dir=self.spool_dir, prefix=".judge-")) for _ in uploads]
        named = [folder / name for folder, (_, name) in zip(folders, uploads, strict=True)]
        try:
            for (path, _), link in zip(uploads, named, strict=True):
                os.link(path, link)
            if not self._pools:
                return check_files(named, self.settings, self.registry, datetime.now(UTC), lang, others_withheld=True)
            pool = self._pools[seat]
            try:
                return pool.submit(_check_in_judge_process, named, self.settings, datetime.now(UTC), lang).result()
            except BrokenProcessPool:  # the judge's process died (killed, out of memory): the next batch gets a new one
                self._pools[seat] = _judge_process(self.registry)
                raise
        finally:
            for folder in folders:  # whatever was linked in it, or not
                shutil.rmtree(folder, ignore_errors=True)


_judge_registry: Registry | None = None  # in the judge's process: the registry it was started with


def _judge_process(registry: Registry) -> ProcessPoolExecutor:
    """A process that judges uploads, started at once and warmed (spawned: the portal's threads are not copied)."""
    pool = ProcessPoolExecutor(
        max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_warm, initargs=(registry,)
    )
    pool.submit(int)  # start it now, not at the first upload
    return pool


def _warm(registry: Registry) -> None:
    """Keep the registry and load Great Expectations with the suites of the registry, before the first upload."""
    global _judge_registry
    _judge_registry = registry
    from transforms.validate import warm_suites

    warm_suites(registry)


def _check_in_judge_process(files: list[Path], settings: Settings, now: datetime, lang: str) -> list[dict]:
    return check_files(files, settings, _judge_registry, now, lang, others_withheld=True)


def run_errors_wanted(uploads: list[Upload]) -> set[str]:
    """The uploads whose receipts give the run's errors if it rejected them: those the portal found valid."""
    return {u.submission_id for u in uploads if u.verdict == "valid"}


def receipt(upload: Upload, state: State | None) -> dict:
    """The receipt of the contract (`REPORTING.md` section 2) as a JSON object, as it stands now: a file the
    portal found valid and a run rejected (ctip failed on it, say) gets the run's errors among its findings."""
    if upload.verdict == "duplicate":
        state = State("duplicate")
    state = state or State("waiting")
    run_errors = list(state.errors) if state.state == "rejected" and upload.verdict == "valid" else []
    return {
        "submission_id": upload.submission_id,
        "file_name": upload.file_name,
        "reporter": upload.reporter,
        "uploaded_by": upload.uploaded_by,
        "uploaded_at": upload.uploaded_at.isoformat(),
        "verdict": upload.verdict,
        "errors": upload.errors + count_of(run_errors),
        "warnings": upload.warnings,
        "findings": [
            {key: finding.get(key) for key in ("severity", "rule", "row_number", "column_name", "message")}
            for finding in [*upload.findings, *run_errors]
        ],
        "state": state.state,
        "sequence": state.sequence,
        "received_at": state.received_at.isoformat() if state.received_at else None,
    }
