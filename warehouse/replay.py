"""What a backfill reads, stages and undoes in the writer's database before it replays submissions."""

from __future__ import annotations

from datetime import date, datetime

import duckdb
import polars as pl

from schemas.shapes import Receipt, Rewind
from warehouse.database import insert_frame, query_dict
from warehouse.receipts import RECEIPT_COLUMNS

STAGED_ROWS = "pipeline.staged_rows"


def receipts_to_replay(
    con: duckdb.DuckDBPyConnection, first: date, last_end: date, reporter: str | None
) -> tuple[datetime, list[Receipt]] | None:
    """The receipts a backfill replays, and the receipt time from which it rewrites history.

    The submissions touching the range (periods starting on or after `first` and
    ending on or before `last_end`) fix where history is rewritten from; every
    submission received from then on (of `reporter`, if given) is replayed.
    """
    touching = con.execute(
        """select min(s.sequence) from audit.submissions s
           join pipeline.submission_periods p using (submission_id)
           where s.status <> 'duplicate' and p.period_start >= $first and p.period_end <= $last_end
             and ($reporter is null or s.reporter = $reporter)""",
        {"first": first, "last_end": last_end, "reporter": reporter},
    ).fetchall()[0][0]
    if touching is None:
        return None
    rows = con.execute(
        f"""select {RECEIPT_COLUMNS}
           from pipeline.receipts r join audit.submissions s using (sequence)
           where s.status <> 'duplicate' and r.sequence >= $since
             and ($reporter is null or s.reporter = $reporter)
           order by r.sequence""",
        {"since": touching, "reporter": reporter},
    ).fetchall()
    receipts = [Receipt(*row) for row in rows]
    return receipts[0].received_at, receipts


def periods_of(con: duckdb.DuckDBPyConnection, submission_ids: list[str]) -> dict[str, list[str]]:
    """The periods each submission names, as recorded when it was received."""
    return query_dict(
        con,
        "select submission_id, list(period order by period) from pipeline.submission_periods "
        "where submission_id in (select unnest($ids)) group by all",
        {"ids": submission_ids},
    )


def stage_rows(con: duckdb.DuckDBPyConnection, observations: pl.DataFrame) -> None:
    """Keep rows to load later (a backfill's shards) in `pipeline.staged_rows`, committed at once."""
    insert_frame(con, STAGED_ROWS, observations)


def clear_staged_rows(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"delete from {STAGED_ROWS}")


def rewind(con: duckdb.DuckDBPyConnection, undone: Rewind) -> None:
    """Undo the history and audit rows of the submissions about to be replayed (inside the load's transaction)."""
    only = "and reporter = $reporter" if undone.reporter else ""
    params = {"since": undone.since, **({"reporter": undone.reporter} if undone.reporter else {})}
    con.execute(f"delete from core.observation_history where valid_from >= $since {only}", params)
    con.execute(f"update core.observation_history set valid_to = null where valid_to >= $since {only}", params)
    sequences = {"sequences": list(undone.sequences)}
    replayed = "select submission_id from audit.submissions where sequence in (select unnest($sequences))"
    con.execute(f"delete from audit.findings where submission_id in ({replayed}) ", sequences)
    con.execute("delete from audit.submissions where sequence in (select unnest($sequences))", sequences)
    con.execute("delete from pipeline.set_aside where sequence in (select unnest($sequences))", sequences)
