"""A run whose new files exceed one batch loads them batch by batch, with the same outcome as in one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flows import batches as batches_module
from schemas.shapes import LOAD_COLUMNS, Receipt
from tests.conftest import SEED
from tests.flows.conftest import NOW, outcome, query, run, write_inbox
from transforms.findings import empty_findings

SEED_CSV = (SEED / "ncct_2019-S1.csv").read_text(encoding="utf-8")


def _receipt(sequence: int, submission_id: str, size: int) -> Receipt:
    return Receipt(
        sequence, submission_id, f"f{sequence}.csv", "csv", size, NOW, NOW + sequence * timedelta(microseconds=1)
    )


def test_batches_cut_at_the_size_and_keep_duplicates_in_place(monkeypatch):
    monkeypatch.setattr(batches_module, "BATCH_BYTES", 100)
    receipts = [
        _receipt(1, "a", 60),
        _receipt(2, "b", 30),
        _receipt(3, "a", 60),
        _receipt(4, "c", 20),
        _receipt(5, "d", 150),
        _receipt(6, "e", 10),
    ]
    pending = batches_module.Pending(receipts, {"a": 1, "b": 2, "c": 4, "d": 5, "e": 6}, {})
    batches = pending.batches(1)
    assert [[r.sequence for r in b.receipts] for b in batches] == [
        [1, 2, 3],
        [4],
        [5],
        [6],
    ]  # a file above the size goes alone
    assert [[r.sequence for r in b.original_shards(1)[0]] for b in batches] == [[1, 2], [4], [5], [6]]
    assert [[r.sequence for r in b.receipts] for b in pending.batches(2)] == [[1, 2, 3, 4], [5, 6]]


def test_a_batch_of_duplicates_alone_merges_into_their_decisions_and_empty_frames_of_the_load_shapes():
    receipts = [_receipt(3, "a", 60), _receipt(4, "b", 30)]
    batch = batches_module.Pending(receipts, {"a": 1, "b": 2}, {"a": "NCCT", "b": None})
    merged = batches_module.merge_prepared(batch, [])
    assert [(d.status, d.reporter) for d in merged.decisions] == [("duplicate", "NCCT"), ("duplicate", None)]
    assert merged.observations.columns == LOAD_COLUMNS and merged.observations.is_empty()
    assert merged.findings.schema == empty_findings().schema and merged.periods.is_empty()


def _inbox(inbox) -> None:
    write_inbox(
        inbox,
        {
            "ncct.csv": SEED_CSV,
            "moi.csv": "reporter,period,indicator,value\nMOI,2019-S1,cases,75\nMOI,2018-S1,cases,60\n",
            "bad.csv": "reporter,period,indicator,value\nMOI,2019-S1,cases,x\n",
            "ncct-copy.csv": SEED_CSV,  # a duplicate of a file of an earlier batch
            "ncct-revised.csv": SEED_CSV.replace(",78,", ",80,"),  # restates a figure loaded by an earlier batch
        },
    )


@pytest.mark.parametrize("batch_bytes", [1, 8 * 1024 * 1024], ids=["a batch per file", "one batch"])
def test_a_run_in_batches_equals_a_run_in_one(paths, tmp_path, monkeypatch, batch_bytes):
    inbox, warehouse = paths
    _inbox(inbox)
    one_batch = tmp_path / "one" / "ctip.duckdb"
    run(inbox, one_batch)
    monkeypatch.setattr(batches_module, "BATCH_BYTES", batch_bytes)
    summary = run(inbox, warehouse)
    assert [s["status"] for s in summary.submissions] == ["loaded", "loaded", "rejected", "duplicate", "loaded"]
    assert summary.submissions[3]["reporter"] == "NCCT"
    assert [f["rule"] for f in summary.findings if f["severity"] == "warning" and f["rule"] == "restatement"] == [
        "restatement"
    ]
    assert outcome(warehouse) == outcome(one_batch)
    assert query(warehouse, "select count(*) from audit.findings") == query(
        one_batch, "select count(*) from audit.findings"
    )
