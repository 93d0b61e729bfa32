"""`ctip accounts add|reset|disable|enable|list`: the NCCT engineer's side of the portal's accounts.

A new password is printed on the last line of standard output (shown once, so a script
can take it with `tail -n 1`); every other message goes to standard error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flows.cli.common import TableOrJson, choices
from flows.settings import from_environment
from schemas import load_registry
from warehouse.accounts import (
    LANGUAGES,
    ROLES,
    AccountExists,
    AccountStore,
    NoSuchAccount,
    check_email,
    check_user_name,
)
from warehouse.layout import WarehouseFiles

Role = choices("Role", *ROLES)
Language = choices("Language", *LANGUAGES)


accounts = typer.Typer(
    name="accounts",
    help="Accounts of the portal: who may send (a ministry's clerks) and who reviews (NCCT staff).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False, soft_wrap=True)

WarehouseOption = Annotated[
    Path | None,
    typer.Option(
        "--warehouse", help="The warehouse whose accounts these are (default warehouse/ctip.duckdb, or CTIP_WAREHOUSE)."
    ),
]
UserArgument = Annotated[str, typer.Argument(help="The user name people sign in with.", show_default=False)]


def account_store(warehouse: Path | None) -> AccountStore:
    """The accounts beside the warehouse; wrong usage (no such folder, not a warehouse) exits 2."""
    analyst_file = (warehouse or from_environment().warehouse).resolve()
    if analyst_file.is_dir():
        raise typer.BadParameter(
            f"{analyst_file} is a folder; name the warehouse's DuckDB file", param_hint="--warehouse"
        )
    if not analyst_file.parent.is_dir():
        raise typer.BadParameter(f"there is no folder {analyst_file.parent}", param_hint="--warehouse")
    files = WarehouseFiles(analyst_file)
    if analyst_file.exists() and not files.home.is_dir():
        raise typer.BadParameter(
            f"{analyst_file} is not a ctip warehouse (no {files.home.name} beside it)", param_hint="--warehouse"
        )
    return AccountStore(files.accounts_db)


def _user(user: str) -> str:
    try:
        return check_user_name(user)
    except ValueError as problem:
        raise typer.BadParameter(str(problem), param_hint="USER") from None


@contextmanager
def _known_user() -> Iterator[None]:
    """A command on one account: no such account is exit 1, saying so."""
    try:
        yield
    except NoSuchAccount as problem:
        _err.print(escape(str(problem)))
        raise typer.Exit(1) from None


def _print_password(user: str, password: str, what: str) -> None:
    _err.print(f"{what} '{escape(user)}'. The password below is shown once: give it to its owner.")
    print(password)


@accounts.command("add")
def add(
    user: UserArgument,
    reporter: Annotated[
        str, typer.Option("--reporter", help="The institution the account sends for.", show_default=False)
    ],
    role: Annotated[
        Role, typer.Option("--role", help="sender: sends and sees its own reporter; reviewer: sees all.")
    ] = "sender",
    email: Annotated[str | None, typer.Option("--email", help="Where notices go.")] = None,
    lang: Annotated[Language, typer.Option("--lang", help="The language of its pages and notices.")] = "en",
    warehouse: WarehouseOption = None,
) -> None:
    """Create an account and print its new password on the last line.

    Exit 0 created, 1 the user exists, 2 wrong usage (unknown reporter, bad role).
    """
    registry = load_registry()
    code = reporter.strip().upper()
    if code not in registry.reporters:
        raise typer.BadParameter(
            f"'{reporter}' is not a reporter; use one of {', '.join(registry.reporters)}", param_hint="--reporter"
        )
    if Role(role).value == "reviewer" and code not in registry.consolidating_reporters:
        raise typer.BadParameter(
            f"a reviewer is staff of {' or '.join(registry.consolidating_reporters)}, who sees every reporter and "
            f"approves figures; a clerk of {code} is a sender",
            param_hint="--role",
        )
    try:
        check_email(email)
    except ValueError as problem:
        raise typer.BadParameter(str(problem), param_hint="--email") from None
    store = account_store(warehouse)
    try:
        password = store.add(_user(user), code, Role(role).value, email, Language(lang).value)
    except AccountExists as problem:
        _err.print(escape(str(problem)))
        raise typer.Exit(1) from None
    _print_password(user, password, f"Created the {Role(role).value} account")


@accounts.command("reset")
def reset(user: UserArgument, warehouse: WarehouseOption = None) -> None:
    """A new password for the account, printed on the last line; the old one stops working, and so do the
    portal's sessions opened with it.

    Exit 0, or 1 when there is no such user.
    """
    store = account_store(warehouse)
    with _known_user():
        password = store.reset(user)
    _print_password(user, password, "New password for")
    if not store.get(user).enabled:
        _err.print(
            f"'{escape(user)}' is disabled: the password works once `ctip accounts enable {escape(user)}` has "
            "enabled it again."
        )


@accounts.command("disable")
def disable(user: UserArgument, warehouse: WarehouseOption = None) -> None:
    """The account can no longer sign in or send, from its next request on.

    Exit 0, or 1 when there is no such user.
    """
    with _known_user():
        account_store(warehouse).disable(user)
    _err.print(f"Disabled '{escape(user)}'.")


@accounts.command("enable")
def enable(user: UserArgument, warehouse: WarehouseOption = None) -> None:
    """A disabled account may sign in and send again, with its password as it stands (`reset` gives a new one).

    Exit 0, or 1 when there is no such user.
    """
    with _known_user():
        account_store(warehouse).enable(user)
    _err.print(f"Enabled '{escape(user)}'.")


@accounts.command("list")
def list_accounts(
    output: Annotated[TableOrJson, typer.Option("--format", help="table or json.")] = TableOrJson.table,
    warehouse: WarehouseOption = None,
) -> None:
    """Every account: user, reporter, role, email, lang, enabled and last sign-in (last_sign_in_at in json). Exit 0."""
    rows = [a.as_dict() for a in account_store(warehouse).list()]
    if output is TableOrJson.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(rows)} account{'s' if len(rows) != 1 else ''}", title_justify="left")
    for column in ("user", "reporter", "role", "email", "lang", "enabled", "last sign-in"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            escape(row["user"]),
            row["reporter"],
            row["role"],
            escape(row["email"] or ""),
            row["lang"],
            "yes" if row["enabled"] else "no",
            ((row["last_sign_in_at"] or "")[:19].replace("T", " ") + " UTC") if row["last_sign_in_at"] else "never",
        )
    _out.print(table)
