"""`ctip remind`: reminders of what is due soon and notices of what is overdue (flows/notices.py sends them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from flows import steps
from flows.cli.common import (
    WarehouseOption,
    absent_warehouse,
    as_of_option,
    as_of_time,
    command_settings,
    errors,
    moment,
    writable_warehouse,
)
from flows.notices import DEFAULT_DAYS_BEFORE, deliver, due_notices
from schemas import load_registry


def remind(
    days_before: Annotated[
        int,
        typer.Option("--days-before", metavar="N", min=0, help="Remind of what is due within N days and not received."),
    ] = DEFAULT_DAYS_BEFORE,
    as_of: Annotated[str | None, as_of_option("Judge what is due by this clock")] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Send a reminder for each reporter-period due within N days and not received, and an overdue notice for each
    that is missing or rejected only, to the reporter's senders and its contact; each notice once, and every notice
    that failed before again. A rejected-only period counts as not received.

    Exit 0 when it ran (whether or not anything was due), 1 when it failed, 2 for wrong usage.
    """
    from warehouse.layout import WarehouseFiles

    settings = command_settings(warehouse=warehouse)
    known_at = as_of_time(as_of) if as_of else datetime.now(settings.zone)
    path = writable_warehouse(settings)
    files = WarehouseFiles(path)
    if not files.state_db.exists():
        absent_warehouse(settings)
    try:
        line, count = remind_now(files, settings, known_at, days_before)
    except Exception as problem:
        errors.print(f"ctip remind failed: {type(problem).__name__}: {problem}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    errors.print(
        f"Reminders and overdue notices as of {moment(known_at)}: {count} due. {line}", markup=False, highlight=False
    )


def remind_now(files, settings, as_of: datetime, days_before: int = DEFAULT_DAYS_BEFORE) -> tuple[str, int]:
    """Reminders and overdue notices as of `as_of`, under the writer lock; the analyst file then shows them."""
    from warehouse import database
    from warehouse.lock import WriterLock

    registry = load_registry()
    with WriterLock(files.lock_file, settings.lock_timeout_seconds, purpose="ctip remind"):
        with database.open_writer(files, registry) as writer:
            notices = due_notices(writer, settings.timezone, as_of, days_before)
            translate = steps.errors_in_language(writer, settings.timezone)
            delivered = deliver(writer, notices, settings.mail, settings.timezone, translate)
            database.publish_analyst_file(writer, datetime.now(ZoneInfo("UTC")), zone=settings.timezone)
    return delivered.line, len(notices)
