"""`ctip template`: the blank workbook validates empty and filled in, and a wrong code is found where it was typed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from flows.checking import check_files
from flows.cli import app
from flows.settings import Settings
from schemas.registry import TOTAL
from transforms.template import template_columns

runner = CliRunner()
TOTAL_VALUE = 100


def make(tmp_path: Path, reporter: str, period: str = "2019-S1", lang: str = "en") -> Path:
    out = tmp_path / f"{reporter}-{lang}.xlsx"
    result = runner.invoke(
        app, ["template", "--reporter", reporter, "--period", period, "--out", str(out), "--lang", lang]
    )
    assert result.exit_code == 0, result.output
    return out


def judge(path: Path, registry, tmp_path: Path) -> dict:
    settings = Settings(inbox=tmp_path / "inbox", warehouse=tmp_path / "none" / "ctip.duckdb")
    (report,) = check_files([path], settings, registry, datetime(2026, 11, 28, tzinfo=UTC))
    return report


def fill(path: Path, registry) -> Path:
    """Values that agree with every rule: totals of 100, the first code of each dimension holds it all."""
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["data"]
    header = [cell.value for cell in sheet[1]]
    picked = set()
    for cells in sheet.iter_rows(min_row=2):
        row = dict(zip(header, (c.value for c in cells), strict=False))
        cut = [(name, row[name]) for name in registry.dimension_names if row[name] != TOTAL]
        value = TOTAL_VALUE
        if cut:
            ((name, code),) = cut
            dimension = registry.dimensions[name]
            if code is None:  # a row whose code the sender picks: the first of them gets a country
                if (row["indicator"], name) in picked:
                    continue
                picked.add((row["indicator"], name))
                cells[header.index(name)].value = "TH"
                value = 0
            elif name in ("citizenship", "country"):
                value = TOTAL_VALUE if code == "KH" else 0
            else:
                first = dimension.leaves[0]
                covers = dimension.aggregates.get(code, {code})
                value = TOTAL_VALUE if first in covers else 0
        cells[header.index("value")].value = value
    workbook.save(path)
    return path


@pytest.mark.parametrize("reporter", ["NCCT", "MOI", "MOJ", "MOSVY", "MFAIC"])
def test_a_template_left_empty_or_filled_in_validates(reporter, registry, tmp_path):
    path = make(tmp_path, reporter)
    empty = judge(path, registry, tmp_path)
    assert (empty["errors"], empty["warnings"]) == (0, 0), empty["findings"]
    filled = judge(fill(path, registry), registry, tmp_path)
    assert (filled["errors"], filled["warnings"]) == (0, 0), filled["findings"]
    sheet = openpyxl.load_workbook(path)["data"]
    assert [c.value for c in sheet[1]] == list(template_columns(registry))
    indicators = {row[2] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert indicators == set(registry.reporters[reporter].indicators)


def test_a_wrong_code_typed_over_a_drop_down_is_found_at_its_row_and_column(registry, tmp_path):
    path = fill(make(tmp_path, "MOI"), registry)
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["data"]
    header = [c.value for c in sheet[1]]
    wrong_row = next(c.row for c in sheet["E"][1:] if c.value == "F")  # column E is sex
    assert header[4] == "sex"
    sheet.cell(wrong_row, 5).value = "W"
    workbook.save(path)
    report = judge(path, registry, tmp_path)
    assert [(f["rule"], f["row_number"], f["column_name"]) for f in report["findings"] if f["severity"] == "error"] == [
        ("unknown_code", wrong_row, "sex")
    ]


def test_every_coded_cell_has_a_drop_down_and_the_codes_sheet_both_labels(registry, tmp_path):
    path = make(tmp_path, "MOSVY", lang="km")
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["data"]
    validated = {str(v.sqref).split(":")[0].rstrip("0123456789"): v for v in sheet.data_validations.dataValidation}
    header = [c.value for c in sheet[1]]
    letters = {name: openpyxl.utils.get_column_letter(i + 1) for i, name in enumerate(header)}
    coded = ["reporter", "indicator", "area", *registry.dimension_names, "status"]
    assert {name for name in coded if letters[name] in validated and validated[letters[name]].type == "list"} == set(
        coded
    )
    assert validated[letters["value"]].type == "whole"
    codes = {(row[0], row[1]): (row[2], row[3]) for row in workbook["codes"].iter_rows(min_row=2, values_only=True)}
    assert codes[("area", "KH-12")] == ("Phnom Penh", "ភ្នំពេញ")
    assert codes[("sex", "F")] == ("female", "ស្រី")
    assert codes[("indicator", "victims_rescued")] == ("victims rescued", "ជនរងគ្រោះដែលបានជួយសង្គ្រោះ")
    instructions = workbook["instructions"]["A1"].value
    assert "ក្រសួងសង្គមកិច្ច" in instructions and "2019-S1" in instructions


def test_wrong_usage_exits_2(tmp_path):
    def invoke(*options):
        return runner.invoke(app, ["template", *options])

    assert invoke("--reporter", "POLICE", "--period", "2019-S1", "--out", str(tmp_path / "t.xlsx")).exit_code == 2
    assert invoke("--reporter", "MOI", "--period", "2019-S9", "--out", str(tmp_path / "t.xlsx")).exit_code == 2
    assert invoke("--reporter", "MOI", "--period", "2019-S1", "--out", str(tmp_path / "t.csv")).exit_code == 2
    assert (
        invoke("--reporter", "MOI", "--period", "2019-S1", "--out", str(tmp_path / "t.xlsx"), "--lang", "fr").exit_code
        == 2
    )
    assert not (tmp_path / "t.xlsx").exists()


def test_with_a_warehouse_the_instructions_say_what_it_holds_of_the_period(tmp_path):
    from tests.conftest import SEED
    from tests.flows.conftest import run, write_inbox

    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(inbox, {"ncct.csv": (SEED / "ncct_2019-S1.csv").read_text()})
    run(inbox, warehouse)

    def notes(period: str, lang: str = "en") -> list[str]:
        out = tmp_path / f"{period}-{lang}.xlsx"
        options = ["--reporter", "NCCT", "--period", period, "--out", str(out), "--lang", lang]
        result = runner.invoke(app, ["template", *options, "--warehouse", str(warehouse)])
        assert result.exit_code == 0, result.output
        column = [row[0] for row in openpyxl.load_workbook(out)["instructions"].iter_rows(values_only=True)]
        return [line for line in column[column.index(None) + 1 :] if line and not line[0].isdigit()]

    held = notes("2019-S1")
    assert len(held) == 1 and held[0].startswith("The warehouse already holds ") and "NCCT for 2019-S1" in held[0]
    assert notes("2017-S1") == []
    approve = ["approve", "NCCT", "2019-S1", "--by", "Dara", "--warehouse", str(warehouse)]
    assert runner.invoke(app, approve).exit_code == 0
    (approved,) = notes("2019-S1")
    assert approved.startswith("NCCT 2019-S1 was approved by Dara on ") and "period_approved" in approved
    (khmer,) = notes("2019-S1", "km")
    assert "ត្រូវបានអនុម័តដោយ Dara" in khmer
    wrong = ["template", "--reporter", "NCCT", "--period", "2019-S1", "--out", str(tmp_path / "t.xlsx")]
    assert runner.invoke(app, [*wrong, "--warehouse", str(tmp_path / "typo.duckdb")]).exit_code == 2
    assert not (tmp_path / "t.xlsx").exists()


def test_an_empty_template_sent_does_not_make_its_period_received(registry, tmp_path):
    """A reporter-period is received only from a submission holding a figure of it (REPORTING.md section 3):
    the template sent back empty names its period and holds none, so the period stays missing."""
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    inbox.mkdir()
    path = make(tmp_path, "MOSVY", period="2019-Q2")

    def status() -> str:
        result = runner.invoke(
            app, ["completeness", "2019-Q2", "--reporter", "MOSVY", "--format", "json", "--warehouse", str(warehouse)]
        )
        [row] = json.loads(result.stdout)
        return row["status"]

    (inbox / "mosvy_empty.xlsx").write_bytes(path.read_bytes())
    assert runner.invoke(app, ["run", "--inbox", str(inbox), "--warehouse", str(warehouse)]).exit_code == 0
    assert status() == "missing"
    (inbox / "mosvy_filled.xlsx").write_bytes(fill(path, registry).read_bytes())
    assert runner.invoke(app, ["run", "--inbox", str(inbox), "--warehouse", str(warehouse)]).exit_code == 0
    assert status() == "late"


def test_the_errors_of_a_file_are_counted_whatever_the_cap_lists(registry, tmp_path):
    """At most `max_findings_per_rule` findings of a rule are listed, and one counts the rest; a file's count of
    errors is of them all (the receipt's, `validate`'s and the portal's `errors`)."""
    from dataclasses import replace

    capped = replace(registry, limits=replace(registry.limits, max_findings_per_rule=3))
    path = tmp_path / "bad.csv"
    rows = "".join(f"MOI,{year}-S1,cases,many\n" for year in range(2013, 2020))
    path.write_text("reporter,period,indicator,value\n" + rows, encoding="utf-8")
    settings = Settings(inbox=tmp_path / "inbox", warehouse=tmp_path / "none" / "ctip.duckdb")
    (report,) = check_files([path], settings, capped, datetime(2026, 11, 28, tzinfo=UTC))
    assert len(report["findings"]) == 4 and any("4 more findings" in f["message"] for f in report["findings"])
    assert report["errors"] == 7


def test_a_template_for_a_period_that_has_not_begun_is_wrong_usage(tmp_path):
    out = tmp_path / "moi.xlsx"
    result = runner.invoke(app, ["template", "--reporter", "MOI", "--period", "2099-S1", "--out", str(out)])
    assert result.exit_code == 2 and "has not begun" in result.output and not out.exists()
