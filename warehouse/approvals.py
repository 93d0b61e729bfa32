"""Reviewers' acts on a reporter-period (`audit.approvals`): approve signs its figures off, unapprove lifts that.

A reporter-period is approved at a time when its latest act by then is `approve`. Acts are recorded by
the writer, under its lock, each later than every receipt before it, so that a backfill, which judges
each submission as of its receipt, finds the same acts before it as its first judgement did.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from schemas.texts import text
from warehouse.database import has_table
from warehouse.receipts import ONE_TICK

APPROVE, UNAPPROVE = "approve", "unapprove"


class ActRefused(ValueError):
    """An act that cannot be recorded (approving twice, unapproving what is not approved, no figures): why, as
    the text `key` of the section `acts` of schemas/texts.toml with its values; `str()` gives it in English (the
    commands), `message_in` in a reader's language (the portal)."""

    def __init__(self, key: str, **values: str):
        self.key, self.values = key, values
        super().__init__(self.message_in("en"))

    def message_in(self, lang: str) -> str:
        return text("acts", self.key, lang, **self.values)


def latest_act(con: duckdb.DuckDBPyConnection, reporter: str, period: str) -> tuple | None:
    """The latest act on a reporter-period (action, by, at, note), or None when there was none."""
    rows = con.execute(
        'select action, "by", "at", note from audit.approvals where reporter = ? and period = ? order by "at" desc limit 1',
        [reporter, period],
    ).fetchall()
    return rows[0] if rows else None


def approved_now(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, datetime]]:
    """Every reporter-period approved now: reporter, period, by and at of its approval, in order."""
    return con.execute(
        """select reporter, period, "by", "at" from (
               select *, row_number() over (partition by reporter, period order by "at" desc) as nth
               from audit.approvals)
           where nth = 1 and action = 'approve' order by reporter, period"""
    ).fetchall()


def held_figures(con: duckdb.DuckDBPyConnection, reporter: str, period: str) -> int:
    """How many figures the reporter holds now for the period (the writer's database or the analyst file)."""
    return con.execute(
        "select count(*) from core.observation_history where valid_to is null and reporter = ? and period = ?",
        [reporter, period],
    ).fetchall()[0][0]


def record_act(
    con: duckdb.DuckDBPyConnection,
    reporter: str,
    period: str,
    action: str,
    by: str,
    now: datetime,
    note: str | None = None,
) -> datetime:
    """Record one act and return its time: `now`, or just after the latest receipt or act if the clock is behind.

    Raises ActRefused when the reporter-period is already approved (approve), is not approved
    (unapprove), or holds no figure to approve.
    """
    latest = latest_act(con, reporter, period)
    approved = latest is not None and latest[0] == APPROVE
    if action == APPROVE and approved:
        at = f"{latest[2].astimezone(UTC):%Y-%m-%d %H:%M}"
        raise ActRefused("already_approved", reporter=reporter, period=period, by=latest[1], at=at)
    if action == UNAPPROVE and not approved:
        raise ActRefused("not_approved", reporter=reporter, period=period)
    if action == APPROVE and not held_figures(con, reporter, period):
        raise ActRefused("no_figures", reporter=reporter, period=period)
    last = con.execute(
        'select greatest((select max(received_at) from pipeline.receipts), (select max("at") from audit.approvals))'
    ).fetchall()[0][0]
    at = now.astimezone(UTC)
    if last is not None and at <= last:
        at = last + ONE_TICK
    con.execute(
        "insert into audit.approvals values (?, ?, ?, ?, ?, ?)", [reporter, period, action, by, at, note or None]
    )
    return at


def has_approvals(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the database has `audit.approvals` (an analyst file published before approvals existed has not)."""
    return has_table(con, "audit", "approvals")


def reporter_periods(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Every reporter-period that holds figures now or was ever approved, with the figures it holds and its latest
    act: reporter, period, figures, action (None when never acted on), by, at, note; in no particular order."""
    acted = has_approvals(con)
    latest = (
        """select reporter, period, action, "by", "at", note from (
               select *, row_number() over (partition by reporter, period order by "at" desc) as nth
               from audit.approvals)
           where nth = 1"""
        if acted
        else 'select null::varchar as reporter, null::varchar as period, null::varchar as action, null::varchar as "by", '
        'null::timestamptz as "at", null::varchar as note where false'
    )
    cursor = con.execute(
        f"""with held as (
                select reporter, period, count(*) as figures from core.observation_history
                where valid_to is null group by reporter, period),
            latest as ({latest})
            select reporter, period, coalesce(h.figures, 0) as figures, l.action, l."by", l."at", l.note
            from held h full join latest l using (reporter, period)"""
    )
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
