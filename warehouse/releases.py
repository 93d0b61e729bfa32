"""Numbered releases of the approved figures (`audit.releases`) and the figures each one published.

A release's folder is written whole under a temporary name, then renamed into place inside the
transaction that records it, and the transaction is committed only once the rename is done: a
release that did not finish is not in `audit.releases`, and a recorded release is never written again.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import polars as pl

from warehouse.database import insert_frame

FIGURES = "pipeline.released_figures"


def folder_name(number: int) -> str:
    return f"release-{number:04d}"


def next_number(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("select coalesce(max(release), 0) + 1 from audit.releases").fetchall()[0][0]


def released_figures(con: duckdb.DuckDBPyConnection, number: int) -> pl.DataFrame | None:
    """The figures release `number` published (key, value, status, value_conf), or None when there is none."""
    if not con.execute("select count(*) from audit.releases where release = ?", [number]).fetchall()[0][0]:
        return None
    return con.sql(f"select * exclude (release) from {FIGURES} where release = $n", params={"n": number}).pl()


def public_figures(con: duckdb.DuckDBPyConnection, figures: str = FIGURES) -> pl.DataFrame:
    """Every figure some release published (the key and the value; a count published twice with two values,
    once with each), with `release`, the first release that published it with that value: what every reader
    may be taken to know. `figures`: the writer's table, or the analyst file's copy of it
    (`audit.released_figures`)."""
    return con.sql(
        f"select * exclude (release, status, value_conf), min(release) as release from {figures} "
        "where value is not null group by all order by all"
    ).pl()


def record_release(
    con: duckdb.DuckDBPyConnection, release: dict, figures: pl.DataFrame, put_in_place: Callable[[], None]
) -> None:
    """Record a release (a row of `audit.releases`) and its figures, committed only once `put_in_place` (which
    renames its folder into place) has succeeded; if it fails, nothing is recorded."""
    con.execute("begin transaction")
    try:
        insert_frame(con, "audit.releases", pl.DataFrame([release]))
        insert_frame(con, FIGURES, figures.with_columns(pl.lit(release["release"], pl.Int32).alias("release")))
        put_in_place()
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
