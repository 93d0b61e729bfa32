"""What the command line prints: the run summary, compare in three formats, help, operator listings.

Everything a file brings (names, cells, messages) is printed as it is, never read as Rich markup.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, timedelta, timezone

import pytest
import typer.rich_utils
from typer.testing import CliRunner

from flows.cli import app
from flows.cli.nightly import print_summary
from flows.settings import Settings
from tests.conftest import SEED
from tests.flows.conftest import query, run, write_inbox

runner = CliRunner()
HEADER = "reporter,period,indicator,area,sex,age,citizenship,referral,offence,country,value,status,comment"
PROVINCES = (
    "\n".join(
        [
            HEADER,
            "NCCT,2019-S1,cases,KH-10,_T,_T,_T,_T,_T,_T,5,A,",
            "NCCT,2018-S1,cases,KH-10,_T,_T,_T,_T,_T,_T,4,A,",
            "NCCT,2019-S1,cases,KH-2,_T,_T,_T,_T,_T,_T,3,A,",
            "NCCT,2018-S1,cases,KH-2,_T,_T,_T,_T,_T,_T,2,A,",
        ]
    )
    + "\n"
)
ONE_BAD_VALUE = f"{HEADER}\nMOI,2019-S1,cases,KH,_T,_T,_T,_T,_T,_T,[bold]12,A,\n"
FIVE_ERRORS = (
    HEADER
    + "\n"
    + "".join(
        f"MOI,2019-S1,cases,KH,_T,_T,_T,_T,_T,{country},x{n},A,\n"
        for n, country in enumerate(["_T", "TH", "VN", "CN", "MY"])
    )
)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """The seed, provinces KH-10 and KH-2, and a rejected file with a markup-like name and cell."""
    folder = tmp_path_factory.mktemp("cli-output")
    inbox, warehouse = folder / "inbox", folder / "w" / "ctip.duckdb"
    write_inbox(
        inbox,
        {
            "ncct.csv": (SEED / "ncct_2019-S1.csv").read_bytes(),
            "provinces.csv": PROVINCES,
            "[bold red]x.csv": ONE_BAD_VALUE,
        },
    )
    summary = run(inbox, warehouse)
    assert [s["status"] for s in summary.submissions] == ["loaded", "loaded", "rejected"]
    return warehouse


def compare(warehouse, *options: str):
    return runner.invoke(app, ["compare", "2019-S1", "--reporter", "NCCT", "--warehouse", str(warehouse), *options])


# ------------------------------------------------------------------ compare
def test_compare_table_sorts_provinces_by_number_with_labels_base_first(seeded):
    result = compare(seeded)
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.index("KH-2 (Battambang)") < out.index("KH-10 (Kratie)")
    assert "age: Y_LT15 (under 15)" in flat(out)
    header = next(line for line in out.splitlines() if "Change %" in line)
    assert header.index("2018-S1") < header.index("2019-S1")


def test_compare_csv_for_spreadsheets(seeded):
    result = compare(seeded, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    columns = list(rows[0])
    assert columns.index("base_period") < columns.index("base_value") < columns.index("period") < columns.index("value")
    cases = [r for r in rows if r["indicator"] == "cases" and r["cut"] == "total"]
    assert [(r["area"], r["area_label"]) for r in cases] == [
        ("KH", "Cambodia"),
        ("KH-2", "Battambang"),
        ("KH-10", "Kratie"),
    ]
    assert (cases[0]["base_value"], cases[0]["value"], cases[0]["change"]) == ("62", "78", "16")
    assert any(r["cut"] == "age: Y_LT15 (under 15)" for r in rows)


def test_compare_json_for_machines(seeded):
    result = compare(seeded, "--format", "json")
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    headline = next(r for r in records if r["indicator"] == "cases" and r["area"] == "KH" and r["cut"] == "total")
    assert headline["base_value"] == 62 and headline["value"] == 78 and round(headline["change_pct"], 1) == 25.8


def test_the_report_has_the_same_column_order_and_province_order(seeded, tmp_path):
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "2019-S1", "--out", str(out), "--warehouse", str(seeded)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert '<th class="num">2018-S1</th><th class="num">2019-S1</th>' in page
    assert '<th class="num">2019-S1</th><th class="num">2018-S1</th>' not in page
    assert page.index("KH-2 (Battambang)") < page.index("KH-10 (Kratie)")


def test_compare_as_of_in_another_zone_is_titled_in_that_zone_and_in_utc(seeded):
    first = query(seeded, "select min(received_at) from audit.submissions")[0][0]
    later = (first + timedelta(hours=1)).astimezone(timezone(timedelta(hours=7))).replace(microsecond=0)
    result = compare(seeded, "--as-of", later.isoformat())
    assert result.exit_code == 0, result.output
    utc = later.astimezone(UTC)
    assert f"as known at {later:%Y-%m-%d %H:%M:%S}+07:00 ({utc:%Y-%m-%d %H:%M:%S} UTC)" in flat(result.output)
    assert f"{later:%Y-%m-%d %H:%M:%S} UTC" not in result.output


def test_compare_as_of_before_anything_was_known_says_so(seeded):
    result = compare(seeded, "--as-of", "2001-01-01")
    assert result.exit_code == 1
    assert "Nothing was known at 2001-01-01 00:00:00 UTC: the first submission was received at" in flat(result.output)


def test_compare_never_cuts_a_figure_when_not_a_terminal(tmp_path):
    big, base = 9_223_372_036_854_775_000, 1_234_567_890_123_456_789
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(
        inbox,
        {
            "big.csv": "\n".join(
                [
                    HEADER,
                    f"NCCT,2019-S1,cases,KH,_T,_T,_T,_T,_T,_T,{big},A,a comment long enough to need wrapping in a narrow column",
                    f"NCCT,2018-S1,cases,KH,_T,_T,_T,_T,_T,_T,{base},A,",
                    f"NCCT,2019-S1,victims_rescued,KH,_T,_T,_T,_T,_T,_T,{big},A,",
                    f"NCCT,2018-S1,victims_rescued,KH,_T,_T,_T,_T,_T,_T,{base},A,",
                    f"NCCT,2019-S1,victims_rescued,KH,_T,Y_LT15,_T,_T,_T,_T,{big - 5},A,",
                    f"NCCT,2018-S1,victims_rescued,KH,_T,Y_LT15,_T,_T,_T,_T,{base - 5},A,",
                ]
            )
            + "\n"
        },
    )
    assert [s["status"] for s in run(inbox, warehouse).submissions] == ["loaded"]
    result = compare(warehouse)
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    for figure in (big, base, big - base, big - 5, base - 5):
        assert f"{figure:,}" in result.output, figure
    assert max(len(line) for line in result.output.splitlines()) <= 160


# -------------------------------------------------------------- validate
def test_validate_counts_in_the_right_number(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text(ONE_BAD_VALUE)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert "(1 error, 0 warnings)" in result.output and "1 errors" not in result.output
    assert "'[bold]12' is not a whole number" in flat(result.output)  # the cell as it is, not as markup


# ------------------------------------------------------------------ help
COMMANDS = [
    "run",
    "serve",
    "backfill",
    "validate",
    "compare",
    "claims",
    "describe",
    "export",
    "report",
    "generate",
    "submissions",
    "findings",
]


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_help_shows_no_python_types_and_no_broken_sentences(command, monkeypatch):
    monkeypatch.setattr(typer.rich_utils, "MAX_WIDTH", 1000)
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    for python_type in ("<bool>", "<str>", "<int>", "<float>", "<path>", "<list[", "<Path"):
        assert python_type not in result.output, (command, python_type)
    target = next(
        (c for c in app.registered_commands if command and (c.name or c.callback.__name__) == command[0]), None
    )
    doc = (target.callback.__doc__ or "") if target and target.help is None else ""
    for paragraph in doc.split("\n\n"):
        sentence = " ".join(paragraph.replace("`", "").split())
        if sentence:  # each paragraph of the docstring stays one line at a wide terminal
            assert any(sentence in " ".join(line.strip(" │").split()) for line in result.output.splitlines()), sentence


def test_run_help_gives_exit_code_2():
    assert "2 for wrong usage" in flat(runner.invoke(app, ["run", "--help"]).output)


# -------------------------------------------------------------- listings
def test_submissions_lists_the_latest_files_and_filters(seeded):
    every = json.loads(runner.invoke(app, ["submissions", "--warehouse", str(seeded), "--format", "json"]).stdout)
    assert [s["file_name"] for s in every] == ["[bold red]x.csv", "provinces.csv", "ncct.csv"]
    rejected = runner.invoke(app, ["submissions", "--warehouse", str(seeded), "--status", "rejected"])
    assert rejected.exit_code == 0 and "[bold red]x.csv" in rejected.output and "ncct.csv" not in rejected.output
    ncct = json.loads(
        runner.invoke(
            app, ["submissions", "--warehouse", str(seeded), "--reporter", "ncct", "--limit", "1", "--format", "json"]
        ).stdout
    )
    assert [s["file_name"] for s in ncct] == ["provinces.csv"]


def test_findings_lists_findings_by_rule_reporter_and_file(seeded):
    result = runner.invoke(app, ["findings", "--warehouse", str(seeded), "--rule", "bad_value"])
    assert result.exit_code == 0, result.output
    assert "[bold red]x.csv" in result.output and "'[bold]12' is not a whole number" in flat(result.output)
    found = json.loads(
        runner.invoke(
            app,
            ["findings", "--warehouse", str(seeded), "--reporter", "MOI", "--status", "rejected", "--format", "json"],
        ).stdout
    )
    assert [(f["file_name"], f["rule"], f["row_number"], f["column_name"]) for f in found] == [
        ("[bold red]x.csv", "bad_value", 2, "value")
    ]
    assert (
        json.loads(
            runner.invoke(
                app, ["findings", "--warehouse", str(seeded), "--reporter", "NCCT", "--format", "json"]
            ).stdout
        )
        == []
    )
    assert runner.invoke(app, ["findings", "--warehouse", str(seeded), "--rule", "bad_values"]).exit_code == 2


# ------------------------------------------------------------ run summary
def test_a_duplicate_names_its_original_and_its_fate_from_an_earlier_run(tmp_path, capsys):
    """A clerk renames a rejected file and sends it again: the summary names the file those bytes came in and
    what became of it, and says how to send them again (the same bytes are never judged twice)."""
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(
        inbox, {"moi_report.xlsx": ONE_BAD_VALUE.encode(), "ncct.csv": (SEED / "ncct_2019-S1.csv").read_bytes()}
    )
    run(inbox, warehouse)
    write_inbox(
        inbox, {"moi_report.csv": ONE_BAD_VALUE.encode(), "ncct_again.csv": (SEED / "ncct_2019-S1.csv").read_bytes()}
    )
    summary = run(inbox, warehouse)
    capsys.readouterr()
    print_summary(summary, Settings(inbox=inbox, warehouse=warehouse))
    text = flat(capsys.readouterr().out)
    assert "moi_report.csv (same bytes as moi_report.xlsx, rejected)" in text
    assert "ncct_again.csv (same bytes as ncct.csv, loaded)" in text
    assert "to send again the figures of a rejected file" in text


def test_an_earlier_version_put_back_under_its_name_is_said_not_applied_again(tmp_path, capsys):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    first = "reporter,period,indicator,value\nMOJ,2019-S2,suspects_to_court,40\n"
    write_inbox(inbox, {"moj_2019-S2.csv": first})
    run(inbox, warehouse)
    write_inbox(inbox, {"moj_2019-S2.csv": first.replace(",40", ",41")}, start_mtime=1_700_000_100)
    assert run(inbox, warehouse).put_back == []
    write_inbox(inbox, {"moj_2019-S2.csv": first}, start_mtime=1_700_000_200)
    summary = run(inbox, warehouse)
    assert (summary.count("loaded"), summary.put_back) == (0, ["moj_2019-S2.csv"])
    capsys.readouterr()
    print_summary(summary, Settings(inbox=inbox, warehouse=warehouse))
    text = flat(capsys.readouterr().out)
    assert "Put back as they were before, not applied again" in text and "moj_2019-S2.csv" in text
    assert query(warehouse, "select value from core.observations where reporter = 'MOJ'") == [(41,)]
    # a later version rejected, the loaded one put back: what the warehouse holds, nothing to say
    other = "reporter,period,indicator,value\nMOJ,2019-S1,suspects_to_court,7\n"
    (inbox / "moj_2019-S2.csv").unlink()
    write_inbox(inbox, {"moj_2019-S1.csv": other}, start_mtime=1_700_000_300)
    run(inbox, warehouse)
    write_inbox(inbox, {"moj_2019-S1.csv": other.replace(",7", ",x")}, start_mtime=1_700_000_400)
    assert run(inbox, warehouse).count("rejected") == 1
    write_inbox(inbox, {"moj_2019-S1.csv": other}, start_mtime=1_700_000_500)
    assert run(inbox, warehouse).put_back == []


def test_the_summary_gives_counts_rejections_and_warnings_by_rule(tmp_path, capsys):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    noted = (SEED / "ncct_2019-S1.csv").read_text().replace("comment\n", "comment,note\n", 1)
    write_inbox(
        inbox,
        {
            "ncct.csv": (SEED / "ncct_2019-S1.csv").read_bytes(),
            "[bold red]x.csv": ONE_BAD_VALUE,
            "[@a=(]bad.csv": FIVE_ERRORS,
            "noted_1.csv": noted.replace("NCCT,", "NCCT,", 1),
            "noted_2.csv": noted + "NCCT,2017-S1,cases,KH,_T,_T,_T,_T,_T,_T,50,A,,\n",
            "notes.txt": "not a submission",
        },
    )
    summary = run(inbox, warehouse)
    settings = Settings(inbox=inbox, warehouse=warehouse)
    capsys.readouterr()
    print_summary(summary, settings)
    out = capsys.readouterr().out
    text = flat(out)
    assert "Loaded 3, rejected 2, duplicates 0" in text
    assert "Rejected (2 files):" in text
    assert "[bold red]x.csv (MOI): 1 error, 0 warnings" in text
    assert "bad_value: row 2, column value: '[bold]12' is not a whole number" in text
    assert "[@a=(]bad.csv (MOI): 9 errors, 0 warnings" in text  # a bad value and a country cases is not cut by
    assert "… and 6 more findings: ctip findings --file '[@a=(]bad.csv'" in text
    assert "unknown_column: 2 warnings in 2 files; all of them: ctip findings --rule unknown_column" in text
    assert "noted_1.csv: the column 'note' is not in the contract" in text
    assert "Ignored (not .csv, .xlsx or .json, or hidden): notes.txt" in text
    assert "ncct.csv" not in out  # a file loaded without a finding is listed only with --verbose
    print_summary(summary, settings, verbose=True)
    assert "ncct.csv" in capsys.readouterr().out


def test_one_more_finding_is_singular(tmp_path, capsys):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(
        inbox,
        {
            "four.csv": HEADER
            + "\n"
            + "".join(f"MOI,{2019 - n}-S1,cases,KH,_T,_T,_T,_T,_T,_T,x{n},A,\n" for n in range(4))
        },
    )
    summary = run(inbox, warehouse)
    capsys.readouterr()
    print_summary(summary, Settings(inbox=inbox, warehouse=warehouse))
    text = flat(capsys.readouterr().out)
    assert "… and 1 more finding:" in text and "1 more findings" not in text


def test_cli_run_prints_names_as_they_are_and_no_progress_unless_asked(tmp_path, capsys):
    from flows.orchestrator import run as nightly_run

    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(inbox, {"[@a=(]bad.csv": FIVE_ERRORS, "ncct.csv": (SEED / "ncct_2019-S1.csv").read_bytes()})
    result = runner.invoke(app, ["run", "--inbox", str(inbox), "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "[@a=(]bad.csv (MOI): 9 errors" in flat(result.output)
    assert "reading and validating" not in result.output
    write_inbox(inbox, {"again.csv": ONE_BAD_VALUE}, start_mtime=1_800_000_000)
    capsys.readouterr()
    nightly_run(Settings(inbox=inbox, warehouse=warehouse), show_progress=True)
    shown = capsys.readouterr().err
    assert "reading and validating" in shown and "loading" in shown
