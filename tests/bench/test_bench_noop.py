"""A run that finds nothing new, timed as a user starts it: `ctip run` processes, with and without a server.

Run with `make bench`. The warehouse holds a generated inbox (CTIP_BENCH_NOOP_FILES files, default
1,200, every reporter, 2018-2019). Each figure is the median of five whole `ctip run` processes, from
the start of the process to its exit:
- without any Prefect server (the run does its steps itself);
- with `ctip serve` running for the warehouse, found through the warehouse's Prefect profile (the run
  records itself on the server: one completed flow run, without the flow engine);
- with `ctip serve` running and one new file each time (the Prefect flow, its tasks on the server).
The target, at most 3 s for a run that finds nothing new, is printed beside the figures, not asserted;
what each run said is asserted, so that the benchmark cannot silently measure something else.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from flows.generate import write_inbox
from flows.local_server import free_port, is_healthy
from warehouse.layout import WarehouseFiles

pytestmark = pytest.mark.bench

CTIP = str(Path(sys.executable).with_name("ctip"))
TARGET_SECONDS = 3.0
TIMES = 5


def _timed_run(inbox: Path, warehouse: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.monotonic()
    result = subprocess.run(
        [CTIP, "run", "--inbox", str(inbox), "--warehouse", str(warehouse)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    return seconds, result.stdout


def _median(inbox: Path, warehouse: Path, env: dict[str, str], said: str, before=None) -> float:
    figures = []
    for n in range(TIMES):
        if before is not None:
            before(n)
        seconds, output = _timed_run(inbox, warehouse, env)
        assert said in output, output
        figures.append(seconds)
    return statistics.median(figures)


def test_no_op_run_time(tmp_path):
    files = int(os.environ.get("CTIP_BENCH_NOOP_FILES") or 1200)
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    manifest = write_inbox(
        inbox, [2018, 2019], seed=11, invalid_share=0.0, areas=None, today=date(2026, 11, 28), limit=files
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CTIP_"))}
    env.update(CTIP_VALIDATION_PAGES="0", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    first, _ = _timed_run(inbox, warehouse, env)
    received = len(manifest["submissions"])

    alone = _median(inbox, warehouse, env, f"already done {received}")

    port = free_port()
    serve = subprocess.Popen(
        [
            CTIP,
            "serve",
            "--interval",
            "86400",
            "--port",
            str(port),
            "--inbox",
            str(tmp_path / "served-inbox"),
            "--warehouse",
            str(warehouse),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    (tmp_path / "served-inbox").mkdir()
    try:
        deadline = time.monotonic() + 600
        profile = WarehouseFiles(warehouse).prefect_profile
        while not (profile.exists() and is_healthy(f"http://127.0.0.1:{port}/api")):
            assert serve.poll() is None and time.monotonic() < deadline
            time.sleep(1)
        time.sleep(5)  # the served deployments registered
        served = _median(inbox, warehouse, env, "Recorded on the Prefect server")

        def one_new_file(n: int) -> None:
            (inbox / f"new-{n}.csv").write_text(f"reporter,period,indicator,value\nMOI,2019-S1,cases,{75 + n}\n")

        with_file = _median(inbox, warehouse, env, "Reported to the Prefect server", before=one_new_file)
    finally:
        os.killpg(serve.pid, signal.SIGINT)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()

    load = os.getloadavg()
    print()
    print(f"No-op runs: a warehouse of {received:,} files (first run {first:.1f} s); load average {load[0]:.1f}")
    print(f"{'run':<58}{'median of 5':>12}")
    print(f"{'nothing new, no Prefect server':<58}{alone:>10.2f} s")
    print(f"{'nothing new, ctip serve running (recorded on its server)':<58}{served:>10.2f} s")
    print(f"{'one new file, ctip serve running (the Prefect flow)':<58}{with_file:>10.2f} s")
    print(
        f"target for nothing new: at most {TARGET_SECONDS:g} s: {'met' if max(alone, served) <= TARGET_SECONDS else 'MISSED'}"
    )
