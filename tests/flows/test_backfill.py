"""Backfill: replaying the archive reproduces the warehouse; a range replays from its first submission on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from flows import backfill as backfill_module
from flows.backfill import backfill, replay_shards
from flows.cli import app
from schemas.shapes import Receipt
from tests.conftest import SEED
from tests.flows.conftest import NOW, query, run, write_inbox

SEED_CSV = (SEED / "ncct_2019-S1.csv").read_text(encoding="utf-8")
RELATIONS = [
    "core.observation_history",
    "core.observations",
    "marts.period_comparison",
    "audit.submissions",
    "audit.findings",
    "marts.reporter_disagreements",
]


def _snapshot(warehouse) -> dict[str, list[tuple]]:
    return {r: sorted(query(warehouse, f"select * from {r}"), key=repr) for r in RELATIONS}


# Four nights: a report; a ministry's figures and a rejected file; a correction and a duplicate; a
# withdrawal and another ministry's figures.
NIGHTS = [
    {"ncct.csv": SEED_CSV},
    {
        "moi.csv": "reporter,period,indicator,value\nMOI,2019-S1,cases,75\nMOI,2018-S1,cases,60\n",
        "bad.csv": "reporter,period,indicator,value\nMOI,2019-S1,cases,x\n",
    },
    {"ncct.csv": SEED_CSV.replace(",78,", ",80,"), "ncct-again.csv": SEED_CSV},
    {
        "withdraw.csv": "reporter,period,indicator,action,value\nNCCT,2019-S1,marriage_applications,D,\n",
        "mfaic.csv": "reporter,period,indicator,value\nMFAIC,2019-Q1,marriage_applications,500\n",
    },
]


def _history_of_runs(inbox, warehouse) -> None:
    """The NIGHTS, one run a day."""
    for night, files in enumerate(NIGHTS):
        write_inbox(inbox, files, start_mtime=1_700_000_000 + 100_000 * night)
        run(inbox, warehouse, NOW + timedelta(days=night))


@pytest.mark.parametrize("shard_files", [200, 1], ids=["one shard", "a shard per file"])
def test_replaying_the_whole_archive_reproduces_the_warehouse(prefect_harness, paths, monkeypatch, shard_files):
    monkeypatch.setattr(backfill_module, "SHARD_FILES", shard_files)  # shards go into the one transaction in order
    inbox, warehouse = paths
    _history_of_runs(inbox, warehouse)
    before = _snapshot(warehouse)
    assert len(before["core.observation_history"]) > len(before["core.observations"])  # there is history to keep
    summary = backfill(first_period="1900", last_period="2999", warehouse=str(warehouse), show_progress=False)
    assert summary.count("loaded") == 5 and summary.count("rejected") == 1  # the duplicate is not replayed
    assert _snapshot(warehouse) == before


def test_shards_keep_the_order_and_stay_under_the_size(monkeypatch):
    monkeypatch.setattr(backfill_module, "SHARD_BYTES", 100)
    receipts = [
        Receipt(n, f"s{n}", f"f{n}.csv", "csv", size, NOW, NOW) for n, size in enumerate([60, 30, 20, 150, 10], 1)
    ]
    assert [[r.sequence for r in shard] for shard in replay_shards(receipts)] == [[1, 2], [3], [4], [5]]
    monkeypatch.setattr(backfill_module, "SHARD_FILES", 1)
    assert [[r.sequence for r in shard] for shard in replay_shards(receipts)] == [[1], [2], [3], [4], [5]]


def test_a_range_replays_from_its_first_touching_submission_on(prefect_harness, paths):
    inbox, warehouse = paths
    _history_of_runs(inbox, warehouse)
    before = _snapshot(warehouse)
    summary = backfill(first_period="2019-Q1", last_period="2019-Q1", warehouse=str(warehouse), show_progress=False)
    assert [s["file_name"] for s in summary.replayed] == ["mfaic.csv"]  # the last night; the withdrawal names 2019-S1
    assert _snapshot(warehouse) == before

    by_reporter = backfill(
        first_period="2019-S1", last_period="2019-S1", warehouse=str(warehouse), reporter="MOI", show_progress=False
    )
    assert [s["file_name"] for s in by_reporter.replayed] == ["moi.csv", "bad.csv"]
    assert _snapshot(warehouse) == before


def test_cli_backfill(paths):
    inbox, warehouse = paths
    write_inbox(inbox, {"ncct.csv": SEED_CSV})
    run(inbox, warehouse)
    result = CliRunner().invoke(
        app, ["backfill", "--from", "2018-S1", "--to", "2019-S1", "--warehouse", str(warehouse)]
    )
    assert result.exit_code == 0, result.output
    assert "Replayed 1 submission received" in result.output and "loaded 1" in result.output
    nothing = CliRunner().invoke(app, ["backfill", "--from", "2010", "--to", "2010", "--warehouse", str(warehouse)])
    assert nothing.exit_code == 0 and "nothing to replay" in nothing.output
    assert CliRunner().invoke(app, ["backfill", "--from", "2019-S9", "--to", "2019"]).exit_code == 2
