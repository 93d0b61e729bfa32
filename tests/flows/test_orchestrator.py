"""What the orchestrator may break, and what it may not: retries only for a briefly held file, and a
broken orchestrator never stops the night's work."""

from __future__ import annotations

import http.server
import os
import shutil
import threading

import duckdb
import pytest

from flows import steps
from flows.local_server import free_port
from flows.nightly import _briefly_locked
from tests.conftest import SEED, ctip_run_command, run_ctip, run_python
from tests.flows.conftest import query, run, write_inbox
from warehouse.layout import WarehouseFiles

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
    try:
        result = run_ctip(ctip_run_command(inbox, warehouse), env, timeout=240)
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "The orchestrator failed" in result.stderr and "Reported to" not in result.stdout
    assert query(warehouse, "select status from audit.submissions") == [("loaded",)]


# A run in a fresh process, as `ctip run` makes it: what it imported, what it said.
RUN_IN_A_FRESH_PROCESS = """
import sys
from pathlib import Path
from flows.orchestrator import run
from flows.settings import Settings
summary = run(Settings(inbox=Path(sys.argv[1]), warehouse=Path(sys.argv[2])))
print(summary.already_received, summary.count("loaded"))
print("great_expectations" in sys.modules, "prefect" in sys.modules)
print(summary.orchestration)
"""


def _without_prefect_settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}


def test_a_run_with_nothing_new_imports_neither_the_validator_nor_the_orchestrator(tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(inbox, {"ncct.csv": (SEED / "ncct_2019-S1.csv").read_bytes()})
    run(inbox, warehouse)
    result = run_python(RUN_IN_A_FRESH_PROCESS, str(inbox), str(warehouse), env=_without_prefect_settings())
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["1 0", "False False", "None"]


def test_a_named_server_that_does_not_answer_is_said_and_the_run_goes_on(tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(inbox, {"ncct.csv": (SEED / "ncct_2019-S1.csv").read_bytes()})
    nowhere = f"http://127.0.0.1:{free_port()}/api"
    result = run_python(
        RUN_IN_A_FRESH_PROCESS,
        str(inbox),
        str(warehouse),
        env={**_without_prefect_settings(), "PREFECT_API_URL": nowhere},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "0 1",
        "True False",
        f"The Prefect server at {nowhere} (named by PREFECT_API_URL) did not answer; the run's steps ran without it.",
    ]


def test_anything_new_sees_a_new_file_a_changed_one_and_an_unfinished_receipt(tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    files = WarehouseFiles(warehouse)
    assert not steps.anything_new(inbox, files)  # no inbox, no warehouse
    write_inbox(inbox, {"ncct.csv": (SEED / "ncct_2019-S1.csv").read_bytes()})
    assert steps.anything_new(inbox, files)
    run(inbox, warehouse)
    assert not steps.anything_new(inbox, files)
    with duckdb.connect(str(files.state_db)) as con:  # a run stopped after the receipt, before the outcome
        con.execute("delete from audit.submissions where sequence = (select max(sequence) from audit.submissions)")
    assert steps.anything_new(inbox, files)
    run(inbox, warehouse)
    assert not steps.anything_new(inbox, files)
    os.utime(inbox / "ncct.csv", (1_800_000_000, 1_800_000_000))  # written again: its bytes may differ
    assert steps.anything_new(inbox, files)


BACKFILL_IN_A_FRESH_PROCESS = """
import sys
from pathlib import Path
from flows.orchestrator import backfill
summary, line = backfill(Path(sys.argv[1]), "2018-S1", "2019-S1", None, "Asia/Phnom_Penh", 60.0, False)
print(len(summary.replayed), summary.count("loaded"), line)
print("prefect.server.api.server" in sys.modules)  # no Prefect server was started for it
"""


def test_a_backfill_without_a_server_replays_as_plain_functions(tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(inbox, {"ncct.csv": (SEED / "ncct_2019-S1.csv").read_bytes()})
    run(inbox, warehouse)
    before = query(warehouse, "select * exclude (valid_from) from core.observations order by all")
    result = run_python(BACKFILL_IN_A_FRESH_PROCESS, str(warehouse), env=_without_prefect_settings())
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["1 1 None", "False"]
    assert query(warehouse, "select * exclude (valid_from) from core.observations order by all") == before


def test_sigterm_caught_and_wrapped_by_a_library_still_stops_the_run_as_terminated():
    """A library calling back into Python (DuckDB reading a frame through Arrow) may turn the exception SIGTERM
    raises into one of its own; the run still ends as stopped (exit status 143), not as failed."""
    import signal

    from flows.orchestrator import Terminated, stop_on_sigterm

    def library_call_back() -> None:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(10_000_000):  # the handler runs at the next instruction
                pass
        except BaseException as inner:  # what such a library does
            raise RuntimeError(f"reading the object failed: {inner!r}") from None

    with pytest.raises(Terminated) as stopped, stop_on_sigterm():
        library_call_back()
    assert stopped.value.code == 128 + signal.SIGTERM
    assert isinstance(stopped.value.__cause__, RuntimeError)
    with pytest.raises(ValueError), stop_on_sigterm():  # without SIGTERM an error stays what it is
        raise ValueError("a plain failure")
