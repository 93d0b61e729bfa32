"""`ctip serve` against a real Prefect server: a scheduled run happens and loads the inbox."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from flows.serve import is_healthy

from tests.conftest import SEED

CTIP = str(Path(sys.executable).with_name("ctip"))


def _loaded(warehouse: Path) -> list[tuple]:
    if not warehouse.exists():
        return []
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.sql("select file_name, status from audit.submissions").fetchall()
    except duckdb.Error:
        return []


def test_serve_starts_a_server_and_a_scheduled_run_loads_the_inbox(tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    inbox.mkdir()
    shutil.copy(SEED / "ncct_2019-S1.csv", inbox)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    served = subprocess.Popen(
        [CTIP, "serve", "--interval", "5", "--inbox", str(inbox), "--warehouse", str(warehouse)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and _loaded(warehouse) != [("ncct_2019-S1.csv", "loaded")]:
            assert served.poll() is None, served.stdout.read()
            time.sleep(2)
        assert _loaded(warehouse) == [("ncct_2019-S1.csv", "loaded")]
    finally:
        served.send_signal(signal.SIGINT)
        try:
            output, _ = served.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(served.pid, signal.SIGKILL)
            output, _ = served.communicate()
    api_url = re.search(r"Prefect API at (http://127\.0\.0\.1:\d+/api)", output)
    assert api_url, output
    assert "ctip-nightly" in output
    assert not is_healthy(api_url[1])  # the server ctip started is stopped with it
