"""The two ways a CSV file is read give the same result: a file without quotes, its lines ended by line feeds
(or carriage return and line feed), is split by Polars a column at a time; any other file is read by Python's
`csv` module a record at a time. On every file both can read, the same columns, row numbers and cells, or the
same finding (its text, row and column)."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms import read
from transforms.read import Unreadable, frame_of, one_after_another, read_columns

# Cells of letters, Khmer, and every kind of space Python strips (some of them line breaks to `str.splitlines`,
# none to a CSV reader); rows of such cells joined by commas.
CELL = st.text(alphabet=["a", "B", "ក", " ", "\t", "\u00a0", "\u3000", "\x0b", "\x0c", "\x85", "\u2028"], max_size=4)
ROW = st.lists(CELL, max_size=6).map(",".join)


@pytest.fixture(scope="module")
def small_limits(registry):
    """Limits a generated file reaches: three data rows, four columns, texts of five characters."""
    return dataclasses.replace(registry.limits, max_rows=3, max_columns=4, max_text_chars=5)


def _outcome(reader, text, limits):
    """What a reader gives, made comparable: the columns as Python lists, or the finding (text, row, column)."""
    try:
        columns = read._to_columns(*reader(text, limits), limits)
    except Unreadable as problem:
        return ("unreadable", str(problem), problem.row_number, problem.column_name)
    return {name: list(values) for name, values in columns.items()}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(ROW, min_size=1, max_size=7), ending=st.sampled_from(["", "\n"]))
def test_split_by_polars_as_read_by_the_csv_module(lines, ending, small_limits):
    text = "\n".join(lines) + ending
    assert _outcome(read._read_plain_csv, text, small_limits) == _outcome(read._read_csv_records, text, small_limits)


@pytest.fixture()
def split_any_size(monkeypatch):
    """Every file without quotes split by Polars, however small."""
    monkeypatch.setattr(read, "SPLIT_BY_POLARS_FROM", 0)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(ROW, min_size=1, max_size=7), quoted=st.booleans())
def test_a_file_is_read_the_same_whichever_way_it_takes(lines, quoted, small_limits, split_any_size):
    """Through `read_columns`: lines ended by carriage return and line feed, or a cell quoted (which only the
    `csv` module reads), give what the `csv` module gives."""
    text = "\r\n".join(lines) + "\r\n"
    if quoted:
        text = text.replace("a", '"a"', 1)
    expected = _outcome(read._read_csv_records, text, small_limits)
    columns, findings = read_columns(text.encode("utf-8"), "csv", small_limits)
    if not text.encode("utf-8").strip():  # only line ends and ASCII spaces: empty before it is read
        assert columns is None and [f.rule for f in findings] == ["empty"]
    elif isinstance(expected, tuple):
        assert columns is None and [(f.row_number, f.column_name) for f in findings] == [expected[2:]]
        assert expected[1] in findings[0].message
    elif len(expected[read.ROW_NUMBER]) == 0:
        assert columns is None and [f.rule for f in findings] == ["empty"]
    else:
        assert findings == [] and {name: list(values) for name, values in columns.items()} == expected


def test_the_polars_way_is_taken_for_a_large_plain_file_only(registry, monkeypatch):
    small = read._read_csv(b"reporter,value\r\nNCCT,1\r\n", registry.limits)
    assert isinstance(small[1], list)  # the csv module: faster for a small file
    monkeypatch.setattr(read, "SPLIT_BY_POLARS_FROM", len("reporter,value\nNCCT,1\n"))
    plain = read._read_csv(b"reporter,value\r\nNCCT,1\r\n", registry.limits)
    quoted = read._read_csv(b'reporter,value\r\n"NCCT",1\r\n', registry.limits)
    lone_return = read._read_csv(b"reporter,value\rNCCT,1\r", registry.limits)
    assert isinstance(plain[1], read.Columns) and isinstance(plain[1].cells[0], pl.Series)
    assert isinstance(quoted[1], list) and isinstance(lone_return[1], list)
    for header, rows, _ in (plain, quoted, lone_return):
        columns = read._to_columns(header, rows, None, registry.limits)
        assert {name: list(values) for name, values in columns.items()} == {
            "row_number": [2],
            "reporter": ["NCCT"],
            "value": ["1"],
        }


def test_a_row_past_the_limit_is_named_before_a_later_row_too_wide(small_limits):
    rows_first = "a,b\n1,2\n3,4\n5,6\n7,8\n9,10,11\n"  # the fourth data row passes the limit of three
    wide_first = "a,b\n1,2\n3,4,5\n5,6\n7,8\n"  # the second data row has a cell past the header
    for text in (rows_first, wide_first):
        assert _outcome(read._read_plain_csv, text, small_limits) == _outcome(
            read._read_csv_records, text, small_limits
        )
    assert "more than 3 data rows" in _outcome(read._read_plain_csv, rows_first, small_limits)[1]
    assert _outcome(read._read_plain_csv, wide_first, small_limits)[2] == 3


def test_files_split_by_polars_and_read_by_the_csv_module_stack_into_one_frame(registry, split_any_size):
    plain, quoted = b"reporter,value\nNCCT,1\n", b'reporter,value\n"MOI",2\n'
    columns = [read_columns(content, "csv", registry.limits)[0] for content in (plain, quoted)]
    assert frame_of(one_after_another(columns)).rows() == [(2, "NCCT", "1"), (2, "MOI", "2")]
