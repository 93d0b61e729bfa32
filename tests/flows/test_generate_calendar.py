"""A generated inbox exercises the reporting calendar: received in rounds at the times its files arrive, its
calendar reports make reporter-periods on time, late (`late`), missing (a reporter left out) and rejected
only (an invalid report), and, each the sum of its months, they contradict no figure derived from them."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime

import pytest
from typer.testing import CliRunner

from flows import steps
from flows.cli import app
from flows.generate import write_inbox
from schemas import load_registry
from tests.flows.conftest import ZONE, deliver_arrived, query

SENDERS = ["NCCT", "MOI", "MOSVY", "MFAIC"]  # MOJ left out
LATE = {("NCCT", "2019-S2"), ("MOSVY", "2019-05")}
LATE_PERIODS = {("NCCT", "2019-S2"), ("MOSVY", "2019-Q2")}  # MOSVY's report of the quarter holding May


@pytest.fixture(scope="module")
def received(tmp_path_factory):
    root = tmp_path_factory.mktemp("calendar")
    generated, inbox, warehouse = root / "generated", root / "inbox", root / "ctip.duckdb"
    inbox.mkdir()
    registry = load_registry()
    manifest = write_inbox(
        generated,
        [2019],
        registry=registry,
        seed=3,
        invalid_share=0.15,
        areas=["KH", "KH-12"],
        reporters=SENDERS,
        today=date(2020, 3, 1),
        late=LATE,
    )
    arrivals = {datetime.fromisoformat(e["arrives"]) for e in manifest["submissions"]}
    for day in sorted({moment.replace(hour=23, minute=0, second=0) for moment in arrivals}):
        deliver_arrived(manifest, generated, inbox, day)
        steps.run_once(inbox, warehouse, registry, ZONE, day, validation_pages=False)
    return manifest, warehouse


def _expected(manifest: dict) -> dict[tuple[str, str], str]:
    """Each reporter-period of 2019 as the files holding figures of exactly it decide it."""
    registry = load_registry()
    sent = defaultdict(list)
    for entry in manifest["submissions"]:
        sent[(entry["reporter"], entry["period"])].append(entry)
    expected = {}
    for code, reporter in registry.reporters.items():
        calendar = reporter.calendar
        periods = {"half": ["2019-S1", "2019-S2"], "quarter": [f"2019-Q{q}" for q in range(1, 5)]}.get(
            calendar.period_type, [f"2019-{m:02d}" for m in range(1, 13)]
        )
        for period in periods:
            entries = sent[(code, period)]
            valid = [e for e in entries if e["valid"]]
            if not entries:
                expected[(code, period)] = "missing"
            elif not valid:
                expected[(code, period)] = "rejected_only"
            elif (code, period) in LATE_PERIODS:
                expected[(code, period)] = "late"
            else:
                expected[(code, period)] = "on_time"
    return expected


def test_every_status_occurs_as_the_reports_decide(received):
    manifest, warehouse = received
    statuses = dict(
        ((reporter, period), status)
        for reporter, period, status in query(
            warehouse, "select reporter, period, status from marts.completeness where period like '2019%'"
        )
    )
    expected = _expected(manifest)
    assert {key: statuses.get(key) for key in expected} == expected
    halves = {key: status for key, status in statuses.items() if key[0] != "MFAIC"}
    assert {"on_time", "late", "missing", "rejected_only"} <= set(halves.values())
    assert statuses[("MOJ", "2019-S1")] == statuses[("MOJ", "2019-S2")] == "missing"  # left out
    assert statuses[("MOSVY", "2019-Q2")] == statuses[("NCCT", "2019-S2")] == "late"
    assert statuses[("MOI", "2019-S2")] == "rejected_only"  # its one report of the half-year was invalid
    assert statuses[("NCCT", "2019-S1")] == "on_time"


def test_the_reports_contradict_no_derived_figure_and_are_compared(received):
    manifest, warehouse = received
    assert query(warehouse, "select count(*) from audit.findings where rule = 'derived_mismatch'") == [(0,)]
    halves = query(warehouse, "select distinct reporter from core.observations where period_type = 'half'")
    loaded = {e["reporter"] for e in manifest["submissions"] if e["valid"] and e["period"].startswith("2019-S")}
    assert {reporter for (reporter,) in halves} == loaded
    compare = ["compare", "2019-S2", "--base", "2019-S1", "--reporter", "NCCT", "--format", "json"]
    result = CliRunner().invoke(app, [*compare, "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    rows = [r for r in json.loads(result.stdout) if r["area"] == "KH"]
    assert rows and not any(r["is_derived"] for r in rows)  # the NCCT's half-years as it reported them
    assert all(r["base_value"] is not None for r in rows if r["cut"] == "total")
