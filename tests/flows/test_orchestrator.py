"""What the orchestrator may break, and what it may not: retries only for a briefly held file, and a
broken orchestrator never stops the night's work."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from flows.nightly import _briefly_locked
from tests.conftest import SEED
from tests.flows.conftest import query

pytestmark = pytest.mark.slow  # real `ctip run` processes and Prefect servers


class _State:
    def __init__(self, problem: BaseException | None):
        self.problem = problem

    def result(self):
        if self.problem is not None:
            raise self.problem
        return None


def test_only_a_briefly_held_database_is_retried():
    held = duckdb.IOException('IO Error: Could not set lock on file "state.duckdb": Conflicting lock is held')
    assert _briefly_locked(None, None, _State(held)) is True
    assert _briefly_locked(None, None, _State(duckdb.IOException("IO Error: No space left on device"))) is False
    assert _briefly_locked(None, None, _State(ValueError("a defect"))) is False
    assert _briefly_locked(None, None, _State(None)) is False


def test_a_broken_orchestrator_database_does_not_fail_the_run(tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    inbox.mkdir()
    shutil.copy(SEED / "ncct_2019-S1.csv", inbox)
    prefect_home = tmp_path / "prefect"
    prefect_home.mkdir()
    (prefect_home / "prefect.db").write_text("left half written by a killed run: not a database")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(prefect_home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="10",
    )
    ctip = str(Path(sys.executable).with_name("ctip"))
    result = subprocess.run(
        [ctip, "run", "--inbox", str(inbox), "--warehouse", str(warehouse)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        start_new_session=True,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "The orchestrator failed" in result.stderr
    assert query(warehouse, "select status from audit.submissions") == [("loaded",)]
