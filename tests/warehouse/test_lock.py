"""One writer at a time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from tests.flows.conftest import run, write_inbox
from warehouse.layout import WarehouseFiles
from warehouse.lock import WarehouseBusy, WriterLock

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from warehouse.lock import WriterLock
    with WriterLock(Path(sys.argv[1]), 5, purpose="ctip backfill --from 2019 --to 2019"):
        print("held", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def _hold(lock_file, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock_file), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_second_writer_waits_then_fails_naming_the_holder(paths):
    inbox, warehouse = paths
    files = WarehouseFiles(warehouse)
    holder = _hold(files.lock_file, 30)
    try:
        write_inbox(inbox, {"a.csv": "reporter,period,indicator,value\nMOI,2019,cases,1\n"})
        started = time.monotonic()
        with pytest.raises(WarehouseBusy, match=rf"process {holder.pid} .*ctip backfill --from 2019"):
            from flows import steps
            from schemas import load_registry
            from tests.flows.conftest import NOW, ZONE

            steps.run_once(inbox, warehouse, load_registry(), ZONE, NOW, lock_timeout_seconds=1)
        assert 1 <= time.monotonic() - started < 10
        assert not files.state_db.exists()  # nothing was touched
    finally:
        holder.kill()
        holder.wait()


def test_a_second_writer_goes_on_once_the_first_is_done(paths):
    inbox, warehouse = paths
    files = WarehouseFiles(warehouse)
    holder = _hold(files.lock_file, 1.0)
    write_inbox(inbox, {"a.csv": "reporter,period,indicator,value\nMOI,2019,cases,1\n"})
    summary = run(inbox, warehouse)  # waits up to the default timeout
    holder.wait()
    assert summary.count("loaded") == 1


def test_a_lock_left_by_a_killed_process_is_cleared(tmp_path):
    lock_file = tmp_path / "writer.lock"
    holder = _hold(lock_file, 60)
    holder.kill()
    holder.wait()
    assert json.loads(lock_file.read_text())["pid"] == holder.pid  # its description is left behind
    with WriterLock(lock_file, timeout_seconds=1) as lock:
        assert lock.stale_holder["pid"] == holder.pid
        assert json.loads(lock_file.read_text())["pid"] == os.getpid()
    assert lock_file.read_text() == ""
