"""The `ctip` command line. Exit statuses follow the warehouse contract."""

from __future__ import annotations

import json
from datetime import datetime, UTC
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from flows.settings import Settings, from_environment, quiet_orchestrator_defaults
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
)
_WIDE = 160  # when printing to a file or pipe, where there is no terminal width to follow
console = Console(width=None if Console().is_terminal else _WIDE)
errors = Console(stderr=True, width=None if Console(stderr=True).is_terminal else _WIDE)

InboxOption = Annotated[
    Path | None, typer.Option("--inbox", help="Folder of submissions (default data/inbox/, or CTIP_INBOX).")
]
WarehouseOption = Annotated[
    Path | None,
    typer.Option("--warehouse", help="The DuckDB file analysts open (default warehouse/ctip.duckdb, or CTIP_WAREHOUSE)."),
]


def _settings(inbox: Path | None = None, warehouse: Path | None = None) -> Settings:
    return from_environment().with_overrides(inbox, warehouse)


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
        int | None, typer.Option("--workers", min=1, help="Read and validate on a local Dask cluster of N processes.")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Read and validate on the Dask cluster at this scheduler address.")
    ] = None,
) -> None:
    """The nightly job: archive, validate and load every new file in the inbox, then update the comparisons.

    Exit 0 when the run completed (also when submissions were rejected), 1 when the run itself failed.
    """
    settings = _settings(inbox, warehouse)
    quiet_orchestrator_defaults()
    try:
        from flows.nightly import run_nightly

        summary = run_nightly(settings, on_fallback=_orchestrator_warning, workers=workers, scheduler=scheduler)
    except Exception as problem:  # the run failed; say why, in one line
        errors.print(f"[bold red]ctip run failed:[/] {type(problem).__name__}: {problem}")
        raise typer.Exit(1) from None
    _print_summary(summary, settings)


def _orchestrator_warning(problem: BaseException) -> None:
    errors.print(
        f"[yellow]The orchestrator failed ({type(problem).__name__}: {str(problem)[:200]}); "
        "running the nightly steps without it.[/]"
    )


@app.command()
def serve(
    inbox: InboxOption = None,
    warehouse: WarehouseOption = None,
    interval: Annotated[
        float | None, typer.Option("--interval", help="Run every N seconds instead of the nightly cron schedule.")
    ] = None,
) -> None:
    """Schedule `run` nightly with Prefect (02:00 Asia/Phnom_Penh by default) and keep serving it.

    The schedule is CTIP_SCHEDULE (cron) in CTIP_TIMEZONE. Uses the Prefect server at PREFECT_API_URL,
    or starts one on 127.0.0.1 for as long as it serves. Runs until stopped (Ctrl-C).
    """
    from flows.serve import serve as serve_nightly

    quiet_orchestrator_defaults()
    try:
        serve_nightly(_settings(inbox, warehouse), interval)
    except KeyboardInterrupt:
        console.print("ctip serve stopped.")


@app.command()
def backfill(
    first: Annotated[str, typer.Option("--from", help="First period of the range, such as 2019-S1.")],
    last: Annotated[str, typer.Option("--to", help="Last period of the range, such as 2019-S2.")],
    reporter: Annotated[
        str | None, typer.Option("--reporter", help=f"Only this reporter's submissions ({', '.join(_registry.reporters)}).")
    ] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Re-process the archived submissions that touch --from..--to, in their original order, under today's rules.

    Exit 0 when the backfill completed, 1 when it failed.
    """
    settings = _settings(warehouse=warehouse)
    _known_reporter(reporter)
    first_code, last_code = _canonical_period(first, "--from"), _canonical_period(last, "--to")
    quiet_orchestrator_defaults()
    try:
        from flows.backfill import backfill as backfill_flow

        summary = backfill_flow(
            first_period=first_code, last_period=last_code, warehouse=str(settings.warehouse),
            reporter=reporter.strip().upper() if reporter else None, timezone=settings.timezone,
            lock_timeout_seconds=settings.lock_timeout_seconds,
        )
    except Exception as problem:
        errors.print(f"[bold red]ctip backfill failed:[/] {type(problem).__name__}: {problem}")
        raise typer.Exit(1) from None
    if not summary.replayed:
        console.print(f"No archived submission touches {first_code}..{last_code}; nothing to replay.")
        return
    console.print(
        f"Replayed {len(summary.replayed)} submissions received from {summary.since:%Y-%m-%d %H:%M:%S} UTC on: "
        f"loaded {summary.count('loaded')}, rejected {summary.count('rejected')}, "
        f"warnings {sum(1 for f in summary.findings if f['severity'] == 'warning')}."
    )


@app.command(
    help=(
        "Dry run before sending: every problem in each file, with row and column. Writes nothing.\n\n"
        f"Errors (the file would be rejected): {_errors}. Warnings (it would load): {_warnings}.\n\n"
        "Exit 0 when every file is valid (warnings allowed), 1 when any file has an error."
    )
)
def validate(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, help="Submission files (.csv, .xlsx, .json).")],
    warehouse: WarehouseOption = None,
    output: Annotated[str, typer.Option("--format", help="table (for people) or json (for machines).")] = "table",
) -> None:
    """Dry run before sending: every problem in each file, with row and column. Writes nothing.

    Exit 0 when every file is valid (warnings allowed), 1 when any file has an error.
    """
    from flows.checking import check_files

    settings = _settings(warehouse=warehouse)
    report = check_files(files, settings, _registry, datetime.now(UTC))
    if output == "json":
        console.print_json(json.dumps(report, default=str))
    else:
        for item in report:
            _print_file_report(item)
    raise typer.Exit(1 if any(item["errors"] for item in report) else 0)


@app.command()
def compare(
    period: Annotated[str, typer.Argument(help="Period to compare, such as 2019-S1.")],
    base: Annotated[str | None, typer.Option("--base", help="Period to compare with (default: a year before).")] = None,
    reporter: Annotated[str | None, typer.Option("--reporter", help=_reporter_help)] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Show the figures as known at this time (ISO 8601; without a zone, UTC)."),
    ] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Print the comparison table of PERIOD against the same period a year before (or --base).

    Exit 0, or 1 when nothing is there to compare.
    """
    import duckdb

    from transforms.periods import base_period_code
    from warehouse.queries import comparison

    settings = _settings(warehouse=warehouse)
    _known_reporter(reporter)
    known_at = _timestamp(as_of) if as_of else None
    period_code = _canonical_period(period, "PERIOD")
    base_code = _canonical_period(base, "--base") if base else base_period_code(period_code)
    if not settings.warehouse.exists():
        errors.print(f"No warehouse at {settings.warehouse}; run `ctip run` first.")
        raise typer.Exit(1)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        rows = comparison(
            con, _registry, period_code, base_code, reporter.strip().upper() if reporter else None,
            default_base=base_period_code(period_code), as_of=known_at,
        )
    if rows.height == 0:
        errors.print(f"Nothing to compare: no figures for {period_code}" + (f" from {reporter}" if reporter else "") + ".")
        raise typer.Exit(1)
    _print_comparison(rows, period_code, base_code, known_at)
    if rows["base_value"].null_count() == rows.height:
        errors.print(f"Nothing to compare: no figures for {base_code} match those of {period_code}.")
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


# ------------------------------------------------------------------ printing
def _cut(row: dict) -> str:
    parts = [f"{d}={row[d]}" for d in _registry.dimension_names if row[d] != TOTAL]
    return ", ".join(parts) or "total"


def _number(value) -> str:
    return "—" if value is None else f"{value:,}"


def _print_comparison(rows, period: str, base: str, known_at: datetime | None = None) -> None:
    title = f"{period} against {base}" + (f", as known at {known_at:%Y-%m-%d %H:%M:%S} UTC" if known_at else "")
    table = Table(title=title, title_justify="left")
    for name, justify in [("Reporter", "left"), ("Area", "left"), ("Indicator", "left"), ("Cut", "left"),
                          (base, "right"), (period, "right"), ("Change", "right"), ("Change %", "right")]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows.iter_rows(named=True):
        pct = row["change_pct"]
        table.add_row(
            row["reporter"], row["area"], row["indicator"], _cut(row), _number(row["base_value"]),
            _number(row["value"]) + (f" {row['status']}" if row["status"] != "A" else "")
            + (" (derived)" if row.get("is_derived") else ""),
            "—" if row["change"] is None else f"{row['change']:+,}",
            "—" if pct is None else f"{pct:+.1f}%",
        )
    console.print(table)


def _print_summary(summary, settings: Settings) -> None:
    table = Table(title=f"ctip run: {settings.inbox} → {settings.warehouse}", title_justify="left")
    for name in ("#", "File", "Reporter", "Status", "Errors", "Warnings"):
        table.add_column(name, no_wrap=name != "File")
    reasons_by_file: list[tuple[str, str, list[str]]] = []
    by_submission: dict[str, list[dict]] = {}
    for finding in summary.findings:
        by_submission.setdefault(finding["submission_id"], []).append(finding)
    colours = {"loaded": "green", "rejected": "red", "duplicate": "yellow"}
    for item in summary.submissions:
        found = [] if item["status"] == "duplicate" else by_submission.get(item["submission_id"], [])
        errors_found = [f for f in found if f["severity"] == "error"]
        warnings_found = [f for f in found if f["severity"] == "warning"]
        shown = errors_found[:3] if errors_found else warnings_found[:3]
        reasons = [f"{f['rule']}: {f['message']}" for f in shown]
        if len(found) > len(shown):
            reasons.append(f"… and {len(found) - len(shown)} more findings in audit.findings")
        if item["status"] == "duplicate":
            reasons = [f"same bytes as {item['original'] or 'submission ' + item['submission_id'][:12]}"]
        if reasons:
            reasons_by_file.append((item["file_name"], item["status"], reasons))
        table.add_row(
            str(item["sequence"]), item["file_name"], item["reporter"] or "—",
            f"[{colours[item['status']]}]{item['status']}[/]", str(len(errors_found)), str(len(warnings_found)),
        )
    if summary.submissions:
        console.print(table)
    for file_name, status, reasons in reasons_by_file:
        console.print(f"[bold]{file_name}[/] ({status}):", highlight=False)
        for reason in reasons:
            console.print(f"  • {reason}", highlight=False, markup=False)
    console.print(
        f"Loaded {summary.count('loaded')}, rejected {summary.count('rejected')}, "
        f"duplicates {summary.count('duplicate')}, warnings {summary.warnings}, "
        f"already done {summary.unchanged}, ignored {len(summary.ignored)}, still being written {len(summary.in_progress)}."
    )
    if summary.ignored:
        console.print("Ignored (not .csv, .xlsx or .json, or hidden): " + ", ".join(summary.ignored))
    if summary.in_progress:
        console.print("Left for the next run (changing while read): " + ", ".join(summary.in_progress))


def _print_file_report(item: dict) -> None:
    verdict = "[red]invalid[/]" if item["errors"] else "[green]valid[/]"
    console.print(f"{item['file']}: {verdict} ({item['errors']} errors, {item['warnings']} warnings)")
    if item["findings"]:
        table = Table(show_header=True)
        for name in ("Row", "Column", "Rule", "Severity", "Message"):
            table.add_column(name)
        for f in item["findings"]:
            table.add_row(
                "" if f["row_number"] is None else str(f["row_number"]), f["column_name"] or "",
                f["rule"], f["severity"], f["message"],
            )
        console.print(table)


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
