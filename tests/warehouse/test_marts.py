"""marts.period_comparison: the year before, the period before, and figures derived from shorter periods."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.flows.conftest import NOW, query, run, write_inbox
from warehouse.sqlfiles import SQL_DIR

H1, H2 = 40, 38
YEAR_BEFORE = 70
Q = (9, 11, 10, 12)
MONTHS = (3, 2, 4, 5, 1, 5)  # add up to the quarters Q[0] and Q[1]


def _csv(rows: list[tuple[str, str, str, int]]) -> str:
    return "reporter,period,indicator,value\n" + "".join(f"{r},{p},{i},{v}\n" for r, p, i, v in rows)


def _mart(warehouse, where: str) -> list[tuple]:
    return query(
        warehouse,
        "select reporter, period, period_type, value, base_value, previous_period, previous_value, is_derived "
        f"from marts.period_comparison where {where} order by reporter, period",
    )


def test_previous_period_of_the_same_type(paths):
    inbox, warehouse = paths
    write_inbox(inbox, {"moi.csv": _csv([("MOI", "2019-S1", "cases", H1), ("MOI", "2019-S2", "cases", H2)])})
    run(inbox, warehouse)
    row = query(
        warehouse,
        "select previous_period, previous_value, previous_change, previous_change_pct from marts.period_comparison "
        "where period = '2019-S2'",
    )
    assert row == [("2019-S1", H1, H2 - H1, pytest.approx(100 * (H2 - H1) / H1))]


def test_a_year_is_derived_from_its_two_halves_and_compared(paths):
    inbox, warehouse = paths
    write_inbox(
        inbox,
        {
            "moi.csv": _csv(
                [
                    ("MOI", "2019-S1", "cases", H1),
                    ("MOI", "2019-S2", "cases", H2),
                    ("MOI", "2018", "cases", YEAR_BEFORE),
                    ("MOI", "2017-S1", "cases", 5),  # one half only: no 2017
                ]
            )
        },
    )
    run(inbox, warehouse)
    assert _mart(warehouse, "period_type = 'year'") == [
        ("MOI", "2018", "year", YEAR_BEFORE, None, "2017", None, False),
        ("MOI", "2019", "year", H1 + H2, YEAR_BEFORE, "2018", YEAR_BEFORE, True),
    ]


def test_a_reported_figure_is_never_replaced_by_a_derived_one(paths):
    inbox, warehouse = paths
    write_inbox(
        inbox,
        {
            "moi.csv": _csv(
                [
                    ("MOI", "2019-S1", "cases", H1),
                    ("MOI", "2019-S2", "cases", H2),
                    ("MOI", "2019", "cases", H1 + H2 + 1),
                ]
            )
        },
    )
    summary = run(inbox, warehouse)
    assert _mart(warehouse, "period = '2019'") == [("MOI", "2019", "year", H1 + H2 + 1, None, "2018", None, False)]
    assert [f["rule"] for f in summary.findings] == ["derived_mismatch"]


def test_halves_quarters_and_year_to_date_from_shorter_periods(paths):
    inbox, warehouse = paths
    quarters = [("MOSVY", f"2019-Q{i + 1}", "victims_rescued", v) for i, v in enumerate(Q)]
    months = [("MOSVY", f"2019-{m + 1:02d}", "victims_rescued", v) for m, v in enumerate(MONTHS)]
    write_inbox(inbox, {"q.csv": _csv(quarters), "m.csv": _csv(months)})
    run(inbox, warehouse)
    derived = dict(query(warehouse, "select period, value from marts.period_comparison where is_derived"))
    assert derived["2019-S1"] == Q[0] + Q[1]  # from the quarters, which come before the months
    assert derived["2019-S2"] == Q[2] + Q[3]
    assert "2019" not in derived  # a year comes from reported halves only, not from derived ones
    assert "2019-Q1" not in derived  # reported
    assert derived["2019-01/2019-06"] == sum(MONTHS)
    assert derived["2019-01/2019-02"] == MONTHS[0] + MONTHS[1]
    assert "2019-01/2019-07" not in derived  # July is not held


def _mismatches(summary) -> list[tuple[int, str]]:
    return [(f["row_number"], f["message"]) for f in summary.findings if f["rule"] == "derived_mismatch"]


def test_a_year_against_its_quarters_is_checked_and_no_contradicting_half_is_derived(paths):
    inbox, warehouse = paths
    write_inbox(
        inbox,
        {
            "ncct.csv": _csv(
                [("NCCT", "2019", "cases", 100)] + [("NCCT", f"2019-Q{q}", "cases", 10) for q in range(1, 5)]
            )
        },
    )
    summary = run(inbox, warehouse)
    assert _mismatches(summary) == [
        (
            2,
            "row 2: cases for 2019 in KH is reported as 100, but its parts "
            "(2019-Q1, 2019-Q2, 2019-Q3, 2019-Q4) add up to 40",
        )
    ]
    assert query(
        warehouse,
        "select period, value, is_derived from marts.period_comparison where period like '2019%' order by period",
    ) == [
        ("2019", 100, False),
        ("2019-Q1", 10, False),
        ("2019-Q2", 10, False),
        ("2019-Q3", 10, False),
        ("2019-Q4", 10, False),
    ]  # no derived 2019-S1 = 20 or 2019-S2 = 20 beside the year of 100


def test_a_year_against_its_months_is_checked_and_nothing_contradicting_is_derived(paths):
    inbox, warehouse = paths
    write_inbox(
        inbox,
        {
            "ncct.csv": _csv(
                [("NCCT", "2019", "victims_rescued", 100)]
                + [("NCCT", f"2019-{m:02d}", "victims_rescued", 1) for m in range(1, 13)]
            )
        },
    )
    summary = run(inbox, warehouse)
    months = ", ".join(f"2019-{m:02d}" for m in range(1, 13))
    assert _mismatches(summary) == [
        (2, f"row 2: victims_rescued for 2019 in KH is reported as 100, but its parts ({months}) add up to 12")
    ]
    assert query(warehouse, "select count(*) from marts.period_comparison where is_derived") == [(0,)]


def test_a_year_to_december_against_its_year(paths):
    inbox, warehouse = paths
    write_inbox(inbox, {"ncct.csv": _csv([("NCCT", "2019", "cases", 100), ("NCCT", "2019-01/2019-12", "cases", 90)])})
    summary = run(inbox, warehouse)
    assert _mismatches(summary) == [
        (3, "row 3: cases for 2019-01/2019-12 in KH is reported as 90, but 2019, the same months, is 100")
    ]


def test_a_year_against_halves_and_quarters_together(paths):
    inbox, warehouse = paths
    write_inbox(
        inbox,
        {
            "ncct.csv": _csv(
                [
                    ("NCCT", "2019", "cases", 100),
                    ("NCCT", "2019-S1", "cases", 10),
                    ("NCCT", "2019-Q3", "cases", 10),
                    ("NCCT", "2019-Q4", "cases", 10),
                ]
            )
        },
    )
    summary = run(inbox, warehouse)
    assert _mismatches(summary) == [
        (2, "row 2: cases for 2019 in KH is reported as 100, but its parts (2019-S1, 2019-Q3, 2019-Q4) add up to 30")
    ]
    assert query(warehouse, "select count(*) from marts.period_comparison where is_derived") == [(0,)]  # no S2 = 20


def test_figures_that_agree_raise_nothing_and_are_derived(paths):
    inbox, warehouse = paths
    write_inbox(
        inbox,
        {
            "ncct.csv": _csv(
                [
                    ("NCCT", "2019", "cases", 40),
                    ("NCCT", "2019-S1", "cases", 20),
                    ("NCCT", "2019-01/2019-12", "cases", 40),
                    ("NCCT", "2019-Q3", "cases", 10),
                    ("NCCT", "2019-Q4", "cases", 10),
                ]
            )
        },
    )
    assert _mismatches(run(inbox, warehouse)) == []
    assert query(warehouse, "select period, value from marts.period_comparison where is_derived") == [("2019-S2", 20)]


def test_parts_from_another_reporter_do_not_complete_a_set(paths):
    inbox, warehouse = paths
    write_inbox(
        inbox,
        {
            "moi.csv": _csv([("MOI", "2019-S1", "cases", H1)]),
            "ncct.csv": _csv([("NCCT", "2019-S2", "cases", H2)]),
        },
    )
    run(inbox, warehouse)
    assert query(warehouse, "select count(*) from marts.period_comparison where is_derived") == [(0,)]


def test_a_part_that_no_longer_adds_up_to_its_reported_total_is_a_warning(paths):
    inbox, warehouse = paths
    write_inbox(inbox, {"a.csv": _csv([("MOI", "2019-S1", "cases", H1), ("MOI", "2019", "cases", H1 + H2)])})
    assert run(inbox, warehouse).findings == []
    write_inbox(inbox, {"b.csv": _csv([("MOI", "2019-S2", "cases", H2 + 3)])}, start_mtime=1_800_000_000)
    summary = run(inbox, warehouse, NOW + timedelta(hours=1))
    assert [(f["rule"], f["row_number"]) for f in summary.findings] == [("derived_mismatch", 2)]
    assert f"{H1 + H2 + 3}" in summary.findings[0]["message"] and f"{H1 + H2}" in summary.findings[0]["message"]


def test_year_to_date_is_compared_with_the_same_months_a_year_before(paths):
    inbox, warehouse = paths
    this_year, last_year = 120, 96
    write_inbox(
        inbox,
        {
            "ncct.csv": _csv(
                [
                    ("NCCT", "2019-01/2019-10", "cases", this_year),
                    ("NCCT", "2018-01/2018-10", "cases", last_year),
                ]
            )
        },
    )
    run(inbox, warehouse)
    assert query(
        warehouse,
        "select period_type, base_period, base_value, round(change_pct, 1) from marts.period_comparison "
        "where period = '2019-01/2019-10'",
    ) == [("ytd", "2018-01/2018-10", last_year, round(100 * (this_year - last_year) / last_year, 1))]


def test_the_dimensions_written_out_in_sql_are_the_registrys(registry):
    """Where a SQL file spells the dimensions out (the DDL, the marts), it names every one of the
    registry's, in its order, each time: a list or a join that leaves one out, or a dimension the
    registry gained, fails here. (The judgements take them from the registry through sql/macros.sql.)"""
    dims = registry.dimension_names
    spelled = 0
    for path in sorted(SQL_DIR.rglob("*.sql")):
        text = re.sub(r"\{#.*?#\}", "", re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8")), flags=re.S)
        named = re.findall(r"\b(" + "|".join(dims) + r")\b", text)
        runs = [d for i, d in enumerate(named) if i == 0 or named[i - 1] != d]  # `b.sex = c.sex` names sex once
        assert runs == list(dims) * (len(runs) // len(dims)), path
        spelled += len(runs) // len(dims)
    assert spelled > 10
