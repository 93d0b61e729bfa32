"""Readers: CSV, JSON and XLSX bytes to text cells with the row numbers a person sees."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import sys
import zipfile
from datetime import date, datetime

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from schemas.texts import message
from transforms import read
from transforms.read import WHITESPACE, format_of, frame_of, one_after_another, read_columns, read_submission

SEED_ROWS = 16
HEADER = "reporter,period,indicator,value,comment"
COMMENTS = ("ស្ត្រី និង កុមារ", '=HYPERLINK("http://example.org","x")', "   three leading spaces", "tab\tinside  ")


@pytest.fixture(scope="module")
def limits(registry):
    return registry.limits


def read_csv(text: str | bytes, limits):
    content = text.encode("utf-8") if isinstance(text, str) else text
    return read_submission(content, "csv", limits)


def read_json(document, limits):
    content = document if isinstance(document, bytes) else json.dumps(document).encode("utf-8")
    return read_submission(content, "json", limits)


def xlsx_bytes(rows: list[list], title: str = "data", extra_sheets: tuple[str, ...] = ()) -> bytes:
    workbook = Workbook()
    for name in extra_sheets:
        workbook.create_sheet(name)
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text, never a formula
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def only_finding(raw, rule: str):
    assert raw.frame is None
    assert not raw.readable
    assert [f.rule for f in raw.findings] == [rule]
    finding = raw.findings[0]
    assert finding.severity == "error"
    return finding


# -------------------------------------------------------------------- seed
@pytest.mark.parametrize(("fmt", "first_row"), [("csv", 2), ("json", 1), ("xlsx", 2)])
def test_seed_reads_to_sixteen_rows(seed_files, limits, fmt, first_row):
    raw = read_submission(seed_files[fmt].read_bytes(), fmt, limits)
    assert raw.findings == []
    assert raw.readable
    frame = raw.frame
    assert frame.height == SEED_ROWS
    assert frame["row_number"].to_list() == list(range(first_row, first_row + SEED_ROWS))
    assert set(frame["reporter"].to_list()) == {"NCCT"}
    first = frame.row(0, named=True)
    assert first["period"] == "2019-S1"
    assert first["indicator"] == "cases"
    assert first["value"] == "78"
    assert frame["value"].to_list()[-1] == "1009"


def test_seed_formats_agree(seed_files, limits):
    values = [
        read_submission(seed_files[fmt].read_bytes(), fmt, limits).frame["value"].to_list()
        for fmt in ("csv", "json", "xlsx")
    ]
    assert values[0] == values[1] == values[2]


def test_format_of():
    assert format_of("ncct_2019-S1.CSV") == "csv"
    assert format_of("report.xlsx") == "xlsx"
    assert format_of("report.json") == "json"
    assert format_of("report.xls") is None
    assert format_of(".hidden.csv") is None
    assert format_of("README") is None


# --------------------------------------------------------------------- CSV
def test_csv_with_byte_order_mark(limits):
    raw = read_csv("\ufeff" + HEADER + "\nNCCT,2019,cases,1,\n", limits)
    assert raw.findings == []
    assert raw.frame.columns[:2] == ["row_number", "reporter"]
    assert raw.frame["reporter"].to_list() == ["NCCT"]


def test_csv_header_is_trimmed_and_lower_cased(limits):
    raw = read_csv(" Reporter ,PERIOD,Indicator,Value\nNCCT,2019,cases,1\n", limits)
    assert raw.frame.columns == ["row_number", "reporter", "period", "indicator", "value"]


def test_csv_blank_rows_skipped_numbering_kept(limits):
    raw = read_csv(HEADER + "\n\nNCCT,2019,cases,1,\n,,,,\nNCCT,2019,cases,2,\n", limits)
    assert raw.findings == []
    assert raw.frame["row_number"].to_list() == [3, 5]
    assert raw.frame["value"].to_list() == ["1", "2"]


def test_csv_empty_cells_are_null(limits):
    raw = read_csv(HEADER + "\nNCCT,2019,cases,  ,\n", limits)
    assert raw.frame["value"].to_list() == [None]
    assert raw.frame["comment"].to_list() == [None]


def test_cells_of_any_space_are_blank_as_python_strips_them(limits):
    every_space = "".join(chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace())
    assert WHITESPACE == every_space
    spaces = "\u3000\xa0\x1c\u2028"  # spaces of other scripts, separators: all blank
    raw = read_csv(f"{HEADER}\n{spaces},,,\t,\n{spaces}NCCT ,2019,cases,\u200b,\n", limits)
    assert raw.frame.rows() == [(3, f"{spaces}NCCT ", "2019", "cases", "\u200b", None)]  # a zero-width space is text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from([*WHITESPACE, ",", "a", "\u200b", "\\", "]", "^"]), max_size=6)))
def test_a_text_is_filled_as_python_strips_it(texts):
    """`filled_text`: a text holds something once Python's strip() (and, for a CSV line, its commas) is taken away."""
    series = pl.Series([*texts, None], dtype=pl.String)
    assert read.filled_text(series).to_list() == [bool(t.strip()) for t in texts] + [None]
    lines = read.filled_text(series, also=",").to_list()
    assert lines == [bool(t.replace(",", "").strip()) for t in texts] + [None]


def test_csv_short_row_padded(limits):
    raw = read_csv(HEADER + "\nNCCT,2019\n", limits)
    assert raw.frame.row(0, named=True)["indicator"] is None


def test_csv_ragged_row_with_extra_cells(limits):
    raw = read_csv(HEADER + "\nNCCT,2019,cases,1,\nNCCT,2019,cases,1,,surplus\n", limits)
    finding = only_finding(raw, "unreadable")
    assert finding.row_number == 3
    assert "row 3" in finding.message
    assert "6 cells" in finding.message


def test_csv_trailing_empty_cells_are_not_ragged(limits):
    raw = read_csv(HEADER + "\nNCCT,2019,cases,1,,,\n", limits)
    assert raw.readable
    assert raw.frame.height == 1


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_csv_utf16_is_unreadable_saying_to_save_it_as_utf8(limits, encoding):
    """Excel's "Unicode Text" and "CSV UTF-16" write UTF-16 with a byte order mark: the sender is told what it is
    and how to save it, not that it holds binary content."""
    content = ("\ufeff" + HEADER + "\nNCCT,2019,cases,1,\n").encode(encoding)
    assert content.startswith(read.UTF16_MARKS)
    finding = only_finding(read_csv(content, limits), "unreadable")
    assert "it is UTF-16 text" in finding.message and "save it as CSV UTF-8" in finding.message
    assert "binary" not in finding.message


def test_json_utf16_is_unreadable_saying_to_save_it_as_utf8(limits):
    document = json.dumps({"reporter": "NCCT", "observations": [{"period": "2019", "value": 1}]})
    finding = only_finding(read_json(("\ufeff" + document).encode("utf-16"), limits), "unreadable")
    assert "it is UTF-16 text" in finding.message and "save it with the encoding UTF-8" in finding.message


@pytest.mark.parametrize("split_by_polars_from", [read.SPLIT_BY_POLARS_FROM, 0], ids=["csv module", "polars"])
@pytest.mark.parametrize(("separator", "said"), [(";", "semicolons (;)"), ("\t", "tabs"), ("|", "vertical bars (|)")])
def test_a_file_of_another_separator_with_a_comma_in_a_cell_is_said_to_be_separated_by_it(
    limits, monkeypatch, split_by_polars_from, separator, said
):
    """A CSV saved by a spreadsheet set for another region: its header is one column, and a row whose comment
    holds a comma has two cells. The finding says which separator the file uses, whichever way it is read."""
    monkeypatch.setattr(read, "SPLIT_BY_POLARS_FROM", split_by_polars_from)
    header = separator.join(["reporter", "period", "indicator", "value", "comment"])
    text = f"{header}\nMOI{separator}2019-S2{separator}suspects_to_court{separator}12{separator}police, court\n"
    finding = only_finding(read_csv(text, limits), "unreadable")
    assert finding.row_number == 2
    assert f"separated by {said}, not commas" in finding.message
    assert f"one column '{header}'" in finding.message and "save the file as CSV UTF-8" in finding.message
    khmer = only_finding(read_submission(text.encode(), "csv", limits, "km"), "unreadable")
    assert message("common", {";": "semicolons", "\t": "tabs", "|": "vertical_bars"}[separator], "km") in khmer.message


def test_a_row_too_wide_under_a_header_of_commas_is_not_said_to_be_of_another_separator(limits):
    finding = only_finding(read_csv("reporter;period\nMOI,2019,x\n", limits), "unreadable")
    assert "separated by" in finding.message  # one column that holds a semicolon
    finding = only_finding(read_csv("reporter,period\nMOI,2019,x\n", limits), "unreadable")
    assert finding.message.endswith("row 2 has 3 cells but the header names 2 columns")


def test_a_title_line_above_the_header_is_said_to_be_one(limits):
    text = "MOI report 2019\n\nreporter,period,indicator,value\nMOI,2019-S1,cases,5\n"
    finding = only_finding(read_csv(text, limits), "unreadable")
    assert (
        finding.row_number == 3 and "the first row, read as the header, has one ('MOI report 2019')" in finding.message
    )
    assert "delete the rows above the header" in finding.message
    khmer = only_finding(read_submission(text.encode(), "csv", limits, "km"), "unreadable")
    assert "សូមលុបជួរនៅខាងលើជួរក្បាល" in khmer.message
    big = text + "MOI,2019-S1,cases,5\n" * 8_000  # the fast reader of a large file says the same
    assert "has one ('MOI report 2019')" in only_finding(read_csv(big, limits), "unreadable").message


@pytest.mark.parametrize("line", ["sep=;", "SEP=,", "sep=\t", "sep=|"])
def test_excel_separator_line_is_named_as_such(limits, line):
    """Excel writes `sep=;` first to name the separator (and reads it): the file is said to begin with it, not
    given a finding for each required column it seems to lack."""
    separator = line[-1]
    text = f"{line}\r\n" + separator.join(["reporter", "period", "indicator", "value"]) + "\r\nMOI,2019,cases,1\r\n"
    finding = only_finding(read_csv(text, limits), "unreadable")
    assert finding.row_number == 1
    assert f"the first line '{line}' is Excel's line naming the separator" in finding.message
    assert "comma-separated" in finding.message and "save it as CSV UTF-8" in finding.message


def test_csv_latin1_is_unreadable(limits):
    content = (HEADER + "\nNCCT,2019,cases,1,café\n").encode("latin-1")
    finding = only_finding(read_csv(content, limits), "unreadable")
    assert "UTF-8" in finding.message
    assert "line 2" in finding.message


def test_csv_nul_bytes_are_unreadable(limits):
    finding = only_finding(read_csv((HEADER + "\nNCCT,2019,cases,1\x00,\n").encode(), limits), "unreadable")
    assert "NUL" in finding.message


def test_csv_broken_quoting_is_unreadable(limits):
    finding = only_finding(read_csv(HEADER + '\n"NCCT,2019,cases,1,\n', limits), "unreadable")
    assert finding.row_number is not None


def test_csv_header_only_is_empty(limits):
    finding = only_finding(read_csv(HEADER + "\n", limits), "empty")
    assert "no data row" in finding.message


def test_csv_header_and_blank_rows_is_empty(limits):
    only_finding(read_csv(HEADER + "\n\n,,,,\n", limits), "empty")


def test_csv_without_header_is_unreadable(limits):
    finding = only_finding(read_csv(b",,,\n1,2,3\n", limits), "unreadable")
    assert finding.row_number == 1


@pytest.mark.parametrize("content", [b"", b"\n", b"  \r\n\n"])
@pytest.mark.parametrize("file_format", ["csv", "json", "xlsx"])
def test_a_file_with_nothing_in_it_is_empty(content, file_format, limits):
    raw = read_submission(content, file_format, limits)
    assert [(f.rule, f.severity) for f in raw.findings] == [("empty", "error")] and not raw.readable


def test_csv_repeated_column_is_unreadable(limits):
    finding = only_finding(
        read_csv("reporter,period,indicator,value,Value\nNCCT,2019,cases,1,2\n", limits), "unreadable"
    )
    assert finding.column_name == "value"
    assert "twice" in finding.message


@pytest.mark.parametrize("comment", COMMENTS)
def test_csv_comment_kept_byte_exact(limits, comment):
    quoted = '"' + comment.replace('"', '""') + '"'
    raw = read_csv(f"{HEADER}\nNCCT,2019,cases,1,{quoted}\n", limits)
    assert raw.frame["comment"].to_list() == [comment]
    assert raw.frame["comment"][0].encode("utf-8") == comment.encode("utf-8")


# -------------------------------------------------------------------- JSON
def test_json_not_an_object_is_unreadable(limits):
    finding = only_finding(read_json([{"reporter": "NCCT"}], limits), "unreadable")
    assert "observations" in finding.message


@pytest.mark.parametrize("document", [{"reporter": "NCCT"}, {"reporter": "NCCT", "observations": {"a": 1}}])
def test_json_without_observations_list_is_unreadable(limits, document):
    finding = only_finding(read_json(document, limits), "unreadable")
    assert '"observations"' in finding.message


def test_json_deeply_nested_is_unreadable(limits):
    finding = only_finding(read_json(b"[" * 100_000, limits), "unreadable")
    assert "JSON" in finding.message


def test_json_syntax_error_is_unreadable(limits):
    finding = only_finding(read_json(b'{"observations": [', limits), "unreadable")
    assert "line 1" in finding.message


def test_json_observation_not_an_object(limits):
    finding = only_finding(read_json({"observations": [{"value": 1}, [1, 2]]}, limits), "unreadable")
    assert finding.row_number == 2
    assert "observation 2" in finding.message


def test_json_empty_observations_is_empty(limits):
    only_finding(read_json({"reporter": "NCCT", "observations": []}, limits), "empty")


def test_json_top_level_reporter_applies_to_observations(limits):
    document = {
        "reporter": "NCCT",
        "observations": [
            {"period": "2019", "indicator": "cases", "value": 1},
            {"period": "2019", "indicator": "cases", "value": 2, "reporter": "MOJ"},
            {"period": "2019", "indicator": "cases", "value": 3, "reporter": None},
        ],
    }
    raw = read_json(document, limits)
    assert raw.findings == []
    assert raw.frame["row_number"].to_list() == [1, 2, 3]
    assert raw.frame["reporter"].to_list() == ["NCCT", "MOJ", "NCCT"]


@pytest.mark.parametrize(("value", "text"), [(78, "78"), (78.0, "78.0"), (78.5, "78.5"), ("78", "78"), (None, None)])
def test_json_values_as_text(limits, value, text):
    raw = read_json({"reporter": "NCCT", "observations": [{"period": "2019", "value": value}]}, limits)
    assert raw.frame["value"].to_list() == [text]


@pytest.mark.parametrize(
    "written", ["0.99999999999999999", "1e3", "1E3", "4503599627370497.5", "1.0", "-0", "-0.0", "-5", "NaN", "Infinity"]
)
def test_json_numbers_kept_as_written(limits, written):
    """A JSON number reaches the value rules as the file writes it, never rounded through a float."""
    content = b'{"reporter": "NCCT", "observations": [{"period": "2019", "value": ' + written.encode() + b"}]}"
    raw = read_json(content, limits)
    assert raw.findings == []
    assert raw.frame["value"].to_list() == [written]


@pytest.mark.parametrize(
    ("observation", "key"),
    [
        ('{"value": 78, "value": 5}', "value"),
        ('{"value": 78, "VALUE": 5}', "value"),
        ('{"reporter": "NCCT", "period": "2019", " Reporter ": "MOI"}', "reporter"),
    ],
)
def test_json_repeated_key_is_unreadable_naming_it(limits, observation, key):
    content = ('{"observations": [{"value": 1}, ' + observation + "]}").encode()
    finding = only_finding(read_json(content, limits), "unreadable")
    assert finding.row_number == 2
    assert finding.column_name == key
    assert "observation 2" in finding.message and "a key may appear once" in finding.message
    assert f"'{key}" in finding.message.lower()


def test_json_repeated_top_level_key_is_unreadable(limits):
    content = b'{"reporter": "NCCT", "reporter": "MOI", "observations": [{"value": 1}]}'
    finding = only_finding(read_json(content, limits), "unreadable")
    assert "top-level" in finding.message and "'reporter' twice" in finding.message


@pytest.mark.parametrize(
    "content",
    [
        b'{"reporter": "NCCT", "observations": [{"period": "2019", "value": 1, "comment": "\\ud800"}]}',
        b'{"reporter": "NCCT", "observations": [{"period": "2019", "value": 1, "\\udfff": "x"}]}',
        b'{"reporter": "\\ud800", "observations": [{"period": "2019", "value": 1}]}',
        b'{"reporter": "NCCT", "observations": [{"period": "2019", "value": 1, "comment": ["a\\ud800"]}]}',
    ],
)
def test_json_lone_surrogate_is_unreadable(limits, content):
    """Half of a UTF-16 pair is no character: it cannot be stored as text, so the file is unreadable."""
    finding = only_finding(read_json(content, limits), "unreadable")
    assert "lone surrogate" in finding.message


def test_json_surrogate_pair_is_one_character(limits):
    content = b'{"reporter": "NCCT", "observations": [{"period": "2019", "value": 1, "comment": "\\ud83d\\ude00"}]}'
    raw = read_json(content, limits)
    assert raw.frame["comment"].to_list() == ["\U0001f600"]


def test_too_many_columns_is_unreadable_before_rows_are_read(limits):
    header = ",".join(f"c{i}" for i in range(limits.max_columns + 1))
    finding = only_finding(read_csv(header + "\n" + "x," * limits.max_columns + "x\n", limits), "unreadable")
    assert f"{limits.max_columns + 1:,} columns" in finding.message and finding.row_number == 1
    keys = {f"c{i}": 1 for i in range(limits.max_columns + 1)}
    finding = only_finding(read_json({"observations": [keys]}, limits), "unreadable")
    assert f"{limits.max_columns:,}" in finding.message


def test_text_longer_than_the_limit_is_unreadable_naming_its_cell(limits):
    long = "x" * (limits.max_text_chars + 1)
    finding = only_finding(
        read_csv(f"{HEADER}\nNCCT,2019,cases,1,ok\nNCCT,2019,cases,2,{long}\n", limits), "unreadable"
    )
    assert (finding.row_number, finding.column_name) == (3, "comment")
    assert f"{limits.max_text_chars + 1:,} characters" in finding.message
    document = {"observations": [{"value": 1}, {"value": 2, "comment": long}]}
    finding = only_finding(read_json(document, limits), "unreadable")
    assert (finding.row_number, finding.column_name) == (2, "comment")


def test_why_a_file_is_unreadable_is_said_in_the_language_asked(limits):
    content = b"reporter,period\nNCCT,2019\n"
    english = only_finding(read_submission(content, "xlsx", limits), "unreadable")
    khmer = only_finding(read_submission(content, "xlsx", limits, "km"), "unreadable")
    assert english.message == "cannot be read as XLSX: it is not an Excel workbook (.xlsx)"
    why = message("unreadable", "not_a_workbook", "km")
    assert khmer.message == message("unreadable", "cannot_read", "km", format="XLSX", detail=why)
    assert "Excel workbook" not in khmer.message and "សៀវភៅបញ្ជី" in khmer.message
    assert str(read.Unreadable("not_a_workbook")) == "it is not an Excel workbook (.xlsx)"  # as logs show it


def test_a_column_without_a_name_is_named_in_english_and_shown_in_the_language_of_the_message(limits):
    long = "x" * (limits.max_text_chars + 1)
    content = f"{HEADER},\nNCCT,2019,cases,1,,{long}\n".encode()
    english = only_finding(read_submission(content, "csv", limits), "unreadable")
    khmer = only_finding(read_submission(content, "csv", limits, "km"), "unreadable")
    assert english.column_name == khmer.column_name == "(column 6 without a name)"
    assert english.message.startswith("cannot be read as CSV: row 2, column (column 6 without a name): a text of")
    assert read.unnamed_column(6, "km") in khmer.message and "without a name" not in khmer.message


def test_a_long_blank_cell_is_blank_not_too_long(limits):
    spaces = " " * (limits.max_text_chars + 1)
    raw = read_csv(f"{HEADER}\nNCCT,2019,{spaces},1,\n{spaces},{spaces},,,\nNCCT,2019,cases,2,{spaces}x\n", limits)
    finding = only_finding(raw, "unreadable")  # the first cell too long that is not blank: row 4, not row 2
    assert (finding.row_number, finding.column_name) == (4, "comment")
    raw = read_csv(f"{HEADER}\nNCCT,2019,{spaces},1,\n", limits)
    assert raw.frame.rows() == [(2, "NCCT", "2019", None, "1", None)]


def test_a_comment_of_spaces_is_kept_as_sent_in_every_format(limits):
    """Only an empty comment is no comment; a blank cell of any other column is blank."""
    rows = [["reporter", "period", "indicator", "value", "Comment "], ["NCCT", "2019", "cases", "1", "   "]]
    rows += [["NCCT", "2018", "cases", "  ", ""], ["NCCT", "2017", "cases", "3", None]]
    observations = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    read = {
        "csv": read_csv("\n".join(",".join(cell or "" for cell in row) for row in rows) + "\n", limits),
        "json": read_json({"observations": observations}, limits),
        "xlsx": read_submission(xlsx_bytes(rows), "xlsx", limits),
    }
    for file_format, raw in read.items():
        assert raw.frame.select("value", "comment").rows() == [("1", "   "), (None, None), ("3", None)], file_format


def test_a_comment_of_spaces_is_kept_as_sent_and_measured(limits):
    raw = read_csv(f"{HEADER}\nNCCT,2019,cases,1,   \nNCCT,2018,cases,2,\n", limits)
    assert raw.frame.rows() == [(2, "NCCT", "2019", "cases", "1", "   "), (3, "NCCT", "2018", "cases", "2", None)]
    too_long = read_csv(f"{HEADER}\nNCCT,2019,cases,1,{' ' * (limits.max_text_chars + 1)}\n", limits)
    finding = only_finding(too_long, "unreadable")
    assert (finding.row_number, finding.column_name) == (2, "comment")


def test_files_of_one_header_read_as_one_frame_are_each_as_read_alone(limits):
    texts = [f"{HEADER}\nNCCT,2019,cases, 1 ,\n \t, ,,,\n", f"{HEADER}\n\nMOI,2019,\u3000,2,note\n"]
    read = [read_columns(text.encode(), "csv", limits)[0] for text in texts]
    together = frame_of(one_after_another(read))
    assert together.rows() == [*read_csv(texts[0], limits).frame.rows(), *read_csv(texts[1], limits).frame.rows()]
    assert together.rows() == [(2, "NCCT", "2019", "cases", " 1 ", None), (3, "MOI", "2019", None, "2", "note")]


def test_json_large_integer_kept_exactly(limits):
    raw = read_json({"observations": [{"value": 2**63}]}, limits)
    assert raw.frame["value"].to_list() == [str(2**63)]


@pytest.mark.parametrize("comment", COMMENTS)
def test_json_comment_kept_byte_exact(limits, comment):
    raw = read_json({"reporter": "NCCT", "observations": [{"value": 1, "comment": comment}]}, limits)
    assert raw.frame["comment"].to_list() == [comment]


# -------------------------------------------------------------------- XLSX
XLSX_HEADER = ["reporter", "period", "indicator", "value", "comment"]


def test_xlsx_rows_numbered_as_in_the_sheet(limits):
    content = xlsx_bytes([XLSX_HEADER, ["NCCT", "2019", "cases", 1], [], ["NCCT", "2019", "cases", 2]])
    raw = read_submission(content, "xlsx", limits)
    assert raw.findings == []
    assert raw.frame["row_number"].to_list() == [2, 4]
    assert raw.frame["value"].to_list() == ["1", "2"]


def test_xlsx_header_below_blank_rows(limits):
    content = xlsx_bytes([[], XLSX_HEADER, ["NCCT", "2019", "cases", 1]])
    raw = read_submission(content, "xlsx", limits)
    assert raw.frame["row_number"].to_list() == [3]


def test_xlsx_sheet_name_any_case_among_others(limits):
    content = xlsx_bytes([XLSX_HEADER, ["NCCT", "2019", "cases", 1]], title="Data", extra_sheets=("README",))
    raw = read_submission(content, "xlsx", limits)
    assert raw.frame["reporter"].to_list() == ["NCCT"]


def test_xlsx_without_data_sheet_is_unreadable(limits):
    content = xlsx_bytes([XLSX_HEADER, ["NCCT", "2019", "cases", 1]], title="Sheet1")
    finding = only_finding(read_submission(content, "xlsx", limits), "unreadable")
    assert "'data'" in finding.message
    assert "Sheet1" in finding.message


def test_xlsx_numbers_and_dates_as_text(limits):
    content = xlsx_bytes(
        [
            XLSX_HEADER,
            ["NCCT", 2019, "cases", 78.0],
            ["NCCT", datetime(2019, 3, 1), "cases", 78],
            ["NCCT", date(2019, 4, 1), "cases", 78.5],
            ["NCCT", 201905, "cases", 0],
        ]
    )
    raw = read_submission(content, "xlsx", limits)
    assert raw.findings == []
    assert raw.frame["period"].to_list() == ["2019", "2019-03", "2019-04", "201905"]
    assert raw.frame["value"].to_list() == ["78", "78", "78.5", "0"]


def test_xlsx_comment_kept_byte_exact(limits):
    content = xlsx_bytes([XLSX_HEADER, *[["NCCT", "2019", "cases", 1, comment] for comment in COMMENTS]])
    raw = read_submission(content, "xlsx", limits)
    assert raw.frame["comment"].to_list() == list(COMMENTS)


def test_xlsx_corrupt_bytes_are_unreadable(limits):
    finding = only_finding(read_submission(b"PK\x03\x04 not really a workbook", "xlsx", limits), "unreadable")
    assert "XLSX" in finding.message


def test_xlsx_truncated_is_unreadable(limits):
    content = xlsx_bytes([XLSX_HEADER, ["NCCT", "2019", "cases", 1]])
    only_finding(read_submission(content[: len(content) // 2], "xlsx", limits), "unreadable")


def test_xlsx_over_inflated_limit_is_unreadable(limits):
    content = xlsx_bytes([XLSX_HEADER, ["NCCT", "2019", "cases", 1]])
    tight = dataclasses.replace(limits, max_xlsx_uncompressed_bytes=1_000)
    finding = only_finding(read_submission(content, "xlsx", tight), "unreadable")
    assert "1,000 bytes" in finding.message


def _with_part(content: bytes, path: str, change) -> bytes:
    """The workbook with its part `path` changed by `change` (text to text), every other part as it was."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as copy:
        for member in source.infolist():
            part = source.read(member)
            copy.writestr(member, change(part.decode("utf-8")).encode("utf-8") if member.filename == path else part)
    return buffer.getvalue()


def shared_texts_workbook(rows: list[list]) -> bytes:
    """A workbook whose texts are in its table of texts (xl/sharedStrings.xml), as Excel writes them."""
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("data")
    for number, row in enumerate(rows):
        sheet.write_row(number, 0, row)
    workbook.close()
    return buffer.getvalue()


def test_xlsx_small_table_of_texts_declaring_a_dtd_is_unreadable(limits):
    """A table of texts of a few bytes is not parsed to be measured, unless it declares something: a DTD's
    entities could expand without bound, and it is refused as a larger one is."""
    content = shared_texts_workbook([XLSX_HEADER, ["NCCT", "2019", "cases", 1]])
    declared = _with_part(
        content, "xl/sharedStrings.xml", lambda xml: xml.replace("<sst", '<!DOCTYPE sst [<!ENTITY x "xx">]><sst', 1)
    )
    finding = only_finding(read_submission(declared, "xlsx", limits), "unreadable")
    assert "declares a DTD" in finding.message
    assert read_submission(content, "xlsx", limits).readable


def test_xlsx_text_longer_than_a_cell_in_a_small_table_is_unreadable(limits):
    """A table of texts smaller than the longest text allowed needs no measuring; one larger is measured."""
    content = shared_texts_workbook([XLSX_HEADER, ["NCCT", "2019", "cases", 1, "a comment of 28 characters.."]])
    assert read_submission(content, "xlsx", limits).readable
    tight = dataclasses.replace(limits, max_text_chars=20)
    finding = only_finding(read_submission(content, "xlsx", tight), "unreadable")
    assert "table of texts holds a text of 28 characters" in finding.message and "the limit is 20" in finding.message


@pytest.mark.parametrize("quote", ['"', "'"])
def test_xlsx_formula_error_found_in_either_quotes(limits, quote):
    """A cell of type e (a formula's error) shows its error, its type written in double or single quotes."""
    content = xlsx_bytes([XLSX_HEADER, ["NCCT", "2019", "cases", 1]])
    cell = f"<c r={quote}D2{quote} t={quote}e{quote}><f>1/0</f><v>#DIV/0!</v></c>"
    failed = _with_part(content, "xl/worksheets/sheet1.xml", lambda xml: re.sub(r'<c r="D2".*?</c>', cell, xml))
    raw = read_submission(failed, "xlsx", limits)
    assert raw.frame["value"].to_list() == [read.XLSX_ERROR_TEXT.format(error="#DIV/0!")]


def test_xlsx_sheet_place_remembered_for_small_parts_only(limits):
    """Where the sheet lies is remembered for workbooks of the same small parts (one template), never for large
    parts: a part can be as large as the inflated limit, and a remembered answer keeps its part in memory."""
    content = xlsx_bytes([XLSX_HEADER, ["NCCT", "2019", "cases", 1]])
    padded = _with_part(
        content, "xl/workbook.xml", lambda xml: xml.replace("</workbook>", " " * 70_000 + "</workbook>")
    )
    remembered = read._remembered_sheet_target
    remembered.cache_clear()
    assert read_submission(padded, "xlsx", limits).frame["value"].to_list() == ["1"]
    assert remembered.cache_info().currsize == 0
    for _ in range(2):
        assert read_submission(content, "xlsx", limits).frame["value"].to_list() == ["1"]
    assert (remembered.cache_info().currsize, remembered.cache_info().hits) == (1, 1)


# ------------------------------------------------------------------ limits
@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_file_over_size_limit_is_unreadable(seed_files, limits, fmt):
    content = seed_files[fmt].read_bytes()
    tight = dataclasses.replace(limits, max_file_bytes=100)
    finding = only_finding(read_submission(content, fmt, tight), "unreadable")
    assert "100 bytes" in finding.message
    assert f"{len(content):,}" in finding.message


def test_file_at_size_limit_is_read(seed_files, limits):
    content = seed_files["csv"].read_bytes()
    exact = dataclasses.replace(limits, max_file_bytes=len(content))
    assert read_submission(content, "csv", exact).readable


def test_too_many_rows_is_unreadable(seed_files, limits):
    tight = dataclasses.replace(limits, max_rows=SEED_ROWS - 1)
    finding = only_finding(read_submission(seed_files["csv"].read_bytes(), "csv", tight), "unreadable")
    assert f"{SEED_ROWS - 1:,}" in finding.message
    assert read_submission(
        seed_files["csv"].read_bytes(), "csv", dataclasses.replace(limits, max_rows=SEED_ROWS)
    ).readable


def test_csv_bytes_named_xlsx_are_unreadable(seed_files, limits):
    finding = only_finding(read_submission(seed_files["csv"].read_bytes(), "xlsx", limits), "unreadable")
    assert "XLSX" in finding.message


def test_csv_multiline_comment_is_one_row(limits):
    raw = read_csv(HEADER + '\nNCCT,2019,cases,1,"first line\nsecond line"\nNCCT,2019,cases,abc,\n', limits)
    assert raw.frame["row_number"].to_list() == [2, 3]
    assert raw.frame["comment"].to_list() == ["first line\nsecond line", None]
    assert raw.frame["value"].to_list() == ["1", "abc"]


def test_json_blank_observation_skipped_numbering_kept(limits):
    document = {
        "observations": [{"reporter": "NCCT", "value": 1}, {}, {"value": None}, {"reporter": "NCCT", "value": 2}]
    }
    raw = read_json(document, limits)
    assert raw.frame["row_number"].to_list() == [1, 4]


def test_json_blank_observation_skipped_with_top_level_reporter(limits):
    document = {"reporter": "NCCT", "observations": [{"value": 1}, {}, {"value": None}, {"value": 2}]}
    raw = read_json(document, limits)
    assert raw.frame["row_number"].to_list() == [1, 4]


# ------------------------------------- a column that the reader itself uses
def test_csv_column_named_row_number_does_not_raise(limits):
    raw = read_csv("reporter,period,indicator,value,row_number\nNCCT,2019,cases,1,abc\n", limits)
    assert raw.frame["row_number"].to_list() == [2]


def test_csv_empty_column_named_row_number_keeps_numbering(limits):
    raw = read_csv("reporter,period,indicator,value,Row_Number\nNCCT,2019,cases,1,\nNCCT,2019,cases,2,\n", limits)
    assert raw.frame["row_number"].to_list() == [2, 3]


def test_json_key_row_number_does_not_raise(limits):
    raw = read_json({"reporter": "NCCT", "observations": [{"value": 1, "row_number": "7"}]}, limits)
    assert raw.frame["row_number"].to_list() == [1]


# ------------------------------------------------------ a far cell in XLSX
FAR_CELL_READER = """
import resource, sys
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, 2 * 1024**3))
from schemas import load_registry
from transforms.read import read_submission
raw = read_submission(Path(sys.argv[1]).read_bytes(), "xlsx", load_registry().limits)
print(",".join(f.rule for f in raw.findings))
"""


def test_xlsx_far_cell_is_unreadable_not_fatal(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "data"
    sheet.append(XLSX_HEADER)
    sheet.append(["NCCT", "2019", "cases", 1])
    sheet["XFD1048576"] = "x"
    path = tmp_path / "far.xlsx"
    workbook.save(path)
    assert path.stat().st_size < 10_000
    done = subprocess.run(
        [sys.executable, "-c", FAR_CELL_READER, str(path)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.strip() == "unreadable"


def test_json_limits_stop_the_parser_before_the_file_is_read_whole(limits, monkeypatch):
    """The objects are counted as they are parsed: past the limit of rows the parser stops, the rest unread."""
    import dataclasses

    import transforms.read as read

    few = dataclasses.replace(limits, max_rows=3)
    made = []
    original = read._json_object
    monkeypatch.setattr(read, "_json_object", lambda pairs: made.append(1) or original(pairs))
    content = json.dumps({"observations": [{"value": n} for n in range(100)]}).encode()
    finding = only_finding(read_submission(content, "json", few), "unreadable")
    assert "more than 3 observations" in finding.message
    assert len(made) <= 4


JSON_SHAPES = {
    "keys in any case and order, blanks": {
        "reporter": "NCCT",
        "observations": [
            {"period": "2019", "VALUE": 5},
            {"Value": 6, " PERIOD": "2019-S1", "indicator": "cases"},
            {"period ": " ", "value": "  "},
            {},
            {"area": "KH", "reporter": " "},
            {"value": True, "comment": None, "status": False},
        ],
    },
    "no file reporter": {"observations": [{"period": "2019", "value": 1.5}, {"reporter": "MOI", "value": "1e3"}]},
    "a nested value": {"observations": [{"period": "2019", "value": {"n": 1}}, {"value": [1, 2]}]},
    "a key given twice": {"observations": [{"period": "2019", "value": 1}, {"value": 1, "VALUE": 2}]},
    "half of a character": '{"observations": [{"period": "2019", "value": 1}, {"comment": "\\ud800"}]}',
    "a whole character escaped": '{"observations": [{"period": "2019", "comment": "\\ud83d\\ude00"}]}',
    "a long blank text": {"observations": [{"period": "2019", "comment": " " * 40_000}]},
    "a long text": {"observations": [{"period": "2019", "comment": "x" * 40_000}]},
}


@pytest.mark.parametrize("shape", list(JSON_SHAPES))
def test_json_read_by_columns_as_observation_by_observation(limits, monkeypatch, shape):
    document = JSON_SHAPES[shape]
    content = (document if isinstance(document, str) else json.dumps(document)).encode()
    by_columns = read_submission(content, "json", limits)
    monkeypatch.setattr(read, "_plain_observations", lambda observations, limits: None)
    one_by_one = read_submission(content, "json", limits)
    assert by_columns.findings == one_by_one.findings
    if one_by_one.frame is None:
        assert by_columns.frame is None
    else:
        assert by_columns.frame.columns == one_by_one.frame.columns
        assert by_columns.frame.rows() == one_by_one.frame.rows()


def test_the_collector_is_paused_while_a_file_is_read_and_runs_again_after(limits, monkeypatch):
    """A file's rows are read with Python's garbage collector held off (they are never garbage while read); it
    runs again once the file is read, or once reading it failed."""
    import gc

    paused_while_read = []
    to_columns = read._to_columns

    def watched(*given):
        paused_while_read.append(not gc.isenabled())
        return to_columns(*given)

    monkeypatch.setattr(read, "_to_columns", watched)
    assert gc.isenabled()
    columns, findings = read_columns(b"reporter,value\nMOI,1\n", "csv", limits)
    assert list(columns["reporter"]) == ["MOI"] and findings == []
    assert paused_while_read == [True] and gc.isenabled()
    columns, [finding] = read_columns(b"reporter,value\n\xff\n", "csv", limits)  # not UTF-8: fails while read
    assert columns is None and finding.rule == "unreadable" and gc.isenabled()


def test_a_pause_within_a_pause_leaves_the_collector_as_the_outer_one_found_it():
    import gc

    from transforms import collector

    with collector.paused():
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
    gc.disable()
    try:
        with collector.paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()


def test_xlsx_formula_saved_without_its_result_shows_as_itself(limits):
    """A workbook written by a program keeps a formula without computing it: its reader gives an empty cell,
    "not reported"; the cell shows the formula instead, so the figure is no whole number, never silently lost.
    A formula whose result is an empty text (type str) is a result like any other."""
    content = xlsx_bytes([XLSX_HEADER, ["NCCT", "2019", "cases", 1, "a comment"]])
    uncalculated = _with_part(
        content,
        "xl/worksheets/sheet1.xml",
        lambda xml: re.sub(r'<c r="D2".*?</c>', '<c r="D2"><f>20+30+50</f><v></v></c>', xml),
    )
    raw = read_submission(uncalculated, "xlsx", limits)
    assert raw.frame["value"].to_list() == [read.XLSX_UNCALCULATED_TEXT.format(formula="20+30+50")]
    empty_text = _with_part(
        content,
        "xl/worksheets/sheet1.xml",
        lambda xml: re.sub(r'<c r="E2".*?</c>', '<c r="E2" t="str"><f>IF(1,"","x")</f><v></v></c>', xml),
    )
    assert read_submission(empty_text, "xlsx", limits).frame["comment"].to_list() == [None]


# ------------------------------------------------ what a .xlsx file must be
ODS_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
<office:body><office:spreadsheet><table:table table:name="data">
<table:table-row>{header}</table:table-row>
<table:table-row table:number-rows-repeated="{rows}">
<table:table-cell table:number-columns-repeated="{columns}" office:value-type="string"><text:p>x</text:p></table:table-cell>
</table:table-row>
</table:table></office:spreadsheet></office:body></office:document-content>"""


def ods_parts(rows: int = 1, columns: int = 4) -> dict[str, str]:
    """The parts of an OpenDocument spreadsheet (as LibreOffice saves it) whose sheet `data` repeats one row of a
    repeated cell: a few hundred bytes for any number of cells."""
    header = "".join(
        f'<table:table-cell office:value-type="string"><text:p>{name}</text:p></table:table-cell>'
        for name in XLSX_HEADER
    )
    return {
        "mimetype": "application/vnd.oasis.opendocument.spreadsheet",
        "content.xml": ODS_CONTENT.format(header=header, rows=rows, columns=columns),
    }


def zip_of(parts: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, part in parts.items():
            archive.writestr(name, part)
    return buffer.getvalue()


def workbook_parts(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_an_ods_spreadsheet_named_xlsx_is_refused_before_it_is_read(limits):
    """The reader guesses a file's kind from its bytes and reads an OpenDocument spreadsheet too, where none of the
    limits measured for a workbook holds: a row repeated thousands of times, each of a cell repeated across
    hundreds of columns, is refused, not read, and so is a plain one, saying what it is and what to do."""
    tight = dataclasses.replace(limits, max_xlsx_cells=1_000)
    for content in (zip_of(ods_parts()), zip_of(ods_parts(rows=5_000, columns=200))):
        finding = only_finding(read_submission(content, "xlsx", tight), "unreadable")
        assert "OpenDocument spreadsheet (.ods" in finding.message
        assert "save it as Excel Workbook (.xlsx)" in finding.message
    khmer = only_finding(read_submission(zip_of(ods_parts()), "xlsx", limits, "km"), "unreadable")
    assert message("unreadable", "opendocument", "km") in khmer.message


def test_a_broken_workbook_holding_an_ods_spreadsheet_is_refused(limits):
    """When a workbook's own parts fail the reader, it tries the file as a spreadsheet of another kind: a zip that
    holds the parts of an OpenDocument spreadsheet beside those of a workbook is never read as one."""
    workbook = workbook_parts(xlsx_bytes([XLSX_HEADER, ["NCCT", "2019", "cases", 1]]))
    relations = workbook["xl/_rels/workbook.xml.rels"].replace(b'Id="rId2"', b'Id="rId1"')  # one id twice
    content = zip_of({**workbook, "xl/_rels/workbook.xml.rels": relations, **ods_parts(rows=5_000, columns=200)})
    finding = only_finding(
        read_submission(content, "xlsx", dataclasses.replace(limits, max_xlsx_cells=1_000)), "unreadable"
    )
    assert "OpenDocument spreadsheet" in finding.message


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (
            zip_of({"[Content_Types].xml": "<Types/>", "xl/workbook.bin": b"\x83\x01\x00"}),
            "Excel Binary Workbook (.xlsb)",
        ),
        (
            zip_of({"readme.txt": "a zip of other files"}),
            "a zip archive but not an Excel workbook (it has no part xl/workbook.xml)",
        ),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
            "Excel 97-2003 workbook (.xls) or a workbook protected by a password",
        ),
    ],
    ids=["xlsb", "other zip", "xls or password"],
)
def test_a_file_of_another_kind_named_xlsx_says_what_it_is(limits, content, said):
    finding = only_finding(read_submission(content, "xlsx", limits), "unreadable")
    assert said in finding.message
    assert "save it as Excel Workbook (.xlsx)" in finding.message


STRICT_NAMESPACES = {
    b"http://schemas.openxmlformats.org/spreadsheetml/2006/main": b"http://purl.oclc.org/ooxml/spreadsheetml/main",
    b"http://schemas.openxmlformats.org/officeDocument/2006/relationships": (
        b"http://purl.oclc.org/ooxml/officeDocument/relationships"
    ),
}


def strict(content: bytes) -> bytes:
    """The workbook as Excel saves it as "Strict Open XML Spreadsheet": the same parts in Strict namespaces."""
    parts = workbook_parts(content)
    for name, part in parts.items():
        if name.endswith((".xml", ".rels")) and name != "[Content_Types].xml":
            for transitional, strict_namespace in STRICT_NAMESPACES.items():
                part = part.replace(transitional, strict_namespace)
            parts[name] = part
    return zip_of(parts)


# A cell at row 2,000 of column 100: the sheet spans 200,000 cells, past a limit of 100,000
FAR_ROW = '<row r="2000"><c r="CV2000" t="inlineStr"><is><t>x</t></is></c></row>'


def test_a_strict_open_xml_workbook_is_measured_and_read_as_a_transitional_one(limits):
    """A workbook saved as Strict Open XML names its parts in other namespaces: its sheet is found all the same, so
    a formula's error and a formula saved without its result show as they do in any workbook, and a cell far
    away is measured against the limit of cells before the sheet is read."""
    content = xlsx_bytes([XLSX_HEADER, ["NCCT", "2019", "cases", 1, "a"], ["NCCT", "2018", "cases", 2, "b"]])
    failed = _with_part(
        content,
        "xl/worksheets/sheet1.xml",
        lambda xml: re.sub(
            r'<c r="D3".*?</c>',
            '<c r="D3" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
            re.sub(r'<c r="D2".*?</c>', '<c r="D2"><f>20+30</f><v></v></c>', xml),
        ),
    )
    assert b"purl.oclc.org/ooxml/officeDocument/relationships" in workbook_parts(strict(failed))["xl/workbook.xml"]
    expected = [read.XLSX_UNCALCULATED_TEXT.format(formula="20+30"), read.XLSX_ERROR_TEXT.format(error="#DIV/0!")]
    for workbook in (failed, strict(failed)):
        assert read_submission(workbook, "xlsx", limits).frame["value"].to_list() == expected
    far = _with_part(
        content, "xl/worksheets/sheet1.xml", lambda xml: xml.replace("</sheetData>", FAR_ROW + "</sheetData>")
    )
    tight = dataclasses.replace(limits, max_xlsx_cells=100_000)
    for workbook in (far, strict(far)):
        finding = only_finding(read_submission(workbook, "xlsx", tight), "unreadable")
        assert "spans 200,000 cells" in finding.message


def test_a_sheet_is_measured_however_its_id_is_written_or_refused_when_it_gives_two(limits):
    """The reader takes the sheet's attribute `id` of any namespace, or of none: each is measured as the sheet the
    reader reads, and a sheet that gives two different ids, one for the measure and one for the reader, is
    unreadable, never read unmeasured."""
    content = xlsx_bytes([XLSX_HEADER, ["NCCT", "2019", "cases", 1]], extra_sheets=("other",))
    far = _with_part(
        content, "xl/worksheets/sheet1.xml", lambda xml: xml.replace("</sheetData>", FAR_ROW + "</sheetData>")
    )
    tight = dataclasses.replace(limits, max_xlsx_cells=100_000)
    sheet = re.compile(r'(<sheet [^>]*name="data"[^>]*?) r:id="(rId[0-9]+)"')
    for written in (r'\1 id="\2"', r'\1 xmlns:o="urn:other" o:id="\2"'):
        renamed = _with_part(far, "xl/workbook.xml", lambda xml, written=written: sheet.sub(written, xml))
        assert read_submission(renamed, "xlsx", limits).readable  # within the limits as they stand
        finding = only_finding(read_submission(renamed, "xlsx", tight), "unreadable")
        assert "spans 200,000 cells" in finding.message
    two = _with_part(
        content, "xl/workbook.xml", lambda xml: sheet.sub(r'\1 r:id="\2" xmlns:o="urn:other" o:id="rId9"', xml)
    )
    finding = only_finding(read_submission(two, "xlsx", limits), "unreadable")
    assert "does not say plainly which of its parts holds the sheet 'data'" in finding.message


def test_json_keys_are_trimmed_of_invisible_characters_and_a_key_twice_is_shown_visibly(limits):
    raw = read_json({"reporter": "NCCT", "observations": [{"\u200bperiod": "2019", "value\ufeff": "1"}]}, limits)
    assert raw.frame.columns[:3] == ["row_number", "period", "value"]
    twice = b'{"observations": [{"value": "1", "value\\u200b": "2"}]}'
    finding = only_finding(read_json(twice, limits), "unreadable")
    assert "the keys 'value' and 'value<U+200B>'" in finding.message
