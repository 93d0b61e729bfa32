"""The Prefect flow end to end, on the seed in each format, and the command line."""

from __future__ import annotations

import shutil
from datetime import UTC

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.nightly import nightly
from tests.conftest import SEED
from tests.flows.conftest import query, write_inbox

HEADLINE = """select indicator, base_value, value, round(change_pct, 1) from marts.period_comparison
  where reporter = 'NCCT' and area = 'KH' and period = '2019-S1' and sex = '_T' and age = '_T'
  and citizenship = '_T' and referral = '_T' and offence = '_T' and country = '_T'
  and indicator <> 'marriage_applications' order by indicator"""
CONTRACT = [("cases", 62, 78, 25.8), ("suspects_to_court", 85, 97, 14.1), ("victims_rescued", 106, 263, 148.1)]

runner = CliRunner()


@pytest.mark.parametrize("file_format", ["csv", "json", "xlsx"])
def test_flow_on_the_seed_in_each_format(prefect_harness, tmp_path, file_format):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    inbox.mkdir()
    shutil.copy(SEED / f"ncct_2019-S1.{file_format}", inbox)
    summary = nightly(inbox=str(inbox), warehouse=str(warehouse))
    assert [s["status"] for s in summary.submissions] == ["loaded"]
    assert query(warehouse, HEADLINE) == CONTRACT
    assert query(warehouse, "select format, reporter, status from audit.submissions") == [
        (file_format, "NCCT", "loaded")
    ]


def test_flow_publishes_data_docs_and_an_outcome_artifact(prefect_harness, tmp_path):
    from prefect.artifacts import Artifact

    from flows.nightly import OUTCOMES_ARTIFACT

    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(
        inbox,
        {
            "ncct.csv": (SEED / "ncct_2019-S1.csv").read_bytes(),
            "bad.csv": "reporter,period,indicator,value\nMOI,2019,cases,x\n",
        },
    )
    nightly(inbox=str(inbox), warehouse=str(warehouse), validation_pages=True)
    docs = tmp_path / "w" / "ctip.duckdb.ctip" / "docs"
    assert (docs / "index.html").is_file()
    assert any((docs / "validations").rglob("*.html"))
    artifact = Artifact.get(OUTCOMES_ARTIFACT)
    assert artifact is not None and artifact.type == "table"
    assert (
        "bad.csv" in str(artifact.data) and "rejected" in str(artifact.data) and "bad_value" not in str(artifact.data)
    )
    assert "is not a whole number" in str(artifact.data)


def test_cli_run_then_compare(tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    inbox.mkdir()
    shutil.copy(SEED / "ncct_2019-S1.csv", inbox)
    result = runner.invoke(app, ["run", "--inbox", str(inbox), "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert "Loaded 1, rejected 0" in result.output

    compared = runner.invoke(app, ["compare", "2019s1", "--warehouse", str(warehouse), "--reporter", "ncct"])
    assert compared.exit_code == 0, compared.output
    assert "+25.8%" in compared.output and "+148.1%" in compared.output and "+14.1%" in compared.output

    nothing = runner.invoke(app, ["compare", "2017-S1", "--warehouse", str(warehouse)])
    assert nothing.exit_code == 1
    no_base = runner.invoke(app, ["compare", "2018-S1", "--warehouse", str(warehouse)])
    assert no_base.exit_code == 1 and "no figures for 2017-S1" in no_base.output
    other_base = runner.invoke(app, ["compare", "2019-S1", "--base", "2018-S1", "--warehouse", str(warehouse)])
    assert other_base.exit_code == 0 and "+25.8%" in other_base.output


def test_cli_run_reports_a_failed_run_with_exit_1(tmp_path, monkeypatch):
    from flows import steps

    inbox = tmp_path / "inbox"
    write_inbox(inbox, {"a.csv": "reporter,period,indicator,value\nMOI,2019,cases,1\n"})

    def failing(*args, **kwargs):
        raise OSError(5, "Input/output error", "the archive")  # the machine failing the run, not a file

    monkeypatch.setattr(steps, "receive", failing)
    result = runner.invoke(app, ["run", "--inbox", str(inbox), "--warehouse", str(tmp_path / "w" / "ctip.duckdb")])
    assert result.exit_code == 1
    assert "ctip run failed: OSError" in result.output and "Input/output error" in result.output
    # a file where the warehouse's folder should be is wrong usage, said before anything is done
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the warehouse folder should be")
    result = runner.invoke(app, ["run", "--inbox", str(inbox), "--warehouse", str(blocker / "ctip.duckdb")])
    assert result.exit_code == 2 and "it is a file, not a folder" in " ".join(result.output.split())


def test_cli_usage_errors_exit_2(tmp_path):
    assert runner.invoke(app, ["compare"]).exit_code == 2
    assert runner.invoke(app, ["compare", "2019-S7"]).exit_code == 2
    assert runner.invoke(app, ["run", "--no-such-option"]).exit_code == 2
    assert runner.invoke(app, ["validate", str(tmp_path / "missing.csv")]).exit_code == 2


@pytest.mark.parametrize("command", ["run", "validate", "compare"])
def test_every_command_answers_help(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "--warehouse" in result.output


def test_cli_validate_good_and_bad_files(tmp_path):
    nowhere: list[str] = []  # the default warehouse (CTIP_WAREHOUSE of the tests) does not exist: judged without
    good = runner.invoke(app, ["validate", str(SEED / "ncct_2019-S1.xlsx"), str(SEED / "ncct_2019-S1.json"), *nowhere])
    assert good.exit_code == 0, good.output
    assert good.output.count("valid (0 errors") == 2

    bad = tmp_path / "bad.csv"
    bad.write_text("reporter,period,indicator,value\nMOI,2019-S1,cases,12\nMOI,2019-S1,persons_convicted,3\n")
    result = runner.invoke(app, ["validate", str(bad), "--format", "json", *nowhere])
    assert result.exit_code == 1
    assert '"rule": "not_allowed"' in result.output and '"row_number": 3' in result.output
    assert '"column_name": "indicator"' in result.output


def test_cli_compare_as_of_shows_what_was_known_then(tmp_path):
    from datetime import timedelta

    from tests.flows.conftest import NOW, run

    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    seed = (SEED / "ncct_2019-S1.csv").read_text()
    write_inbox(inbox, {"ncct.csv": seed})
    run(inbox, warehouse)
    write_inbox(inbox, {"ncct.csv": seed.replace(",78,", ",93,")}, start_mtime=1_800_000_000)
    run(inbox, warehouse, NOW + timedelta(days=2))
    first_received = query(warehouse, "select min(received_at) from audit.submissions")[0][0]
    an_hour_later_utc = (first_received + timedelta(hours=1)).astimezone(UTC).replace(tzinfo=None)
    then = runner.invoke(
        app,
        [
            "compare",
            "2019-S1",
            "--as-of",
            an_hour_later_utc.isoformat(),  # no zone: UTC
            "--warehouse",
            str(warehouse),
        ],
    )
    assert then.exit_code == 0, then.output
    assert "+25.8%" in then.output and "as known at" in then.output
    now = runner.invoke(app, ["compare", "2019-S1", "--warehouse", str(warehouse)])
    assert f"{100 * (93 - 62) / 62:+.1f}%" in now.output and "+25.8%" not in now.output
    assert runner.invoke(app, ["compare", "2019-S1", "--as-of", "yesterday"]).exit_code == 2
