"""`ctip completeness`: which reporter-periods of the calendar arrived, on time or late, and which are missing.

The rule is one query, `warehouse/sql/marts/completeness.sql`: the analyst file's view
`marts.completeness` runs it as of now, this command as of --as-of.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import polars as pl
import typer
from rich.table import Table

from flows.cli.common import (
    FiguresFormat,
    TableCsvOrJson,
    WarehouseOption,
    as_of_option,
    as_of_time,
    canonical_period,
    command_settings,
    console,
    errors,
    known_reporter,
    moment,
    readable_warehouse,
    reading_analyst,
    reporter_option,
)
from schemas import load_registry

COLUMNS = ("reporter", "period", "period_type", "due_at", "arrived_at", "status", "days_late")
STATUSES = ("on_time", "late", "not_due", "rejected_only", "missing")  # in the order they are decided


def completeness_rows(con, zone: str, as_of: datetime, reporter: str | None = None, period: str | None = None):
    """marts.completeness as known at `as_of` in `zone`, of one reporter and of the periods within `period`."""
    from transforms.periods import parse_period
    from warehouse.queries import completeness

    within = None
    if period:
        span = parse_period(period)
        within = (span.start, span.end)
    return completeness(con, zone, as_of, reporter, within)


def records(rows: pl.DataFrame, zone: str) -> list[dict]:
    """The rows as plain objects with the contract's keys; times in ISO 8601 in `zone`."""
    tz = ZoneInfo(zone)

    def shown(at: datetime | None) -> str | None:
        return at.astimezone(tz).isoformat() if at is not None else None

    return [
        {**row, "due_at": shown(row["due_at"]), "arrived_at": shown(row["arrived_at"])}
        for row in rows.select(COLUMNS).to_dicts()
    ]


def completeness(
    period: Annotated[
        str | None,
        typer.Argument(
            metavar="[PERIOD]",
            help="Only the reporter-periods within this period (2019 shows every month, quarter and half of 2019).",
        ),
    ] = None,
    reporter: Annotated[str | None, reporter_option("Only this reporter")] = None,
    as_of: Annotated[str | None, as_of_option("Judge as known at this time, and by this clock; by default now")] = None,
    warehouse: WarehouseOption = None,
    output: FiguresFormat = TableCsvOrJson.table,
) -> None:
    """Print, for each reporter and each period of its calendar that has ended, when it was due, when it
    arrived and its status: on_time, late, not_due, rejected_only or missing, with the days late.

    A period is due at the end of its last due day in CTIP_TIMEZONE; it arrived with the first loaded
    submission of that reporter holding a figure of it (upload time for the portal, else receipt time).

    Exit 0, 1 when no period is due (none has passed its due time), 2 for wrong usage.
    """
    registry = load_registry()
    settings = command_settings(warehouse=warehouse)
    reporter_code = known_reporter(registry, reporter)
    period_code = canonical_period(period, "PERIOD") if period else None
    known_at = as_of_time(as_of) if as_of else datetime.now(settings.zone)
    readable_warehouse(settings)
    with reading_analyst(settings.warehouse) as con:
        rows = completeness_rows(con, settings.timezone, known_at, reporter_code, period_code)
    if output is TableCsvOrJson.json:
        typer.echo(json.dumps(records(rows, settings.timezone), ensure_ascii=False, indent=1))
    elif output is TableCsvOrJson.csv:
        typer.echo(pl.DataFrame(records(rows, settings.timezone), schema=_csv_schema()).write_csv(), nl=False)
    elif rows.height:
        _print_table(rows, settings.timezone, known_at)
    if rows.filter(pl.col("status") != "not_due").height == 0:
        errors.print(
            "No period is due"
            + (f" within {period_code}" if period_code else "")
            + (f" for {reporter_code}" if reporter_code else "")
            + f" as of {moment(known_at)}.",
            highlight=False,
        )
        raise typer.Exit(1)


def _csv_schema() -> dict:
    return {
        "reporter": pl.String,
        "period": pl.String,
        "period_type": pl.String,
        "due_at": pl.String,
        "arrived_at": pl.String,
        "status": pl.String,
        "days_late": pl.Int32,
    }


_STYLE = {"on_time": "green", "late": "yellow", "not_due": "dim", "rejected_only": "red", "missing": "bold red"}


def _print_table(rows: pl.DataFrame, zone: str, known_at: datetime) -> None:
    tz = ZoneInfo(zone)
    table = Table(title=f"Completeness as of {moment(known_at)} (times in {zone})", title_justify="left")
    for column in COLUMNS:
        table.add_column(column, justify="right" if column == "days_late" else "left", no_wrap=True)
    for row in rows.iter_rows(named=True):
        table.add_row(
            row["reporter"],
            row["period"],
            row["period_type"],
            f"{row['due_at'].astimezone(tz):%Y-%m-%d %H:%M}",
            f"{row['arrived_at'].astimezone(tz):%Y-%m-%d %H:%M}" if row["arrived_at"] else "",
            f"[{_STYLE[row['status']]}]{row['status']}[/]",
            "" if row["days_late"] is None else str(row["days_late"]),
        )
    console.print(table)
    counts = rows.group_by("status").len()
    found = dict(counts.iter_rows())
    console.print(", ".join(f"{status} {found[status]}" for status in STATUSES if status in found), highlight=False)
