"""The commands that write the warehouse: `ctip run`, `ctip serve` and `ctip backfill`, and the run's summary."""

from __future__ import annotations

from typing import Annotated

import duckdb
import typer
from rich.markup import escape
from rich.table import Table

from flows.cli.common import (
    InboxOption,
    WarehouseOption,
    canonical_period,
    command_settings,
    console,
    counted,
    errors,
    inbox_folder,
    known_reporter,
    readable_warehouse,
    reporter_option,
    writable_warehouse,
    wrong_usage,
)
from flows.settings import Settings, quiet_orchestrator_defaults
from schemas import load_registry
from schemas.findings import count_of
from warehouse.queries import DetachedAnalystFile, open_analyst, originals

Workers = Annotated[
    int | None,
    typer.Option("--workers", min=1, metavar="N", help="Read and validate on a local Dask cluster of N processes."),
]
Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler", metavar="ADDRESS", help="Read and validate on the Dask cluster at this scheduler address."
    ),
]
Verbose = Annotated[
    bool, typer.Option("--verbose", help="List every file with its status and counts, not only the rejected ones.")
]
Interval = Annotated[
    float | None,
    typer.Option(
        "--interval", min=1, metavar="SECONDS", help="Run every N seconds instead of the nightly cron schedule."
    ),
]
ServePort = Annotated[
    int | None,
    typer.Option(
        "--port",
        min=1,
        max=65535,
        help="Port of the Prefect server (UI and API) started on 127.0.0.1 (default 4200, or CTIP_SERVE_PORT).",
    ),
]


def _nightly_settings(settings: Settings) -> Settings:
    """The settings of a command that runs the nightly job: its inbox a folder, its warehouse one ctip may keep."""
    inbox_folder(settings)
    writable_warehouse(settings)
    quiet_orchestrator_defaults()
    return settings


def run(
    inbox: InboxOption = None,
    warehouse: WarehouseOption = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    verbose: Verbose = False,
) -> None:
    """The nightly job: archive, validate and load every new file in the inbox, then update the comparisons.

    Prints the counts, every rejected file with its first findings, and the warnings grouped by rule.

    Exit 0 when the run completed (also when submissions were rejected), 1 when the run itself failed,
    2 for wrong usage (an inbox that is not a folder, a warehouse that is not a ctip warehouse, a bad setting).
    """
    settings = _nightly_settings(command_settings(inbox, warehouse))
    if workers and scheduler:
        wrong_usage("--workers and --scheduler: give one (a cluster of N local workers, or a cluster's scheduler)")
    from flows.orchestrator import Terminated
    from flows.orchestrator import run as nightly_run

    try:
        summary = nightly_run(
            settings,
            on_fallback=_orchestrator_warning,
            workers=workers,
            scheduler=scheduler,
            show_progress=errors.is_terminal,
        )
    except Terminated:
        errors.print(
            "ctip run stopped (SIGTERM): the batch it was loading was rolled back; what it had not finished, the "
            "next run finishes.",
            markup=False,
            highlight=False,
        )
        raise
    except Exception as problem:  # the run failed; say why, in one line
        errors.print(f"[bold red]ctip run failed:[/] {type(problem).__name__}: {escape(str(problem))}", highlight=False)
        raise typer.Exit(1) from None
    print_summary(summary, settings, verbose)


def _orchestrator_warning(problem: BaseException) -> None:
    from flows.orchestrator import SchedulerSilent

    if isinstance(problem, SchedulerSilent):
        errors.print(f"[yellow]{escape(str(problem))}: the run goes on in one process.[/]", highlight=False)
        return
    errors.print(
        f"[yellow]The orchestrator failed ({type(problem).__name__}: {escape(str(problem)[:200])}); "
        "running the nightly steps without it.[/]",
        highlight=False,
    )


def serve(
    inbox: InboxOption = None,
    warehouse: WarehouseOption = None,
    interval: Interval = None,
    port: ServePort = None,
    remind_schedule: Annotated[
        str | None,
        typer.Option(
            "--remind-schedule",
            metavar="CRON",
            help="When to send reminders and overdue notices (`ctip remind`), cron in CTIP_TIMEZONE "
            "(default CTIP_REMIND_SCHEDULE, or 0 8 * * *: daily at 08:00).",
        ),
    ] = None,
) -> None:
    """Schedule `run` nightly (02:00 Asia/Phnom_Penh by default) and `remind` daily (08:00) with Prefect and
    keep serving both.

    The schedules are CTIP_SCHEDULE and CTIP_REMIND_SCHEDULE (cron) in CTIP_TIMEZONE. Uses the Prefect server at PREFECT_API_URL, or starts
    one on 127.0.0.1 at --port for as long as it serves, its UI at http://127.0.0.1:PORT, its home in
    the prefect folder of the warehouse's .ctip folder (unless PREFECT_HOME is set) and its API closed to anyone without the key
    written there. Runs until stopped (Ctrl-C); exit 1 when the server cannot start, 2 for wrong usage
    (an inbox that is not a folder, a warehouse that is not a ctip warehouse, a bad setting).
    """
    from flows.serve import ServerDidNotStart
    from flows.serve import serve as serve_nightly

    settings = _nightly_settings(command_settings(inbox, warehouse).with_overrides(serve_port=port))
    if remind_schedule is not None:
        from dataclasses import replace

        from flows.settings import SettingsError, cron_schedule

        try:
            settings = replace(settings, remind_schedule=cron_schedule(remind_schedule, "--remind-schedule"))
        except SettingsError as problem:
            wrong_usage(str(problem))
    from prefect._internal.schemas.validators import validate_cron_string  # the schedules' own check, at once

    for cron, name in (
        (settings.schedule, "CTIP_SCHEDULE"),
        (settings.remind_schedule, "--remind-schedule" if remind_schedule is not None else "CTIP_REMIND_SCHEDULE"),
    ):
        if name == "CTIP_SCHEDULE" and interval is not None:
            continue  # --interval replaces the nightly schedule
        try:
            validate_cron_string(cron)
        except ValueError:
            wrong_usage(
                f"{name} is '{cron}', which is not a cron schedule (minute 0-59, hour 0-23, day, month, weekday)"
            )
    try:
        serve_nightly(settings, interval)
    except ServerDidNotStart as problem:
        errors.print(f"ctip serve could not start its Prefect server: {problem}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print("ctip serve stopped.")


def backfill(
    first: Annotated[str, typer.Option("--from", metavar="PERIOD", help="First period of the range, such as 2019-S1.")],
    last: Annotated[str, typer.Option("--to", metavar="PERIOD", help="Last period of the range, such as 2019-S2.")],
    reporter: Annotated[str | None, reporter_option("Only this reporter's submissions")] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Re-process the archived submissions that touch --from..--to, in their original order, under today's rules.

    Exit 0 when the backfill completed, 1 when it failed, 2 for wrong usage (a period that does not parse,
    a range that ends before it starts, a warehouse that does not exist or is not a ctip warehouse).
    """
    from transforms.periods import parse_period

    settings = command_settings(warehouse=warehouse)
    reporter_code = known_reporter(load_registry(), reporter)
    first_code, last_code = canonical_period(first, "--from"), canonical_period(last, "--to")
    first_period, last_period = parse_period(first_code), parse_period(last_code)
    if last_period.end <= first_period.start:
        raise typer.BadParameter(
            f"the range {first_code}..{last_code} is empty: {last_code} ends before {first_code} begins; "
            "give the earlier period with --from",
            param_hint="--to",
        )
    readable_warehouse(settings)  # a backfill replays what a warehouse archived: there must be one
    quiet_orchestrator_defaults()
    try:
        from flows.orchestrator import backfill as backfill_job

        summary, orchestration = backfill_job(
            settings.warehouse,
            first_code,
            last_code,
            reporter_code,
            settings.timezone,
            settings.lock_timeout_seconds,
            show_progress=errors.is_terminal,
        )
    except Exception as problem:
        errors.print(
            f"[bold red]ctip backfill failed:[/] {type(problem).__name__}: {escape(str(problem))}", highlight=False
        )
        raise typer.Exit(1) from None
    if orchestration:
        console.print(orchestration, markup=False, highlight=False)
    if not summary.replayed:
        console.print(f"No archived submission touches {first_code}..{last_code}; nothing to replay.", highlight=False)
        return
    warnings = count_of([f for f in summary.findings if f["severity"] == "warning"])
    console.print(
        f"Replayed {counted(len(summary.replayed), 'submission')} received from {summary.since:%Y-%m-%d %H:%M:%S} UTC on: "
        f"loaded {summary.count('loaded')}, rejected {summary.count('rejected')}, warnings {warnings}.",
        highlight=False,
    )


FIRST_FINDINGS = 3  # findings shown under each rejected file
EXAMPLES = 3  # examples shown under each rule of the warnings
LISTED = 10  # names listed of duplicates, ignored files and files left for later, unless --verbose


def _located(finding: dict) -> str:
    """A finding's message, led by its row when the message does not already say it."""
    message = finding["message"]
    if finding.get("row_number") is not None and not message.startswith("row "):
        return f"row {finding['row_number']}: {message}"
    return message


def _print_item(heading: str, examples: list[tuple[str, dict]]) -> None:
    """A rejected file or a rule of the warnings (`heading`, markup), then each example: its label and finding."""
    console.print(heading, highlight=False)
    for label, finding in examples:
        console.print(f"    • {escape(label)}: {escape(_located(finding))}", highlight=False)


def _names(names: list[str], verbose: bool) -> str:
    shown = names if verbose else names[:LISTED]
    more = len(names) - len(shown)
    return ", ".join(escape(n) for n in shown) + (f" and {counted(more, 'more')}" if more else "")


def _originals(settings: Settings, submission_ids: list[str]) -> dict[str, tuple[str, str]]:
    """The name and status of each duplicate's original, as the published warehouse has them (none when it cannot
    be read: the summary names the submission by its SHA-256 instead)."""
    try:
        with open_analyst(settings.warehouse) as con:
            return originals(con, submission_ids)
    except (duckdb.Error, DetachedAnalystFile):
        return {}


def print_summary(summary, settings: Settings, verbose: bool = False) -> None:
    """The run in a screen: counts, every rejected file with its first findings, the warnings by rule.

    File names, messages and values come from the files, so they are printed escaped, never as markup.
    """
    by_submission: dict[str, list[dict]] = {}
    for finding in summary.findings:
        by_submission.setdefault(finding["submission_id"], []).append(finding)
    names = {item["submission_id"]: item["file_name"] for item in summary.submissions if item["status"] != "duplicate"}
    console.print(
        f"[bold]ctip run:[/] {escape(str(settings.inbox))} → {escape(str(settings.warehouse))}", highlight=False
    )
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
        _print_item(
            f"  [bold]{escape(item['file_name'])}[/] ({escape(item['reporter'] or 'reporter unknown')}): "
            f"{counted(len(errors_found), 'error')}, {counted(len(found) - len(errors_found), 'warning')}",
            [(finding["rule"], finding) for finding in errors_found[:FIRST_FINDINGS]],
        )
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
        _print_item(
            f"  [bold]{escape(rule)}[/]: {counted(len(found), 'warning')} in {counted(files, 'file')}; "
            f"all of them: ctip findings --rule {escape(rule)}",
            [(names[finding["submission_id"]], finding) for finding in found[:EXAMPLES]],
        )
    duplicates = [item for item in summary.submissions if item["status"] == "duplicate"]
    if duplicates:
        first = _originals(settings, [item["submission_id"] for item in duplicates])
        shown = [
            f"{item['file_name']} (same bytes as "
            + (
                f"{first[item['submission_id']][0]}, {first[item['submission_id']][1]})"
                if item["submission_id"] in first
                else f"submission {item['submission_id'][:12]})"
            )
            for item in duplicates
        ]
        console.print("\nDuplicates, not loaded again: " + _names(shown, verbose), highlight=False)
        if any(status == "rejected" for _, status in first.values()):
            console.print(
                "  The same bytes are never judged twice, whatever became of them: to send again the figures of a "
                "rejected file (renamed, or after an unapprove), change the file (correct it, or any comment) and "
                "send it again.",
                highlight=False,
            )
    if summary.put_back:
        console.print(
            "Put back as they were before, not applied again (the same name and bytes were received before, and a "
            "later file of that name changed its figures, which the warehouse keeps): "
            + _names(summary.put_back, verbose)
            + ". To apply these figures again, change the file (a comment) and send it.",
            highlight=False,
        )
    if summary.ignored:
        console.print(
            "Ignored (not .csv, .xlsx or .json, or hidden): " + _names(summary.ignored, verbose), highlight=False
        )
    if summary.in_progress:
        console.print(
            "Left for the next run (changing while read): " + _names(summary.in_progress, verbose), highlight=False
        )
    if summary.docs:
        console.print(f"Validation pages: {summary.docs}", markup=False, highlight=False)
    if summary.docs_failed:
        console.print(
            f"Validation pages were not written ({summary.docs_failed}); the files are loaded as summarised above, "
            "and the next run writes its own pages.",
            markup=False,
            highlight=False,
        )
    if summary.notices:
        console.print(summary.notices, markup=False, highlight=False)
    if summary.orchestration:
        console.print(summary.orchestration, markup=False, highlight=False)


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
            str(item["sequence"]),
            escape(item["file_name"]),
            escape(item["reporter"] or "—"),
            f"[{colours[item['status']]}]{item['status']}[/]",
            str(errors_found),
            str(len(found) - errors_found),
        )
    console.print(table, highlight=False)
