"""The receipt ledger: which files were received, in what order, and which still wait for a decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl

from schemas.shapes import Receipt
from warehouse.database import insert_frame, query_dict

ONE_TICK = timedelta(microseconds=1)
RECEIPT_COLUMNS = (
    "r.sequence, r.submission_id, r.file_name, r.format, r.size_bytes, r.modified_at, r.received_at, "
    "r.uploaded_by, r.uploaded_at, r.uploaded_for"
)
UPLOAD_TYPES = {"uploaded_by": pl.String, "uploaded_at": pl.Datetime("us", "UTC")}


def received_files(con: duckdb.DuckDBPyConnection, pending_only: bool = False) -> set[tuple[str, str]]:
    """(file name, submission id) of every file already received; with `pending_only`, of those without a final
    status yet (a run stopped part way: the next one finishes them)."""
    pending = " anti join audit.submissions using (sequence)" if pending_only else ""
    return set(con.execute(f"select file_name, submission_id from pipeline.receipts{pending}").fetchall())


def latest_loaded_by_name(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """File name -> the submission id of the latest file loaded under that name (whose figures the warehouse
    holds, unless a file of another name changed them since)."""
    return dict(
        con.execute(
            """select r.file_name, arg_max(r.submission_id, r.sequence) from pipeline.receipts r
               join audit.submissions s using (sequence) where s.status = 'loaded' group by r.file_name"""
        ).fetchall()
    )


def unreceived_count(con: duckdb.DuckDBPyConnection, files: pl.DataFrame) -> int:
    """How many of `files` (file_name, size_bytes, modified_at) no receipt has by name, size and modification time."""
    con.register("_inbox_files", files)
    try:
        return con.execute(
            "select count(*) from _inbox_files anti join pipeline.receipts using (file_name, size_bytes, modified_at)"
        ).fetchall()[0][0]
    finally:
        con.unregister("_inbox_files")


def pending_count(con: duckdb.DuckDBPyConnection) -> int:
    """Receipts without a final status (a run stopped before it finished them)."""
    return con.execute(
        "select count(*) from pipeline.receipts anti join audit.submissions using (sequence)"
    ).fetchall()[0][0]


def record_receipts(con: duckdb.DuckDBPyConnection, files: list[dict], now: datetime) -> list[Receipt]:
    """Give each archived file its sequence and receipt time, in one transaction.

    `files` are dicts with submission_id, file_name, format, size_bytes, modified_at,
    uploaded_by, uploaded_at and uploaded_for, already in the order they are to be applied.
    """
    if not files:
        return []
    last_sequence, last_received = con.execute(
        "select coalesce(max(sequence), 0), max(received_at) from pipeline.receipts"
    ).fetchall()[0]
    receipts = []
    received_at = now.astimezone(UTC)
    for offset, item in enumerate(files, start=1):
        if last_received is not None and received_at <= last_received:
            received_at = last_received + ONE_TICK
        receipts.append(Receipt(sequence=last_sequence + offset, received_at=received_at, **item))
        last_received = received_at
    insert_frame(
        con,
        "pipeline.receipts",
        pl.DataFrame([r.__dict__ for r in receipts], schema_overrides={**UPLOAD_TYPES, "uploaded_for": pl.String}),
        transaction=True,
    )
    return receipts


def pending_receipts(con: duckdb.DuckDBPyConnection) -> list[Receipt]:
    """Receipts without a final status, in the order they were received."""
    rows = con.execute(
        f"""select {RECEIPT_COLUMNS}
           from pipeline.receipts r anti join audit.submissions s using (sequence)
           order by r.sequence"""
    ).fetchall()
    return [Receipt(*row) for row in rows]


def original_sequences(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Submission id -> the sequence of its original: its first receipt not set aside."""
    return query_dict(
        con,
        "select submission_id, min(sequence) from pipeline.receipts "
        "where sequence not in (select sequence from pipeline.set_aside) group by all",
    )


def note_attempt(con: duckdb.DuckDBPyConnection, sequences: list[int]) -> None:
    """Count one more run that began handling these receipts together, one batch (kept until they have a final
    status), and how many they were."""
    if sequences:
        con.execute(
            "insert into pipeline.attempts select unnest($s), 1, len($s), null "
            "on conflict (sequence) do update set attempts = attempts + 1, batch_files = excluded.batch_files, "
            "prior_batch_files = batch_files",
            {"s": sequences},
        )


def forget_attempt(con: duckdb.DuckDBPyConnection, sequences: list[int]) -> None:
    """Take back the run's attempt at these receipts (counted by `note_attempt`, the run stopped, not killed): as
    many attempts as before it, and the size of the batch of the attempt before it."""
    if sequences:
        con.execute(
            "update pipeline.attempts set attempts = attempts - 1, batch_files = prior_batch_files "
            "where sequence in (select unnest($s))",
            {"s": sequences},
        )
        con.execute("delete from pipeline.attempts where attempts <= 0")


def attempts_of(con: duckdb.DuckDBPyConnection, sequences: list[int]) -> dict[int, tuple[int, int]]:
    """How many runs began handling each of these receipts without finishing it, and how many files the batch
    that last began it had (1 for an attempt recorded before that was kept: such a file was handled alone)."""
    return {
        sequence: (attempts, batch_files or 1)
        for sequence, attempts, batch_files in con.execute(
            "select sequence, attempts, batch_files from pipeline.attempts where sequence in (select unnest($s))",
            {"s": sequences},
        ).fetchall()
    }


def reporters_of(con: duckdb.DuckDBPyConnection, submission_ids: list[str]) -> dict[str, str | None]:
    """The reporter of each of these submissions already decided (for the duplicates still pending)."""
    return query_dict(
        con,
        "select submission_id, any_value(reporter) from audit.submissions "
        "where submission_id in (select unnest($ids)) and status <> 'duplicate' group by all",
        {"ids": submission_ids},
    )
