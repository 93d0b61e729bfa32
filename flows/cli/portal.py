"""The commands of the senders' side: `ctip template` (a workbook to fill in) and `ctip portal` (where files are sent)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli.common import (
    InboxOption,
    WarehouseOption,
    canonical_period,
    command_settings,
    console,
    inbox_folder,
    known_reporter,
    output_folder,
    readable_warehouse,
    reading_analyst,
    writable_warehouse,
    wrong_usage,
)
from schemas import load_registry


def template(
    reporter: Annotated[
        str, typer.Option("--reporter", help="The institution the workbook is for.", show_default=False)
    ],
    period: Annotated[
        str, typer.Option("--period", help="The period it reports, such as 2019-S1.", show_default=False)
    ],
    out: Annotated[Path, typer.Option("--out", dir_okay=False, help="The .xlsx file to write.", show_default=False)],
    lang: Annotated[str, typer.Option("--lang", help="Language of the instructions: en or km.")] = "en",
    warehouse: WarehouseOption = None,
) -> None:
    """A blank workbook to fill in: the rows the reporter may report for the period, drop-down lists for codes,
    a sheet of codes with English and Khmer labels and a sheet of instructions. With a warehouse (the default one,
    if it exists), the instructions also say whether the period is approved or already holds figures.

    Exit 0 written, 2 wrong usage.
    """
    from flows.template import begun, warehouse_notes, write_template

    settings = command_settings(warehouse=warehouse)
    analyst_file = readable_warehouse(settings, missing_ok=True)
    registry = load_registry()
    code = known_reporter(registry, reporter, required=True)
    if lang not in ("en", "km"):
        raise typer.BadParameter(f"'{lang}' is not a language; use en or km", param_hint="--lang")
    if out.suffix.lower() != ".xlsx":
        raise typer.BadParameter(f"{out.name} does not end in .xlsx", param_hint="--out")
    if out.exists() and out.is_dir():
        raise typer.BadParameter(f"{out} is a folder", param_hint="--out")
    output_folder(out.parent, "--out")
    period_code = canonical_period(period, "--period")
    if not begun(period_code, settings.zone):
        wrong_usage(f"--period {period_code} has not begun: a file for it would be rejected (future_period)")
    notes = []
    if analyst_file is not None:
        with reading_analyst(analyst_file) as con:
            notes = warehouse_notes(con, code, period_code, settings.timezone, lang)
    rows = write_template(out, registry, code, period_code, lang, notes)
    console.print(f"Wrote {out} ({rows} rows to fill in for {code}, {period_code}).")


def portal(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on; keep 127.0.0.1 behind a TLS proxy.")
    ] = "127.0.0.1",
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
    from flows.portal.app import listening_socket, serve_portal

    settings = command_settings(inbox, warehouse)
    inbox_folder(settings)  # a typo would put uploads where no run looks
    if not settings.warehouse.parent.is_dir():  # else the accounts of a mistyped warehouse: nobody could sign in
        wrong_usage(f"--warehouse {settings.warehouse}: there is no folder {settings.warehouse.parent}")
    writable_warehouse(settings)  # its folder (accounts, uploads) is kept beside it
    try:
        listening = listening_socket(host, port)
    except OSError as problem:
        wrong_usage(f"--host {host} --port {port}: cannot listen there ({problem.strerror or problem})")
    serve_portal(settings, load_registry(), listening, secure_cookies)
