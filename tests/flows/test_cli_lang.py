"""`ctip validate --lang km`: the findings in Khmer, their rows, columns, rules and figures as they are."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from flows.cli import app
from schemas.texts import message_templates

runner = CliRunner()
DRAFT = Path(__file__).resolve().parents[2] / "data" / "inbox" / "mosvy_2019-Q2_draft.csv"  # parts off by 2
KHMER = re.compile(r"[\u1780-\u17FF]")
BAD = """reporter,period,indicator,age,value,comment
MOSVY,2019-Q2,victims_rescued,_T,143,
MOSVY,2019-Q2,victims_rescued,Y_LT15,1.5,
MOSVY,2019-Q2,victims_rescued,Y_XX,16,
"""


def _template_words(rule: str, key: str, lang: str) -> list[str]:
    """The fixed words of a template: the text between its `{...}`s."""
    return [piece.strip() for piece in re.split(r"\{[^}]*\}", message_templates()[rule][key][lang]) if piece.strip()]


def _json(arguments: list[str]) -> list[dict]:
    result = runner.invoke(app, ["validate", *arguments, "--format", "json"])
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)


def test_a_bad_file_is_judged_in_khmer_with_rows_columns_and_codes_unchanged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no default warehouse here: judged without one
    path = tmp_path / "mosvy.csv"
    path.write_text(BAD, encoding="utf-8")
    english = {f["rule"]: f for f in _json([str(path)])[0]["findings"]}
    khmer = {f["rule"]: f for f in _json([str(path), "--lang", "km"])[0]["findings"]}
    assert set(khmer) == set(english) == {"bad_value", "unknown_code"}
    for rule in khmer:  # the same finding, only its words translated
        assert {k: v for k, v in khmer[rule].items() if k != "message"} == {
            k: v for k, v in english[rule].items() if k != "message"
        }
    bad = khmer["bad_value"]
    assert (bad["row_number"], bad["column_name"]) == (3, "value")
    assert bad["message"].startswith("ជួរទី 3 ជួរឈរ value៖ '1.5' ")
    assert all(words in bad["message"] for words in _template_words("bad_value", "not_whole", "km"))
    assert english["bad_value"]["message"].startswith("row 3, column value: '1.5' is not a whole number")
    unknown = khmer["unknown_code"]
    assert unknown["row_number"] == 4 and "'Y_XX'" in unknown["message"] and "Y_LT15" in unknown["message"]
    assert all(words in unknown["message"] for words in _template_words("unknown_code", "unknown", "km"))


def test_the_table_speaks_khmer_around_the_findings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["validate", str(DRAFT), "--lang", "km"])
    assert result.exit_code == 1, result.output
    said = " ".join(result.output.split())
    assert "មិនត្រឹមត្រូវ (កំហុស 1, ការព្រមាន 0)" in said  # invalid (1 error, 0 warnings)
    assert "parts_differ_from_total" in said and "ជួរទី 2៖" in said  # the rule's code and the row as they are
    assert "141" in said and "143" in said and "ផលបូក" in said
    assert "Message" not in said and "add up to" not in said
    english = runner.invoke(app, ["validate", str(DRAFT)])
    assert "invalid (1 error, 0 warnings)" in english.output and KHMER.search(english.output) is None


def test_an_unknown_language_is_wrong_usage(tmp_path):
    result = runner.invoke(app, ["validate", str(DRAFT), "--lang", "fr"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
