"""Reading and validation fanned out on a real local Dask cluster give the same warehouse; what Prefect still
holds for its server reaches it before the temporary server of a fan-out stops."""

from __future__ import annotations

import pytest

from flows.orchestrator import run as nightly_run
from flows.settings import Settings
from tests.conftest import SEED
from tests.flows.conftest import outcome, write_inbox

pytestmark = pytest.mark.slow  # a real local Dask cluster

SEED_CSV = (SEED / "ncct_2019-S1.csv").read_text(encoding="utf-8")
INBOX = {
    "ncct.csv": SEED_CSV,
    "ncct.json": (SEED / "ncct_2019-S1.json").read_bytes(),
    "moi.csv": "reporter,period,indicator,value\nMOI,2019-S1,cases,75\nMOI,2018-S1,cases,60\n",
    "bad.csv": "reporter,period,indicator,value\nMOI,2019-S1,cases,x\n",
    "copy.csv": SEED_CSV,
    "mfaic.csv": "reporter,period,indicator,value\nMFAIC,2019-01,victims_repatriated,4\nMFAIC,2019-02,victims_repatriated,5\n",
}


def test_a_local_dask_cluster_gives_the_same_warehouse_as_one_process(prefect_harness, tmp_path):
    results = {}
    for mode, workers in (("single", None), ("dask", 3)):
        inbox, warehouse = tmp_path / mode / "inbox", tmp_path / mode / "w" / "ctip.duckdb"
        write_inbox(inbox, INBOX)
        settings = Settings(inbox=inbox, warehouse=warehouse)
        fell_back = []
        summary = nightly_run(settings, on_fallback=fell_back.append, workers=workers)
        assert fell_back == []  # the cluster itself ran the work
        assert summary.count("loaded") == 4 and summary.count("rejected") == 1 and summary.count("duplicate") == 1
        results[mode] = outcome(warehouse)
    assert results["dask"] == results["single"]


def test_what_prefect_still_holds_reaches_the_server_before_a_temporary_one_stops(prefect_harness):
    """The log lines Prefect sends in the background are delivered before the run's temporary server is stopped
    (else a fan-out without a server ends with Prefect's "Error logging to API" under the summary)."""
    from uuid import uuid4

    from prefect import flow, get_run_logger
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.runtime import flow_run

    from flows.nightly import _deliver_queued_logs_and_events

    line = f"the last line {uuid4()}"

    @flow
    def speaks() -> str:
        get_run_logger().info(line)
        return flow_run.id

    run_id = speaks()
    _deliver_queued_logs_and_events()
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))
    assert line in [log.message for log in logs]
