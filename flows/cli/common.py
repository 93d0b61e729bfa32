"""What every `ctip` command shares: the consoles, the options, wrong usage (exit 2), the settings, and the
checks that find the inbox and open the warehouse.

It imports no command and no app: the command modules import it, `flows/cli/main.py` registers them.
The registry is read when a command runs (`load_registry()` inside it), never when a module is imported;
help texts name what the registry gives by the words of `REGISTRY_WORDS`, filled in when the command line
is built to run.
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flows.settings import Settings, SettingsError, from_environment
from schemas.registry import LANGUAGES, Registry

_WIDE = 160  # when printing to a file or pipe, where there is no terminal width to follow
console = Console(width=None if Console().is_terminal else _WIDE)
errors = Console(stderr=True, width=None if Console(stderr=True).is_terminal else _WIDE)


# ------------------------------------------------------------- the registry in help texts
def registry_words(registry: Registry) -> dict[str, str]:
    """What a help text may name by a word in braces, such as "{reporters}": the registry's codes, listed."""
    return {
        "{reporters}": ", ".join(registry.reporters),
        "{error_rules}": ", ".join(r.id for r in registry.rules.values() if r.severity == "error"),
        "{warning_rules}": ", ".join(r.id for r in registry.rules.values() if r.severity == "warning"),
    }


def with_registry_words(text: str | None, words: dict[str, str]) -> str | None:
    """`text` with every word of `words` replaced by what the registry gives."""
    if not text:
        return text
    for word, value in words.items():
        text = text.replace(word, value)
    return text


# ------------------------------------------------------------------ options
InboxOption = Annotated[
    Path | None,
    typer.Option("--inbox", metavar="DIR", help="Folder of submissions (default data/inbox/, or CTIP_INBOX)."),
]
WarehouseOption = Annotated[
    Path | None,
    typer.Option(
        "--warehouse",
        metavar="FILE",
        help="The DuckDB file analysts open (default warehouse/ctip.duckdb, or CTIP_WAREHOUSE).",
    ),
]


def choices(name: str, *values: str) -> type[Enum]:
    """The values an option accepts, as the Enum Typer checks them against."""
    return Enum(name, {value: value for value in values}, type=str)


TableOrJson = choices("TableOrJson", "table", "json")  # commands that print findings or verdicts
TableCsvOrJson = choices("TableCsvOrJson", "table", "csv", "json")  # figures analysts may paste into a spreadsheet
MarkdownOrJson = choices("MarkdownOrJson", "markdown", "json")  # `ctip describe`
Language = choices("Language", *LANGUAGES)  # the languages ctip speaks (`--lang`)


def lang_option(help_text: str):
    """The --lang option: en (the default) or km; any other value is wrong usage (exit 2)."""
    return typer.Option("--lang", case_sensitive=False, help=help_text, metavar="|".join(c.value for c in Language))


def format_option(formats: type[Enum], help_text: str):
    """The --format option over `formats`: any other value is wrong usage (exit 2)."""
    return typer.Option("--format", case_sensitive=False, help=help_text, metavar="|".join(c.value for c in formats))


# The --format of a command that prints a table of figures.
FiguresFormat = Annotated[
    TableCsvOrJson,
    format_option(TableCsvOrJson, "table (for people; wraps, never cuts a figure), csv (for spreadsheets) or json."),
]
# The --format of a command that lists things.
ListFormat = Annotated[TableOrJson, format_option(TableOrJson, "table (for people) or json (for machines).")]


# ------------------------------------------------------------- wrong usage
def wrong_usage(message: str) -> NoReturn:
    """Exit 2 with a plain message: the command was given something it cannot use."""
    errors.print(f"[bold red]ctip:[/] {escape(message)}", highlight=False)
    raise typer.Exit(2)


def output_folder(folder: Path, option: str) -> Path:
    """`folder`, checked before a command does its work: it can be made and written (a file on its path, a place
    of the system or no permission is wrong usage of `option`, exit 2). Nothing is left of the check: the
    folders it made to try are removed again, for the command to make when it writes."""
    if folder.exists() and not folder.is_dir():
        wrong_usage(f"{option} {folder}: it is a file, not a folder")
    missing = [f for f in (folder, *folder.parents) if not f.exists()][::-1]  # outermost first
    made: list[Path] = []
    try:
        for step in missing:
            step.mkdir()
            made.append(step)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as problem:
        wrong_usage(f"{option} {folder}: cannot write there ({problem.strerror or problem})")
    finally:
        for step in reversed(made):
            step.rmdir()
    return folder


def command_settings(inbox: Path | None = None, warehouse: Path | None = None) -> Settings:
    """The settings of the environment with the command's options; a setting that cannot be used is wrong usage."""
    try:
        return from_environment().with_overrides(inbox, warehouse)
    except SettingsError as problem:
        wrong_usage(str(problem))


def known_reporter(registry: Registry, code: str | None, required: bool = False) -> str | None:
    """--reporter as the registry spells it (upper case), or None when not given (and not `required`); a code the
    registry does not know is wrong usage."""
    if not code and not required:
        return None
    code = code or ""
    if code.strip().upper() not in registry.reporters:
        raise typer.BadParameter(
            f"'{code}' is not a reporter; use one of {', '.join(registry.reporters)}", param_hint="--reporter"
        )
    return code.strip().upper()


def canonical_period(text: str, option: str) -> str:
    """A period as ctip writes it (2019-S1); one that does not parse is wrong usage of `option`."""
    from transforms.periods import parse_period

    period = parse_period(text)
    if period is None:
        raise typer.BadParameter(
            f"'{text}' is not a period; use 2019, 2019-S1, 2019-Q1, 2019-01 or 2019-01/2019-10", param_hint=option
        )
    return period.code


def as_of_option(what: str):
    """The --as-of option of a command: `what` the command does at that time, then the format, said once."""
    return typer.Option("--as-of", metavar="TIME", help=f"{what} (ISO 8601; without a zone, UTC).")


def reporter_option(what: str):
    """The --reporter option of a command that reads one reporter's part: `what` it keeps."""
    return typer.Option("--reporter", metavar="CODE", help=f"{what} ({{reporters}}).")


def as_of_time(text: str, option: str = "--as-of") -> datetime:
    """The time given to --as-of (or another option of a time): ISO 8601; without a zone, UTC. One that does
    not parse is wrong usage."""
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"'{text}' is not a time such as 2026-11-01 or 2026-11-01T08:00:00+07:00", param_hint=option
        ) from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def base_period(text: str, period_code: str) -> str:
    """--base: an earlier period as long as PERIOD, not PERIOD itself."""
    from transforms.periods import parse_period

    base_code = canonical_period(text, "--base")
    period, base = parse_period(period_code), parse_period(base_code)

    def months(p) -> int:
        return (p.end.year - p.start.year) * 12 + p.end.month - p.start.month

    if base.type != period.type or months(base) != months(period):
        raise typer.BadParameter(
            f"{base_code} is a {base.type} and {period_code} a {period.type}"
            + (f" of {months(period)} months" if period.type == base.type else "")
            + "; compare a period with another of the same length, such as 2019-S1 with 2018-S1",
            param_hint="--base",
        )
    if base.start >= period.start:
        raise typer.BadParameter(
            f"{base_code} is {'the period itself' if base_code == period_code else 'later than ' + period_code}; "
            "the base is an earlier period",
            param_hint="--base",
        )
    return base_code


def compared_periods(period: str, base: str | None) -> tuple[str, str]:
    """PERIOD and --base as codes; without --base, the same period a year before."""
    from transforms.periods import base_period_code

    period_code = canonical_period(period, "PERIOD")
    return period_code, base_period(base, period_code) if base else base_period_code(period_code)


# ------------------------------------------------------- inbox and warehouse
def inbox_folder(settings: Settings) -> Path:
    """The inbox, which must be a folder: a typo in a nightly job's path must not pass for an empty inbox."""
    named = f"the inbox {settings.inbox} (from {settings.inbox_origin})"
    if not settings.inbox.exists():
        wrong_usage(f"{named} does not exist; give the folder of submissions with --inbox or CTIP_INBOX")
    if not settings.inbox.is_dir():
        wrong_usage(f"{named} is a file, not a folder; give the folder of submissions with --inbox or CTIP_INBOX")
    return settings.inbox


_DUCKDB_MAGIC = b"DUCK"  # bytes 8 to 11 of every DuckDB database file


def _not_a_warehouse(path: Path, open_it: bool) -> str | None:
    """Why `path` is not a ctip warehouse, or None when it is one (or, without `open_it`, may be one)."""
    try:
        with path.open("rb") as file:
            head = file.read(12)
    except OSError as problem:
        return f"it cannot be read ({problem.strerror})"
    if head[8:12] != _DUCKDB_MAGIC:
        return "it is not a DuckDB database file"
    if not open_it:
        return None
    from warehouse.queries import not_an_analyst_file

    return not_an_analyst_file(path)


def no_warehouse(path: Path) -> str:
    """The one way ctip says that the warehouse it was to read has not been made yet."""
    return f"No warehouse at {path}"


def absent_warehouse(settings: Settings) -> NoReturn:
    """A command that reads a warehouse not made yet: a warehouse named by `--warehouse` or `CTIP_WAREHOUSE` is
    wrong usage (exit 2: a mistyped path, say); the default one is not made yet (exit 1: nothing there)."""
    path = settings.warehouse
    if settings.warehouse_origin != "the default":
        wrong_usage(f"{settings.warehouse_origin} {path}: there is no warehouse there")
    errors.print(f"{no_warehouse(path)}; run `ctip run` first.", markup=False, highlight=False)
    raise typer.Exit(1)


def _a_file_not_a_folder(path: Path) -> None:
    if path.is_dir():
        wrong_usage(f"{path} is a folder; --warehouse names the warehouse's DuckDB file, such as warehouse/ctip.duckdb")


def readable_warehouse(settings: Settings, missing_ok: bool = False) -> Path | None:
    """The analyst file a reading command opens, checked first.

    Wrong usage (exit 2): a folder, a file that is not a ctip warehouse, or a --warehouse that names
    nothing. A missing default warehouse is None with `missing_ok`, else exit 1 ("run `ctip run` first").
    """
    path = settings.warehouse
    _a_file_not_a_folder(path)
    if not path.exists():
        if missing_ok and settings.warehouse_origin != "--warehouse":
            return None
        absent_warehouse(settings)
    problem = _not_a_warehouse(path, open_it=True)
    if problem:
        wrong_usage(f"{path} is not a ctip warehouse: {problem}")
    return path


def writable_warehouse(settings: Settings) -> Path:
    """The analyst file a writing command (run, serve, remind) keeps: absent (it is made), or one that ctip keeps.

    A file that ctip keeps has its folder beside it (`<file>.ctip`, with the writer's database): a run publishes
    the analyst file again from it. Any other file there, a DuckDB database of one's own or an analyst file
    copied or exported without its folder, is wrong usage (exit 2): a run would replace it.
    """
    from warehouse.layout import WarehouseFiles

    path = settings.warehouse
    _a_file_not_a_folder(path)
    origin = settings.warehouse_origin if settings.warehouse_origin != "the default" else "the default warehouse"
    output_folder(path.parent, origin)  # a run writes the folder beside the file there
    if path.exists():
        files = WarehouseFiles(path)
        kept = files.state_db.exists()
        problem = _not_a_warehouse(path, open_it=not kept)
        if problem is None and not kept:
            problem = (
                f"it is an analyst file without the folder {files.home.name} that ctip keeps beside it (a copy or an "
                "export), which a run would replace; give the warehouse it came from, or a new file's path"
            )
        if problem:
            wrong_usage(f"{path} is not a ctip warehouse: {problem}")
    return path


@contextmanager
def reading_analyst(path: Path) -> Iterator:
    """A read-only connection to the analyst file (`warehouse.queries.open_analyst`) for a command.

    A live file moved away from its .ctip folder, or a file DuckDB cannot read, is exit 1 with one line that says
    why, never a traceback.
    """
    import duckdb

    from warehouse.queries import DetachedAnalystFile, open_analyst

    try:
        with open_analyst(path) as con:
            yield con
    except DetachedAnalystFile as problem:
        errors.print(str(problem), markup=False, highlight=False)
        raise typer.Exit(1) from None
    except duckdb.Error as problem:
        errors.print(
            f"Cannot read {path}: {type(problem).__name__}: {str(problem).splitlines()[0]}",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(1) from None


# ------------------------------------------------------------------ printing
def counted(count: int, noun: str, plural: str | None = None) -> str:
    """ "1 error", "2 errors": a count with its noun in the right number."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def moment(at: datetime) -> str:
    """A time as it was given, in its own zone, with UTC beside it when that zone is another."""
    utc = at.astimezone(UTC)
    if at.utcoffset() == utc.utcoffset():
        return f"{utc:%Y-%m-%d %H:%M:%S} UTC"
    return f"{at:%Y-%m-%d %H:%M:%S}{_offset(at)} ({utc:%Y-%m-%d %H:%M:%S} UTC)"


def _offset(at: datetime) -> str:
    text = at.strftime("%z")  # +0700
    return f"{text[:3]}:{text[3:5]}" + (f":{text[5:]}" if len(text) > 5 else "")


def titled_table(title: str, columns: list[str], figures: Collection[str] = ()) -> Table:
    """A table under a title on the left. Columns of `figures` are right-justified and never wrap, so a
    figure never shrinks nor loses a digit; text columns wrap, and fold a word too long for their width."""
    table = Table(title=title, title_justify="left")
    for name in columns:
        right = name in figures
        table.add_column(name, justify="right" if right else "left", no_wrap=right, overflow="fold")
    return table
