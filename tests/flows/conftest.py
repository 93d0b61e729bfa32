"""Fixtures for running the pipeline: inboxes on disk, a warehouse path, a Prefect harness."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

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


@pytest.fixture
def paths(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "inbox", tmp_path / "warehouse" / "ctip.duckdb"


@pytest.fixture(scope="session")
def prefect_harness(tmp_path_factory):
    """One temporary Prefect server for the whole session, heartbeat off."""
    os.environ["PREFECT_HOME"] = str(tmp_path_factory.mktemp("prefect-home"))
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        with prefect_test_harness():
            yield
