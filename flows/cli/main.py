"""The `ctip` application: every command registered on it, in one place.

The command modules define plain functions and import only `flows.cli.common`; none imports this module.
"""

from __future__ import annotations

import typer
import typer.core

from flows import claims, completeness, describe, export, generate, releases, remind, report
from flows.accounts import accounts
from flows.cli import analyst, nightly, portal
from flows.cli.common import registry_words, with_registry_words


def _shown_type(param, ctx) -> str | None:
    """What --help shows beside an option: its metavar (FILE, PERIOD, table|json) or nothing, never a Python
    type name such as <bool> or <str>; an argument is shown by its name alone, never as <list[Path]>."""
    return param.metavar or None if isinstance(param, typer.core.TyperOption) else None


typer.core.TyperOption.display_type_rich = _shown_type  # type: ignore[method-assign]
typer.core.TyperArgument.display_type_rich = _shown_type  # type: ignore[method-assign]


class CommandLine(typer.core.TyperGroup):
    """The `ctip` group, built when the command line runs: only then is the registry read, to put its codes
    (the words of `registry_words`) into the help of the app, its commands and their options."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from schemas import load_registry

        _put_words(self, registry_words(load_registry()))


def _put_words(command, words: dict[str, str]) -> None:
    command.help = with_registry_words(command.help, words)
    for param in command.params:
        if getattr(param, "help", None):
            param.help = with_registry_words(param.help, words)
    for sub in getattr(command, "commands", {}).values():
        _put_words(sub, words)


app = typer.Typer(
    name="ctip",
    cls=CommandLine,
    help=(
        "ctip: counter-trafficking statistics. Archives every submission from the reporting institutions "
        "({reporters}), validates it against the contract, loads it into a DuckDB "
        "warehouse and builds period-comparison tables."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

# The order of `ctip --help`.
for command in (
    nightly.run,
    nightly.serve,
    nightly.backfill,
    analyst.validate,
    analyst.compare,
    analyst.submissions,
    analyst.findings,
    completeness.completeness,
    remind.remind,
    claims.claims,
    describe.describe,
    export.export,
    report.report,
    releases.approve,
    releases.unapprove,
    releases.release,
    generate.generate,
):
    app.command(help=analyst.VALIDATE_HELP if command is analyst.validate else None)(command)
app.add_typer(accounts, name="accounts")
app.command()(portal.template)
app.command()(portal.portal)
