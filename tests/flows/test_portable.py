"""The analyst file away from its folder: `ctip export --duckdb FILE` copies that work anywhere, and a moved
live file that says what is wrong in words."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import SEED
from tests.flows.conftest import NOW, query, run, write_inbox

runner = CliRunner()
HEADER = "reporter,period,indicator,area,sex,age,citizenship,referral,offence,country,value,status,comment\n"
QUESTIONS = {
    "observations": "select * from core.observations order by all",
    "comparison": "select * from marts.period_comparison order by all",
    "as_of": f"select * from core.observations_as_of('{NOW:%Y-%m-%d %H:%M:%S}') order by all",
    "relations": "select schema_name, table_name from duckdb_tables() where database_name = current_database() "
    "union all select schema_name, view_name from duckdb_views() "
    "where database_name = current_database() and not internal order by all",
    "macros": "select distinct schema_name, function_name from duckdb_functions() "
    "where database_name = current_database() and function_type in ('macro', 'table_macro') order by all",
}
# A plain DuckDB user elsewhere: another process, another working folder, nothing of ctip imported.
PLAIN = """
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(json.dumps({name: [list(map(str, row)) for row in con.sql(sql).fetchall()]
                  for name, sql in json.loads(sys.argv[2]).items()}))
"""


def _warehouse(tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "site" / "ctip.duckdb"
    write_inbox(
        inbox,
        {
            "ncct_2019-S1.csv": (SEED / "ncct_2019-S1.csv").read_bytes(),
            "moi.csv": HEADER + "MOI,2019-S1,cases,KH,_T,_T,_T,_T,_T,_T,75,A,\n",
        },
    )
    run(inbox, warehouse)
    # a later correction, so that the figures as of the first run differ from today's
    write_inbox(
        inbox, {"moi-2.csv": HEADER + "MOI,2019-S1,cases,KH,_T,_T,_T,_T,_T,_T,77,A,\n"}, start_mtime=1_800_000_000
    )
    run(inbox, warehouse, NOW.replace(hour=5))
    return warehouse


def _ask_plainly(database, cwd) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PLAIN, str(database), json.dumps(QUESTIONS)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_an_exported_file_works_anywhere_it_is_copied(tmp_path):
    warehouse = _warehouse(tmp_path)
    live = _ask_plainly(warehouse, tmp_path)
    assert live["observations"] and live["comparison"] and live["as_of"] != live["observations"]

    exported = tmp_path / "out" / "ctip-copy.duckdb"
    result = runner.invoke(app, ["export", "--duckdb", str(exported), "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert "ctip-copy.duckdb" in result.output
    elsewhere = tmp_path / "laptop" / "Documents"
    elsewhere.mkdir(parents=True)
    copied = elsewhere / "figures.duckdb"
    shutil.copy(exported, copied)
    shutil.rmtree(warehouse.parent)  # the live file, its segments and everything beside them are gone
    shutil.rmtree(exported.parent)
    assert _ask_plainly(copied, elsewhere) == live  # the same relations, macros, rows and history
    assert not query(copied, "select * from duckdb_views() where database_name = current_database() and not internal")


def test_a_moved_live_file_says_so_in_words(tmp_path):
    warehouse = _warehouse(tmp_path)
    moved = tmp_path / "shared-drive" / "ctip.duckdb"
    shutil.move(warehouse.parent, moved.parent)  # the file and its .ctip folder, to another place
    for command in (
        ["compare", "2019-S1"],
        ["export", "--public", str(tmp_path / "public")],
        ["export", "--duckdb", str(tmp_path / "copy.duckdb")],
        ["report", "2019-S1", "--out", str(tmp_path / "r.html")],
    ):
        result = runner.invoke(app, [*command, "--warehouse", str(moved)])
        assert result.exit_code == 1, (command, result.output)
        said = " ".join(result.output.split())
        assert "moved or copied away from where ctip published it" in said and "ctip export --duckdb" in said, command
        assert "No files found" not in result.output and "Traceback" not in result.output, command
    assert not (tmp_path / "copy.duckdb").exists()


def test_export_needs_a_target(tmp_path):
    result = runner.invoke(app, ["export", "--warehouse", str(tmp_path / "ctip.duckdb")])
    assert result.exit_code == 2 and "--duckdb" in result.output
