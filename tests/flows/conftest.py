"""Helpers for running the pipeline on inboxes written by the tests, and reading the result."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from flows import steps
from schemas import load_registry

ZONE = ZoneInfo("Asia/Phnom_Penh")
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=timezone.utc)


def write_inbox(inbox: Path, files: dict[str, str | bytes], start_mtime: int = 1_700_000_000) -> None:
    """Write files with increasing modification times, in the order given."""
    inbox.mkdir(parents=True, exist_ok=True)
    for offset, (name, content) in enumerate(files.items()):
        path = inbox / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        os.utime(path, (start_mtime + offset, start_mtime + offset))


def run(inbox: Path, warehouse: Path, now: datetime = NOW) -> steps.RunSummary:
    return steps.run_once(inbox, warehouse, load_registry(), ZONE, now)


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(sql).fetchall()
