"""Small SQLite stores beside the warehouse (accounts, sessions, uploads) that two processes write at once.

WAL mode lets readers go on while one writes; `BEGIN IMMEDIATE` takes the write lock at the
start of a change, so a second writer waits (up to `BUSY_TIMEOUT_MS`) instead of failing
half way. The files hold secrets or senders' names, so they are readable by ctip's user alone.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

BUSY_TIMEOUT_MS = 10_000

Shape = TypeVar("Shape")


@contextmanager
def connect(path: Path, schema: str, added: dict[str, dict[str, str]] | None = None) -> Iterator[sqlite3.Connection]:
    """A connection to the store at `path`, created with `schema` (idempotent DDL) when new; `added` names the
    columns (table -> column -> declaration) a store made before them gains."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = not path.exists()
    con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    try:
        if fresh:
            os.chmod(path, 0o600)
        con.execute(f"pragma busy_timeout = {BUSY_TIMEOUT_MS}")
        _in_wal_mode(con)
        con.executescript(schema)
        for table, columns in (added or {}).items():
            _add_missing_columns(con, table, columns)
        con.row_factory = sqlite3.Row
        yield con
    finally:
        con.close()


def _add_missing_columns(con: sqlite3.Connection, table: str, columns: dict[str, str]) -> None:
    has = {row[1] for row in con.execute(f"pragma table_info({table})")}
    for name, declaration in columns.items():
        if name in has:
            continue
        try:
            con.execute(f"alter table {table} add column {name} {declaration}")
        except sqlite3.OperationalError as problem:  # another process added it a moment before
            if "duplicate column" not in str(problem):
                raise


def _in_wal_mode(con: sqlite3.Connection) -> None:
    """The store in WAL mode (set once, kept by the file). Setting it needs the file alone, which SQLite does not
    wait for: the first connections of a new store, opened at once (uploads that arrive together), try again
    until the busy timeout instead of failing."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while con.execute("pragma journal_mode").fetchone()[0] != "wal":
        try:
            con.execute("pragma journal_mode = wal")
        except sqlite3.OperationalError:  # another connection holds the new file for a moment
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@contextmanager
def change(path: Path, schema: str, added: dict[str, dict[str, str]] | None = None) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken at once so that two writers queue instead of deadlocking."""
    with connect(path, schema, added) as con:
        con.execute("begin immediate")
        try:
            yield con
        except BaseException:
            con.execute("rollback")
            raise
        con.execute("commit")


def as_record(shape: type[Shape], row: sqlite3.Row, **convert: Callable[[Any], Any]) -> Shape:
    """The dataclass `shape` made of the row's columns of the same names as its fields; `convert` names the
    fields whose stored value is turned into the field's (text into a time, say) and the function that does it."""
    values = {field.name: row[field.name] for field in dataclasses.fields(shape)}
    for name, function in convert.items():
        values[name] = function(values[name])
    return shape(**values)
