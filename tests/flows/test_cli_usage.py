"""Wrong usage exits 2 with a plain message and no traceback, before anything is read, taken or written."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import flows.backfill
from flows.cli import app
from tests.conftest import SEED
from tests.flows.conftest import write_inbox

runner = CliRunner()


def invoke(*arguments: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(arguments), env=env)


def assert_wrong_usage(result, *phrases: str) -> None:
    """Exit 2, the phrases in the message, and no Python traceback."""
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    flat = " ".join(result.output.split())  # the message may wrap at the console width
    for phrase in phrases:
        assert phrase in flat, (phrase, result.output)


@pytest.fixture
def csv_file(tmp_path):
    path = tmp_path / "figures.csv"
    path.write_bytes((SEED / "ncct_2019-S1.csv").read_bytes())
    return path


def test_a_missing_inbox_is_wrong_usage_and_creates_nothing(tmp_path):
    warehouse = tmp_path / "w" / "ctip.duckdb"
    result = invoke("run", "--inbox", str(tmp_path / "no" / "such" / "dir"), "--warehouse", str(warehouse))
    assert_wrong_usage(result, "does not exist", "--inbox")
    assert not warehouse.parent.exists()


def test_an_inbox_that_is_a_file_is_wrong_usage(tmp_path, csv_file):
    result = invoke("run", "--inbox", str(csv_file), "--warehouse", str(tmp_path / "w" / "ctip.duckdb"))
    assert_wrong_usage(result, "is a file, not a folder")
    assert not (tmp_path / "w").exists()


def test_a_misspelt_ctip_inbox_is_wrong_usage(tmp_path):
    result = invoke(
        "run", "--warehouse", str(tmp_path / "w" / "ctip.duckdb"), env={"CTIP_INBOX": str(tmp_path / "inbx")}
    )
    assert_wrong_usage(result, "CTIP_INBOX", "does not exist")
    assert not (tmp_path / "w").exists()


# Commands that read a warehouse given with --warehouse (OUT.html stands for a path in the test's folder).
READING_COMMANDS = [
    ["compare", "2019-S1"],
    ["validate", str(SEED / "ncct_2019-S1.csv")],
    ["describe"],
    ["claims", str(SEED.parent / "claims" / "seed_claims.csv")],
    ["report", "2019-S1", "--out", "OUT.html"],
    ["backfill", "--from", "2019-S1", "--to", "2019-S2"],
    ["submissions"],
    ["findings"],
]


@pytest.mark.parametrize("command", READING_COMMANDS + [["export", "--public", "PUBLIC"], ["run", "--inbox", "INBOX"]])
def test_a_csv_given_as_warehouse_is_wrong_usage(command, tmp_path, csv_file):
    (tmp_path / "inbox").mkdir()
    arguments = [
        a.replace("PUBLIC", str(tmp_path / "public"))
        .replace("OUT.html", str(tmp_path / "out.html"))
        .replace("INBOX", str(tmp_path / "inbox"))
        for a in command
    ]
    result = invoke(*arguments, "--warehouse", str(csv_file))
    assert_wrong_usage(result, "is not a ctip warehouse", "not a DuckDB database file")
    assert not (tmp_path / "public").exists() and not (tmp_path / "out.html").exists()
    assert not csv_file.with_name(csv_file.name + ".ctip").exists()


@pytest.mark.parametrize("command", READING_COMMANDS)
def test_a_warehouse_option_naming_nothing_is_wrong_usage_for_commands_that_read(command, tmp_path):
    arguments = [a.replace("OUT.html", str(tmp_path / "out.html")) for a in command]
    result = invoke(*arguments, "--warehouse", str(tmp_path / "typo.duckdb"))
    assert_wrong_usage(result, "no warehouse there")
    assert not (tmp_path / "typo.duckdb").exists()


@pytest.mark.parametrize(
    "command", [c for c in READING_COMMANDS if c[0] not in ("validate", "describe")] + [["remind"]]
)
def test_ctip_warehouse_naming_nothing_is_wrong_usage_as_the_option_is(command, tmp_path):
    """The variable names the warehouse as the option does: a mistyped path is wrong usage (exit 2), said with the
    variable's name; only the default warehouse, not made yet, is "run ctip run first" (exit 1)."""
    arguments = [a.replace("OUT.html", str(tmp_path / "out.html")) for a in command]
    result = invoke(*arguments, env={"CTIP_WAREHOUSE": str(tmp_path / "typo.duckdb")})
    assert_wrong_usage(result, "CTIP_WAREHOUSE", "no warehouse there")
    assert not (tmp_path / "typo.duckdb").exists()


def test_without_a_warehouse_validate_still_judges_a_file_against_itself(tmp_path):
    """An outlier or a derived mismatch between a file's own figures, as the run of the file alone would find."""
    outlier = tmp_path / "outlier.csv"
    outlier.write_text(
        "reporter,period,indicator,value\nMOI,2019-S1,suspects_to_court,41\nMOI,2018-S1,suspects_to_court,10\n"
    )
    derived = tmp_path / "derived.csv"
    derived.write_text(
        "reporter,period,indicator,value\nMOI,2018,suspects_arrested,30\n"
        "MOI,2018-S1,suspects_arrested,10\nMOI,2018-S2,suspects_arrested,10\n"
    )
    result = invoke("validate", str(outlier), str(derived), "--format", "json")
    assert result.exit_code == 0, result.output
    rules = {Path(r["file"]).name: [f["rule"] for f in r["findings"]] for r in json.loads(result.stdout)}
    assert rules == {"outlier.csv": ["outlier"], "derived.csv": ["derived_mismatch"]}


def test_an_outliers_change_is_rounded_as_compare_rounds_it(tmp_path):
    """+325.25% exactly: half away from zero, +325.3% (a float's rounding gives +325.2%)."""
    outlier = tmp_path / "outlier.csv"
    outlier.write_text(
        "reporter,period,indicator,value\nMOI,2019-S1,suspects_to_court,1701\nMOI,2018-S1,suspects_to_court,400\n"
    )
    result = invoke("validate", str(outlier), "--format", "json")
    (finding,) = json.loads(result.stdout)[0]["findings"]
    assert finding["rule"] == "outlier" and "a change of +325.3% against 400" in finding["message"]


def test_validate_says_when_ctip_warehouse_names_nothing(tmp_path):
    result = invoke("validate", str(SEED / "ncct_2019-S1.csv"), env={"CTIP_WAREHOUSE": str(tmp_path / "typo.duckdb")})
    assert result.exit_code == 0 and "CTIP_WAREHOUSE names no warehouse" in result.stderr
    assert not (tmp_path / "typo.duckdb").exists()


def test_a_missing_default_warehouse_is_fine_for_validate():
    result = invoke("validate", str(SEED / "ncct_2019-S1.csv"))  # the tests' CTIP_WAREHOUSE names nothing
    assert result.exit_code == 0, result.output


def test_a_folder_given_as_warehouse_is_wrong_usage(tmp_path):
    assert_wrong_usage(invoke("compare", "2019-S1", "--warehouse", str(tmp_path)), "is a folder")


@pytest.mark.parametrize(
    "command",
    [
        ["validate", str(SEED / "ncct_2019-S1.csv"), "--format", "xml"],
        ["compare", "2019-S1", "--format", "xml"],
        ["describe", "--format", "html"],
        ["claims", str(SEED.parent / "claims" / "seed_claims.csv"), "--format", "xml"],
        ["submissions", "--format", "xml"],
        ["findings", "--format", "csv"],
    ],
)
def test_an_unknown_format_is_wrong_usage(command):
    result = invoke(*command)
    assert_wrong_usage(result, "--format")
    assert "'xml'" in result.output or "'html'" in result.output or "'csv'" in result.output


@pytest.mark.parametrize(("first", "last"), [("2019-S2", "2019-S1"), ("2019", "2018-Q4"), ("2019-07", "2019-Q2")])
def test_a_reversed_or_empty_backfill_range_fails_before_anything_starts(first, last, tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(flows.backfill, "backfill", lambda **arguments: started.append(arguments))
    result = invoke("backfill", "--from", first, "--to", last, "--warehouse", str(tmp_path / "w" / "ctip.duckdb"))
    assert_wrong_usage(result, "is empty", "--to")
    assert started == [] and not (tmp_path / "w").exists()


@pytest.mark.parametrize(
    ("base", "phrase"),
    [
        ("2018-Q1", "2018-Q1 is a quarter and 2019-S1 a half"),
        ("2018", "2018 is a year and 2019-S1 a half"),
        ("2019-S1", "the period itself"),
        ("2019-S2", "later than 2019-S1"),
        ("2020-S1", "later than 2019-S1"),
        ("2019-S7", "is not a period"),
    ],
)
def test_compare_base_must_be_an_earlier_period_of_the_same_length(base, phrase):
    assert_wrong_usage(invoke("compare", "2019-S1", "--base", base), phrase)


def test_compare_base_of_a_year_to_date_must_be_as_long():
    assert_wrong_usage(invoke("compare", "2019-01/2019-06", "--base", "2018-01/2018-03"), "of 6 months")


@pytest.mark.parametrize(
    ("variable", "value", "phrase"),
    [
        ("CTIP_TIMEZONE", "Mars/Olympus_Mons", "CTIP_TIMEZONE is 'Mars/Olympus_Mons', which is not a time zone"),
        ("CTIP_TIMEZONE", "../../etc/passwd", "not a time zone"),
        ("CTIP_LOCK_TIMEOUT", "ten minutes", "CTIP_LOCK_TIMEOUT is 'ten minutes'"),
        ("CTIP_LOCK_TIMEOUT", "-1", "not a number of seconds"),
        ("CTIP_SCHEDULE", "every night", "CTIP_SCHEDULE is 'every night', which is not a cron schedule"),
    ],
)
def test_a_bad_setting_is_found_before_anything_is_taken(variable, value, phrase, tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(inbox, {"ncct.csv": (SEED / "ncct_2019-S1.csv").read_bytes()})
    result = invoke("run", "--inbox", str(inbox), "--warehouse", str(warehouse), env={variable: value})
    assert_wrong_usage(result, phrase)
    assert not (tmp_path / "w").exists()  # nothing archived, no receipt
    assert [p.name for p in inbox.iterdir()] == ["ncct.csv"]


@pytest.mark.parametrize(
    "command", [["compare", "2019-S1"], ["validate", str(SEED / "ncct_2019-S1.csv")], ["describe"]]
)
def test_every_command_checks_the_settings(command):
    assert_wrong_usage(invoke(*command, env={"CTIP_TIMEZONE": "Nowhere/Town"}), "CTIP_TIMEZONE")


def test_serve_checks_its_inbox_and_settings_before_starting(tmp_path):
    warehouse = str(tmp_path / "w" / "ctip.duckdb")
    assert_wrong_usage(
        invoke("serve", "--inbox", str(tmp_path / "nowhere"), "--warehouse", warehouse), "does not exist"
    )
    (tmp_path / "inbox").mkdir()
    result = invoke(
        "serve", "--inbox", str(tmp_path / "inbox"), "--warehouse", warehouse, env={"CTIP_SCHEDULE": "0 2 * *"}
    )
    assert_wrong_usage(result, "CTIP_SCHEDULE is '0 2 * *', which is not a cron schedule")
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("command", [["run"], ["serve"], ["remind"]])
def test_a_duckdb_file_of_ones_own_is_wrong_usage_for_commands_that_write_and_is_left_as_it_was(command, tmp_path):
    import duckdb

    (tmp_path / "inbox").mkdir()
    own = tmp_path / "mine.duckdb"
    with duckdb.connect(str(own)) as con:
        con.execute("create table notes as select 42 as x")
    before = own.read_bytes()
    inbox = ["--inbox", str(tmp_path / "inbox")] if command[0] != "remind" else []
    result = invoke(*command, *inbox, "--warehouse", str(own))
    assert_wrong_usage(result, "is not a ctip warehouse", "without ctip's relations")
    assert own.read_bytes() == before and not own.with_name(own.name + ".ctip").exists()


def test_an_analyst_file_copied_without_its_folder_is_wrong_usage_for_a_run_and_is_left_as_it_was(tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(inbox, {"ncct.csv": (SEED / "ncct_2019-S1.csv").read_text()})
    assert invoke("run", "--inbox", str(inbox), "--warehouse", str(warehouse)).exit_code == 0
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(warehouse.read_bytes())
    result = invoke("run", "--inbox", str(inbox), "--warehouse", str(copy))
    assert_wrong_usage(result, "is not a ctip warehouse", "without the folder copy.duckdb.ctip")
    assert copy.read_bytes() == warehouse.read_bytes() and not copy.with_name("copy.duckdb.ctip").exists()
    assert invoke("run", "--inbox", str(inbox), "--warehouse", str(warehouse)).exit_code == 0  # its own: as before


def test_portal_checks_its_inbox_before_serving(tmp_path, csv_file):
    """A typo in --inbox would put every upload where no run looks."""
    warehouse = str(tmp_path / "w" / "ctip.duckdb")
    result = invoke("portal", "--inbox", str(tmp_path / "inbx"), "--warehouse", warehouse, "--port", "1")
    assert_wrong_usage(result, "does not exist", "--inbox")
    assert_wrong_usage(invoke("portal", "--inbox", str(csv_file), "--warehouse", warehouse), "is a file")
    assert not (tmp_path / "inbx").exists() and not (tmp_path / "w").exists()


def test_portal_checks_its_warehouse_and_its_port_before_serving(tmp_path):
    """A mistyped --warehouse would serve accounts nobody has (and make a folder there); a port in use would
    fail after the judges had started. Both are wrong usage, said at once, and nothing is made."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    nowhere = tmp_path / "nowhere" / "ctip.duckdb"
    result = invoke("portal", "--inbox", str(inbox), "--warehouse", str(nowhere), "--port", "1")
    assert_wrong_usage(result, "--warehouse", "there is no folder")
    assert not nowhere.parent.exists()
    own = tmp_path / "own.duckdb"
    duckdb.connect(str(own)).close()
    assert_wrong_usage(invoke("portal", "--inbox", str(inbox), "--warehouse", str(own)), "is not a ctip warehouse")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = str(taken.getsockname()[1])
        warehouse = str(tmp_path / "w.duckdb")
        result = invoke("portal", "--inbox", str(inbox), "--warehouse", warehouse, "--port", port)
        assert_wrong_usage(result, f"--port {port}", "cannot listen there")
    finally:
        taken.close()


def test_a_dask_scheduler_that_does_not_answer_leaves_the_run_to_one_process(tmp_path):
    from flows.local_server import free_port

    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(inbox, {"ncct.csv": (SEED / "ncct_2019-S1.csv").read_bytes()})
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    both = invoke("run", "--inbox", str(inbox), "--warehouse", str(warehouse), "--workers", "2", "--scheduler", address)
    assert_wrong_usage(both, "--workers and --scheduler")
    result = invoke("run", "--inbox", str(inbox), "--warehouse", str(warehouse), "--scheduler", address)
    assert result.exit_code == 0, result.output
    assert "did not answer" in result.stderr and "one process" in result.stderr and "Loaded 1" in result.stdout


def test_a_place_a_command_cannot_write_is_wrong_usage_before_any_work(tmp_path):
    """A file on the path of an output folder (or a place of the system): exit 2 naming the option, before the
    work (a disclosure audit of minutes, a generated inbox, a run) is done, never a traceback."""
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    inbox = tmp_path / "inbox"
    write_inbox(inbox, {"ncct.csv": (SEED / "ncct_2019-S1.csv").read_bytes()})
    warehouse = tmp_path / "w" / "ctip.duckdb"
    assert invoke("run", "--inbox", str(inbox), "--warehouse", str(warehouse)).exit_code == 0
    cases = {
        ("generate", "--out", str(blocker / "inbox"), "--years", "2019"): "--out",
        ("template", "--reporter", "MOI", "--period", "2019-S1", "--out", str(blocker / "t.xlsx")): "--out",
        ("export", "--public", str(blocker / "public"), "--warehouse", str(warehouse)): "--public",
        ("export", "--sdmx", str(blocker), "--warehouse", str(warehouse)): "--sdmx",
        ("export", "--duckdb", str(blocker / "copy.duckdb"), "--warehouse", str(warehouse)): "--duckdb",
        ("report", "2019-S1", "--out", str(blocker / "r.html"), "--warehouse", str(warehouse)): "--out",
        ("run", "--inbox", str(inbox), "--warehouse", str(blocker / "ctip.duckdb")): "--warehouse",
    }
    for arguments, option in cases.items():
        assert_wrong_usage(invoke(*arguments), option, "a file" if arguments[-1] == str(blocker) else "")


def test_a_schedule_that_is_not_cron_is_wrong_usage_before_serving(tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    warehouse = str(tmp_path / "w" / "ctip.duckdb")
    result = invoke("serve", "--inbox", str(inbox), "--warehouse", warehouse, "--remind-schedule", "61 * * * *")
    assert_wrong_usage(result, "--remind-schedule", "not a cron schedule")
    monkeypatch.setenv("CTIP_SCHEDULE", "0 25 * * *")
    assert_wrong_usage(invoke("serve", "--inbox", str(inbox), "--warehouse", warehouse), "CTIP_SCHEDULE")


def test_generate_into_a_generated_inbox_is_wrong_usage(tmp_path):
    """Its files would be written over (a run would take the changed ones as restatements) and its manifest
    replaced: a generated inbox is not generated into again."""
    out = tmp_path / "inbox"
    first = invoke("generate", "--out", str(out), "--years", "2019", "--provinces", "none", "--reporters", "MOI")
    assert first.exit_code == 0, first.output
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = invoke("generate", "--out", str(out), "--years", "2019", "--seed", "7", "--reporters", "MOI")
    assert_wrong_usage(again, "--out", "already", "generated", ".manifest.json")  # the box wraps the sentence
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
