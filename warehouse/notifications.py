"""The ledger of notices by e-mail, `audit.notifications` in the writer's database: each notice once.

A notice is named by what it is about (kind, recipient, reporter, period, submission), so the same
notice has the same `notification_id` however often it is asked for: once `sent`, it is never sent
again; a `failed` one is tried again by the next run or `ctip remind`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import duckdb


@dataclass(frozen=True)
class Notice:
    kind: str  # rejection, reminder, overdue
    recipient: str
    reporter: str | None
    period: str | None = None
    submission_id: str | None = None

    @property
    def notification_id(self) -> str:
        about = "|".join(str(part or "") for part in (self.kind, self.recipient.lower(), self.reporter, self.period))
        return hashlib.sha256(f"{about}|{self.submission_id or ''}".encode()).hexdigest()[:32]


def note_due(con: duckdb.DuckDBPyConnection, submission_ids: list[str]) -> None:
    """These rejected submissions' notices are to be given (in the transaction that rejects them)."""
    if submission_ids:
        con.execute(
            "insert or ignore into pipeline.notices_due select unnest($ids)", {"ids": sorted(set(submission_ids))}
        )


def due(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The rejected submissions whose notices are still to be given, in receipt order."""
    return [
        row[0]
        for row in con.execute(
            "select d.submission_id from pipeline.notices_due as d "
            "left join (select submission_id, min(sequence) as sequence from audit.submissions group by all) as s "
            "using (submission_id) order by s.sequence nulls last, d.submission_id"
        ).fetchall()
    ]


def given(con: duckdb.DuckDBPyConnection, submission_ids: list[str]) -> None:
    """These submissions' notices are given (sent, failed and kept to try again, or mail is off)."""
    if submission_ids:
        con.execute(
            "delete from pipeline.notices_due where submission_id in (select unnest($ids))", {"ids": submission_ids}
        )


def sent_ids(con: duckdb.DuckDBPyConnection, notices: list[Notice]) -> set[str]:
    """The ids of those notices already sent."""
    if not notices:
        return set()
    rows = con.execute(
        "select notification_id from audit.notifications where status = 'sent' and notification_id in "
        "(select unnest($ids))",
        {"ids": [n.notification_id for n in notices]},
    ).fetchall()
    return {row[0] for row in rows}


def failed(con: duckdb.DuckDBPyConnection) -> list[Notice]:
    """Every notice whose last try failed, oldest first: to be tried again."""
    rows = con.execute(
        "select kind, recipient, reporter, period, submission_id from audit.notifications "
        "where status = 'failed' order by created_at, notification_id"
    ).fetchall()
    return [Notice(*row) for row in rows]


def record(con: duckdb.DuckDBPyConnection, notice: Notice, now: datetime, error: str | None) -> None:
    """Record one try of `notice`: sent (error None) or failed with its error; the first try's time stays."""
    con.execute(
        """
        insert into audit.notifications
            (notification_id, kind, recipient, reporter, period, submission_id, created_at, sent_at, status, error)
        values ($id, $kind, $recipient, $reporter, $period, $submission_id, $now,
                case when $error is null then $now end, case when $error is null then 'sent' else 'failed' end, $error)
        on conflict (notification_id) do update set
            sent_at = excluded.sent_at, status = excluded.status, error = excluded.error
        """,
        {
            "id": notice.notification_id,
            "kind": notice.kind,
            "recipient": notice.recipient,
            "reporter": notice.reporter,
            "period": notice.period,
            "submission_id": notice.submission_id,
            "now": now,
            "error": error,
        },
    ).fetchall()


def rejected_errors(con: duckdb.DuckDBPyConnection, submission_id: str) -> list[dict]:
    """The errors kept for a submission, in row order: rule, row_number, column_name, message."""
    return [
        dict(zip(("rule", "row_number", "column_name", "message"), row, strict=True))
        for row in con.execute(
            "select rule, row_number, column_name, message from audit.findings "
            "where submission_id = $id and severity = 'error' order by row_number nulls first, rule, column_name",
            {"id": submission_id},
        ).fetchall()
    ]


def submission(con: duckdb.DuckDBPyConnection, submission_id: str) -> dict | None:
    """The first receipt of a submission not a duplicate: file name, reporter, status, receipt and upload."""
    row = con.execute(
        "select file_name, reporter, status, received_at, uploaded_by, format from audit.submissions "
        "where submission_id = $id and status <> 'duplicate' order by sequence limit 1",
        {"id": submission_id},
    ).fetchall()
    keys = ("file_name", "reporter", "status", "received_at", "uploaded_by", "format")
    return dict(zip(keys, row[0], strict=True)) if row else None
