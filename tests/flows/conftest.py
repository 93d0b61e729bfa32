"""Helpers for running the pipeline on inboxes written by the tests, and reading the result."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from flows import steps
from schemas import load_registry

ZONE = ZoneInfo("Asia/Phnom_Penh")
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


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


def outcome(warehouse: Path) -> dict[str, list[tuple]]:
    """What a run leaves in the warehouse, without the times, which differ from run to run."""
    return {
        "submissions": sorted(
            query(
                warehouse,
                "select file_name, format, reporter, sequence, status, errors, warnings, "
                "observations, submission_id from audit.submissions",
            )
        ),
        "findings": sorted(
            query(
                warehouse,
                "select submission_id, file_name, severity, rule, row_number, column_name from audit.findings",
            )
        ),
        "history": sorted(
            query(warehouse, "select * exclude (valid_from, valid_to), valid_to is null from core.observation_history"),
            key=repr,
        ),
        "comparison": sorted(query(warehouse, "select * from marts.period_comparison"), key=repr),
    }


def deliver_arrived(manifest: dict, generated: Path, inbox: Path, at: datetime) -> None:
    """Copy into the inbox every file of a generated inbox that has arrived by `at` (its manifest's `arrives`) and
    is not there yet, as its sender would have sent it."""
    for entry in manifest["submissions"]:
        if datetime.fromisoformat(entry["arrives"]) <= at and not (inbox / entry["file"]).exists():
            shutil.copy2(generated / entry["file"], inbox / entry["file"])
