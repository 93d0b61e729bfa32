"""The `ctip` command line. Exit statuses follow the warehouse contract."""

from __future__ import annotations

import json
from datetime import datetime, UTC
from enum import Enum
from pathlib import Path
from typing import Annotated, NoReturn

import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flows.settings import Settings, SettingsError, from_environment, quiet_orchestrator_defaults
from schemas import load_registry
from schemas.registry import TOTAL

_registry = load_registry()
_errors = ", ".join(r.id for r in _registry.rules.values() if r.severity == "error")
_warnings = ", ".join(r.id for r in _registry.rules.values() if r.severity == "warning")
_reporter_help = f"Only this reporter's figures ({', '.join(_registry.reporters)})."
app = typer.Typer(
    name="ctip",
    help=(
        "ctip: counter-trafficking statistics. Archives every submission from the reporting institutions "
        f"({', '.join(_registry.reporters)}), validates it against the contract, loads it into a DuckDB "
        "warehouse and builds period-comparison tables."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


def _shown_type(param, ctx) -> str | None:
    """What --help shows beside an option: its metavar (FILE, PERIOD, table|json) or nothing, never a Python
    type name such as <bool> or <str>; an argument is shown by its name alone, never as <list[Path]>."""
    return param.metavar or None if isinstance(param, typer.core.TyperOption) else None


typer.core.TyperOption.display_type_rich = _shown_type  # type: ignore[method-assign]
typer.core.TyperArgument.display_type_rich = _shown_type  # type: ignore[method-assign]
_WIDE = 160  # when printing to a file or pipe, where there is no terminal width to follow
console = Console(width=None if Console().is_terminal else _WIDE)
errors = Console(stderr=True, width=None if Console(stderr=True).is_terminal else _WIDE)

InboxOption = Annotated[
    Path | None,
    typer.Option("--inbox", metavar="DIR", help="Folder of submissions (default data/inbox/, or CTIP_INBOX)."),
]
WarehouseOption = Annotated[
    Path | None,
    typer.Option(
        "--warehouse", metavar="FILE",
        help="The DuckDB file analysts open (default warehouse/ctip.duckdb, or CTIP_WAREHOUSE).",
    ),
]


# ------------------------------------------------------------ output formats
class TableOrJson(str, Enum):
    """--format of the commands that print findings or verdicts."""

    table = "table"
    json = "json"


class TableCsvOrJson(str, Enum):
    """--format of the commands that print figures analysts may paste into a spreadsheet."""

    table = "table"
    csv = "csv"
    json = "json"


class MarkdownOrJson(str, Enum):
    """--format of `ctip describe`."""

    markdown = "markdown"
    json = "json"


def format_option(choices: type[Enum], help_text: str):
    """The --format option over `choices`: any other value is wrong usage (exit 2)."""
    return typer.Option("--format", case_sensitive=False, help=help_text, metavar="|".join(c.value for c in choices))


# ------------------------------------------------------------- wrong usage
def wrong_usage(message: str) -> NoReturn:
    """Exit 2 with a plain message: the command was given something it cannot use."""
    errors.print(f"[bold red]ctip:[/] {escape(message)}", highlight=False)
    raise typer.Exit(2)


def _settings(inbox: Path | None = None, warehouse: Path | None = None) -> Settings:
    """The settings of the environment with the command's options; a setting that cannot be used is wrong usage."""
    try:
        return from_environment().with_overrides(inbox, warehouse)
    except SettingsError as problem:
        wrong_usage(str(problem))


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
    import duckdb

    try:
        with duckdb.connect(str(path), read_only=True) as con:
            found = con.execute(
                "select count(*) from information_schema.tables where table_catalog = current_database() "
                "and table_schema = 'audit' and table_name = 'submissions'"
            ).fetchall()[0][0]
    except duckdb.Error as problem:
        return f"it cannot be opened ({str(problem).splitlines()[0]})"
    return None if found else "it is a DuckDB file without ctip's relations (no audit.submissions)"


def readable_warehouse(settings: Settings, missing_ok: bool = False) -> Path | None:
    """The analyst file a reading command opens, checked first.

    Wrong usage (exit 2): a folder, a file that is not a ctip warehouse, or a --warehouse that names
    nothing. A missing default warehouse is None with `missing_ok`, else exit 1 ("run `ctip run` first").
    """
    path = settings.warehouse
    if path.is_dir():
        wrong_usage(f"{path} is a folder; --warehouse names the warehouse's DuckDB file, such as warehouse/ctip.duckdb")
    if not path.exists():
        if settings.warehouse_origin == "--warehouse":
            wrong_usage(f"--warehouse {path}: there is no warehouse there")
        if missing_ok:
            return None
        errors.print(f"No warehouse at {escape(str(path))}; run `ctip run` first.", highlight=False)
        raise typer.Exit(1)
    problem = _not_a_warehouse(path, open_it=True)
    if problem:
        wrong_usage(f"{path} is not a ctip warehouse: {problem}")
    return path


def writable_warehouse(settings: Settings) -> Path:
    """The analyst file a writing command (run, backfill, serve) keeps: absent (it is made) or a DuckDB file."""
    path = settings.warehouse
    if path.is_dir():
        wrong_usage(f"{path} is a folder; --warehouse names the warehouse's DuckDB file, such as warehouse/ctip.duckdb")
    if path.exists():
        problem = _not_a_warehouse(path, open_it=False)
        if problem:
            wrong_usage(f"{path} is not a ctip warehouse: {problem}")
    return path


def _open_analyst(path: Path):
    """A read-only connection to the analyst file; a live file moved away from its .ctip folder is exit 1, in words."""
    from warehouse.queries import DetachedAnalystFile, open_analyst_file

    try:
        return open_analyst_file(path)
    except DetachedAnalystFile as problem:
        errors.print(str(problem), markup=False, highlight=False)
        raise typer.Exit(1) from None


def _canonical_period(text: str, option: str) -> str:
    from transforms.periods import parse_period

    period = parse_period(text)
    if period is None:
        raise typer.BadParameter(
            f"'{text}' is not a period; use 2019, 2019-S1, 2019-Q1, 2019-01 or 2019-01/2019-10", param_hint=option
        )
    return period.code


@app.command()
def run(
    inbox: InboxOption = None,
    warehouse: WarehouseOption = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, metavar="N", help="Read and validate on a local Dask cluster of N processes."),
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", metavar="ADDRESS", help="Read and validate on the Dask cluster at this scheduler address."),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="List every file with its status and counts, not only the rejected ones.")
    ] = False,
) -> None:
    """The nightly job: archive, validate and load every new file in the inbox, then update the comparisons.

    Prints the counts, every rejected file with its first findings, and the warnings grouped by rule.

    Exit 0 when the run completed (also when submissions were rejected), 1 when the run itself failed,
    2 for wrong usage (an inbox that is not a folder, a warehouse that is not a ctip warehouse, a bad setting).
    """
    settings = _settings(inbox, warehouse)
    inbox_folder(settings)
    writable_warehouse(settings)
    quiet_orchestrator_defaults()
    try:
        from flows.nightly import run_nightly

        summary = run_nightly(
            settings, on_fallback=_orchestrator_warning, workers=workers, scheduler=scheduler,
            show_progress=errors.is_terminal,
        )
    except Exception as problem:  # the run failed; say why, in one line
        errors.print(f"[bold red]ctip run failed:[/] {type(problem).__name__}: {escape(str(problem))}", highlight=False)
        raise typer.Exit(1) from None
    _print_summary(summary, settings, verbose)


def _orchestrator_warning(problem: BaseException) -> None:
    errors.print(
        f"[yellow]The orchestrator failed ({type(problem).__name__}: {escape(str(problem)[:200])}); "
        "running the nightly steps without it.[/]",
        highlight=False,
    )


@app.command()
def serve(
    inbox: InboxOption = None,
    warehouse: WarehouseOption = None,
    interval: Annotated[
        float | None,
        typer.Option("--interval", min=1, metavar="SECONDS", help="Run every N seconds instead of the nightly cron schedule."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", min=1, max=65535,
                     help="Port of the Prefect server (UI and API) started on 127.0.0.1 (default 4200, or CTIP_SERVE_PORT)."),
    ] = None,
) -> None:
    """Schedule `run` nightly with Prefect (02:00 Asia/Phnom_Penh by default) and keep serving it.

    The schedule is CTIP_SCHEDULE (cron) in CTIP_TIMEZONE. Uses the Prefect server at PREFECT_API_URL, or starts
    one on 127.0.0.1 at --port for as long as it serves, its UI at http://127.0.0.1:PORT, its home in
    the prefect folder of the warehouse's .ctip folder (unless PREFECT_HOME is set) and its API closed to anyone without the key
    written there. Runs until stopped (Ctrl-C); exit 1 when the server cannot start, 2 for wrong usage
    (an inbox that is not a folder, a warehouse that is not a ctip warehouse, a bad setting).
    """
    from flows.serve import ServerDidNotStart, serve as serve_nightly

    settings = _settings(inbox, warehouse).with_overrides(serve_port=port)
    inbox_folder(settings)
    writable_warehouse(settings)
    quiet_orchestrator_defaults()
    try:
        serve_nightly(settings, interval)
    except ServerDidNotStart as problem:
        errors.print(f"ctip serve could not start its Prefect server: {problem}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print("ctip serve stopped.")


@app.command()
def backfill(
    first: Annotated[str, typer.Option("--from", metavar="PERIOD", help="First period of the range, such as 2019-S1.")],
    last: Annotated[str, typer.Option("--to", metavar="PERIOD", help="Last period of the range, such as 2019-S2.")],
    reporter: Annotated[
        str | None,
        typer.Option("--reporter", metavar="CODE", help=f"Only this reporter's submissions ({', '.join(_registry.reporters)})."),
    ] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Re-process the archived submissions that touch --from..--to, in their original order, under today's rules.

    Exit 0 when the backfill completed, 1 when it failed, 2 for wrong usage (a period that does not parse,
    a range that ends before it starts, a warehouse that does not exist or is not a ctip warehouse).
    """
    from transforms.periods import parse_period

    settings = _settings(warehouse=warehouse)
    _known_reporter(reporter)
    first_code, last_code = _canonical_period(first, "--from"), _canonical_period(last, "--to")
    first_period, last_period = parse_period(first_code), parse_period(last_code)
    if last_period.end <= first_period.start:
        raise typer.BadParameter(
            f"the range {first_code}..{last_code} is empty: {last_code} ends before {first_code} begins; "
            "give the earlier period with --from", param_hint="--to",
        )
    readable_warehouse(settings)  # a backfill replays what a warehouse archived: there must be one
    quiet_orchestrator_defaults()
    try:
        from flows.backfill import backfill as backfill_flow

        summary = backfill_flow(
            first_period=first_code, last_period=last_code, warehouse=str(settings.warehouse),
            reporter=reporter.strip().upper() if reporter else None, timezone=settings.timezone,
            lock_timeout_seconds=settings.lock_timeout_seconds, show_progress=errors.is_terminal,
        )
    except Exception as problem:
        errors.print(f"[bold red]ctip backfill failed:[/] {type(problem).__name__}: {escape(str(problem))}", highlight=False)
        raise typer.Exit(1) from None
    if not summary.replayed:
        console.print(f"No archived submission touches {first_code}..{last_code}; nothing to replay.", highlight=False)
        return
    warnings = sum(1 for f in summary.findings if f["severity"] == "warning")
    console.print(
        f"Replayed {counted(len(summary.replayed), 'submission')} received from {summary.since:%Y-%m-%d %H:%M:%S} UTC on: "
        f"loaded {summary.count('loaded')}, rejected {summary.count('rejected')}, warnings {warnings}.",
        highlight=False,
    )


@app.command(
    help=(
        "Dry run before sending: every problem in each file, with row and column. Writes nothing.\n\n"
        f"Errors (the file would be rejected): {_errors}. Warnings (it would load): {_warnings}.\n\n"
        "Exit 0 when every file is valid (warnings allowed), 1 when any file has an error, 2 for wrong usage "
        "(a file that does not exist, a --warehouse that is not a ctip warehouse)."
    )
)
def validate(
    files: Annotated[
        list[Path],
        typer.Argument(exists=True, dir_okay=False, metavar="FILE", help="Submission files (.csv, .xlsx, .json)."),
    ],
    warehouse: WarehouseOption = None,
    output: Annotated[TableOrJson, format_option(TableOrJson, "table (for people) or json (for machines).")] = TableOrJson.table,
) -> None:
    """Dry run before sending: every problem in each file, with row and column. Writes nothing."""
    from flows.checking import check_files

    settings = _settings(warehouse=warehouse)
    readable_warehouse(settings, missing_ok=True)  # without the default warehouse, it judges without one
    report = check_files(files, settings, _registry, datetime.now(UTC))
    if output is TableOrJson.json:
        typer.echo(json.dumps(report, default=str, ensure_ascii=False, indent=2))
    else:
        for item in report:
            _print_file_report(item)
    raise typer.Exit(1 if any(item["errors"] for item in report) else 0)


@app.command()
def compare(
    period: Annotated[str, typer.Argument(metavar="PERIOD", help="Period to compare, such as 2019-S1.")],
    base: Annotated[
        str | None,
        typer.Option("--base", metavar="PERIOD", help="An earlier period of the same length to compare with (default: a year before)."),
    ] = None,
    reporter: Annotated[str | None, typer.Option("--reporter", metavar="CODE", help=_reporter_help)] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="TIME", help="Show the figures as known at this time (ISO 8601; without a zone, UTC)."),
    ] = None,
    warehouse: WarehouseOption = None,
    output: Annotated[
        TableCsvOrJson,
        format_option(TableCsvOrJson, "table (for people; wraps, never cuts a figure), csv (for spreadsheets) or json."),
    ] = TableCsvOrJson.table,
) -> None:
    """Print the comparison table of PERIOD against the same period a year before (or --base).

    Columns: the base period's figure, then PERIOD's, the change and the change in per cent; codes with their labels.

    Exit 0, 1 when nothing is there to compare (or nothing was known at --as-of), 2 for wrong usage
    (a period that does not parse, a --base that is not an earlier period of the same length, a warehouse
    that is not a ctip warehouse).
    """
    from transforms.periods import base_period_code
    from warehouse.queries import comparison

    settings = _settings(warehouse=warehouse)
    _known_reporter(reporter)
    known_at = _timestamp(as_of) if as_of else None
    period_code = _canonical_period(period, "PERIOD")
    base_code = _base_period(base, period_code) if base else base_period_code(period_code)
    readable_warehouse(settings)
    with _open_analyst(settings.warehouse) as con:
        if known_at is not None:
            _known_then(con, known_at)
        rows = comparison(
            con, _registry, period_code, base_code, reporter.strip().upper() if reporter else None,
            default_base=base_period_code(period_code), as_of=known_at,
        )
    if rows.height == 0:
        errors.print(
            f"Nothing to compare: no figures for {period_code}" + (f" from {escape(reporter)}" if reporter else "")
            + (f" as known at {_moment(known_at)}" if known_at else "") + ".",
            highlight=False,
        )
        raise typer.Exit(1)
    if output is TableCsvOrJson.table:
        _print_comparison(rows, period_code, base_code, known_at)
    else:
        records = comparison_records(rows)
        if output is TableCsvOrJson.json:
            typer.echo(json.dumps(records, ensure_ascii=False, indent=1))
        else:
            import polars as pl

            typer.echo(pl.DataFrame(records, schema=_record_schema(), orient="row").write_csv(), nl=False)
    if rows["base_value"].null_count() == rows.height:
        errors.print(f"Nothing to compare: no figures for {base_code} match those of {period_code}.", highlight=False)
        raise typer.Exit(1)


def _base_period(text: str, period_code: str) -> str:
    """--base: an earlier period as long as PERIOD, not PERIOD itself."""
    from transforms.periods import parse_period

    base_code = _canonical_period(text, "--base")
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


def _known_then(con, known_at: datetime) -> None:
    """Exit 1, saying so, when --as-of comes before the warehouse received its first submission."""
    first = con.execute("select min(received_at) from audit.submissions").fetchall()[0][0]
    if first is None or known_at < first:
        errors.print(
            f"Nothing was known at {_moment(known_at)}: "
            + (f"the first submission was received at {_moment(first)}." if first else "the warehouse holds no submission."),
            highlight=False,
        )
        raise typer.Exit(1)


def _known_reporter(code: str | None) -> None:
    if code and code.strip().upper() not in _registry.reporters:
        raise typer.BadParameter(
            f"'{code}' is not a reporter; use one of {', '.join(_registry.reporters)}", param_hint="--reporter"
        )


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"'{text}' is not a time such as 2026-11-01 or 2026-11-01T08:00:00+07:00",
                                 param_hint="--as-of") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ------------------------------------------------------- daily operation
class SubmissionStatus(str, Enum):
    loaded = "loaded"
    rejected = "rejected"
    duplicate = "duplicate"


class Severity(str, Enum):
    error = "error"
    warning = "warning"


ReporterFilter = Annotated[
    str | None, typer.Option("--reporter", metavar="CODE", help=f"Only this reporter's files ({', '.join(_registry.reporters)}).")
]
StatusFilter = Annotated[
    SubmissionStatus | None,
    typer.Option("--status", case_sensitive=False, metavar="loaded|rejected|duplicate", help="Only files of this status."),
]
FileFilter = Annotated[str | None, typer.Option("--file", metavar="NAME", help="Only the file of this name (as it was in the inbox).")]


def _limit_option(what: str):
    return typer.Option("--limit", min=1, metavar="N", help=f"At most N {what}.")


@app.command()
def submissions(
    reporter: ReporterFilter = None,
    status: StatusFilter = None,
    file: FileFilter = None,
    limit: Annotated[int, _limit_option("files, the latest first")] = 20,
    warehouse: WarehouseOption = None,
    output: Annotated[TableOrJson, format_option(TableOrJson, "table (for people) or json (for machines).")] = TableOrJson.table,
) -> None:
    """List the latest files received: when, from whom, loaded, rejected or duplicate, with their counts of findings.

    Read from audit.submissions of the analyst file. Exit 0, 2 for wrong usage.
    """
    from warehouse.queries import recent_submissions

    settings = _settings(warehouse=warehouse)
    _known_reporter(reporter)
    readable_warehouse(settings)
    with _open_analyst(settings.warehouse) as con:
        rows = recent_submissions(con, _reporter_code(reporter), status.value if status else None, file, limit)
    if output is TableOrJson.json:
        typer.echo(json.dumps(rows.to_dicts(), default=_json_value, ensure_ascii=False, indent=1))
        return
    table = Table(title=f"Latest {counted(rows.height, 'file')} received", title_justify="left")
    for name, justify in [("#", "right"), ("Received (UTC)", "left"), ("File", "left"), ("Reporter", "left"),
                          ("Status", "left"), ("Errors", "right"), ("Warnings", "right"), ("Rows", "right")]:
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    colours = {"loaded": "green", "rejected": "red", "duplicate": "yellow"}
    for row in rows.iter_rows(named=True):
        table.add_row(
            str(row["sequence"]), f"{row['received_at'].astimezone(UTC):%Y-%m-%d %H:%M:%S}", escape(row["file_name"]),
            escape(row["reporter"] or "—"), f"[{colours.get(row['status'], 'default')}]{escape(row['status'])}[/]",
            f"{row['errors']:,}", f"{row['warnings']:,}", f"{row['observations']:,}",
        )
    console.print(table, highlight=False)


@app.command()
def findings(
    reporter: ReporterFilter = None,
    status: StatusFilter = None,
    rule: Annotated[str | None, typer.Option("--rule", metavar="RULE", help=f"Only this rule ({_errors}, {_warnings}).")] = None,
    severity: Annotated[
        Severity | None, typer.Option("--severity", case_sensitive=False, metavar="error|warning", help="Only errors or only warnings.")
    ] = None,
    file: FileFilter = None,
    limit: Annotated[int, _limit_option("findings, of the latest files first")] = 50,
    warehouse: WarehouseOption = None,
    output: Annotated[TableOrJson, format_option(TableOrJson, "table (for people) or json (for machines).")] = TableOrJson.table,
) -> None:
    """List the findings of the latest files: file, row, column, rule and message.

    Read from audit.findings of the analyst file. Exit 0, 2 for wrong usage (such as a rule the contract does not have).
    """
    from warehouse.queries import recent_findings

    settings = _settings(warehouse=warehouse)
    _known_reporter(reporter)
    if rule is not None and rule.strip() not in _registry.rules:
        raise typer.BadParameter(f"'{rule}' is not a rule; use one of {_errors}, {_warnings}", param_hint="--rule")
    readable_warehouse(settings)
    with _open_analyst(settings.warehouse) as con:
        rows = recent_findings(
            con, _reporter_code(reporter), status.value if status else None, rule.strip() if rule else None,
            severity.value if severity else None, file, limit,
        )
    if output is TableOrJson.json:
        typer.echo(json.dumps(rows.to_dicts(), default=_json_value, ensure_ascii=False, indent=1))
        return
    table = Table(title=f"{counted(rows.height, 'finding')} of the latest files", title_justify="left")
    for name, justify in [("File", "left"), ("Status", "left"), ("Row", "right"), ("Column", "left"),
                          ("Rule", "left"), ("Message", "left")]:
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for row in rows.iter_rows(named=True):
        colour = "red" if row["severity"] == "error" else "yellow"
        table.add_row(
            escape(row["file_name"]), escape(row["status"]), "" if row["row_number"] is None else str(row["row_number"]),
            escape(row["column_name"] or ""), f"[{colour}]{escape(row['rule'])}[/]", escape(row["message"]),
        )
    console.print(table, highlight=False)


def _json_value(value) -> str:
    """Times as ISO 8601 (with their offset); anything else JSON does not know as its text."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _reporter_code(text: str | None) -> str | None:
    return text.strip().upper() if text else None


# ------------------------------------------------------------------ printing
def counted(count: int, noun: str, plural: str | None = None) -> str:
    """"1 error", "2 errors": a count with its noun in the right number."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def _moment(moment: datetime) -> str:
    """A time as it was given, in its own zone, with UTC beside it when that zone is another."""
    utc = moment.astimezone(UTC)
    if moment.utcoffset() == utc.utcoffset():
        return f"{utc:%Y-%m-%d %H:%M:%S} UTC"
    return f"{moment:%Y-%m-%d %H:%M:%S}{_offset(moment)} ({utc:%Y-%m-%d %H:%M:%S} UTC)"


def _offset(moment: datetime) -> str:
    text = moment.strftime("%z")  # +0700
    return f"{text[:3]}:{text[3:5]}" + (f":{text[5:]}" if len(text) > 5 else "")


def _cut(row: dict) -> str:
    from transforms.report import code_label

    parts = [f"{d}: {code_label(_registry, d, row[d])}" for d in _registry.dimension_names if row[d] != TOTAL]
    return ", ".join(parts) or "total"


def _area(code: str) -> str:
    from transforms.report import area_label

    return area_label(_registry, code)


def _number(value) -> str:
    return "—" if value is None else f"{value:,}"


def _record_schema() -> dict:
    import polars as pl

    return {
        "reporter": pl.String, "area": pl.String, "area_label": pl.String, "indicator": pl.String,
        **{d: pl.String for d in _registry.dimension_names}, "cut": pl.String,
        "base_period": pl.String, "base_value": pl.Int64, "period": pl.String, "value": pl.Int64,
        "status": pl.String, "is_derived": pl.Boolean, "change": pl.Int64, "change_pct": pl.Float64,
    }


def comparison_records(rows) -> list[dict]:
    """The comparison rows for csv and json: codes with labels beside them; the base period before PERIOD."""
    records = []
    for row in rows.iter_rows(named=True):
        records.append({
            "reporter": row["reporter"], "area": row["area"], "area_label": _registry.areas[row["area"]].name
            if row["area"] in _registry.areas else None, "indicator": row["indicator"],
            **{d: row[d] for d in _registry.dimension_names}, "cut": _cut(row),
            "base_period": row["base_period"], "base_value": row["base_value"],
            "period": row["period"], "value": row["value"], "status": row["status"],
            "is_derived": bool(row.get("is_derived")), "change": row["change"], "change_pct": row["change_pct"],
        })
    return records


def _print_comparison(rows, period: str, base: str, known_at: datetime | None = None) -> None:
    title = f"{period} against {base}" + (f", as known at {_moment(known_at)}" if known_at else "")
    table = Table(title=title, title_justify="left")
    for name, justify in [("Reporter", "left"), ("Area", "left"), ("Indicator", "left"), ("Cut", "left"),
                          (base, "right"), (period, "right"), ("Change", "right"), ("Change %", "right")]:
        figures = justify == "right"
        # Figures never shrink nor lose a digit; text columns wrap, and fold a word too long for their width.
        table.add_column(name, justify=justify, no_wrap=figures, overflow="fold")  # type: ignore[arg-type]
    for row in rows.iter_rows(named=True):
        pct = row["change_pct"]
        table.add_row(
            escape(row["reporter"]), escape(_area(row["area"])), escape(row["indicator"]), escape(_cut(row)),
            _number(row["base_value"]),
            _number(row["value"]) + (f" {escape(row['status'])}" if row["status"] != "A" else "")
            + (" (derived)" if row.get("is_derived") else ""),
            "—" if row["change"] is None else f"{row['change']:+,}",
            "—" if pct is None else f"{pct:+.1f}%",
        )
    console.print(table, highlight=False)


FIRST_FINDINGS = 3  # findings shown under each rejected file
EXAMPLES = 3  # examples shown under each rule of the warnings
LISTED = 10  # names listed of duplicates, ignored files and files left for later, unless --verbose


def _located(finding: dict) -> str:
    """A finding's message, led by its row when the message does not already say it."""
    message = finding["message"]
    if finding.get("row_number") is not None and not message.startswith("row "):
        return f"row {finding['row_number']}: {message}"
    return message


def _names(names: list[str], verbose: bool) -> str:
    shown = names if verbose else names[:LISTED]
    more = len(names) - len(shown)
    return ", ".join(escape(n) for n in shown) + (f" and {counted(more, 'more')}" if more else "")


def _print_summary(summary, settings: Settings, verbose: bool = False) -> None:
    """The run in a screen: counts, every rejected file with its first findings, the warnings by rule.

    File names, messages and values come from the files, so they are printed escaped, never as markup.
    """
    by_submission: dict[str, list[dict]] = {}
    for finding in summary.findings:
        by_submission.setdefault(finding["submission_id"], []).append(finding)
    names = {item["submission_id"]: item["file_name"] for item in summary.submissions if item["status"] != "duplicate"}
    console.print(f"[bold]ctip run:[/] {escape(str(settings.inbox))} → {escape(str(settings.warehouse))}", highlight=False)
    if verbose and summary.submissions:
        _print_every_file(summary, by_submission)
    console.print(
        f"Loaded {summary.count('loaded')}, rejected {summary.count('rejected')}, "
        f"duplicates {summary.count('duplicate')}, warnings {summary.warnings}, "
        f"already done {summary.already_received}, ignored {len(summary.ignored)}, still being written {len(summary.in_progress)}.",
        highlight=False,
    )
    rejected = [item for item in summary.submissions if item["status"] == "rejected"]
    if rejected:
        console.print(f"\n[bold red]Rejected[/] ({counted(len(rejected), 'file')}):", highlight=False)
    for item in rejected:
        found = by_submission.get(item["submission_id"], [])
        errors_found = [f for f in found if f["severity"] == "error"]
        console.print(
            f"  [bold]{escape(item['file_name'])}[/] ({escape(item['reporter'] or 'reporter unknown')}): "
            f"{counted(len(errors_found), 'error')}, {counted(len(found) - len(errors_found), 'warning')}",
            highlight=False,
        )
        for finding in errors_found[:FIRST_FINDINGS]:
            console.print(f"    • {escape(finding['rule'])}: {escape(_located(finding))}", highlight=False)
        more = len(found) - min(len(errors_found), FIRST_FINDINGS)
        if more:
            console.print(
                f"    … and {counted(more, 'more finding')}: ctip findings --file {escape(_shell_word(item['file_name']))}",
                highlight=False,
            )
    warnings = [f for f in summary.findings if f["severity"] == "warning" and f["submission_id"] in names]
    by_rule: dict[str, list[dict]] = {}
    for finding in warnings:
        by_rule.setdefault(finding["rule"], []).append(finding)
    if by_rule:
        console.print(f"\n[bold yellow]Warnings[/] ({counted(len(warnings), 'warning')}), by rule:", highlight=False)
    for rule, found in sorted(by_rule.items(), key=lambda item: (-len(item[1]), item[0])):
        files = len({f["submission_id"] for f in found})
        console.print(
            f"  [bold]{escape(rule)}[/]: {counted(len(found), 'warning')} in {counted(files, 'file')}; "
            f"all of them: ctip findings --rule {escape(rule)}",
            highlight=False,
        )
        for finding in found[:EXAMPLES]:
            console.print(f"    • {escape(names[finding['submission_id']])}: {escape(_located(finding))}", highlight=False)
    duplicates = [item for item in summary.submissions if item["status"] == "duplicate"]
    if duplicates:
        shown = [
            f"{item['file_name']} (same bytes as {item['original'] or 'submission ' + item['submission_id'][:12]})"
            for item in duplicates
        ]
        console.print("\nDuplicates, not loaded again: " + _names(shown, verbose), highlight=False)
    if summary.ignored:
        console.print("Ignored (not .csv, .xlsx or .json, or hidden): " + _names(summary.ignored, verbose), highlight=False)
    if summary.in_progress:
        console.print("Left for the next run (changing while read): " + _names(summary.in_progress, verbose),
                      highlight=False)
    if summary.docs:
        console.print(f"Validation pages: {summary.docs}", markup=False, highlight=False)


def _shell_word(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _print_every_file(summary, by_submission: dict[str, list[dict]]) -> None:
    """--verbose: one line per file taken, with its status and counts."""
    table = Table(title_justify="left")
    for name in ("#", "File", "Reporter", "Status", "Errors", "Warnings"):
        table.add_column(name, no_wrap=name != "File", overflow="fold")
    colours = {"loaded": "green", "rejected": "red", "duplicate": "yellow"}
    for item in summary.submissions:
        found = [] if item["status"] == "duplicate" else by_submission.get(item["submission_id"], [])
        errors_found = sum(1 for f in found if f["severity"] == "error")
        table.add_row(
            str(item["sequence"]), escape(item["file_name"]), escape(item["reporter"] or "—"),
            f"[{colours[item['status']]}]{item['status']}[/]", str(errors_found), str(len(found) - errors_found),
        )
    console.print(table, highlight=False)


def _print_file_report(item: dict) -> None:
    verdict = "[red]invalid[/]" if item["errors"] else "[green]valid[/]"
    console.print(
        f"{escape(item['file'])}: {verdict} ({counted(item['errors'], 'error')}, {counted(item['warnings'], 'warning')})",
        highlight=False,
    )
    if item["findings"]:
        table = Table(show_header=True)
        for name in ("Row", "Column", "Rule", "Severity", "Message"):
            table.add_column(name, overflow="fold")
        for f in item["findings"]:
            table.add_row(
                "" if f["row_number"] is None else str(f["row_number"]), escape(f["column_name"] or ""),
                escape(f["rule"]), escape(f["severity"]), escape(f["message"]),
            )
        console.print(table, highlight=False)


from flows import claims as _claims_command, describe as _describe_command  # noqa: E402,F401 - they register their commands
from flows import export as _export_command  # noqa: E402,F401 - registers its command
from flows import report as _report_command  # noqa: E402,F401 - registers its command
from flows import generate as _generate_command  # noqa: E402,F401 - registers its command


from flows.accounts import accounts as _accounts  # noqa: E402  (a group of its own module)

app.add_typer(_accounts, name="accounts")


@app.command()
def template(
    reporter: Annotated[str, typer.Option("--reporter", help="The institution the workbook is for.", show_default=False)],
    period: Annotated[str, typer.Option("--period", help="The period it reports, such as 2019-S1.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="The .xlsx file to write.", show_default=False)],
    lang: Annotated[str, typer.Option("--lang", help="Language of the instructions: en or km.")] = "en",
) -> None:
    """A blank workbook to fill in: the rows the reporter may report for the period, drop-down lists for codes,
    a sheet of codes with English and Khmer labels and a sheet of instructions.

    Exit 0 written, 2 wrong usage.
    """
    from flows.template import write_template

    code = reporter.strip().upper()
    if code not in _registry.reporters:
        raise typer.BadParameter(f"'{reporter}' is not a reporter; use one of {', '.join(_registry.reporters)}",
                                 param_hint="--reporter")
    if lang not in ("en", "km"):
        raise typer.BadParameter(f"'{lang}' is not a language; use en or km", param_hint="--lang")
    if out.suffix.lower() != ".xlsx":
        raise typer.BadParameter(f"{out.name} does not end in .xlsx", param_hint="--out")
    if out.exists() and out.is_dir():
        raise typer.BadParameter(f"{out} is a folder", param_hint="--out")
    rows = write_template(out, _registry, code, _canonical_period(period, "--period"), lang)
    console.print(f"Wrote {out} ({rows} rows to fill in for {code}, {_canonical_period(period, '--period')}).")


@app.command()
def portal(
    host: Annotated[str, typer.Option("--host", help="Address to listen on; keep 127.0.0.1 behind a TLS proxy.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 8765,
    inbox: InboxOption = None,
    warehouse: WarehouseOption = None,
    secure_cookies: Annotated[
        bool, typer.Option("--secure-cookies", help="Mark cookies Secure: people reach the portal through HTTPS.")
    ] = False,
) -> None:
    """The submission portal: clerks sign in, upload files and see every finding at once; a JSON API for scripts.

    Uploads are archived and put in the inbox for the next run; the portal never writes the warehouse.
    Runs until stopped (Ctrl-C).
    """
    from flows.portal.app import serve_portal

    settings = _settings(inbox, warehouse)
    if settings.inbox.exists() and not settings.inbox.is_dir():
        raise typer.BadParameter(f"{settings.inbox} is not a folder", param_hint="--inbox")
    serve_portal(settings, _registry, host, port, secure_cookies)
