"""The writer's database (`<warehouse>.ctip/state.duckdb`): opened with its settings and its schema ensured.

Whoever writes the warehouse holds a `Writer`: the open connection, the registry the
writer loads under and the warehouse's files. The modules beside this one each do
one job with it: `receipts` (the receipt ledger), `loading` (a batch's transaction),
`replay` (what a backfill rewinds and stages), `reference` (the registry's code
lists), `invariants` (the audit before commit); `publication` makes the analyst
file show what is committed.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import duckdb
import polars as pl

from schemas.registry import Registry
from warehouse import publication
from warehouse.layout import WarehouseFiles
from warehouse.sqlfiles import SQL_DIR, sql_text

# The writer's DuckDB keeps at most this much in memory and spills the rest to disk beside
# the database, so a load or a backfill of any size fits in 2 GB with Python's share.
MEMORY_LIMIT = "1GB"


@dataclass(frozen=True)
class Writer:
    """The writer's open database, the registry it loads under, and the files of its warehouse."""

    con: duckdb.DuckDBPyConnection
    registry: Registry
    files: WarehouseFiles


@contextmanager
def open_writer(files: WarehouseFiles, registry: Registry) -> Iterator[Writer]:
    """The writer's database of the warehouse whose analyst file is `files.analyst_file`, its schema ensured."""
    files.home.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(files.state_db))
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
        ensure_schema(con)
        yield Writer(con, registry, files)
    finally:
        con.close()


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Tables and views, from warehouse/sql/ddl/ in order, then the views of marts/; run only when they differ
    from what the database was last given (`pipeline.digests`), as a new ctip's DDL does."""
    statements, digest = _schema()
    try:
        if digest_of(con, "schema") == digest:
            return
    except duckdb.CatalogException:  # a new database, or one made before digests were kept
        pass
    for statement in statements:
        con.execute(statement)
    keep_digest(con, "schema", digest)


@functools.cache
def _schema() -> tuple[tuple[str, ...], str]:
    statements = (
        *(sql_text("ddl", ddl.name) for ddl in sorted((SQL_DIR / "ddl").glob("*.sql"))),
        sql_text("marts", "reporter_disagreements.sql"),
    )
    return statements, hashlib.sha256("\n".join(statements).encode()).hexdigest()


def digest_of(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    """The digest kept for `name` in `pipeline.digests` (what the writer last made the database hold)."""
    found = con.execute("select digest from pipeline.digests where name = $name", {"name": name}).fetchall()
    return found[0][0] if found else None


def keep_digest(con: duckdb.DuckDBPyConnection, name: str, digest: str) -> None:
    con.execute("insert or replace into pipeline.digests values ($name, $digest)", {"name": name, "digest": digest})


def insert_frame(
    con: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame, transaction: bool = False, or_ignore: bool = False
) -> None:
    """Bulk insert of a frame by column name (through Arrow, never row by row)."""
    con.register("_rows", frame)
    try:
        if transaction:
            con.execute("begin transaction")
        con.execute(f"insert {'or ignore ' if or_ignore else ''}into {table} by name select * from _rows")
        if transaction:
            con.execute("commit")
    finally:
        con.unregister("_rows")


def has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether the database holds `schema.table` (an analyst file published by an older ctip may not)."""
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where database_name = current_database() "
            "and schema_name = $schema and table_name = $table",
            {"schema": schema, "table": table},
        ).fetchall()[0][0]
    )


def query_dict(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> dict:
    """The rows of a query of two columns as a dict: each row's first value to its second."""
    return dict(con.execute(sql, params).fetchall())


def query_records(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> list[dict]:
    """The rows of a query, each as a dict of its columns, from one run of it.

    `con.execute` plans a query once; a relation (`con.sql(...)`) plans it once to learn its
    columns and again to run it, which for the judgements' long queries over a small batch
    cost more than running them.
    """
    con.execute(sql, params)
    names = [column[0] for column in con.description]
    return [dict(zip(names, row, strict=True)) for row in con.fetchall()]


def publish_analyst_file(
    writer: Writer, now: datetime, force_full: bool = False, zone: str = publication.DEFAULT_ZONE, changed: bool = False
) -> int:
    """Make the analyst file show everything committed; see `warehouse/publication.py`. `zone` is the time
    zone of the clock that marts.completeness judges due times in (CTIP_TIMEZONE); `changed` says the caller
    changed what the segments do not hold (approvals, releases)."""
    return publication.publish(writer.con, writer.files, writer.registry.key_columns, now, force_full, zone, changed)
