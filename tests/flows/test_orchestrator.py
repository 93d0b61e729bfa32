"""What the orchestrator may break, and what it may not: retries only for a briefly held file, and a
broken orchestrator never stops the night's work."""

from __future__ import annotations

import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest

from flows.nightly import _briefly_locked
from tests.conftest import SEED
from tests.flows.conftest import query

pytestmark = pytest.mark.slow  # a real `ctip run` process


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


class _BrokenOrchestrator(http.server.BaseHTTPRequestHandler):
    """A Prefect API whose health check answers and whose every other call fails, as one with a broken database."""

    def do_GET(self):
        self._answer(200 if self.path == "/api/health" else 500, b"true")

    def do_POST(self):
        self._answer(500, b'{"exception_message": "Internal Server Error"}')

    do_PATCH = do_PUT = do_DELETE = do_POST

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_a_broken_orchestrator_does_not_fail_the_run(tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    inbox.mkdir()
    shutil.copy(SEED / "ncct_2019-S1.csv", inbox)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BrokenOrchestrator)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_API_URL=f"http://127.0.0.1:{server.server_address[1]}/api",
        PREFECT_HOME=str(tmp_path / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    ctip = str(Path(sys.executable).with_name("ctip"))
    try:
        result = subprocess.run(
            [ctip, "run", "--inbox", str(inbox), "--warehouse", str(warehouse)],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "The orchestrator failed" in result.stderr
    assert query(warehouse, "select status from audit.submissions") == [("loaded",)]
