"""The SQL's period arithmetic agrees with transforms/periods.py, the one place periods are defined.

The warehouse computes on canonical codes for periods it may not hold: the base and the
previous period (ddl/11_core_period_macros.sql), the months a figure spans (marts/tilings.sql)
and the figures derived from shorter ones (marts/derived_figures.sql). Each is checked here
against the Python module over every period of every type in a range of years.
"""

from __future__ import annotations

from datetime import timedelta

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.periods import (
    FIRST_YEAR,
    LAST_YEAR,
    PERIOD_TYPES,
    Period,
    _make,
    base_period_code,
    parse_period,
    periods_of_year,
)
from warehouse.sqlfiles import render_sql, sql_text

YEARS = (FIRST_YEAR + 1, 2000, 2019, 2020, LAST_YEAR)


def _every_period(years=YEARS) -> list[Period]:
    return [period for year in years for kind in PERIOD_TYPES for period in periods_of_year(year, kind)]


def _source(periods: list[Period], registry) -> pl.DataFrame:
    """Observations of one reporter, area, indicator and cut (the columns of core.observations), one per period."""
    return pl.DataFrame(
        {
            "reporter": "NCCT",
            "area": "KH",
            "period": [p.code for p in periods],
            "period_type": [p.type for p in periods],
            "indicator": "cases",
            **{d: "_T" for d in registry.dimension_names},
            "value": pl.Series([1] * len(periods), dtype=pl.Int64),
            "status": "A",
        }
    )


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    con.execute("create schema core")
    con.execute(sql_text("ddl", "11_core_period_macros.sql"))
    yield con
    con.close()


def test_every_period_type_is_checked():
    assert {p.type for p in _every_period()} == set(PERIOD_TYPES)
    assert len(_every_period((2019,))) == 1 + 2 + 4 + 12 + 12


def test_base_and_previous_periods(con):
    periods = _every_period()
    given_periods = pl.DataFrame({"p": [p.code for p in periods], "t": [p.type for p in periods]})
    con.register("given_periods", given_periods)
    got = con.sql("select core.base_period(p, t), core.previous_period(p, t) from given_periods").fetchall()
    assert got == [(p.base.code, p.previous.code) for p in periods]


PERIODS = st.one_of(
    st.builds(lambda y: _make(y, "year"), st.integers(1901, 2998)),
    st.builds(lambda y, i: _make(y, "half", i), st.integers(1901, 2998), st.integers(1, 2)),
    st.builds(lambda y, i: _make(y, "quarter", i), st.integers(1901, 2998), st.integers(1, 4)),
    st.builds(lambda y, i: _make(y, "month", i), st.integers(1901, 2998), st.integers(1, 12)),
    st.builds(lambda y, m: _make(y, "ytd", last_month=m), st.integers(1901, 2998), st.integers(1, 12)),
)


def _previous(period) -> str:
    """The period of the same type just before, computed from the calendar."""
    if period.type == "ytd":
        year, last_month = period.start.year, (period.end - timedelta(days=1)).month
        if last_month == 1:  # January alone: the previous is the whole year before
            return f"{year - 1:04d}-01/{year - 1:04d}-12"
        return f"{year:04d}-01/{year:04d}-{last_month - 1:02d}"
    day_before = period.start - timedelta(days=1)
    candidates = {
        "year": f"{day_before.year:04d}",
        "half": f"{day_before.year:04d}-S{(day_before.month + 5) // 6}",
        "quarter": f"{day_before.year:04d}-Q{(day_before.month + 2) // 3}",
        "month": f"{day_before.year:04d}-{day_before.month:02d}",
    }
    previous = parse_period(candidates[period.type])
    return previous.code


@settings(max_examples=200, deadline=None)
@given(period=PERIODS)
def test_sql_period_arithmetic_agrees_with_the_calendar(con, period):
    base, previous = con.execute(
        "select core.base_period($p, $t), core.previous_period($p, $t)", {"p": period.code, "t": period.type}
    ).fetchall()[0]
    assert base == base_period_code(period.code)
    assert previous == _previous(period)


def test_the_months_a_figure_spans_and_the_figures_that_make_up_another(con, registry):
    """tilings.sql: each figure alone spans the months the Python period does, and every set of
    members of a period (a year's halves, a half's quarters or months, ...) is a chain of it."""
    for year in (FIRST_YEAR, 2019, LAST_YEAR):
        periods = _every_period((year,))
        con.register("held", _source(periods, registry))
        chains = con.sql(render_sql("marts/tilings.sql", source="held", by=[])).pl()
        spans = {
            row["parts"][0]: (row["first_month"], row["end_month"])
            for row in chains.filter(pl.col("parts").list.len() == 1).iter_rows(named=True)
        }
        assert spans == {p.code: p.months for p in periods}
        made_up = {(tuple(row["parts"]), row["first_month"], row["end_month"]) for row in chains.iter_rows(named=True)}
        for period in periods:
            for members in period.derivations():
                assert (tuple(m.code for m in members), *period.months) in made_up, (period.code, members)


def _in_order_of_parts() -> list[str]:
    """The period types, each after every type it is made of."""
    ordered: list[str] = []
    while len(ordered) < len(PERIOD_TYPES):
        ordered += [n for n, k in PERIOD_TYPES.items() if n not in ordered and set(k.made_of) <= set(ordered)]
    return ordered


def _expected_derived(held: set[str], year: int) -> set[tuple[str, str, tuple[str, ...]]]:
    """What the Python module derives from the held periods: every period not among them whose first complete set
    of members (in the order of preference) is held or itself derived, with the held periods it adds up."""
    leaves = {code: (code,) for code in held}
    found = set()
    for kind in _in_order_of_parts():
        for period in periods_of_year(year, kind):
            if period.code in held:
                continue
            for members in period.derivations():
                if members and all(m.code in leaves for m in members):
                    leaves[period.code] = tuple(leaf for m in members for leaf in leaves[m.code])
                    found.add((period.code, period.type, leaves[period.code]))
                    break
    return found


PARTS_2019 = [p.code for p in _every_period((2019,)) if any(p.type in k.made_of for k in PERIOD_TYPES.values())]


def test_only_halves_quarters_and_months_are_parts():
    assert {k for kind in PERIOD_TYPES.values() for k in kind.made_of} == {"half", "quarter", "month"}


def _derived(con, periods: list[Period], registry) -> set[tuple[str, str, tuple[str, ...]]]:
    con.register("held", _source(periods, registry))
    query = render_sql("marts/derived_figures.sql", source="held", by=[])
    return {
        (p, t, tuple(d)) for p, t, d in con.sql(f"select period, period_type, derived_from from ({query})").fetchall()
    }


@settings(max_examples=60, deadline=None)
@given(held=st.sets(st.sampled_from(PARTS_2019)))
def test_derived_figures(con, registry, held):
    """derived_figures.sql derives what the Python derivations do, from the same members, whatever is held."""
    assert _derived(con, [parse_period(code) for code in sorted(held)], registry) == _expected_derived(held, 2019)


def test_derived_figures_of_a_whole_year(con, registry):
    """Everything shorter than a year held: the year is derived from its halves, a year-to-date from its months."""
    got = _derived(con, [parse_period(code) for code in PARTS_2019], registry)
    assert got == _expected_derived(set(PARTS_2019), 2019)
    assert ("2019", "year", ("2019-S1", "2019-S2")) in got
    assert ("2019-01/2019-02", "ytd", ("2019-01", "2019-02")) in got
    assert {period for period, kind, _ in got if kind in ("half", "quarter")} == set()  # held: reported wins


@pytest.mark.parametrize(
    ("held", "year_from"),
    [
        ([f"2019-{m:02d}" for m in range(1, 13)], tuple(f"2019-{m:02d}" for m in range(1, 13))),
        ([f"2019-Q{q}" for q in range(1, 5)], tuple(f"2019-Q{q}" for q in range(1, 5))),
        (
            ["2019-S1", "2019-Q3", "2019-10", "2019-11", "2019-12"],
            ("2019-S1", "2019-Q3", "2019-10", "2019-11", "2019-12"),
        ),
        (
            ["2019-Q1", "2019-04", "2019-05", "2019-06", "2019-S2"],
            ("2019-Q1", "2019-04", "2019-05", "2019-06", "2019-S2"),
        ),
    ],
)
def test_a_year_is_derived_from_parts_themselves_derived(con, registry, held, year_from):
    """Twelve months, four quarters or a mix: the year adds up the halves derived from them, whatever the depth."""
    got = _derived(con, [parse_period(code) for code in held], registry)
    assert got == _expected_derived(set(held), 2019)
    assert ("2019", "year", year_from) in got
