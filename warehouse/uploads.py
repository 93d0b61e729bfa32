"""The portal's ledger of uploads: who sent which bytes, when, under which name, and the answer given.

One row per distinct content (SHA-256): the first upload of those bytes (a `duplicate` when a run had
received them through the inbox folder before; such a row names no copy in the inbox). The run reads it
to give `audit.submissions` its `uploaded_by` and `uploaded_at`; the portal reads it to
list a reporter's submissions. It lives beside the warehouse (`<warehouse>.ctip/uploads.sqlite`),
written by the portal alone, never by the run, so uploads go on while a run holds the writer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from warehouse import sqlite_store

_SCHEMA = """
create table if not exists uploads (
    submission_id text primary key,
    file_name text not null,      -- the name the sender gave, made safe
    inbox_name text not null,     -- the name of its copy in the inbox ('' when a run had the bytes already)
    reporter text not null,
    uploaded_by text not null,
    uploaded_at text not null,
    verdict text not null,        -- valid, invalid, or duplicate (a run had the bytes before any upload)
    errors integer not null,
    warnings integer not null,
    findings text not null,       -- JSON list of {severity, rule, row_number, column_name, message}
    lang text not null default 'en'  -- the language of the messages (the sender's)
);
create index if not exists uploads_by_reporter on uploads (reporter, uploaded_at);
"""
# A ledger made before the language was kept gains it, unknown (''): its answers were given in their senders'
# languages, which a reader's page then always words again in its own
_ADDED = {"uploads": {"lang": "text not null default ''"}}


@dataclass(frozen=True)
class Upload:
    submission_id: str
    file_name: str
    inbox_name: str
    reporter: str
    uploaded_by: str
    uploaded_at: datetime
    verdict: str
    errors: int
    warnings: int
    findings: list[dict]
    lang: str = "en"  # the language of the findings' messages: the sender's ('' when not known)


def _upload(row) -> Upload:
    return sqlite_store.as_record(Upload, row, uploaded_at=datetime.fromisoformat, findings=json.loads)


class UploadLedger:
    def __init__(self, path: Path):
        self.path = path

    def record(self, upload: Upload) -> bool:
        """Keep the first upload of these bytes; False when they were uploaded before (nothing changes)."""
        with sqlite_store.change(self.path, _SCHEMA, _ADDED) as con:
            cursor = con.execute(
                "insert into uploads values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (submission_id) do nothing",
                (
                    upload.submission_id,
                    upload.file_name,
                    upload.inbox_name,
                    upload.reporter,
                    upload.uploaded_by,
                    upload.uploaded_at.isoformat(),
                    upload.verdict,
                    upload.errors,
                    upload.warnings,
                    json.dumps(upload.findings, ensure_ascii=False, default=str),
                    upload.lang,
                ),
            )
            return cursor.rowcount == 1

    def get(self, submission_id: str) -> Upload | None:
        if not self.path.exists():
            return None
        with sqlite_store.connect(self.path, _SCHEMA, _ADDED) as con:
            row = con.execute("select * from uploads where submission_id = ?", (submission_id,)).fetchone()
        return _upload(row) if row else None

    def of_reporter(self, reporter: str | None, limit: int | None = None) -> list[Upload]:
        """Uploads of one reporter (None: every reporter's), newest first; the newest `limit` of them, or all."""
        if not self.path.exists():
            return []
        with sqlite_store.connect(self.path, _SCHEMA, _ADDED) as con:
            rows = con.execute(
                "select * from uploads where ? is null or reporter = ? order by uploaded_at desc, rowid desc limit ?",
                (reporter, reporter, -1 if limit is None else limit),
            ).fetchall()
        return [_upload(row) for row in rows]

    def count_of_reporter(self, reporter: str | None) -> int:
        """How many uploads one reporter (None: every reporter) has."""
        if not self.path.exists():
            return 0
        with sqlite_store.connect(self.path, _SCHEMA, _ADDED) as con:
            query = "select count(*) from uploads where ? is null or reporter = ?"
            return con.execute(query, (reporter, reporter)).fetchone()[0]

    def by_inbox_name(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, datetime, str]]:
        """(inbox name, submission id) -> (uploaded_by, uploaded_at, the account's reporter), for the files a run
        takes."""
        if not self.path.exists() or not pairs:
            return {}
        ids = sorted({submission_id for _, submission_id in pairs})
        rows = []
        with sqlite_store.connect(self.path, _SCHEMA, _ADDED) as con:
            for start in range(0, len(ids), 500):  # within SQLite's limit of parameters
                chunk = ids[start : start + 500]
                rows += con.execute(
                    "select inbox_name, submission_id, uploaded_by, uploaded_at, reporter from uploads "
                    f"where submission_id in ({','.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
        wanted = set(pairs)
        return {
            (row["inbox_name"], row["submission_id"]): (
                row["uploaded_by"],
                datetime.fromisoformat(row["uploaded_at"]),
                row["reporter"],
            )
            for row in rows
            if (row["inbox_name"], row["submission_id"]) in wanted
        }
