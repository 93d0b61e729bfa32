"""How a suite's failed rows are named: by the frame's ROW_INDEX values, whatever the frame's own index."""

from __future__ import annotations

import pandas as pd

from transforms.expectations import ROW_INDEX, SuiteRunner, parts_suite


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
