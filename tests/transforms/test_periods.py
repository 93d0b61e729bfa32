"""Reporting periods: canonical and DHIS2 forms, spans, the year before."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.periods import (
    FIRST_YEAR,
    LAST_YEAR,
    PERIOD_TYPES,
    Period,
    base_period_code,
    parse_period,
    period_type_name,
    periods_frame,
)


# ------------------------------------------------------------------ forms
@pytest.mark.parametrize(
    ("text", "code", "kind", "start", "end"),
    [
        ("2019", "2019", "year", date(2019, 1, 1), date(2020, 1, 1)),
        ("2019-S1", "2019-S1", "half", date(2019, 1, 1), date(2019, 7, 1)),
        ("2019S1", "2019-S1", "half", date(2019, 1, 1), date(2019, 7, 1)),
        ("2019s1", "2019-S1", "half", date(2019, 1, 1), date(2019, 7, 1)),
        ("2019-S2", "2019-S2", "half", date(2019, 7, 1), date(2020, 1, 1)),
        ("2019-Q1", "2019-Q1", "quarter", date(2019, 1, 1), date(2019, 4, 1)),
        ("2019Q1", "2019-Q1", "quarter", date(2019, 1, 1), date(2019, 4, 1)),
        ("2019q4", "2019-Q4", "quarter", date(2019, 10, 1), date(2020, 1, 1)),
        ("2019-01", "2019-01", "month", date(2019, 1, 1), date(2019, 2, 1)),
        ("201901", "2019-01", "month", date(2019, 1, 1), date(2019, 2, 1)),
        ("2019-12", "2019-12", "month", date(2019, 12, 1), date(2020, 1, 1)),
        ("2018-01/2018-10", "2018-01/2018-10", "ytd", date(2018, 1, 1), date(2018, 11, 1)),
        ("2018-01/2018-12", "2018-01/2018-12", "ytd", date(2018, 1, 1), date(2019, 1, 1)),
        ("  2019-S1 ", "2019-S1", "half", date(2019, 1, 1), date(2019, 7, 1)),
    ],
)
def test_valid_forms(text, code, kind, start, end):
    period = parse_period(text)
    assert period == Period(start, end, kind, code)


@pytest.mark.parametrize(
    "text",
    [
        "2019-S3",
        "2019-S0",
        "2019-Q5",
        "2019-13",
        "2019-00",
        "201913",
        "2018-02/2018-10",
        "2018-01/2019-02",
        "2018-01/2018-13",
        "",
        "   ",
        "19",
        "2019-1",
        "S1-2019",
        "2019-W01",
        "1899",
        "3000",
        "abc",
        # digits other than ASCII and Khmer: fullwidth, Arabic-Indic, Devanagari, mathematical double-struck
        "２０１９-S1",
        "٢٠١٩-S1",
        "२०१९",
        "𝟚𝟘𝟙𝟡",
        "2019-Q４",
        "2019-０1",
    ],
)
def test_invalid_forms(text):
    assert parse_period(text) is None


def test_khmer_digits_are_digits_as_in_values():
    assert parse_period("២០១៩-S1") == parse_period("2019-S1")
    assert parse_period("២០១៨-០១/២០១៨-១០").code == "2018-01/2018-10"


def test_none_is_no_period():
    assert parse_period(None) is None


# ------------------------------------------------------------- year before
@pytest.mark.parametrize(
    ("code", "base"),
    [
        ("2019", "2018"),
        ("2019-S1", "2018-S1"),
        ("2019-S2", "2018-S2"),
        ("2019-Q3", "2018-Q3"),
        ("2019-01", "2018-01"),
        ("2019-12", "2018-12"),
        ("2018-01/2018-10", "2017-01/2017-10"),
        ("2018-01/2018-12", "2017-01/2017-12"),
        ("2018-01/2018-01", "2017-01/2017-01"),
    ],
)
def test_base_is_the_same_period_a_year_before(code, base):
    period = parse_period(code)
    assert period.base.code == base
    assert period.base.type == period.type
    assert base_period_code(code) == base


def test_base_period_code_of_dhis2_form_is_canonical():
    assert base_period_code("2019s1") == "2018-S1"
    assert base_period_code("201903") == "2018-03"


def test_base_period_code_of_no_period():
    assert base_period_code("2019-S3") is None
    assert base_period_code(str(FIRST_YEAR)) is None  # the year before is out of range


# ------------------------------------------------------------- period types
def test_the_period_types_of_the_contract():
    assert tuple(PERIOD_TYPES) == ("year", "half", "quarter", "month", "ytd")
    for name, kind in PERIOD_TYPES.items():
        assert kind.name == name
        assert parse_period(kind.example).type == name
        assert parse_period(kind.example).code == kind.example
        assert set(kind.made_of) <= set(PERIOD_TYPES) - {name, "year", "ytd"}


def test_period_type_names_for_prose():
    assert [period_type_name(t) for t in PERIOD_TYPES] == ["year", "half-year", "quarter", "month", "year to date"]
    assert period_type_name("week") == "week"


@pytest.mark.parametrize(
    ("code", "previous"),
    [
        ("2019", "2018"),
        ("2019-S1", "2018-S2"),
        ("2019-S2", "2019-S1"),
        ("2019-Q1", "2018-Q4"),
        ("2019-Q3", "2019-Q2"),
        ("2019-01", "2018-12"),
        ("2019-12", "2019-11"),
        ("2019-01/2019-01", "2018-01/2018-12"),
        ("2019-01/2019-10", "2019-01/2019-09"),
    ],
)
def test_previous_is_the_period_of_the_same_type_just_before(code, previous):
    assert parse_period(code).previous.code == previous


def test_no_period_before_the_first():
    with pytest.raises(ValueError, match="no period before"):
        _ = parse_period(f"{FIRST_YEAR}-S1").previous


@pytest.mark.parametrize(
    ("code", "derivations"),
    [
        ("2019", [["2019-S1", "2019-S2"]]),
        ("2019-S2", [["2019-Q3", "2019-Q4"], [f"2019-{m:02d}" for m in range(7, 13)]]),
        ("2019-Q2", [["2019-04", "2019-05", "2019-06"]]),
        ("2019-05", []),
        ("2019-01/2019-03", [["2019-01", "2019-02", "2019-03"]]),
    ],
)
def test_derivations_preferred_first(code, derivations):
    assert [[p.code for p in members] for members in parse_period(code).derivations()] == derivations


def test_members_that_do_not_make_up_the_period():
    assert parse_period("2019-Q2").members("half") == ()
    assert parse_period("2019-05").members("quarter") == ()


# ------------------------------------------------------------- periods_frame
def test_periods_frame_names_bad_texts_with_nulls():
    frame = periods_frame(pl.Series(["2019S1", "2019-S1", "2019-S3", None, "2019S1"]))
    assert frame.height == 3
    rows = {row["period_text"]: row for row in frame.to_dicts()}
    assert rows["2019S1"]["period"] == "2019-S1"
    assert rows["2019S1"]["base_period"] == "2018-S1"
    assert rows["2019S1"]["period_start"] == date(2019, 1, 1)
    assert rows["2019S1"]["period_end"] == date(2019, 7, 1)
    assert rows["2019-S3"]["period"] is None
    assert rows["2019-S3"]["period_type"] is None


# -------------------------------------------------------------- properties
YEARS = st.integers(min_value=FIRST_YEAR + 1, max_value=LAST_YEAR)


@st.composite
def periods(draw) -> tuple[Period, str]:
    """A valid period and a lower-case DHIS2 (or otherwise unusual) form of it."""
    kind = draw(st.sampled_from(["year", "half", "quarter", "month", "ytd"]))
    year = draw(YEARS)
    if kind == "year":
        start, end = date(year, 1, 1), date(year + 1, 1, 1)
        return Period(start, end, kind, f"{year}"), f" {year} "
    if kind == "half":
        index = draw(st.integers(1, 2))
        start = date(year, 6 * index - 5, 1)
        end = date(year, 7, 1) if index == 1 else date(year + 1, 1, 1)
        return Period(start, end, kind, f"{year}-S{index}"), f"{year}s{index}"
    if kind == "quarter":
        index = draw(st.integers(1, 4))
        start = date(year, 3 * index - 2, 1)
        end = date(year, 3 * index + 1, 1) if index < 4 else date(year + 1, 1, 1)
        return Period(start, end, kind, f"{year}-Q{index}"), f"{year}q{index}"
    month = draw(st.integers(1, 12))
    end = date(year, month + 1, 1) if month < 12 else date(year + 1, 1, 1)
    if kind == "month":
        return Period(date(year, month, 1), end, kind, f"{year}-{month:02d}"), f"{year}{month:02d}"
    code = f"{year}-01/{year}-{month:02d}"
    return Period(date(year, 1, 1), end, kind, code), code.lower()


@settings(max_examples=200)
@given(periods())
def test_canonical_code_round_trips(case):
    period, _ = case
    assert parse_period(period.code) == period
    assert parse_period(period.code).code == period.code


@settings(max_examples=200)
@given(periods())
def test_other_forms_parse_to_canonical(case):
    period, other = case
    assert parse_period(other) == period
    assert parse_period(other.upper()) == period


@settings(max_examples=200)
@given(periods())
def test_base_starts_and_ends_one_year_before(case):
    period, _ = case
    base = period.base
    assert base.start == date(period.start.year - 1, period.start.month, period.start.day)
    assert base.end == date(period.end.year - 1, period.end.month, period.end.day)
    assert base.type == period.type
    assert base.start < period.start


@settings(max_examples=200)
@given(periods())
def test_base_period_code_is_consistent(case):
    period, other = case
    assert base_period_code(period.code) == period.base.code
    assert base_period_code(other) == period.base.code
    if period.start.year - 2 >= FIRST_YEAR:
        assert base_period_code(period.base.code) == period.base.base.code
        assert parse_period(base_period_code(period.base.code)).start.year == period.start.year - 2
    else:
        assert base_period_code(period.base.code) is None


@settings(max_examples=50)
@given(
    st.lists(
        st.one_of(periods().map(lambda c: c[0].code), periods().map(lambda c: c[1]), st.text(max_size=8), st.none()),
        max_size=20,
    )
)
def test_periods_frame_one_row_per_distinct_text(texts):
    frame = periods_frame(pl.Series(texts, dtype=pl.String))
    distinct = {t for t in texts if t is not None}
    assert frame.height == len(distinct)
    assert set(frame["period_text"].to_list()) == distinct
    for row in frame.to_dicts():
        period = parse_period(row["period_text"])
        assert row["period"] == (period.code if period else None)


@settings(max_examples=200)
@given(periods())
def test_previous_ends_where_the_period_begins(case):
    period, _ = case
    previous = period.previous
    assert previous.type == period.type
    if period.type == "ytd":
        assert previous.start == (period.start if period.months[1] > 1 else period.base.start)
        assert previous.months[1] == (period.months[1] - 1 or 12)
    else:
        assert previous.end == period.start
        assert previous.months[1] - previous.months[0] == period.months[1] - period.months[0]


@settings(max_examples=200)
@given(periods())
def test_derivations_make_up_the_period_exactly(case):
    period, _ = case
    assert len(period.derivations()) == len(PERIOD_TYPES[period.type].made_of)
    for part_type, members in zip(PERIOD_TYPES[period.type].made_of, period.derivations(), strict=True):
        assert members  # a year to date of January alone is its one month
        assert {m.type for m in members} == {part_type}
        assert members[0].start == period.start and members[-1].end == period.end
        assert all(a.end == b.start for a, b in pairwise(members))
