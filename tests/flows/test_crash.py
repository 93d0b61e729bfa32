"""A run killed with SIGKILL at any moment, then run again, ends as an uninterrupted run does."""

from __future__ import annotations

import importlib
import multiprocessing
import os
import signal
import subprocess
import time
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest

from flows.nightly import LOCAL_WORKER_PRELOAD
from tests.conftest import SEED, ctip_run_command
from tests.flows.conftest import outcome, query, run, write_inbox

pytestmark = pytest.mark.slow  # processes killed and run again

SEED_CSV = (SEED / "ncct_2019-S1.csv").read_text(encoding="utf-8")
INBOX = {
    "ncct.csv": SEED_CSV,
    "moi.csv": "reporter,period,indicator,value\nMOI,2019-S1,cases,75\nMOI,2018-S1,cases,60\n",
    "bad.csv": "reporter,period,indicator,value\nMOI,2019-S1,cases,x\n",
    "ncct copy.csv": SEED_CSV,
    "ncct.json": (SEED / "ncct_2019-S1.json").read_bytes(),
}


def _kill_at(module: str, owner: str, name: str, when: str, nth: int) -> None:
    """SIGKILL this process before or after the nth call of module.owner.name."""
    target = importlib.import_module(module)
    holder = getattr(target, owner) if owner else target
    original = getattr(holder, name)
    calls = [0]

    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == nth and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(*args, **kwargs)
        if calls[0] == nth and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(holder, name, wrapper)


def _count_statements(kill_before: int) -> list[int]:
    """Count the statements the run sends to DuckDB; SIGKILL this process before the kill_before-th."""
    import duckdb

    connect, count = duckdb.connect, [0]

    def counted(method):
        def call(*args, **kwargs):
            count[0] += 1
            if count[0] == kill_before:
                os.kill(os.getpid(), signal.SIGKILL)
            return method(*args, **kwargs)

        return call

    class Counted:
        def __init__(self, con):
            self._con = con

        def __getattr__(self, name):
            attribute = getattr(self._con, name)
            return counted(attribute) if name in ("execute", "executemany", "sql", "query") else attribute

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self._con.__exit__(*exc)

    duckdb.connect = lambda *args, **kwargs: Counted(connect(*args, **kwargs))
    return count


def _run_until_killed(inbox: str, warehouse: str, kill_point: tuple, sender) -> None:
    """A nightly run without the orchestrator, in a process of its own, killed at `kill_point` ("statement" and
    a number, or one of KILL_POINTS); sends the number of statements it sent to DuckDB if it ends."""
    from flows import steps
    from schemas import load_registry

    statements = _count_statements(int(kill_point[1]) if kill_point[:1] == ("statement",) else 0)
    if kill_point and kill_point[0] != "statement":
        _kill_at(*kill_point)
    steps.run_once(Path(inbox), Path(warehouse), load_registry(), ZoneInfo("Asia/Phnom_Penh"), datetime.now(UTC))
    sender.send(statements[0])


# The killed runs are forked from a process that has already imported what a run imports (a fresh interpreter
# would spend most of a short run importing the validator); each is still a process of its own, killed for real.
PROCESSES = multiprocessing.get_context("forkserver")
PRELOAD = [*LOCAL_WORKER_PRELOAD, __name__]  # the fan-out's own list: one forkserver per process serves both


# Each step where a kill could leave something half done: (module, class or "", function, before/after, nth call).
KILL_POINTS = {
    "before anything is archived": ("warehouse.archive", "Archive", "copy_in", "before", 1),
    "one file copied in, not kept": ("warehouse.archive", "Archive", "copy_in", "after", 2),
    "archived files written and flushed, none renamed": ("warehouse.durable", "", "flush_together", "after", 1),
    "two files renamed into place, the rest not": ("os", "", "replace", "after", 2),  # the archive renames first
    "all archived, no receipt": ("warehouse.receipts", "", "record_receipts", "before", 1),
    "receipts, nothing validated": ("warehouse.receipts", "", "record_receipts", "after", 1),
    "load under way, not committed": ("warehouse.invariants", "", "audit_load", "before", 1),
    "loaded, nothing published": ("warehouse.database", "", "publish_analyst_file", "before", 2),
    "segment written, not recorded": ("warehouse.publication", "", "_write_segment", "after", 1),
    "segments recorded, analyst file not swapped": ("warehouse.publication", "", "_write_analyst_file", "before", 2),
}
# Kills at moments spread over an uninterrupted run: before the statement to DuckDB at this share of all of them.
KILL_SHARES = (0.3, 0.6, 0.8, 0.9)


class _Run(NamedTuple):
    process: multiprocessing.process.BaseProcess
    statements: Connection  # receives the number of statements sent to DuckDB, if the run ends


def _start(inbox: Path, warehouse: Path, *kill_point) -> _Run:
    PROCESSES.set_forkserver_preload(PRELOAD)  # read when the forkserver starts (its first process), not at import
    statements, sender = PROCESSES.Pipe(duplex=False)
    process = PROCESSES.Process(target=_run_until_killed, args=(str(inbox), str(warehouse), kill_point, sender))
    process.start()
    sender.close()
    return _Run(process, statements)


def _ended(run: _Run) -> int | None:
    """The number of statements the run sent to DuckDB, or None if it was killed (SIGKILL)."""
    run.process.join(timeout=120)
    assert run.process.exitcode is not None, "the run neither ended nor was killed within 2 minutes"
    if run.process.exitcode == -signal.SIGKILL:
        return None
    assert run.process.exitcode == 0, f"the run ended with {run.process.exitcode}"
    return run.statements.recv()


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """An uninterrupted run in a process of its own: its outcome and the number of statements it sent to DuckDB."""
    root = tmp_path_factory.mktemp("clean")
    write_inbox(root / "inbox", INBOX)
    statements = _ended(_start(root / "inbox", root / "w" / "ctip.duckdb"))
    assert statements is not None and statements >= 2 * len(KILL_SHARES)  # room for distinct moments
    return outcome(root / "w" / "ctip.duckdb"), statements


def temporary_files(folder: Path) -> list[Path]:
    """Files left under a temporary name (`.x.tmp`, `.x.part`, a half-built analyst file) below `folder`."""
    return sorted(p for p in folder.rglob(".*") if p.is_file() and (".tmp" in p.name or p.name.endswith(".part")))


def _rerun_and_compare(inbox: Path, warehouse: Path, expected, before) -> None:
    run(inbox, warehouse)
    assert outcome(warehouse) == expected
    assert temporary_files(warehouse.parent) == []  # what the killed run left half written is gone
    assert run(inbox, warehouse).submissions == []  # and a further run finds nothing left to do
    assert {p.name: p.read_bytes() for p in inbox.iterdir()} == before  # the inbox is only read


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_killed_at_each_step_then_rerun_converges_to_the_clean_result(clean, tmp_path, point):
    expected, _ = clean
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(inbox, INBOX)
    before = {p.name: p.read_bytes() for p in inbox.iterdir()}
    assert _ended(_start(inbox, warehouse, *KILL_POINTS[point])) is None  # killed
    _rerun_and_compare(inbox, warehouse, expected, before)


@pytest.mark.parametrize("share", KILL_SHARES)
def test_killed_at_a_moment_then_rerun_converges_to_the_clean_result(clean, tmp_path, share):
    expected, statements = clean
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(inbox, INBOX)
    before = {p.name: p.read_bytes() for p in inbox.iterdir()}
    assert _ended(_start(inbox, warehouse, "statement", max(1, round(statements * share)))) is None  # killed
    _rerun_and_compare(inbox, warehouse, expected, before)


def test_killed_orchestrated_run_leaves_nothing_that_fails_the_next(prefect_harness, tmp_path):
    """A real `ctip run` reporting to a Prefect server, killed mid-way; the next `ctip run` completes."""
    from prefect.settings import PREFECT_API_URL

    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(inbox, INBOX)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_API_URL=PREFECT_API_URL.value(), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    command = ctip_run_command(inbox, warehouse)
    first = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    deadline, under_way = time.monotonic() + 120, False
    for line in first.stdout:  # kill it once the flow is under way
        under_way = "Task run 'archive" in line
        if under_way or time.monotonic() > deadline:
            break
    os.killpg(first.pid, signal.SIGKILL)  # the run, its flow run left running on the server
    first.wait()
    assert under_way
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Reported to the Prefect server" in second.stdout
    statuses = sorted(query(warehouse, "select file_name, status from audit.submissions"))
    assert statuses == [
        ("bad.csv", "rejected"),
        ("moi.csv", "loaded"),
        ("ncct copy.csv", "duplicate"),
        ("ncct.csv", "loaded"),
        ("ncct.json", "loaded"),
    ]
