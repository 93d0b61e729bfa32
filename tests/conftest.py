"""Shared fixtures: the registry, the real files in tests/files/, paths for a run, a Prefect harness."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from schemas import load_registry

FILES = Path(__file__).parent / "files"
SEED = FILES / "seed"


@pytest.fixture(scope="session")
def registry():
    return load_registry()


@pytest.fixture(scope="session")
def seed_files() -> dict[str, Path]:
    """The seed report (NCCT, 2019-S1 with 2018-S1 restated) in each format."""
    return {fmt: SEED / f"ncct_2019-S1.{fmt}" for fmt in ("csv", "json", "xlsx")}


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
        with prefect_test_harness(server_startup_timeout=180):  # a fresh database migrates slowly on a busy machine
            yield


@pytest.fixture(autouse=True)
def _no_project_warehouse(tmp_path, monkeypatch):
    """A command run without --warehouse or --inbox never touches the project's own files; and a run writes
    no validation pages unless its test asks for them (CTIP_VALIDATION_PAGES=1 or `validation_pages=True`)."""
    monkeypatch.setenv("CTIP_WAREHOUSE", str(tmp_path / "default-warehouse" / "ctip.duckdb"))
    monkeypatch.setenv("CTIP_INBOX", str(tmp_path / "default-inbox"))
    monkeypatch.setenv("CTIP_VALIDATION_PAGES", "0")
