"""Validation in slices: a frame judged a few rows at a time gives exactly the findings of one validation.

The files below break every kind of row rule (codes, pairs of codes, periods, values,
reporters, repeated keys) and both rules of parts, with the findings of each rule spread
over many rows, and a cap of findings per rule small enough to bite: judged in slices of
a few rows, the same findings come out, in the same order, with the same messages.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from tests.transforms.helpers import csv_of, line, observations_of
from transforms.expectations import SuiteRunner, key_columns_for_uniqueness
from transforms.validate import _judged_rows, row_slices, validate

SLICE_ROWS = 6


def _files() -> list[tuple[str, str]]:
    first = [line(5, reporter="NCCT", indicator="suspects_to_court", period="2018-S1")]
    for number in range(12):
        first.append(line(number + 1, indicator="cases", period=f"{2010 + number}-S1"))
        first.append(line(f"{number}.5", indicator="cases", period=f"{2010 + number}-S2"))  # bad_value
    first += [
        line(7, indicator="cases", period="2010-S1"),  # duplicate_key of row 3, far below it
        line(8, indicator="cases", period="2011-S1"),  # and of row 5
        line(9, reporter="MOI", indicator="cases", period="2009-S1"),  # mixed_reporters
        line(9, reporter="XYZ", indicator="cases", period="2009-S2"),  # unknown_code
        line(9, indicator="cases", period="2019-S3"),  # unknown_code of the period
        line(9, indicator="cases", period="2027"),  # future_period
        line(9, indicator="cases", sex="F", period="2008"),  # not_allowed
        line(9, indicator="cases", area="KH-25", period="2013-S1"),  # the area before its years
    ]
    second = []
    for year in range(2010, 2016):
        second += [
            line(100, period=f"{year}-S1"),
            line(70, age="Y_LT15", period=f"{year}-S1"),
            line(31, age="Y15T17", period=f"{year}-S1"),
            line(year - 2000, age="Y_GE18", period=f"{year}-S1"),  # parts_differ_from_total
            line(10, period=f"{year}-S2"),
            line(7, referral="FAMILY", period=f"{year}-S2"),
            line(5, referral="SOCIAL_AFFAIRS", period=f"{year}-S2"),  # parts_exceed_total
        ]
    return [("first", csv_of(*first)), ("second", csv_of(*second))]


@pytest.fixture(scope="module")
def small_cap(registry):
    """The registry with at most 3 findings of a rule in a file, so that the cap works across slices."""
    return replace(registry, limits=replace(registry.limits, max_findings_per_rule=3))


@pytest.fixture(scope="module")
def judged(small_cap) -> dict[str, tuple[pl.DataFrame, list[dict]]]:
    frame = observations_of(*_files())
    outcomes = {}
    for name, slice_rows in (("whole", frame.height), ("sliced", SLICE_ROWS)):
        runner = SuiteRunner()
        outcomes[name] = (validate(frame, small_cap, runner, slice_rows=slice_rows), runner.checks)
    return outcomes


def test_rows_are_judged_in_slices_with_each_key_in_one(small_cap):
    rows = _judged_rows(observations_of(*_files()), small_cap)
    slices = list(row_slices(rows, SLICE_ROWS))
    assert len(slices) > 5
    assert sum(part.height for part in slices) == rows.height
    holding = {}
    for number, part in enumerate(slices):
        assert part["_row"].is_sorted()
        for key in part.select("submission_id", *key_columns_for_uniqueness(small_cap)).iter_rows():
            assert holding.setdefault(key, number) == number  # the rows of one key are in one slice


def test_findings_in_slices_are_those_of_one_validation(judged):
    whole, sliced = judged["whole"][0], judged["sliced"][0]
    assert_frame_equal(sliced, whole)
    rules = set(whole["rule"].to_list())
    assert rules >= {
        "bad_value",
        "duplicate_key",
        "mixed_reporters",
        "unknown_code",
        "future_period",
        "not_allowed",
        "parts_differ_from_total",
        "parts_exceed_total",
    }
    counted = whole.filter(pl.col("row_number").is_null())  # the cap's count of the rest
    assert set(counted["rule"].to_list()) >= {"bad_value", "parts_differ_from_total", "parts_exceed_total"}


def test_checks_in_slices_count_every_row(judged):
    def counts(checks: list[dict]) -> list[tuple]:
        return [(c["suite"], c["expectation"], c["rule"], c["success"], c["checked"], c["failed"]) for c in checks]

    assert counts(judged["sliced"][1]) == counts(judged["whole"][1])


def test_the_check_of_repeated_keys_names_the_key_and_shows_the_keys_repeated(judged, small_cap):
    """`duplicate_key` is judged on one number per key; its check on the validation page still names the key's
    columns and shows the keys found twice, not their numbers."""
    for _, checks in judged.values():
        [check] = [c for c in checks if c["rule"] == "duplicate_key"]
        assert check["columns"] == key_columns_for_uniqueness(small_cap)
        assert check["failed"] == 4  # rows 3 and 5 of the first file, each twice
        assert check["examples"][:2] == [
            "reporter=NCCT, area=KH, period_key=2010-S1, indicator=cases, sex=_T, age=_T, citizenship=_T, "
            "referral=_T, offence=_T, country=_T",
            "reporter=NCCT, area=KH, period_key=2011-S1, indicator=cases, sex=_T, age=_T, citizenship=_T, "
            "referral=_T, offence=_T, country=_T",
        ]


def test_rows_judged_on_their_distinct_values_are_counted_as_rows(judged):
    """The row suite judges distinct rows; its checks still count the rows they stand for."""
    frame = observations_of(*_files())
    for _, checks in judged.values():
        counted = {c["rule"]: (c["checked"], c["failed"]) for c in checks if c["suite"] == "rows"}
        assert counted["bad_value"] == (frame["value_given"].sum(), 12)  # the twelve halves, such as "3.5"
        assert counted["mixed_reporters"] == (frame.height, 2)  # the rows of MOI and XYZ in a file of the NCCT
        assert counted["future_period"] == (frame.height, 1)


def test_totals_judged_on_their_distinct_pairs_are_counted_as_totals(judged):
    """The parts suites judge each distinct pair of a total and its parts' sum once; their checks still count
    the totals, and a pair that fails for many totals is shown once among the examples."""
    for _, checks in judged.values():
        counted = {c["rule"]: (c["checked"], c["failed"], c["examples"]) for c in checks if "parts" in c["suite"]}
        # six years of age groups against their total of 100, whose sums differ every year
        assert counted["parts_differ_from_total"] == (
            6,
            6,
            ["(100, 111)", "(100, 112)", "(100, 113)", "(100, 114)", "(100, 115)"],
        )
        # six years of referrals adding up to 12 against a total of 10: one pair
        assert counted["parts_exceed_total"] == (6, 6, ["(10, 12)"])
