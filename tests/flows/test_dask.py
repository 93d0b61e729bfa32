"""Reading and validation fanned out on a real local Dask cluster give the same warehouse."""

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
