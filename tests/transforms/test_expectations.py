"""How suites are run: the shortcuts taken inside a validation keep what Great Expectations would compute."""

from __future__ import annotations

import pytest

from transforms.expectations import _row_conditions_as_masks


@pytest.mark.parametrize("condition", ["flag==True", " given == True ", "value>1", "flag==True and value>1"])
def test_a_row_condition_keeps_the_rows_of_pandas_query(condition):
    """A `flag==True` condition is applied as a mask, any other through pandas' query: the same rows, index and
    columns either way; Great Expectations' own filter is back after the validation."""
    import pandas as pd
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
