"""Reading and validation fanned out on a real local Dask cluster give the same warehouse."""

from __future__ import annotations

from pathlib import Path

from flows.nightly import run_nightly
from flows.settings import Settings
from tests.conftest import SEED
from tests.flows.conftest import query, write_inbox

SEED_CSV = (SEED / "ncct_2019-S1.csv").read_text(encoding="utf-8")
INBOX = {
    "ncct.csv": SEED_CSV,
    "ncct.json": (SEED / "ncct_2019-S1.json").read_bytes(),
    "moi.csv": "reporter,period,indicator,value\nMOI,2019-S1,cases,75\nMOI,2018-S1,cases,60\n",
    "bad.csv": "reporter,period,indicator,value\nMOI,2019-S1,cases,x\n",
    "copy.csv": SEED_CSV,
    "mfaic.csv": "reporter,period,indicator,value\nMFAIC,2019-01,victims_repatriated,4\nMFAIC,2019-02,victims_repatriated,5\n",
}


def _outcome(warehouse: Path) -> dict[str, list[tuple]]:
    return {
        "submissions": sorted(query(warehouse, "select file_name, sequence, status, errors, warnings, reporter "
                                               "from audit.submissions")),
        "findings": sorted(query(warehouse, "select file_name, severity, rule, row_number, column_name, message "
                                            "from audit.findings where rule <> 'restatement'")),
        "history": sorted(query(warehouse, "select * exclude (valid_from, valid_to) from core.observation_history"),
                          key=repr),
        "comparison": sorted(query(warehouse, "select * from marts.period_comparison"), key=repr),
    }


def test_a_local_dask_cluster_gives_the_same_warehouse_as_one_process(prefect_harness, tmp_path):
    results = {}
    for mode, workers in (("single", None), ("dask", 3)):
        inbox, warehouse = tmp_path / mode / "inbox", tmp_path / mode / "w" / "ctip.duckdb"
        write_inbox(inbox, INBOX)
        settings = Settings(inbox=inbox, warehouse=warehouse)
        fell_back = []
        summary = run_nightly(settings, on_fallback=fell_back.append, workers=workers)
        assert fell_back == []  # the cluster itself ran the work
        assert summary.count("loaded") == 4 and summary.count("rejected") == 1 and summary.count("duplicate") == 1
        results[mode] = _outcome(warehouse)
    assert results["dask"] == results["single"]
