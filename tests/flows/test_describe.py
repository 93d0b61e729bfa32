"""`ctip describe`: the data dictionary, derived from the analyst file, relations.toml and the registry."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.describe import relation_notes
from flows.settings import PROJECT_DIR
from tests.conftest import SEED
from tests.flows.conftest import run, write_inbox
from warehouse.queries import ANALYST_SCHEMAS, relations

DATA_DICTIONARY = PROJECT_DIR / "docs" / "data_dictionary.md"

runner = CliRunner()


@pytest.fixture(scope="module")
def empty_warehouse(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("describe")
    (folder / "inbox").mkdir()
    run(folder / "inbox", folder / "w" / "ctip.duckdb")
    return folder / "w" / "ctip.duckdb"


def describe(*options: str):
    return runner.invoke(app, ["describe", *options])


def test_every_relation_has_a_grain_and_every_grain_a_relation(empty_warehouse):
    with duckdb.connect(str(empty_warehouse), read_only=True) as con:
        found = {r["name"] for r in relations(con)}
    notes = relation_notes()
    assert found - set(notes) == set(), "relations of the analyst file missing from warehouse/sql/relations.toml"
    assert set(notes) - found == set(), "entries of warehouse/sql/relations.toml that the analyst file does not hold"
    assert {name.split(".")[0] for name in found} == set(ANALYST_SCHEMAS)
    for name, note in notes.items():
        assert set(note) == {"grain", "description"}, name
        assert note["grain"].startswith("one row per "), name
        assert note["description"].strip(), name


def test_the_committed_page_is_what_describe_prints_now(tmp_path):
    result = describe("--format", "markdown")  # the default warehouse of the tests does not exist: an empty one
    assert result.exit_code == 0, result.output
    assert DATA_DICTIONARY.read_text(encoding="utf-8") == result.stdout, (
        "docs/data_dictionary.md is stale: regenerate it with `make docs` and commit it"
    )


def test_json_lists_relations_columns_and_code_lists(empty_warehouse, registry):
    result = describe("--format", "json", "--warehouse", str(empty_warehouse))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    by_name = {r["name"]: r for r in data["relations"]}
    assert [r["name"] for r in data["relations"]] == sorted(by_name)
    assert {
        "core.observations",
        "core.observation_history",
        "core.observations_as_of",
        "marts.period_comparison",
        "marts.reporter_disagreements",
        "audit.submissions",
        "audit.findings",
        "audit.publication",
        "core.periods",
        "core.reporters",
        "core.reporter_indicators",
        "core.indicators",
        "core.codes",
        "core.areas",
    } <= set(by_name)
    comparison = {c["name"]: c["type"] for c in by_name["marts.period_comparison"]["columns"]}
    assert comparison["value"] == comparison["base_value"] == comparison["change"] == "BIGINT"
    assert comparison["change_pct"] == "DOUBLE"
    macro = by_name["core.observations_as_of"]
    assert (macro["kind"], macro["parameters"]) == ("table macro", ["ts"])
    assert macro["columns"] == by_name["core.observations"]["columns"]
    assert by_name["core.observations"]["kind"] == "view" and by_name["core.codes"]["kind"] == "table"
    assert by_name["core.observations"]["grain"] == relation_notes()["core.observations"]["grain"]

    assert data["key"] == {"columns": list(registry.key_columns), "total": "_T", "national_area": "KH"}
    assert [r["code"] for r in data["reporters"]] == list(registry.reporters)
    moj = next(r for r in data["reporters"] if r["code"] == "MOJ")
    assert moj["indicators"] == ["suspects_to_court", "persons_convicted"] and not moj["consolidates"]
    cases = next(i for i in data["indicators"] if i["code"] == "cases")
    assert (cases["unit"], cases["dimensions"], cases["reporters"]) == ("case", ["offence"], ["NCCT", "MOI"])
    age = {c["code"]: c for c in next(d for d in data["dimensions"] if d["name"] == "age")["codes"]}
    assert age["Y_LT18"]["kind"] == "aggregate" and age["Y_LT18"]["stands_for"] == ["Y_LT15", "Y15T17"]
    assert age["Y_LT15"]["aggregate"] == "Y_LT18" and age["_T"]["kind"] == "total" and age["_U"]["kind"] == "unknown"
    assert len(data["areas"]) == len(registry.areas) and data["areas"][0]["code"] == "KH"


def test_the_same_for_any_warehouse_and_without_paths(empty_warehouse, tmp_path):
    write_inbox(tmp_path / "inbox", {"ncct.csv": (SEED / "ncct_2019-S1.csv").read_bytes()})
    run(tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb")
    loaded = describe("--warehouse", str(tmp_path / "w" / "ctip.duckdb"))
    empty = describe("--warehouse", str(empty_warehouse))
    assert loaded.exit_code == empty.exit_code == 0
    assert loaded.stdout == empty.stdout
    assert str(tmp_path) not in loaded.stdout and str(empty_warehouse.parent) not in empty.stdout
    assert "## Relations" in loaded.stdout and "### marts.period_comparison" in loaded.stdout


def test_usage_and_unreadable_warehouse(tmp_path):
    assert describe("--format", "html").exit_code == 2
    not_duckdb = tmp_path / "notes.duckdb"
    not_duckdb.write_text("not a database")
    result = describe("--warehouse", str(not_duckdb))
    assert result.exit_code == 2 and "not a ctip warehouse" in result.output
    named_nothing = describe("--warehouse", str(tmp_path / "none" / "ctip.duckdb"))
    assert named_nothing.exit_code == 2 and "no warehouse there" in named_nothing.output
    assert "Traceback" not in result.output + named_nothing.output


def test_help():
    result = describe("--help")
    assert result.exit_code == 0 and "--warehouse" in result.output and "--format" in result.output
