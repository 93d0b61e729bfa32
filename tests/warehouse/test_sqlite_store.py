"""The small SQLite stores beside the warehouse (accounts, sessions, uploads): writers that come at once queue."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from warehouse import sqlite_store

SCHEMA = "create table if not exists changes (writer integer);"
WRITERS = 8


def test_the_first_writers_of_a_new_store_all_write_in_wal_mode(tmp_path):
    """Uploads that arrive together at a new portal open its new ledger at once: each write waits its turn, none
    fails with "database is locked" while another sets the store's journal mode."""

    def write(path, together: threading.Barrier, writer: int) -> None:
        together.wait()
        with sqlite_store.change(path, SCHEMA) as con:
            con.execute("insert into changes values (?)", (writer,))

    for trial in range(40):
        path = tmp_path / f"store-{trial}.sqlite"
        together = threading.Barrier(WRITERS)
        with ThreadPoolExecutor(WRITERS) as pool:
            for done in [pool.submit(write, path, together, writer) for writer in range(WRITERS)]:
                done.result()
        with sqlite_store.connect(path, SCHEMA) as con:
            written = sorted(row[0] for row in con.execute("select writer from changes"))
            assert written == list(range(WRITERS))
            assert con.execute("pragma journal_mode").fetchone()[0] == "wal"
