"""Hostile and broken submissions: each is rejected with the right rule, row, column and words.

The corpus lives in tests/files/bad/ (made by make_bad_files.py there); EXPECTED below
says, for every file, which error findings `ctip validate` must report. The files are
also dropped together, with the seed report, into one inbox for a nightly run.
"""

from __future__ import annotations

import io
import json
import os
import re
import resource
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from flows.checking import check_files
from flows.cli import app
from flows.settings import Settings
from schemas.texts import message_templates
from tests.conftest import FILES, SEED, run_python
from tests.files.bad.make_bad_files import JSON_VALUE_FORMS
from tests.flows.conftest import NOW, query, run, write_inbox

BAD = FILES / "bad"
FORMATS = (".csv", ".xlsx", ".json")
SEED_NAMES = ("ncct_2019-S1.csv", "ncct_2019-S1.json", "ncct_2019-S1.xlsx")
SEED_OBSERVATIONS = 16
MAX_VALUE_TEXT = "9,223,372,036,854,775,807"
BAD_VALUE = "is not a whole number (digits only"


@dataclass(frozen=True)
class Expect:
    """One error finding a file must produce: its rule, row, column and words of its message."""

    rule: str
    row: int | None = None
    column: str | None = None
    phrases: tuple[str, ...] = ()


def _e(rule: str, row: int | None = None, column: str | None = None, *phrases: str) -> Expect:
    return Expect(rule, row, column, phrases)


# unknown_<column>.csv: the message names the column of row 2, shows its value and, where the list is
# short, offers codes that would do.
UNKNOWN_CODES = """
reporter | 'NCCTX' | NCCT, MOI, MOJ
indicator | 'trafficking' | victims_rescued
area | 'KH-26'
sex | 'X' | F, M
age | 'Y_LT10' | Y_LT15
citizenship | 'ZZ'
referral | 'POLICE' | FAMILY
offence | '_U' | HT, SE
country | 'XX'
status | 'Z' | A, P, E
action | 'U' | I, D
"""

EXPECTED: dict[str, list[Expect]] = {
    # ------------------------------------------------ unreadable as the format says
    "empty.csv": [_e("empty", None, None, "the file is empty")],
    "header_only.csv": [_e("empty", None, None, "no data row")],
    "header_and_blank_rows.csv": [_e("empty", None, None, "no data row")],
    "binary.csv": [_e("unreadable", None, None, "NUL", "not UTF-8")],
    "utf16.csv": [_e("unreadable", None, None, "UTF-16", "not UTF-8", "save it as CSV UTF-8")],
    "latin1.csv": [_e("unreadable", None, None, "not UTF-8", "line 2")],
    "xlsx_named_csv.csv": [_e("unreadable", None, None, "CSV", "NUL")],
    "csv_named_xlsx.xlsx": [_e("unreadable", None, None, "not an Excel workbook")],
    "truncated.xlsx": [_e("unreadable", None, None, "not an Excel workbook")],
    "corrupt.xlsx": [_e("unreadable", None, None, "damaged")],
    "no_data_sheet.xlsx": [_e("unreadable", None, None, "no sheet named 'data'", "'Sheet1'")],
    "xlsx_empty_sheet.xlsx": [_e("empty", None, None, "sheet 'data' is empty")],
    "xlsx_header_only.xlsx": [_e("empty", None, None, "no data row")],
    **{
        name: [_e("unreadable", None, None, "spans 17,179,869,184 cells")]
        for name in (
            "grid_bomb_far_cell.xlsx",
            "grid_bomb_single_quoted_reference.xlsx",
            "grid_bomb_spaces_around_equals.xlsx",
            "grid_bomb_lower_case_reference.xlsx",
            "grid_bomb_cell_without_reference.xlsx",
            "grid_bomb_tag_across_a_mib_boundary.xlsx",
        )
    },
    "zip_bomb.xlsx": [_e("unreadable", None, None, "inflates to 1,073,743,257 bytes", "268,435,456 bytes")],
    "zip_bomb_declared_small.xlsx": [_e("unreadable", None, None, "damaged")],
    "shared_strings_bomb.xlsx": [_e("unreadable", None, None, "XLSX")],
    "ragged_row.csv": [_e("unreadable", 3, None, "row 3 has 14 cells", "13 columns")],
    "broken_quote.csv": [_e("unreadable", 2, None, "broken CSV")],
    "repeated_column.csv": [_e("unreadable", 1, "value", "'value' appears twice")],
    "semicolon_separated.csv": [_e("missing_column", 1, None, "separated by semicolons (;), not commas", "CSV UTF-8")],
    "excel_separator_line.csv": [_e("unreadable", 1, None, "the first line 'sep=;'", "comma-separated", "CSV UTF-8")],
    "semicolons_and_a_comma_in_a_cell.csv": [
        _e("unreadable", 2, None, "separated by semicolons (;), not commas", "row 2", "CSV UTF-8")
    ],
    "ods_named_xlsx.xlsx": [_e("unreadable", None, None, "OpenDocument spreadsheet", "Excel Workbook (.xlsx)")],
    "missing_value_column.csv": [_e("missing_column", None, "value", "'value'")],
    "row_number_column.csv": [_e("bad_value", 3, "value", "'x'", BAD_VALUE)],
    "multiline_comment_then_bad_value.csv": [_e("bad_value", 3, "value", "row 3", "'x'")],
    # ------------------------------------------------------------------ JSON
    "deeply_nested.json": [_e("unreadable", None, None, "nested too deeply")],
    "truncated.json": [_e("unreadable", None, None, "not valid JSON", "line 7")],
    "json_not_object.json": [_e("unreadable", None, None, 'list "observations"')],
    "json_no_observations.json": [_e("empty", None, None, "no data row")],
    "json_observation_not_object.json": [_e("unreadable", 2, None, "observation 2")],
    "json_value_fractional.json": [_e("bad_value", 2, "value", "'62.5'", BAD_VALUE)],
    "json_bad_value_after_blank_observation.json": [_e("bad_value", 3, "value", "row 3", "'x'")],
    "json_bad_value_in_third_observation.json": [_e("bad_value", 3, "value", "row 3", "'x'")],
    "json_value_huge_integer.json": [_e("bad_value", 1, "value", "99999999999999999999")],
    "json_two_reporters.json": [_e("mixed_reporters", 2, "reporter", "MOI", "NCCT", "names at its top")],
    "json_reporter_at_top_differs.json": [
        _e("mixed_reporters", row, "reporter", "reporter MOI differs from MOSVY", "names at its top") for row in (1, 2)
    ],
    "json_row_number_key.json": [_e("bad_value", 2, "value", "'x'")],
    "json_lone_surrogate_in_value.json": [_e("unreadable", 1, "comment", "observation 1", "lone surrogate")],
    "json_lone_surrogate_in_key.json": [_e("unreadable", 1, None, "observation 1", "a key", "lone surrogate")],
    "json_repeated_key.json": [_e("unreadable", 1, "value", "observation 1", "'value' twice")],
    "json_repeated_key_any_case.json": [_e("unreadable", 2, "value", "observation 2", "'value' and 'VALUE'")],
    "json_repeated_reporter.json": [_e("unreadable", None, "reporter", "top-level", "'reporter' twice")],
    "json_value_forms.json": [
        _e("bad_value", row, "value", f"'{written}'", BAD_VALUE) for row, written in enumerate(JSON_VALUE_FORMS, 1)
    ],
    "xlsx_prefixed_grid_bomb.xlsx": [_e("unreadable", None, None, "spans 17,179,869,184 cells")],
    "shared_string_long.xlsx": [_e("unreadable", None, None, "a text of 20,971,520 characters", "32,767")],
    "shared_string_repeated.xlsx": [_e("unreadable", None, None, "repeat the workbook's texts", "268,435,456")],
    "too_many_columns.csv": [_e("unreadable", 1, None, "5,013 columns", "1,000")],
    "text_too_long.csv": [_e("unreadable", 3, "comment", "40,000 characters", "32,767")],
    "many_bad_values.csv": [
        *(_e("bad_value", row, "value", "'x'") for row in range(2, 1002)),
        _e("bad_value", None, None, "and 1,500 more findings of the rule bad_value"),
    ],
    # ---------------------------------------------------------------- values
    "value_fractional.csv": [_e("bad_value", 2, "value", "'78.5'", BAD_VALUE)],
    "value_negative.csv": [_e("bad_value", 2, "value", "'-5'")],
    "value_text.csv": [_e("bad_value", 2, "value", "'seventy-eight'")],
    "value_thousands_separator.csv": [_e("bad_value", 2, "value", "'1,009'", "thousands separators")],
    "value_beyond_64_bits.csv": [_e("bad_value", 2, "value", "'9223372036854775808'", "too large to be a count")],
    "value_other_forms.csv": [
        _e("bad_value", 2, "value", "'+78'"),
        _e("bad_value", 3, "value", "'6.2e1'"),
        _e("bad_value", 4, "value", "'\u0667\u0668'"),
        _e("bad_value", 5, "value", "'1 009'"),
    ],
    "xlsx_bad_value.xlsx": [_e("bad_value", 4, "value", "row 4", "'seventy'")],
    "xlsx_formula_error_value.xlsx": [_e("bad_value", 3, "value", "#DIV/0!")],
    # ----------------------------------------------------------------- codes
    **{
        f"unknown_{column}.csv": [_e("unknown_code", 2, column, *shown)]
        for column, *shown in (line.split(" | ") for line in UNKNOWN_CODES.strip().splitlines())
    },
    "blank_reporter_and_indicator.csv": [
        _e("unknown_code", 2, "reporter", "reporter is blank"),
        _e("unknown_code", 2, "indicator", "indicator is blank"),
    ],
    "area_before_it_existed.csv": [_e("unknown_code", 2, "area", "KH-25", "exists from 2014", "2013")],
    "period_does_not_exist.csv": [
        _e("unknown_code", 2, "period", "'2019-S3' is not a period"),
        _e("unknown_code", 3, "period", "'2019-13' is not a period"),
    ],
    "period_not_begun.csv": [_e("future_period", 2, "period", "2099", "has not begun")],
    "not_allowed_indicator.csv": [_e("not_allowed", 2, "indicator", "MOJ may not report cases")],
    "not_allowed_cut.csv": [_e("not_allowed", 2, "sex", "marriage_applications is not cut by sex", "'F'")],
    # --------------------------------------------------- rows of one file together
    "two_reporters.csv": [_e("mixed_reporters", 3, "reporter", "MOI", "NCCT", "row 2")],
    "duplicate_key.csv": [_e("duplicate_key", 3, None, "row 3 repeats the key of row 2")],
    "blank_codes.csv": [
        _e("unknown_code", 2, "area", "the area is blank"),
        _e("unknown_code", 3, "sex", "the sex is blank"),
        _e("unknown_code", 4, "status", "the status is blank"),
    ],
    "duplicate_key_after_folding.csv": [_e("duplicate_key", 3, None, "row 3 repeats the key of row 2")],
    "parts_above_total.csv": [_e("parts_exceed_total", 2, "value", "291", "FAMILY = 191 (row 3)", "263")],
    "incomplete_sum.csv": [_e("parts_differ_from_total", 2, "value", "add up to 201", "total is 263")],
    "cross_cut_above_total.csv": [_e("parts_exceed_total", 3, "value", "F = 45 (row 4)", "total of 40")],
    "aggregate_above_its_codes.csv": [_e("parts_exceed_total", 3, "value", "add up to 17", "FOREIGN", "14")],
    "parts_sum_beyond_64_bits.csv": [
        _e("parts_exceed_total", 2, "value", "18,446,744,073,709,551,614", MAX_VALUE_TEXT)
    ],
}

# Files on which ctip itself would fail (name -> the reason); their tests are strict xfails. None today.
BUGS: dict[str, str] = {}
# Files that may end the whole process rather than raise: they are only ever read in a child process.
ISOLATED = {name for name in EXPECTED if name.startswith("grid_bomb_")} | {
    "shared_strings_bomb.xlsx",
    "xlsx_prefixed_grid_bomb.xlsx",
    "shared_string_long.xlsx",
    "shared_string_repeated.xlsx",
}


def corpus_names() -> list[str]:
    return sorted(p.name for p in BAD.iterdir() if p.is_file() and p.suffix in FORMATS)


def _params(names) -> list:
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=BUGS[name])) if name in BUGS else name
        for name in names
    ]


def settings_for(tmp_path: Path) -> Settings:
    return Settings(inbox=tmp_path, warehouse=tmp_path / "w.duckdb")


def _limit_memory() -> None:
    """Run in a child before it starts: at most 4 GiB of address space, so no bomb takes the machine."""
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))


def _child(code: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return run_python(code, *args, timeout=timeout, preexec_fn=_limit_memory)


CHECK_IN_CHILD = """
import json, sys
from datetime import datetime
from pathlib import Path
from flows.checking import check_files
from flows.settings import Settings
from schemas import load_registry
path, folder = Path(sys.argv[1]), Path(sys.argv[2])
reports = check_files([path], Settings(inbox=folder, warehouse=folder / "w.duckdb"), load_registry(),
                      datetime.fromisoformat(sys.argv[3]))
print(json.dumps(reports, default=str))
"""


def report_of(name: str, tmp_path: Path, registry) -> dict:
    path = BAD / name
    if name in ISOLATED:
        child = _child(CHECK_IN_CHILD, str(path), str(tmp_path), NOW.isoformat())
        assert child.returncode == 0, f"exit {child.returncode}: {child.stderr[-2000:]}"
        [report] = json.loads(child.stdout)
        return report
    [report] = check_files([path], settings_for(tmp_path), registry, NOW)
    return report


def _matches(finding: dict, expect: Expect) -> bool:
    return (
        finding["severity"] == "error"
        and finding["rule"] == expect.rule
        and finding["row_number"] == expect.row
        and finding["column_name"] == expect.column
        and all(phrase in finding["message"] for phrase in expect.phrases)
    )


def assert_reported(findings: list[dict], expected: list[Expect], name: str) -> None:
    errors = [f for f in findings if f["severity"] == "error"]
    for expect in expected:
        assert any(_matches(f, expect) for f in errors), f"{name}: no finding like {expect} in {errors}"
    assert len(errors) == len(expected), f"{name}: expected {len(expected)} errors, got {errors}"


# ------------------------------------------------------------------- the corpus
def test_every_corpus_file_has_an_expectation():
    names = corpus_names()
    assert len(names) >= 32
    assert set(names) == set(EXPECTED), set(names) ^ set(EXPECTED)
    assert set(BUGS) <= set(EXPECTED) and ISOLATED <= set(EXPECTED)
    assert all(EXPECTED[name] for name in names)


def test_corpus_files_are_distinct():
    """Two files with the same bytes would be a duplicate, not a rejection, in one inbox."""
    contents = [(BAD / name).read_bytes() for name in corpus_names()]
    assert len(set(contents)) == len(contents)


@pytest.mark.parametrize("name", _params(corpus_names()))
def test_check_files_names_the_problem(name, tmp_path, registry):
    report = report_of(name, tmp_path, registry)
    assert report["file"] == str(BAD / name)
    errors = [f["message"] for f in report["findings"] if f["severity"] == "error"]
    rests = [int(m.group(1).replace(",", "")) for e in errors if (m := re.match(r"and ([0-9,]+) more findings", e))]
    assert report["errors"] == len(errors) - len(rests) + sum(rests) >= 1  # every error, listed or counted
    assert_reported(report["findings"], EXPECTED[name], name)
    assert {f["rule"] for f in report["findings"]} <= set(registry.rules)


# Files that cannot be read, and the key in [messages.unreadable] of the reason each is given
UNREADABLE_IN_KHMER = {
    "csv_named_xlsx.xlsx": "not_a_workbook",
    "no_data_sheet.xlsx": "no_data_sheet",
    "latin1.csv": "not_utf8_csv",
    "utf16.csv": "utf16_csv",
    "ods_named_xlsx.xlsx": "opendocument",
    "semicolons_and_a_comma_in_a_cell.csv": "separated_by",
    "excel_separator_line.csv": "separator_line",
    "truncated.json": "not_json_at",
    "json_repeated_key_any_case.json": "keys_alike",
    "text_too_long.csv": "long_text",
}
KHMER = re.compile(r"[\u1780-\u17FF]")
ENGLISH_WORD = re.compile(r"[a-z]{3,}")


def _fixed_words(key: str, lang: str) -> list[str]:
    """The words of a reason's text between its `{...}`s."""
    text = message_templates()["unreadable"][key][lang]
    return [piece.strip() for piece in re.split(r"\{[^}]*\}", text) if piece.strip()]


@pytest.mark.parametrize("name", sorted(UNREADABLE_IN_KHMER))
def test_why_a_file_cannot_be_read_is_said_in_khmer(name, tmp_path, registry):
    """The same finding as in English, its reason in Khmer words around what the file holds (column names, keys,
    sheet names) and what a library reading it said, none of the English sentence left."""
    english = report_of(name, tmp_path, registry)
    [khmer] = check_files([BAD / name], settings_for(tmp_path), registry, NOW, "km")
    assert [{k: v for k, v in f.items() if k != "message"} for f in khmer["findings"]] == [
        {k: v for k, v in f.items() if k != "message"} for f in english["findings"]
    ]
    [finding] = [f for f in khmer["findings"] if f["rule"] == "unreadable"]
    said = finding["message"]
    key = UNREADABLE_IN_KHMER[name]
    assert all(words in said for words in _fixed_words(key, "km")), said
    assert not any(words in said for words in _fixed_words(key, "en") if ENGLISH_WORD.search(words)), said
    assert KHMER.search(said)


CLI_IN_CHILD = "import sys; from flows.cli import app; app(sys.argv[1:], prog_name='ctip')"


@pytest.mark.parametrize("name", _params(corpus_names()))
def test_cli_validate_exits_1_without_traceback(name, tmp_path):
    path = BAD / name
    arguments = ["validate", str(path), "--format", "json"]
    if name in ISOLATED:
        child = _child(CLI_IN_CHILD, *arguments)  # the default warehouse of the tests does not exist: judged without
        exit_code, stdout, output, failure = child.returncode, child.stdout, child.stdout + child.stderr, None
    else:
        result = CliRunner().invoke(app, arguments)
        exit_code, stdout, output = result.exit_code, result.stdout, result.output
        failure = None if result.exception is None or isinstance(result.exception, SystemExit) else result.exception
    assert failure is None, f"{type(failure).__name__}: {failure}"
    assert "Traceback" not in output
    assert exit_code == 1, output[-2000:]
    [report] = json.loads(stdout)
    assert report["errors"] >= 1
    assert {f["rule"] for f in report["findings"] if f["severity"] == "error"} == {e.rule for e in EXPECTED[name]}


# ------------------------------------------------------------------ zip bomb
BOMB_IN_CHILD = """
import json, resource, sys, time
from datetime import datetime, timezone
from pathlib import Path
import python_calamine  # loaded before the baseline, like every other library the check uses
from flows.checking import check_files
from flows.settings import Settings
from schemas import load_registry
registry = load_registry()
path, folder = Path(sys.argv[1]), Path(sys.argv[2])
settings = Settings(inbox=folder, warehouse=folder / "w.duckdb")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.process_time()  # the work done, not the wall clock: other processes may share the machine
[report] = check_files([path], settings, registry, datetime.now(timezone.utc))
seconds = time.process_time() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "extra_kib": after - before, "report": report}, default=str))
"""
BOMB_SECONDS = 5  # of CPU: inflating what a bomb declares takes far more
BOMB_EXTRA_KIB = 300 * 1024  # ru_maxrss is in KiB on Linux


@pytest.mark.parametrize(
    "name",
    _params(
        [
            "zip_bomb.xlsx",
            "zip_bomb_declared_small.xlsx",
            "shared_strings_bomb.xlsx",
            "shared_string_long.xlsx",
            "shared_string_repeated.xlsx",
            "xlsx_prefixed_grid_bomb.xlsx",
        ]
    ),
)
def test_zip_bomb_refused_quickly_and_in_little_memory(name, tmp_path):
    child = _child(BOMB_IN_CHILD, str(BAD / name), str(tmp_path), timeout=120)
    assert child.returncode == 0, child.stderr[-2000:]
    outcome = json.loads(child.stdout)
    assert [f["rule"] for f in outcome["report"]["findings"]] == ["unreadable"]
    assert outcome["seconds"] < BOMB_SECONDS
    assert outcome["extra_kib"] < BOMB_EXTRA_KIB, f"peak grew by {outcome['extra_kib'] / 1024:.0f} MiB"


def test_zip_bomb_really_inflates_to_a_gigabyte():
    """The bomb is what its name says: small on disk, 1 GiB declared and real once inflated."""
    import zipfile

    path = BAD / "zip_bomb.xlsx"
    assert path.stat().st_size < 1_500_000
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        assert {"[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"} <= names
        sheet = archive.getinfo("xl/worksheets/sheet1.xml")
        assert sheet.file_size >= 2**30
        with archive.open(sheet) as entry:  # inflate a little only
            assert entry.read(64).startswith(b"<?xml")


# ---------------------------------------------------------- comments kept as sent
COMMENTS = [
    '=HYPERLINK("http://x","y")',
    "+1",
    "-2",
    "@SUM(A1)",
    "ករណីជួញដូរមនុស្ស",
    "ករណីជួញដូរមនុស្ស =1+1 ស្ត្រី និង កុមារ",
    "  two leading spaces, tab\tinside",
    'quotes "inside", and a comma',
]
COMMENT_COLUMNS = ["reporter", "period", "indicator", "area", "value", "comment"]


def _comment_rows() -> list[list]:
    return [["NCCT", "2019-S1", "cases", f"KH-{number}", number, comment] for number, comment in enumerate(COMMENTS, 1)]


def _comments_csv() -> bytes:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COMMENT_COLUMNS)
    writer.writerows(_comment_rows())
    return buffer.getvalue().encode("utf-8")


def _comments_xlsx() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "data"
    for cells in [COMMENT_COLUMNS, *_comment_rows()]:
        sheet.append(cells)
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text as typed, never a formula
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _comments_json() -> bytes:
    observations = [dict(zip(COMMENT_COLUMNS[1:], cells[1:], strict=False)) for cells in _comment_rows()]
    return json.dumps({"reporter": "NCCT", "observations": observations}, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_formula_like_and_khmer_comments_load_byte_exact(fmt, paths):
    inbox, warehouse = paths
    content = {"csv": _comments_csv, "xlsx": _comments_xlsx, "json": _comments_json}[fmt]()
    write_inbox(inbox, {f"ncct_comments.{fmt}": content})
    summary = run(inbox, warehouse)
    assert [s["status"] for s in summary.submissions] == ["loaded"]
    assert [f for f in summary.findings if f["severity"] == "error"] == []
    assert query(warehouse, "select status from audit.submissions") == [("loaded",)]
    stored = dict(query(warehouse, "select area, comment from core.observations"))
    expected = {f"KH-{number}": comment for number, comment in enumerate(COMMENTS, 1)}
    assert stored == expected
    for area, comment in expected.items():
        assert stored[area].encode("utf-8") == comment.encode("utf-8")


# --------------------------------------------------------------- a mixed inbox
def _mixed_inbox(inbox: Path, names: list[str]) -> None:
    files: dict[str, bytes] = {name: (BAD / name).read_bytes() for name in names}
    files.update({name: (SEED / name).read_bytes() for name in SEED_NAMES})
    write_inbox(inbox, files)


def test_mixed_inbox_rejects_every_bad_file_and_loads_the_seed(paths):
    inbox, warehouse = paths
    names = [name for name in corpus_names() if name not in BUGS]
    _mixed_inbox(inbox, names)
    summary = run(inbox, warehouse)

    statuses = dict(query(warehouse, "select file_name, status from audit.submissions"))
    assert statuses == {**{name: "rejected" for name in names}, **{name: "loaded" for name in SEED_NAMES}}
    assert {s["file_name"]: s["status"] for s in summary.submissions} == statuses
    assert summary.ignored == [] and summary.in_progress == []
    assert query(warehouse, "select count(*) from core.observations") == [(SEED_OBSERVATIONS,)]
    # The JSON and XLSX copies restate the CSV's figures unchanged: no second version of any key.
    assert query(warehouse, "select count(*) from core.observation_history") == [(SEED_OBSERVATIONS,)]
    assert query(warehouse, "select count(distinct submission_id) from core.observations") == [(1,)]

    # Judged together in one frame, each file still gets its own findings and only those.
    findings = query(
        warehouse,
        "select file_name, severity, rule, row_number, column_name, message from audit.findings",
    )
    by_file: dict[str, list[dict]] = {}
    for file_name, severity, rule, row_number, column_name, message in findings:
        by_file.setdefault(file_name, []).append(
            {
                "severity": severity,
                "rule": rule,
                "row_number": row_number,
                "column_name": column_name,
                "message": message,
            }
        )
    for name in names:
        assert_reported(by_file.get(name, []), EXPECTED[name], name)
    for name in SEED_NAMES:
        assert [f for f in by_file.get(name, []) if f["severity"] == "error"] == []


MIXED_RUN_IN_CHILD = """
import json, sys
from pathlib import Path
from tests.flows.conftest import query, run
inbox, warehouse = Path(sys.argv[1]), Path(sys.argv[2])
run(inbox, warehouse)
print(json.dumps(dict(query(warehouse, "select file_name, status from audit.submissions"))))
"""


def test_mixed_inbox_with_every_file_survives(tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "warehouse" / "ctip.duckdb"
    names = corpus_names()
    _mixed_inbox(inbox, names)
    child = _child(MIXED_RUN_IN_CHILD, str(inbox), str(warehouse))
    assert child.returncode == 0, child.stderr[-2000:]
    assert json.loads(child.stdout) == {
        **{name: "rejected" for name in names},
        **{name: "loaded" for name in SEED_NAMES},
    }


# ------------------------------------------------- what `ctip validate` refuses to open
def test_validate_refuses_pipes_links_and_devices_without_waiting(tmp_path):
    """A pipe that nobody writes, /dev/zero or a link is named as such at once, never read."""
    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    link = tmp_path / "link.csv"
    link.symlink_to(SEED / "ncct_2019-S1.csv")
    zero = tmp_path / "zero.csv"
    zero.symlink_to("/dev/zero")
    code = CLI_IN_CHILD
    # no --warehouse: the default one (CTIP_WAREHOUSE of the test) does not exist, so validate judges without it
    child = _child(code, "validate", str(pipe), str(link), str(zero), "--format", "json", timeout=120)
    assert child.returncode == 1, child.stderr[-2000:]
    reports = json.loads(child.stdout)
    assert [r["errors"] for r in reports] == [1, 1, 1]
    for report in reports:
        [finding] = report["findings"]
        assert finding["rule"] == "unreadable" and "not a regular file" in finding["message"]
