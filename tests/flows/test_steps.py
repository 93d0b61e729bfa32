"""The nightly job's steps on real files, without the orchestrator."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from flows import steps
from flows.steps import prepare
from schemas import load_registry
from schemas.shapes import Receipt
from tests.conftest import SEED
from tests.flows.conftest import NOW, query, run, write_inbox
from warehouse.archive import Archive, sha256_of
from warehouse.layout import WarehouseFiles

SEED_CSV = (SEED / "ncct_2019-S1.csv").read_text(encoding="utf-8")
HEADER = "reporter,period,indicator,sex,value,comment\n"
CASES_2019 = 78
CASES_2018 = 62
CORRECTED_CASES_2019 = 80

HEADLINE = """select indicator, base_value, value, round(change_pct, 1) from marts.period_comparison
  where reporter = 'NCCT' and area = 'KH' and period = '2019-S1' and sex = '_T' and age = '_T'
  and citizenship = '_T' and referral = '_T' and offence = '_T' and country = '_T' order by indicator"""


def _snapshot(warehouse: Path) -> dict[str, list[tuple]]:
    tables = ["core.observation_history", "audit.submissions", "audit.findings", "marts.period_comparison"]
    return {t: sorted(query(warehouse, f"select * from {t}"), key=repr) for t in tables}


def test_seed_gives_the_contract_comparison(paths):
    inbox, warehouse = paths
    write_inbox(inbox, {"ncct_2019-S1.csv": SEED_CSV})
    summary = run(inbox, warehouse)
    assert summary.count("loaded") == 1
    assert query(warehouse, HEADLINE) == [
        ("cases", CASES_2018, CASES_2019, 25.8),
        ("marriage_applications", None, 1009, None),
        ("suspects_to_court", 85, 97, 14.1),
        ("victims_rescued", 106, 263, 148.1),
    ]
    change, pct = query(
        warehouse,
        "select change, change_pct from marts.period_comparison where indicator = 'cases' and period = '2019-S1' "
        "and reporter = 'NCCT' and offence = '_T'",
    )[0]
    assert change == CASES_2019 - CASES_2018
    assert pct == pytest.approx(100 * (CASES_2019 - CASES_2018) / CASES_2018)


def test_running_twice_changes_nothing(paths):
    inbox, warehouse = paths
    write_inbox(inbox, {"ncct_2019-S1.csv": SEED_CSV, "bad.csv": HEADER + "NCCT,2019-S1,cases,_T,x,\n"})
    run(inbox, warehouse)
    before = _snapshot(warehouse)
    second = run(inbox, warehouse, NOW + timedelta(days=1))
    assert second.submissions == [] and second.already_received == 2
    assert _snapshot(warehouse) == before


def test_corrected_resubmission_becomes_current_and_keeps_the_old_version(paths):
    inbox, warehouse = paths
    write_inbox(inbox, {"ncct.csv": SEED_CSV})
    run(inbox, warehouse)
    corrected = SEED_CSV.replace(
        f"cases,KH,_T,_T,_T,_T,_T,_T,{CASES_2019}", f"cases,KH,_T,_T,_T,_T,_T,_T,{CORRECTED_CASES_2019}"
    )
    assert corrected != SEED_CSV
    write_inbox(inbox, {"ncct.csv": corrected}, start_mtime=1_800_000_000)
    summary = run(inbox, warehouse, NOW + timedelta(hours=1))

    assert [s["status"] for s in summary.submissions] == ["loaded"]
    restated = [f for f in summary.findings if f["rule"] == "restatement"]
    assert len(restated) == 1 and restated[0]["row_number"] == 2
    assert f"was {CASES_2019}" in restated[0]["message"] and f"as {CORRECTED_CASES_2019}" in restated[0]["message"]
    versions = query(
        warehouse,
        "select value, valid_from, valid_to from core.observation_history where indicator = 'cases' "
        "and period = '2019-S1' and offence = '_T' order by valid_from",
    )
    assert [v[0] for v in versions] == [CASES_2019, CORRECTED_CASES_2019]
    assert versions[0][2] == versions[1][1] and versions[1][2] is None
    assert query(warehouse, "select value from core.observations where indicator = 'cases' and period = '2019-S1'") == [
        (CORRECTED_CASES_2019,)
    ]
    # keys the correction repeats unchanged keep their single version
    assert query(
        warehouse, "select count(*) from core.observation_history where indicator = 'marriage_applications'"
    ) == [(1,)]
    # as of the first load, the old value is what was known
    first_received = versions[0][1]
    as_of = query(
        warehouse,
        f"select value from core.observation_history where indicator = 'cases' and period = '2019-S1' "
        f"and valid_from <= '{first_received}'::timestamptz and (valid_to is null or valid_to > '{first_received}'::timestamptz)",
    )
    assert as_of == [(CASES_2019,)]


def test_withdrawal_closes_the_key_and_leaves_the_rest(paths):
    inbox, warehouse = paths
    write_inbox(inbox, {"ncct.csv": SEED_CSV})
    run(inbox, warehouse)
    withdraw = "reporter,period,indicator,action,value\nNCCT,2019-S1,marriage_applications,D,\nNCCT,2017-S1,cases,D,\n"
    write_inbox(inbox, {"withdraw.csv": withdraw}, start_mtime=1_800_000_000)
    summary = run(inbox, warehouse, NOW + timedelta(hours=1))
    assert summary.count("loaded") == 1
    assert query(warehouse, "select count(*) from core.observations where indicator = 'marriage_applications'") == [
        (0,)
    ]
    closed = query(
        warehouse, "select valid_to is not null from core.observation_history where indicator = 'marriage_applications'"
    )
    assert closed == [(True,)]
    assert query(warehouse, "select count(*) from core.observations") == [(15,)]
    assert query(warehouse, "select count(*) from core.observation_history where period = '2017-S1'") == [(0,)]


def test_duplicate_bytes_under_another_name(paths):
    inbox, warehouse = paths
    write_inbox(inbox, {"ncct.csv": SEED_CSV, "ncct copy.csv": SEED_CSV})
    summary = run(inbox, warehouse)
    assert [s["status"] for s in summary.submissions] == ["loaded", "duplicate"]
    rows = query(
        warehouse, "select file_name, submission_id, status, sequence from audit.submissions order by sequence"
    )
    assert rows[0][1] == rows[1][1] == sha256_of(SEED_CSV.encode())
    assert [r[2] for r in rows] == ["loaded", "duplicate"]
    assert query(warehouse, "select count(*) from core.observation_history") == [(16,)]


def test_rejected_file_loads_nothing_and_the_rest_of_the_run_goes_on(paths):
    inbox, warehouse = paths
    bad = HEADER + "NCCT,2019-S1,cases,_T,12,\nNCCT,2019-S1,victims_rescued,_T,1.5,\nNCCT,2019-S9,cases,_T,3,\n"
    write_inbox(inbox, {"bad.csv": bad, "ncct.csv": SEED_CSV})
    summary = run(inbox, warehouse)
    assert [(s["file_name"], s["status"]) for s in summary.submissions] == [
        ("bad.csv", "rejected"),
        ("ncct.csv", "loaded"),
    ]
    findings = query(
        warehouse,
        "select file_name, rule, row_number, column_name from audit.findings where severity = 'error' order by row_number",
    )
    assert findings == [("bad.csv", "bad_value", 3, "value"), ("bad.csv", "unknown_code", 4, "period")]
    assert query(warehouse, "select errors, warnings from audit.submissions where file_name = 'bad.csv'") == [(2, 0)]
    bad_id = sha256_of(bad.encode())
    assert query(warehouse, f"select count(*) from core.observation_history where submission_id = '{bad_id}'") == [(0,)]


def test_archive_first_and_inbox_untouched(paths):
    inbox, warehouse = paths
    write_inbox(inbox, {"ncct.csv": SEED_CSV, ".hidden.csv": SEED_CSV, "notes.txt": "x", "partial.csv.part": "x"})
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in inbox.iterdir()}
    summary = run(inbox, warehouse)
    assert sorted(summary.ignored) == [".hidden.csv", "notes.txt", "partial.csv.part"]
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in inbox.iterdir()} == before
    archived = Archive(WarehouseFiles(warehouse).archive_dir).get(sha256_of(SEED_CSV.encode()))
    assert archived == SEED_CSV.encode()


def test_order_is_modification_time_then_name_and_receipt_times_increase(paths):
    inbox, warehouse = paths
    write_inbox(inbox, {"b.csv": SEED_CSV, "a.csv": SEED_CSV.replace("1009", "1010")})
    os.utime(inbox / "a.csv", (1_700_000_000, 1_700_000_000))
    os.utime(inbox / "b.csv", (1_700_000_000, 1_700_000_000))
    (inbox / "0-late.csv").write_text(SEED_CSV.replace("1009", "1011"))
    os.utime(inbox / "0-late.csv", (1_700_000_100, 1_700_000_100))
    run(inbox, warehouse)
    rows = query(warehouse, "select file_name, sequence, received_at from audit.submissions order by sequence")
    assert [r[0] for r in rows] == ["a.csv", "b.csv", "0-late.csv"]
    assert rows[0][2] < rows[1][2] < rows[2][2]
    assert query(warehouse, "select value from core.observations where indicator = 'marriage_applications'") == [
        (1011,)
    ]


def test_file_being_written_is_left_for_the_next_run(paths, monkeypatch):
    import warehouse.archive as archive_module

    inbox, warehouse = paths
    write_inbox(inbox, {"growing.csv": SEED_CSV})
    real_open = archive_module.open_regular

    def open_while_appending(path: Path):
        opened = real_open(path)
        if path.name == "growing.csv":  # the sender appends while ctip copies it
            with path.open("a") as handle:
                handle.write("NCCT,2019-S1,cases,KH-1,_T,_T,_T,_T,_T,_T,1,A,\n")
        return opened

    monkeypatch.setattr(archive_module, "open_regular", open_while_appending)
    summary = run(inbox, warehouse)
    monkeypatch.undo()
    assert summary.in_progress == ["growing.csv"] and summary.submissions == []
    assert not list(WarehouseFiles(warehouse).archive_dir.rglob("*.part"))  # the half copy is gone
    assert run(inbox, warehouse).count("loaded") == 1


def test_a_run_that_fails_while_loading_publishes_nothing_and_the_next_one_finishes(paths, monkeypatch):
    inbox, warehouse = paths
    write_inbox(inbox, {"ncct.csv": SEED_CSV})

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("warehouse.loading._record_outcomes", broken)
    with pytest.raises(RuntimeError):
        run(inbox, warehouse)
    monkeypatch.undo()
    assert query(warehouse, "select count(*) from audit.submissions") == [(0,)]
    assert query(warehouse, "select count(*) from core.observation_history") == [(0,)]
    (inbox / "ncct.csv").unlink()  # the archive keeps what was taken
    summary = run(inbox, warehouse)
    assert [s["status"] for s in summary.submissions] == ["loaded"]
    assert query(warehouse, "select count(*) from core.observations") == [(16,)]


def test_period_not_ended_is_provisional(paths):
    inbox, warehouse = paths
    write_inbox(
        inbox, {"moi.csv": "reporter,period,indicator,value,status\nMOI,2026-S2,cases,40,A\nMOI,2026-11,cases,9,E\n"}
    )
    summary = run(inbox, warehouse)
    assert summary.count("loaded") == 1
    assert sorted(query(warehouse, "select period, status from core.observations")) == [
        ("2026-11", "E"),
        ("2026-S2", "P"),
    ]
    assert sorted(f["rule"] for f in summary.findings) == ["provisional", "provisional"]


def test_future_period_is_rejected(paths):
    inbox, warehouse = paths
    write_inbox(inbox, {"moi.csv": "reporter,period,indicator,value\nMOI,2027-S1,cases,40\n"})
    summary = run(inbox, warehouse)
    assert summary.count("rejected") == 1
    assert [(f["rule"], f["row_number"], f["column_name"]) for f in summary.findings] == [
        ("future_period", 2, "period")
    ]


def test_unreadable_file_is_rejected_and_kept(paths):
    inbox, warehouse = paths
    content = "reporter,period\n".encode("utf-16")
    write_inbox(inbox, {"utf16.csv": content})
    summary = run(inbox, warehouse)
    assert summary.count("rejected") == 1
    assert summary.findings[0]["rule"] == "unreadable"
    assert Archive(WarehouseFiles(warehouse).archive_dir).get(sha256_of(content)) == content


def test_files_read_together_keep_their_own_rows_findings_and_order():
    """Files with the same header are stacked and conformed together: each keeps its rows, in receipt order, and
    its own findings of the header (an unknown column), whatever the headers of the files between them."""
    files = [
        "reporter,period,indicator,value,note\nMOI,2019-S1,cases,1\nMOI,2018-S1,cases,2\n",
        "reporter,period,indicator,sex,value\nMOI,2019-S1,suspects_to_court,F,3\n",
        "reporter,period,indicator,value,note\nMOI,2019-S1,cases,4,x\n",
        "reporter,period,indicator,value\nMOI,2019-S1,cases,five\n",
    ]
    ids, prepared = _prepared_csv(files)
    rows = prepared.observations.select("submission_id", "value").rows()
    assert rows == [(ids[0], 1), (ids[0], 2), (ids[1], 3), (ids[2], 4)]
    unknown = prepared.findings.filter(prepared.findings["rule"] == "unknown_column")
    assert sorted(unknown["submission_id"].to_list()) == sorted([ids[0], ids[2]])
    assert [d.status for d in prepared.decisions] == ["loaded", "loaded", "loaded", "rejected"]
    bad = prepared.findings.filter(prepared.findings["rule"] == "bad_value").row(0, named=True)
    assert (bad["submission_id"], bad["row_number"], bad["column_name"]) == (ids[3], 2, "value")


def _prepared_csv(files: list[str]):
    """The submission ids of CSV files (their texts) received in this order, and what `prepare` makes of them."""
    contents = {sha256_of(text.encode()): text.encode() for text in files}
    receipts = [
        Receipt(n, sha256_of(text.encode()), f"f{n}.csv", "csv", len(text), NOW, NOW)
        for n, text in enumerate(files, start=1)
    ]
    prepared = prepare(
        receipts, contents, {r.submission_id: r.sequence for r in receipts}, {}, load_registry(), ZoneInfo("UTC")
    )
    return [r.submission_id for r in receipts], prepared


def test_a_failure_while_conforming_files_read_together_sets_aside_only_its_file(monkeypatch):
    """ctip failing on one file of a header's frame is told apart by that file's rows alone: the others, with the
    same header, before and after it, are loaded with their own rows, their comments exactly as sent (an empty one
    none)."""
    files = [
        "reporter,period,indicator,value,comment\nMOI,2019-S1,cases,1, \nMOI,2018-S1,cases,2,\n",
        "reporter,period,indicator,value,comment\nMOI,2019-S1,cases,3,POISON\n",
        "reporter,period,indicator,value,comment\n\nMOI,2019-S1,cases,4,\u3000\n",
    ]
    original = steps.conform

    def conform(frame, *args, **kwargs):
        if frame["comment"].str.contains("POISON").any():
            raise RuntimeError("injected defect while conforming")
        return original(frame, *args, **kwargs)

    monkeypatch.setattr(steps, "conform", conform)
    ids, prepared = _prepared_csv(files)
    assert [d.status for d in prepared.decisions] == ["loaded", "rejected", "loaded"]
    failure = prepared.findings.filter(prepared.findings["submission_id"] == ids[1]).row(0, named=True)
    assert "injected defect while conforming" in failure["message"]
    rows = prepared.observations.select("submission_id", "row_number", "value", "comment").rows()
    assert rows == [(ids[0], 2, 1, " "), (ids[0], 3, 2, None), (ids[2], 3, 4, "\u3000")]


def test_the_validator_is_imported_ahead_only_when_a_file_waits_to_be_validated(monkeypatch):
    """With a file to validate, Great Expectations' import starts on a thread of its own while the run reads the
    files; with none (duplicates only, nothing pending) it is not imported at all."""
    import threading

    from flows.batches import Pending

    imported = []
    monkeypatch.setattr(steps, "_import_validator", lambda: imported.append(threading.current_thread().name))
    receipt = Receipt(1, "a", "f1.csv", "csv", 10, NOW, NOW)
    duplicate = Receipt(2, "a", "f2.csv", "csv", 10, NOW, NOW + timedelta(microseconds=1))
    for pending in (Pending([], {}, {}), Pending([duplicate], {"a": 1}, {"a": "NCCT"})):
        assert steps.import_validator_ahead(pending) is pending
    assert imported == []
    pending = Pending([receipt], {"a": 1}, {})
    assert steps.import_validator_ahead(pending) is pending
    for thread in threading.enumerate():
        if thread.name == "importing the validator":
            thread.join(10)
    assert imported == ["importing the validator"]
