"""Warnings judged against the warehouse: disagreement, outlier, and the reconciliation view."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.flows.conftest import NOW, query, run, write_inbox
from warehouse import sqlfiles
from warehouse.judgement import RULES

NCCT_CASES = 159
POLICE_CASES = 151
BASE = 62
OUTLIER = BASE * 5  # +400%, above the 300% threshold
NOT_OUTLIER = BASE * 4  # +300% exactly, not more than 300%
SMALL_BASE = 9  # below the minimum base of 10


def _file(reporter: str, rows: list[tuple[str, str, int]]) -> str:
    return "reporter,period,indicator,value\n" + "".join(f"{reporter},{p},{i},{v}\n" for p, i, v in rows)


def test_ministry_figure_that_differs_from_the_committee_is_a_disagreement(paths):
    inbox, warehouse = paths
    write_inbox(
        inbox,
        {
            "ncct.csv": _file("NCCT", [("2018", "cases", NCCT_CASES), ("2018", "suspects_arrested", 40)]),
            "moi.csv": _file("MOI", [("2018", "cases", POLICE_CASES), ("2018", "suspects_arrested", 40)]),
        },
    )
    summary = run(inbox, warehouse)
    assert summary.count("loaded") == 2
    warnings = [f for f in summary.findings if f["rule"] == "disagreement"]
    assert len(warnings) == 1  # belongs to the later submission, and equal figures do not disagree
    assert warnings[0]["row_number"] == 2 and warnings[0]["column_name"] == "value"
    assert str(POLICE_CASES) in warnings[0]["message"] and str(NCCT_CASES) in warnings[0]["message"]
    assert query(warehouse, "select errors, warnings from audit.submissions where file_name = 'moi.csv'") == [(0, 1)]
    assert query(
        warehouse,
        "select indicator, period, consolidated_value, reporter, reporter_value, difference from marts.reporter_disagreements",
    ) == [("cases", "2018", NCCT_CASES, "MOI", POLICE_CASES, POLICE_CASES - NCCT_CASES)]
    # Whoever sends the later file, the message's difference is the mart's: the ministry's minus the NCCT's.
    assert f"(MOI minus NCCT: {POLICE_CASES - NCCT_CASES:+,})" in warnings[0]["message"]
    write_inbox(inbox, {"ncct again.csv": _file("NCCT", [("2018", "cases", NCCT_CASES + 1)])}, 1_800_000_000)
    [again] = [f for f in run(inbox, warehouse).findings if f["rule"] == "disagreement"]
    assert f"MOI holds {POLICE_CASES}" in again["message"]
    assert f"(MOI minus NCCT: {POLICE_CASES - NCCT_CASES - 1:+,})" in again["message"]


def test_ministries_are_not_compared_with_each_other(paths):
    inbox, warehouse = paths
    write_inbox(
        inbox,
        {
            "moi.csv": _file("MOI", [("2018", "suspects_to_court", 10)]),
            "moj.csv": _file("MOJ", [("2018", "suspects_to_court", 12)]),
        },
    )
    summary = run(inbox, warehouse)
    assert [f for f in summary.findings if f["rule"] == "disagreement"] == []


@pytest.mark.parametrize(
    ("base", "value", "flagged"),
    [(BASE, OUTLIER, True), (BASE, NOT_OUTLIER, False), (SMALL_BASE, SMALL_BASE * 10, False), (BASE, 0, False)],
)
def test_outlier_against_the_year_before(paths, base, value, flagged):
    inbox, warehouse = paths
    write_inbox(inbox, {"ncct.csv": _file("NCCT", [("2018-S1", "cases", base), ("2019-S1", "cases", value)])})
    summary = run(inbox, warehouse)
    outliers = [f for f in summary.findings if f["rule"] == "outlier"]
    assert summary.count("loaded") == 1
    assert [(f["row_number"], f["severity"]) for f in outliers] == ([(3, "warning")] if flagged else [])
    if flagged:
        assert "+400.0%" in outliers[0]["message"] and f"{base}" in outliers[0]["message"]


def test_outlier_raised_by_a_later_restated_base(paths):
    inbox, warehouse = paths
    write_inbox(inbox, {"a.csv": _file("NCCT", [("2018-S1", "cases", BASE), ("2019-S1", "cases", NOT_OUTLIER)])})
    run(inbox, warehouse)
    write_inbox(inbox, {"b.csv": _file("NCCT", [("2018-S1", "cases", 20)])}, start_mtime=1_800_000_000)
    summary = run(inbox, warehouse, NOW + timedelta(hours=1))
    rules = sorted(f["rule"] for f in summary.findings)
    assert rules == ["outlier", "restatement"]
    outlier = next(f for f in summary.findings if f["rule"] == "outlier")
    assert outlier["row_number"] == 2 and "2019-S1" in outlier["message"]


def test_validate_reports_warehouse_warnings_without_writing(paths, tmp_path):
    inbox, warehouse = paths
    write_inbox(inbox, {"ncct.csv": _file("NCCT", [("2018", "cases", NCCT_CASES)])})
    run(inbox, warehouse)
    before = query(warehouse, "select count(*) from audit.submissions")
    candidate = tmp_path / "moi.csv"
    candidate.write_text(_file("MOI", [("2018", "cases", POLICE_CASES)]))
    corrected = tmp_path / "ncct_v2.csv"
    corrected.write_text(_file("NCCT", [("2018", "cases", NCCT_CASES + 1)]))
    result = CliRunner().invoke(
        app, ["validate", str(candidate), str(corrected), "--warehouse", str(warehouse), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    assert '"rule": "disagreement"' in result.output and '"rule": "restatement"' in result.output
    assert query(warehouse, "select count(*) from audit.submissions") == before


TYPING_ERROR = "check for a typing error"


def _outliers(summary) -> list[tuple[int, str]]:
    return [(f["row_number"], f["message"]) for f in summary.findings if f["rule"] == "outlier"]


def test_outlier_against_a_derived_base(paths):
    """The comparison table shows 2019-S1 = 100 against 2018-S1 = 20 (2018-Q1 + 2018-Q2): +400%."""
    inbox, warehouse = paths
    rows = [("2018-Q1", "cases", 10), ("2018-Q2", "cases", 10), ("2019-S1", "cases", 100)]
    write_inbox(inbox, {"ncct.csv": _file("NCCT", rows)})
    summary = run(inbox, warehouse)
    assert query(warehouse, "select value, base_value from marts.period_comparison where period = '2019-S1'") == [
        (100, 20)
    ]
    message = (
        "row 4: cases for 2019-S1 in KH is 100, a change of +400.0% against 20 in 2018-S1 "
        "(derived: 2018-Q1, 2018-Q2 add up to it); more than 300% from a base of at least 10: "
    )
    assert _outliers(summary) == [(4, message + TYPING_ERROR)]


def test_outlier_raised_by_a_part_of_a_derived_base(paths):
    inbox, warehouse = paths
    write_inbox(inbox, {"a.csv": _file("NCCT", [("2019-S1", "cases", 100), ("2018-Q1", "cases", 10)])})
    assert [f for f in run(inbox, warehouse).findings if f["rule"] == "outlier"] == []
    write_inbox(inbox, {"b.csv": _file("NCCT", [("2018-Q2", "cases", 10)])}, start_mtime=1_800_000_000)
    summary = run(inbox, warehouse, NOW + timedelta(hours=1))
    message = (
        "row 2: cases for 2018-S1 adds up to 20 (2018-Q1, 2018-Q2); against it the held "
        "2019-S1 figure 100 is a change of +400.0%; more than 300% from a base of at least 10: "
    )
    assert _outliers(summary) == [(2, message + TYPING_ERROR)]


def test_outlier_against_a_base_derived_from_derived_parts(paths):
    """2018 = 20 adds up 2018-S1 and 2018-S2, each added up from its quarters: 2019 = 100 is +400%."""
    inbox, warehouse = paths
    rows = [*((f"2018-Q{q}", "cases", 5) for q in range(1, 5)), ("2019", "cases", 100)]
    write_inbox(inbox, {"ncct.csv": _file("NCCT", rows)})
    summary = run(inbox, warehouse)
    message = (
        "row 6: cases for 2019 in KH is 100, a change of +400.0% against 20 in 2018 "
        "(derived: 2018-Q1, 2018-Q2, 2018-Q3, 2018-Q4 add up to it); more than 300% from a base of at least 10: "
    )
    assert _outliers(summary) == [(6, message + TYPING_ERROR)]


def test_outlier_raised_by_a_part_of_a_base_derived_from_derived_parts(paths):
    inbox, warehouse = paths
    rows = [("2019", "cases", 100), *((f"2018-Q{q}", "cases", 5) for q in range(1, 4))]
    write_inbox(inbox, {"a.csv": _file("NCCT", rows)})
    assert [f for f in run(inbox, warehouse).findings if f["rule"] == "outlier"] == []
    write_inbox(inbox, {"b.csv": _file("NCCT", [("2018-Q4", "cases", 5)])}, start_mtime=1_800_000_000)
    summary = run(inbox, warehouse, NOW + timedelta(hours=1))
    message = (
        "row 2: cases for 2018 adds up to 20 (2018-Q1, 2018-Q2, 2018-Q3, 2018-Q4); against it the held "
        "2019 figure 100 is a change of +400.0%; more than 300% from a base of at least 10: "
    )
    assert _outliers(summary) == [(2, message + TYPING_ERROR)]


def test_no_outlier_against_a_base_the_table_does_not_show(paths):
    """2018-01/2018-06 = 90 contradicts 2018-Q1 + 2018-Q2 = 20, so the table derives no 2018-S1 and
    2019-S1 has no base to be judged against."""
    inbox, warehouse = paths
    rows = [
        ("2018-Q1", "cases", 10),
        ("2018-Q2", "cases", 10),
        ("2018-01/2018-06", "cases", 90),
        ("2019-S1", "cases", 100),
    ]
    write_inbox(inbox, {"ncct.csv": _file("NCCT", rows)})
    summary = run(inbox, warehouse)
    assert query(warehouse, "select count(*) from marts.period_comparison where is_derived") == [(0,)]
    assert [f["rule"] for f in summary.findings] == ["derived_mismatch"]


# ------------------------------------------------------- each query read and run whole
def _printed(capsys, *argv: str) -> str:
    """What `python -m warehouse.sqlfiles ARGV...` prints: a template rendered whole."""
    assert sqlfiles.main(list(argv)) == 0
    return capsys.readouterr().out


@pytest.fixture
def bare(registry):
    """A warehouse's tables from the DDL alone, with one held figure and a run that restates it."""
    con = duckdb.connect()
    for ddl in sorted((sqlfiles.SQL_DIR / "ddl").glob("*.sql")):
        con.execute(ddl.read_text(encoding="utf-8"))
    dims = ", ".join(f"'_T' as {d}" for d in registry.dimension_names)
    figure = (
        f"'NCCT' as reporter, 'KH' as area, '2019-S1' as period, 'half' as period_type, 'cases' as indicator, {dims}"
    )
    con.execute(
        f"insert into core.observation_history by name select {figure}, 40 as value, 'A' as status, "
        "'aa' as submission_id, 2 as row_number, timestamptz '2026-01-01 00:00:00+00' as valid_from"
    )
    con.execute(
        f"create table run_rows as select {figure}, 70::bigint as value, 'A' as status, null as comment, "
        "'bb' as submission_id, 3::bigint as row_number, 'I' as action, '2018-S1' as base_period, "
        "1::bigint as sequence, timestamptz '2026-02-01 00:00:00+00' as received_at"
    )
    yield con
    con.close()


def test_every_judgement_reads_and_runs_alone(capsys, bare):
    """Each judgement template, printed whole, runs in a plain DuckDB connection beside run_rows."""
    params = {"consolidating": ["NCCT"], "threshold_pct": 300, "min_base": 10}
    for rule in RULES:
        text = _printed(capsys, f"judgement/{rule}.sql")
        assert "{{" not in text and "{%" not in text
        used = {name: value for name, value in params.items() if f"${name}" in text}
        bare.execute(text, used).fetchall()
    restated = bare.execute(_printed(capsys, "judgement/restatement.sql")).fetchall()
    assert [(r[0], r[1], r[-3], r[-2]) for r in restated] == [("bb", 3, 70, 40)]


def test_a_template_printed_with_what_it_names(capsys):
    assert sqlfiles.main(["marts/tilings.sql", "source=effective", "by=judged"]) == 0
    printed = capsys.readouterr().out
    assert "from effective" in printed and "select judged, reporter, area" in printed
    assert sqlfiles.main(["judgement/no_such_rule.sql"]) == 2
    assert "no template judgement/no_such_rule.sql" in capsys.readouterr().err


def test_warnings_past_the_cap_are_counted_and_the_kept_ones_are_those_of_an_uncapped_load(registry, tmp_path):
    """Only the warnings kept under the cap get their message written; what is kept and counted is what the
    same load keeps when every message is written first."""
    from dataclasses import replace

    from tests.warehouse.test_versions import _load
    from warehouse.database import open_writer
    from warehouse.layout import WarehouseFiles

    base = {"2017-S1": ("I", 10, "A"), "2017-S2": ("I", 12, "A"), "2017": ("I", 22, "A")}
    later = {"2018-S1": ("I", 60, "A"), "2018-S2": ("I", 50, "A"), "2018": ("I", 110, "A")}  # three outliers
    kept, counted = {}, {}
    for cap in (1, 1000):
        capped = replace(registry, limits=replace(registry.limits, max_findings_per_rule=cap))
        with open_writer(WarehouseFiles(tmp_path / f"cap{cap}" / "ctip.duckdb"), capped) as warehouse:
            _load(warehouse, [[(1, "NCCT", base)], [(2, "NCCT", later)]])
            kept[cap] = warehouse.con.sql(
                "select row_number, message from audit.findings where rule = 'outlier' order by row_number nulls last"
            ).fetchall()
            counted[cap] = warehouse.con.sql("select warnings from audit.submissions order by sequence").fetchall()
    assert len(kept[1000]) == 3 and all(message for _, message in kept[1000])
    [first, rest] = kept[1]
    assert first == kept[1000][0]
    assert rest[0] is None and "2 more" in rest[1]
    assert counted[1] == counted[1000] == [(0,), (3,)]  # the count is of every warning, listed or not
