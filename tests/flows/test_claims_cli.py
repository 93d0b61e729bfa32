"""`ctip claims` on the seed: the news article's percentages judged against the warehouse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import FILES, SEED_INBOX
from tests.flows.conftest import run, write_inbox
from transforms.report import percent_one_decimal

SEED_CLAIMS = FILES / "claims" / "seed_claims.csv"
HEADER = "reporter,indicator,period,base_period,claimed_change_pct"

SAMPLE_INBOX = Path(__file__).resolve().parents[2] / "data" / "inbox"
# The NCCT's second halves beside the sample's first: 2018 = 62 + 80 = 142 and 2019 = 78 + 81 = 159, derived.
SECOND_HALVES = "reporter,period,indicator,value\nNCCT,2018-S2,cases,80\nNCCT,2019-S2,cases,81\n"

runner = CliRunner()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    """A warehouse holding the seed: NCCT 2018-S1 and 2019-S1."""
    folder = tmp_path_factory.mktemp("claims")
    write_inbox(folder / "inbox", SEED_INBOX)
    run(folder / "inbox", folder / "w" / "ctip.duckdb")
    return folder / "w" / "ctip.duckdb"


def claims(path: Path, warehouse: Path, *options: str):
    return runner.invoke(app, ["claims", str(path), "--warehouse", str(warehouse), *options])


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "claims.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_articles_claims_are_rounded_or_truncated(seeded):
    result = claims(SEED_CLAIMS, seeded, "--format", "json")
    assert result.exit_code == 0, result.output
    judged = {item["indicator"]: item for item in json.loads(result.stdout)}
    assert {name: item["verdict"] for name, item in judged.items()} == {
        "cases": "truncated",
        "victims_rescued": "rounded",
        "suspects_to_court": "rounded",
    }
    cases = judged["cases"]
    assert (cases["base_value"], cases["value"], cases["change"]) == (62, 78, 16)
    assert cases["change_pct"] == pytest.approx(25.806, abs=1e-3)
    assert (cases["claimed_change_pct"], cases["rounded"], cases["truncated"]) == ("25", "26", "25")
    assert (judged["victims_rescued"]["rounded"], judged["suspects_to_court"]["rounded"]) == ("148", "14")
    assert judged["victims_rescued"]["base_period"] == "2018-S1"  # the default: a year before


def test_the_table_shows_each_verdict_and_the_computed_change(seeded):
    result = claims(SEED_CLAIMS, seeded)
    assert result.exit_code == 0, result.output
    cases_line = next(line for line in result.stdout.splitlines() if "NCCT cases" in line)
    assert "truncated" in cases_line and "+25.8" in cases_line and "+26" in cases_line
    assert result.stdout.count("rounded") >= 2
    assert "3 claims: rounded 2, truncated 1" in result.stdout


def test_other_verdicts_fail_the_check(seeded, tmp_path):
    path = write(
        tmp_path,
        "\n".join(
            [
                HEADER,
                "NCCT,cases,2019-S1,,21",  # 100 * 16 / 78 = 20.5: over the current value
                "NCCT,cases,2019-S1,,30",
                "NCCT,persons_convicted,2019-S1,,10",
                "NCCT,victims_rescued,2019-S1,,148",
                "NCCT,cases,2019-S1,2017-S1,5",
            ]
        )
        + "\n",
    )
    result = claims(path, seeded, "--format", "json")
    assert result.exit_code == 1, result.output
    judged = json.loads(result.stdout)
    assert [item["verdict"] for item in judged] == ["wrong_base", "no_match", "not_found", "rounded", "not_found"]
    assert "divided by the 2019-S1 value 78, not by the 2018-S1 base 62" in judged[0]["detail"]
    assert judged[2]["detail"] == "the warehouse holds no value for 2019-S1 and no base value for 2018-S1"
    assert judged[4]["detail"] == "the warehouse holds no base value for 2017-S1"
    assert judged[3]["claim"] == "NCCT victims_rescued 2019-S1 against 2018-S1"


def test_cuts_and_case_folding(seeded, tmp_path):
    path = write(
        tmp_path,
        "reporter,indicator,period,claimed_change_pct,age, Sex \n"
        " ncct ,VICTIMS_RESCUED,2019s1,148.1,,\n"
        "ncct,victims_rescued,2019-S1,0,y_lt15,\n",
    )
    result = claims(path, seeded, "--format", "json")
    judged = json.loads(result.stdout)
    assert [item["verdict"] for item in judged] == ["rounded", "not_found"]
    assert judged[1]["age"] == "Y_LT15" and judged[1]["value"] == 70 and judged[1]["base_value"] is None
    assert "no base value for 2018-S1" in judged[1]["detail"] and result.exit_code == 1


def test_usage_errors_exit_2(seeded, tmp_path):
    assert claims(tmp_path / "missing.csv", seeded).exit_code == 2
    no_column = claims(write(tmp_path, "reporter,indicator,period\nNCCT,cases,2019-S1\n"), seeded)
    assert no_column.exit_code == 2 and "no column 'claimed_change_pct'" in no_column.output
    bad_cell = claims(write(tmp_path, f"{HEADER}\nNCCT,cases,2019-S1,,twenty\n"), seeded)
    assert bad_cell.exit_code == 2 and "row 2, column claimed_change_pct" in bad_cell.output
    assert claims(SEED_CLAIMS, seeded, "--format", "xml").exit_code == 2


def test_without_a_warehouse_it_says_so(tmp_path):
    result = claims(SEED_CLAIMS, tmp_path / "none" / "ctip.duckdb")
    assert result.exit_code == 2 and "no warehouse there" in result.output


def test_help():
    result = runner.invoke(app, ["claims", "--help"])
    assert result.exit_code == 0 and "--warehouse" in result.output and "claimed_change_pct" in result.output


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (f"{HEADER}\nNCCT,cases,2019-S1,2018-S1,25,9\n", "row 2 has 6 cells but the header names 5 columns"),
        (f"{HEADER}\nNCCT,cases,2019-S1,2018-S1,25,,,x\n", "row 2 has 8 cells"),
        (f"{HEADER},period\nNCCT,cases,2019-S1,2018-S1,25,2019-S1\n", "the column 'period' appears more than once"),
        (f"{HEADER}\n", "holds no claim"),
        (f"{HEADER}\n,,,,\n", "holds no claim"),
    ],
)
def test_a_claims_file_of_the_wrong_shape_exits_2_and_says_why(seeded, tmp_path, text, says):
    """A decimal comma splits 25,9 into a claim of 25 and a stray cell: never judged as 25."""
    result = claims(write(tmp_path, text), seeded)
    assert result.exit_code == 2, result.output
    assert says in result.output and "Traceback" not in result.output


def test_a_claims_file_that_is_a_pipe_or_a_link_exits_2(seeded, tmp_path):
    import os

    pipe = tmp_path / "pipe.csv"
    os.mkfifo(pipe)
    result = claims(pipe, seeded)
    assert result.exit_code == 2 and "not a regular file" in result.output
    link = tmp_path / "link.csv"
    link.symlink_to(SEED_CLAIMS)
    result = claims(link, seeded)
    assert result.exit_code == 2 and "not a regular file" in result.output


@pytest.fixture(scope="module")
def sampled(tmp_path_factory) -> Path:
    """A warehouse holding the sample inbox (MOSVY's 2019-S1 and 2018-S1 derived from quarters) and the NCCT's
    second halves (its 2018 and 2019 derived from halves)."""
    folder = tmp_path_factory.mktemp("claims-sample")
    files = {path.name: path.read_bytes() for path in sorted(SAMPLE_INBOX.iterdir()) if path.suffix != ".txt"}
    write_inbox(folder / "inbox", files | {"ncct_s2.csv": SECOND_HALVES})
    run(folder / "inbox", folder / "w" / "ctip.duckdb")
    return folder / "w" / "ctip.duckdb"


def _compared(warehouse: Path, period: str) -> list[dict]:
    result = runner.invoke(app, ["compare", period, "--warehouse", str(warehouse), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_derived_figures_are_judged_as_compare_shows_them(sampled, tmp_path):
    path = write(
        tmp_path,
        "reporter,indicator,period,claimed_change_pct\n"
        "MOSVY,victims_rescued,2019-S1,148.1\n"
        "NCCT,cases,2019,12\n"
        "NCCT,cases,2019,12.0\n",
    )
    result = claims(path, sampled, "--format", "json")
    assert result.exit_code == 0, result.output
    mosvy, year, year_to_a_decimal = json.loads(result.stdout)
    assert (mosvy["base_value"], mosvy["value"], mosvy["verdict"]) == (106, 263, "rounded")
    assert (mosvy["base_is_derived"], mosvy["is_derived"]) == (True, True)
    assert mosvy["detail"] == "263 (derived) against 106 (derived): +148.113% rounds to +148.1%"
    assert (year["base_value"], year["value"], year["is_derived"], year["verdict"]) == (142, 159, True, "rounded")
    assert year_to_a_decimal["verdict"] == "rounded" and year_to_a_decimal["rounded"] == "12.0"
    table = claims(path, sampled)
    assert table.exit_code == 0 and "3 claims: rounded 3" in table.stdout and "(derived)" in table.stdout
    (compared,) = [
        row
        for row in _compared(sampled, "2019")
        if (row["reporter"], row["indicator"], row["area"], row["cut"]) == ("NCCT", "cases", "KH", "total")
    ]
    assert (compared["base_value"], compared["value"], compared["is_derived"]) == (142, 159, True)


@pytest.mark.parametrize("period", ["2019-S1", "2019"])
def test_every_change_compare_shows_is_a_rounded_claim(sampled, tmp_path, period):
    """Each row of `ctip compare`, quoted to one decimal as reports quote it, is a claim `ctip claims` finds
    rounded against the same figures, derived or reported."""
    rows = [row for row in _compared(sampled, period) if row["base_value"]]
    assert any(row["is_derived"] for row in rows)
    dimensions = [name for name in rows[0] if name in ("sex", "age", "citizenship", "referral", "offence", "country")]
    lines = ["reporter,indicator,period,area," + ",".join(dimensions) + ",claimed_change_pct"]
    for row in rows:
        quoted = percent_one_decimal(row["change"], row["base_value"]).removesuffix("%")
        lines.append(
            ",".join([row["reporter"], row["indicator"], period, row["area"], *(row[d] for d in dimensions), quoted])
        )
    result = claims(write(tmp_path, "\n".join(lines) + "\n"), sampled, "--format", "json")
    assert result.exit_code == 0, result.output
    judged = json.loads(result.stdout)
    assert [item["verdict"] for item in judged] == ["rounded"] * len(rows)
    assert [(item["base_value"], item["value"], item["is_derived"], item["base_is_derived"]) for item in judged] == [
        (row["base_value"], row["value"], row["is_derived"], row["base_is_derived"]) for row in rows
    ]
    assert any(row["base_is_derived"] for row in rows)  # compare marks a derived base as claims does
