"""How suites are run: failed rows named by the frame's ROW_INDEX values whatever the frame's own index, and
the shortcuts taken inside a validation keep what Great Expectations would compute."""

from __future__ import annotations

import json

import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.transforms.helpers import csv_of, findings_of, line
from transforms.expectations import (
    ROW_INDEX,
    SuiteRunner,
    _plain_values_as_json,
    _row_conditions_as_masks,
    parts_suite,
)


def test_failed_rows_are_the_row_index_values_and_the_frame_is_left_as_it_was():
    runner = SuiteRunner().begin()
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


PASS_THROUGH = [
    "flag==True",
    " given == True ",
    "value>1",
    "flag==True and value>1",
    {"type": "pass_through", "pass_through_filter": "flag==True"},  # as a saved suite hands it over
    {"type": "pass_through", "pass_through_filter": "value>1"},
]


@pytest.mark.parametrize("condition", PASS_THROUGH)
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
    text = condition["pass_through_filter"] if isinstance(condition, dict) else condition
    pd.testing.assert_frame_equal(masked, frame.query(text.strip(), parser="pandas"))


def test_a_validation_filters_the_row_suite_without_pandas_query(monkeypatch):
    """The row suite's conditions reach Great Expectations from the saved suite: they are still applied as masks
    (a validation that parses them with pandas' query costs a tenth more), and the findings are unchanged."""
    queried = []
    query = pd.DataFrame.query

    def counted(frame, expr, **kwargs):
        queried.append(expr)
        return query(frame, expr, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "query", counted)
    text = csv_of(
        line(5, reporter="MOI", indicator="cases", period="2019-S1"),
        line(5, reporter="MOI", indicator="cases", period="2019-S1"),  # the same key again
        line("five", reporter="MOI", indicator="victims_rescued", period="2019-S1"),
    )
    rules = sorted(findings_of(text).filter(pl.col("severity") == "error")["rule"].to_list())
    assert rules == ["bad_value", "duplicate_key"]
    assert queried == []


def test_a_validation_hashes_no_batch(monkeypatch):
    """Great Expectations' fingerprint of a batch (every row hashed) is not computed: nothing of ctip reads it."""
    from great_expectations.execution_engine import pandas_execution_engine

    hashed = []
    monkeypatch.setattr(pandas_execution_engine, "hash_pandas_dataframe", hashed.append)
    text = csv_of(line(5, reporter="MOI", indicator="cases", period="2019-S1"), line("five", reporter="MOI"))
    assert findings_of(text).filter(pl.col("severity") == "error")["rule"].to_list() == ["bad_value"]
    assert hashed == []


# Values as metrics' keywords hold them: texts, numbers, truth values, nothing, and lists, tuples and dicts of them.
_PLAIN = st.recursive(
    st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=True)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(st.text(max_size=4), max_size=6),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(st.text(max_size=4), st.integers()), inner, max_size=4),
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(_PLAIN)
def test_plain_values_become_the_json_great_expectations_makes(value):
    """Inside a validation, a metric's keywords are made JSON as Great Expectations' own conversion makes them
    (the metric's id is a hash of that JSON: another JSON would name another metric)."""
    import copy

    from great_expectations.core import id_dict
    from great_expectations.util import convert_to_json_serializable

    expected = convert_to_json_serializable(copy.deepcopy(value))
    with _plain_values_as_json():
        assert id_dict.convert_to_json_serializable is not convert_to_json_serializable
        made = id_dict.convert_to_json_serializable(copy.deepcopy(value))
    assert id_dict.convert_to_json_serializable is convert_to_json_serializable
    assert made == expected or (repr(made) == repr(expected))  # nan is not equal to itself


def test_great_expectations_is_left_out_of_collections_as_soon_as_it_is_imported():
    """Importing the validator (as a run does on a thread of its own, before any suite is built) sets Great
    Expectations' objects aside before the collector resumes: no pass after it walks them, the first one included."""
    import subprocess
    import sys

    probe = (
        "import gc, json\n"
        "import transforms.validator\n"
        "print(json.dumps([gc.get_freeze_count(), gc.get_count()[0], gc.isenabled()]))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    frozen, young, enabled = json.loads(done.stdout.strip().splitlines()[-1])
    assert frozen > 100_000 and young < 1_000 and enabled, (frozen, young, enabled)


def test_great_expectations_once_loaded_is_left_out_of_later_collections():
    """Its objects are set aside from the collector's passes once it is loaded, and the collector runs again."""
    import gc

    SuiteRunner().begin()
    assert gc.get_freeze_count() > 100_000 and gc.isenabled()
