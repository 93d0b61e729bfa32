"""How suites are run: failed rows named by the frame's ROW_INDEX values whatever the frame's own index, and
the shortcuts taken inside a validation keep what Great Expectations would compute."""

from __future__ import annotations

import pandas as pd
import pytest

from transforms.expectations import ROW_INDEX, SuiteRunner, _row_conditions_as_masks, parts_suite


def test_failed_rows_are_the_row_index_values_and_the_frame_is_left_as_it_was():
    runner = SuiteRunner()
    frame = pd.DataFrame(
        {
            ROW_INDEX: [7, 3, 11, 40],
            "parent_value": pd.Series([1, 2, 3, 4], dtype=object),
            "parts_sum": pd.Series([1, 5, 3, 9], dtype=object),
        }
    )
    frame.index = [100, 101, 102, 103]  # not the rows' numbers
    before = frame.copy()
    [failure] = runner.run("complete_parts", frame, parts_suite(True))
    assert (failure.rule, failure.rows) == ("parts_differ_from_total", [3, 40])
    [check] = runner.checks
    assert (check["checked"], check["failed"], check["examples"]) == (4, 2, ["(2, 5)", "(4, 9)"])
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.parametrize("condition", ["flag==True", " given == True ", "value>1", "flag==True and value>1"])
def test_a_row_condition_keeps_the_rows_of_pandas_query(condition):
    """A `flag==True` condition is applied as a mask, any other through pandas' query: the same rows, index and
    columns either way; Great Expectations' own filter is back after the validation."""
    from great_expectations.execution_engine.pandas_execution_engine import PandasExecutionEngine

    frame = pd.DataFrame(
        {
            "flag": [True, False, True, False, True],
            "given": pd.Series([True, None, False, True, None], dtype=object),
            "value": [1, 2, 3, 4, 5],
        },
        index=[10, 11, 12, 13, 14],
    )
    own = PandasExecutionEngine._apply_row_condition_filter
    with _row_conditions_as_masks():
        masked = PandasExecutionEngine()._apply_row_condition_filter(frame, condition, {"condition_parser": "pandas"})
    assert PandasExecutionEngine._apply_row_condition_filter is own
    pd.testing.assert_frame_equal(masked, frame.query(condition.strip(), parser="pandas"))
