"""The way in that the README gives analysts: harlequin (the `analyst` extra) opens the analyst file read-only."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from tests.conftest import SEED_INBOX
from tests.flows.conftest import query, run, write_inbox

HARLEQUIN = str(Path(sys.executable).with_name("harlequin"))


def _open_and_count(analyst_file: Path) -> tuple[list[str], object]:
    """Harlequin's own app, headless: the catalog it lists and the result of a query typed and run in it."""
    from harlequin import Harlequin
    from harlequin.components import CodeEditor, ResultsViewer
    from harlequin.components.data_catalog.database_tree import DatabaseTree
    from harlequin_duckdb import DuckDbAdapter

    async def session():
        app = Harlequin(adapter=DuckDbAdapter((str(analyst_file),), read_only=True))
        async with app.run_test(size=(160, 50)) as pilot:
            for _ in range(240):  # the catalog listed, the connection and the editor ready: then a query can run
                await pilot.pause(0.25)
                trees = app.query(DatabaseTree)
                if trees and trees.first().root.children and app.connection is not None and app.editor is not None:
                    break
            catalog = [str(node.label) for node in app.query_one(DatabaseTree).root.children]
            editor = app.query_one(CodeEditor)
            editor.text = "select count(*) from core.observations where reporter = 'NCCT'"
            for _ in range(6):  # a key pressed while the app was still busy can be dropped: pressed again
                editor.focus()
                await pilot.pause(0.25)
                await pilot.press("ctrl+j")  # run the query
                for _ in range(40):
                    await pilot.pause(0.25)
                    tables = app.query_one(ResultsViewer).query("ResultsTable")
                    if tables and tables.first().row_count:
                        return catalog, tables.first().get_row_at(0)[0]
            return catalog, None

    return asyncio.run(session())


def test_harlequin_opens_the_analyst_file_read_only(tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(inbox, SEED_INBOX)
    run(inbox, warehouse)
    # counted first: harlequin keeps its own connection open in this process, with another configuration
    expected = query(warehouse, "select count(*) from core.observations where reporter = 'NCCT'")[0][0]
    catalog, count = _open_and_count(warehouse)
    assert catalog == ["ctip db"]
    assert count == expected > 0

    help_text = subprocess.run([HARLEQUIN, "--help"], capture_output=True, text=True, timeout=120)
    assert help_text.returncode == 0 and "--read-only" in help_text.stdout
