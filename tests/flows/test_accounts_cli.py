"""`ctip accounts`: the password on the last line of standard output, the contract's exit statuses."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from flows.cli import app
from warehouse.accounts import AccountStore
from warehouse.layout import WarehouseFiles

runner = CliRunner()


def accounts(warehouse, *arguments):
    return runner.invoke(app, ["accounts", *arguments, "--warehouse", str(warehouse)])


def test_add_prints_a_password_that_signs_in_on_the_last_line(tmp_path):
    warehouse = tmp_path / "ctip.duckdb"
    result = accounts(warehouse, "add", "sokha", "--reporter", "mosvy", "--email", "sokha@mosvy.gov.kh", "--lang", "km")
    assert result.exit_code == 0, result.output
    password = result.stdout.splitlines()[-1]
    assert "sokha" in result.stderr and password not in result.stderr
    signed = AccountStore(WarehouseFiles(warehouse).accounts_db).sign_in("sokha", password, "portal")
    assert (signed.account.reporter, signed.account.lang, signed.account.role) == ("MOSVY", "km", "sender")


def test_add_exits_1_for_an_existing_user_and_2_for_wrong_usage(tmp_path):
    warehouse = tmp_path / "ctip.duckdb"
    assert accounts(warehouse, "add", "dara", "--reporter", "MOI").exit_code == 0
    again = accounts(warehouse, "add", "dara", "--reporter", "MOI")
    assert again.exit_code == 1 and "exists" in again.stderr
    unknown = accounts(warehouse, "add", "vichea", "--reporter", "POLICE")
    assert unknown.exit_code == 2 and "POLICE" in unknown.stderr and "Traceback" not in unknown.output
    assert accounts(warehouse, "add", "vichea", "--reporter", "MOI", "--role", "boss").exit_code == 2
    assert accounts(warehouse, "add", "vichea", "--reporter", "MOI", "--email", "not-an-address").exit_code == 2
    assert accounts(warehouse, "add", "../etc", "--reporter", "MOI").exit_code == 2
    reviewer = accounts(warehouse, "add", "vichea", "--reporter", "MOI", "--role", "reviewer")
    assert reviewer.exit_code == 2 and "NCCT" in reviewer.stderr and "--role" in reviewer.stderr
    assert [a["user"] for a in json.loads(accounts(warehouse, "list", "--format", "json").stdout)] == ["dara"]


def test_reset_and_disable_exit_1_for_an_unknown_user(tmp_path):
    warehouse = tmp_path / "ctip.duckdb"
    first = accounts(warehouse, "add", "dara", "--reporter", "MOI").stdout.splitlines()[-1]
    reset = accounts(warehouse, "reset", "dara")
    assert reset.exit_code == 0
    store = AccountStore(WarehouseFiles(warehouse).accounts_db)
    assert not store.sign_in("dara", first, "portal").ok
    assert store.sign_in("dara", reset.stdout.splitlines()[-1], "portal").ok
    assert accounts(warehouse, "reset", "nobody").exit_code == 1
    assert accounts(warehouse, "disable", "nobody").exit_code == 1
    assert accounts(warehouse, "disable", "dara").exit_code == 0
    listed = json.loads(accounts(warehouse, "list", "--format", "json").stdout)
    assert listed == [
        {
            "user": "dara",
            "reporter": "MOI",
            "role": "sender",
            "email": None,
            "lang": "en",
            "enabled": False,
            "last_sign_in_at": listed[0]["last_sign_in_at"],
        }
    ]
    assert listed[0]["last_sign_in_at"] is not None


def test_list_as_a_table_names_every_account(tmp_path):
    warehouse = tmp_path / "ctip.duckdb"
    accounts(warehouse, "add", "reviewer1", "--reporter", "NCCT", "--role", "reviewer")
    accounts(warehouse, "add", "[bold]clerk", "--reporter", "MOI")  # refused: not a user name
    table = accounts(warehouse, "list")
    assert table.exit_code == 0
    assert "reviewer1" in table.stdout and "reviewer" in table.stdout and "1 account" in table.stdout


def test_a_warehouse_option_that_names_no_folder_or_no_warehouse_is_wrong_usage(tmp_path):
    assert accounts(tmp_path / "missing" / "ctip.duckdb", "list").exit_code == 2
    not_a_warehouse = tmp_path / "figures.csv"
    not_a_warehouse.write_text("a,b\n")
    result = accounts(not_a_warehouse, "add", "dara", "--reporter", "MOI")
    assert result.exit_code == 2 and "not a ctip warehouse" in result.stderr


def test_a_reset_ends_the_sessions_and_a_disabled_account_is_enabled_again(tmp_path):
    warehouse = tmp_path / "ctip.duckdb"
    first = accounts(warehouse, "add", "kim", "--reporter", "MOJ").stdout.splitlines()[-1]
    store = AccountStore(WarehouseFiles(warehouse).accounts_db)
    token, _ = store.open_session(store.sign_in("kim", first, "portal").account)
    assert store.session(token) is not None
    reset = accounts(warehouse, "reset", "kim")
    assert reset.exit_code == 0 and store.session(token) is None  # a leaked password's session ends with it
    assert accounts(warehouse, "disable", "kim").exit_code == 0
    again = accounts(warehouse, "reset", "kim")
    password = again.stdout.splitlines()[-1]
    assert again.exit_code == 0 and "disabled" in again.stderr and "ctip accounts enable kim" in again.stderr
    assert not store.sign_in("kim", password, "portal").ok
    assert accounts(warehouse, "enable", "nobody").exit_code == 1
    enabled = accounts(warehouse, "enable", "kim")
    assert enabled.exit_code == 0 and store.sign_in("kim", password, "portal").ok
    assert [e["event"] for e in store.events("kim")][-4:] == [
        "password_reset",
        "sign_in_failed",
        "enabled",
        "signed_in",
    ]
