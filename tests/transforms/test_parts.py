"""Parts against their total: a dimension whose file holds no total and no aggregate has nothing to add up."""

from __future__ import annotations

from tests.transforms.helpers import csv_of, line, observations
from transforms.parts import parts_against_totals

BANDS = ("Y_LT15", "Y15T17", "Y_GE18")


def test_parts_without_their_total_have_no_check_and_with_it_one(registry):
    bands = [line(7, age=code) for code in BANDS]
    assert parts_against_totals(observations(csv_of(*bands)), registry).height == 0
    checks = parts_against_totals(observations(csv_of(line(20), *bands)), registry)
    assert checks.select("dimension", "parent_code", "parent_row", "parent_value", "parts_sum", "complete").rows() == [
        ("age", "_T", 2, 20, 21, True)
    ]
    assert checks["part_rows"].to_list() == [[3, 4, 5]]


def test_parts_of_an_aggregate_without_the_total_are_checked_against_the_aggregate(registry):
    found = observations(csv_of(line(9, age="Y_LT18"), line(4, age="Y_LT15"), line(6, age="Y15T17")))
    checks = parts_against_totals(found, registry)
    assert checks.select("dimension", "parent_code", "parent_row", "parts_sum", "complete").rows() == [
        ("age", "Y_LT18", 2, 10, True)
    ]
