"""`ctip approve`, `ctip unapprove` and `ctip release`: reviewers sign figures off and release them, numbered.

An approved reporter-period's figures cannot be changed by a submission received while it is approved
(rule `period_approved`); to correct them, a reviewer unapproves it, the corrected file is sent, and the
reviewer approves it again. `ctip release --out DIR` writes the approved figures, protected as
`ctip export --public` protects them, into a new folder `DIR/release-NNNN/` with the figures it revises
and a manifest of its files; a release is never changed afterwards.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from flows.cli.common import (
    WarehouseOption,
    as_of_time,
    command_settings,
    console,
    counted,
    errors,
    known_reporter,
    moment,
    readable_warehouse,
    wrong_usage,
)
from flows.export import (
    CARRIED,
    CannotProtect,
    MinCellOption,
    protected_table,
    readable_columns,
    sha256_of_file,
    suppressed_figures,
    write_public,
)
from flows.settings import Settings
from schemas import load_registry
from schemas.registry import Registry
from transforms.disclosure import DEFAULT_MIN_CELL, PUBLIC_COLUMNS
from transforms.revisions import FIGURE_COLUMNS, revisions
from warehouse import approvals, database, releases
from warehouse.durable import atomic_write_text, folder_leftovers, move_folder_into_place, temporary_path
from warehouse.layout import WarehouseFiles
from warehouse.lock import WarehouseBusy, WriterLock

MANIFEST_NAME = "MANIFEST.json"
REVISIONS_NAME = "revisions.csv"


# ------------------------------------------------------------------ approval
def record_act(
    settings: Settings,
    registry: Registry,
    reporter: str,
    period: str,
    action: str,
    by: str,
    note: str | None,
    now: datetime,
    wait_seconds: float | None = None,
    purpose: str | None = None,
) -> datetime:
    """Record an approve or unapprove as the writer, then publish, so the analyst file shows it; its time.

    The writer's lock is waited for up to `wait_seconds` (by default the settings' lock timeout); `purpose`
    is what the lock tells whoever waits for it. Raises `approvals.ActRefused` when the act cannot be recorded
    and `WarehouseBusy` when a run or backfill kept the lock; nothing is written then.
    """
    with _writing(settings, registry, wait_seconds, purpose) as writer:
        at = approvals.record_act(writer.con, reporter, period, action, by, now, note)
        database.publish_analyst_file(writer, now, zone=settings.timezone, changed=True)
    return at


@contextmanager
def _writing(
    settings: Settings, registry: Registry, wait_seconds: float | None = None, purpose: str | None = None
) -> Iterator[database.Writer]:
    """The writer of the warehouse, under its lock (waiting for a run or backfill that holds it)."""
    files = WarehouseFiles(settings.warehouse)
    wait = settings.lock_timeout_seconds if wait_seconds is None else wait_seconds
    with WriterLock(files.lock_file, wait, purpose=purpose), database.open_writer(files, registry) as writer:
        yield writer


def act_arguments(registry: Registry, reporter: str, period: str, by: str, today) -> tuple[str, str, str]:
    """The reporter and period of an act as ctip writes them, and who does it; `approvals.ActRefused` naming the
    argument when one cannot be used (an unknown reporter, a period that does not parse or has not begun by
    `today`, a blank name)."""
    from flows.cli.common import canonical_period
    from transforms.periods import parse_period

    try:
        code = known_reporter(registry, reporter, required=True)
    except typer.BadParameter:
        raise approvals.ActRefused(
            "not_a_reporter", reporter=reporter, reporters=", ".join(registry.reporters)
        ) from None
    try:
        period_code = canonical_period(period, "PERIOD")
    except typer.BadParameter:
        raise approvals.ActRefused("not_a_period", period=period) from None
    if parse_period(period_code).start > today:
        raise approvals.ActRefused("not_begun", period=period_code)
    if not by.strip():
        raise approvals.ActRefused("by_blank")
    return code, period_code, by.strip()


def _act(reporter, period, action, by, note, warehouse) -> None:
    try:
        code, period_code, name = act_arguments(load_registry(), reporter, period, by, datetime.now(UTC).date())
    except approvals.ActRefused as problem:
        wrong_usage(str(problem))
    settings = command_settings(warehouse=warehouse)
    readable_warehouse(settings)
    try:
        at = record_act(settings, load_registry(), code, period_code, action, name, note, datetime.now(UTC))
    except approvals.ActRefused as problem:
        wrong_usage(str(problem))
    except WarehouseBusy as problem:
        errors.print(f"ctip {action} failed: {problem}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    done = "Approved" if action == approvals.APPROVE else "Unapproved"
    console.print(f"{done} {code} {period_code} by {name} at {moment(at)}.", highlight=False, markup=False)


ReporterArgument = Annotated[
    str, typer.Argument(metavar="REPORTER", help="The reporter ({reporters}).", show_default=False)
]
PeriodArgument = Annotated[
    str, typer.Argument(metavar="PERIOD", help="The period, such as 2019-S1, 2019-Q1, 2019-01.", show_default=False)
]
ByOption = Annotated[str, typer.Option("--by", metavar="NAME", help="Who does it (free text, kept as given).")]


def approve(
    reporter: ReporterArgument,
    period: PeriodArgument,
    by: ByOption,
    note: Annotated[str | None, typer.Option("--note", metavar="TEXT", help="A note kept with the approval.")] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Approve a reporter's figures for a period: from now on, a submission that would add, change or withdraw any
    of them is rejected whole (rule period_approved), and `ctip release` publishes them.

    Exit 0 when recorded; 2 for wrong usage (an unknown reporter, a period that does not parse or has not begun,
    a period the reporter holds no figure for, or one already approved).
    """
    _act(reporter, period, approvals.APPROVE, by, note, warehouse)


def unapprove(
    reporter: ReporterArgument,
    period: PeriodArgument,
    by: ByOption,
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT", help="Why (kept as the act's note).")],
    warehouse: WarehouseOption = None,
) -> None:
    """Lift the approval of a reporter's figures for a period, so that a corrected file can change them; approve
    the period again once the correction is loaded.

    Exit 0 when recorded; 2 for wrong usage (an unknown reporter, a period that does not parse, a blank
    --reason, or a period that is not approved).
    """
    if not reason.strip():
        wrong_usage("--reason is blank; say why the figures are unapproved")
    _act(reporter, period, approvals.UNAPPROVE, by, reason.strip(), warehouse)


# ------------------------------------------------------------------ releases
@dataclass
class Release:
    number: int
    folder: Path
    figures: int
    revisions: int
    manifest: dict


class NothingApproved(Exception):
    """No reporter-period is approved (or none holds a figure of the comparison table): nothing to release."""


def write_release(
    settings: Settings,
    registry: Registry,
    out: Path,
    min_cell: int,
    embargo: datetime | None,
    note: str | None,
    now: datetime,
) -> Release:
    """Write the next numbered release of the approved figures into `out` and record it; see the module."""
    from warehouse.queries import open_analyst, public_comparison, publication

    warehouse, zone = settings.warehouse, settings.timezone
    key = ["reporter", "area", "period", "indicator", *registry.dimension_names]
    with _writing(settings, registry) as writer:
        database.publish_analyst_file(writer, now, zone=zone)  # mends a publication a killed run left unfinished
        approved = approvals.approved_now(writer.con)
        if not approved:
            raise NothingApproved("no reporter-period is approved; approve one with `ctip approve`")
        with open_analyst(writer.files.analyst_file) as con:
            comparison = public_comparison(con, (*PUBLIC_COLUMNS, *CARRIED))
            shown = publication(con)
        chosen = _approved_rows(comparison, approved)
        if chosen.height == 0:
            raise NothingApproved("the approved reporter-periods hold no row of the comparison table")
        # what earlier releases published is public: no figure of it is suppressed to protect another
        public = releases.public_figures(writer.con)
        protection = protected_table(chosen, registry, min_cell, known=public)
        published = readable_columns(protection.table, registry)
        figures = published.select(*key, *FIGURE_COLUMNS)
        number = releases.next_number(writer.con)
        previous = releases.released_figures(writer.con, number - 1)
        revised = revisions(previous, figures, key) if previous is not None else _no_revisions(figures, key)

        out.mkdir(parents=True, exist_ok=True)
        for leftover in folder_leftovers(out, "release-*"):  # what a release killed part way left
            shutil.rmtree(leftover, ignore_errors=True)
        target = out / releases.folder_name(number)
        if target.exists():
            raise FileExistsError(
                f"{target} exists but is not release {number} of {warehouse} (a release of another warehouse, or "
                "one whose recording did not finish); move it away, or give another --out"
            )
        temporary = temporary_path(target)
        temporary.mkdir()
        try:
            parquet, csv = write_public(published, temporary)
            revisions_file = temporary / REVISIONS_NAME
            revised.write_csv(revisions_file)
            manifest = {
                "release": number,
                "created_at": now.astimezone(UTC).isoformat(),
                "embargo": embargo.isoformat() if embargo else None,
                "watermark": shown["watermark"].isoformat() if shown.get("watermark") else None,
                "note": note,
                "files": [
                    {"name": path.name, "sha256": sha256_of_file(path), "size": path.stat().st_size}
                    for path in (csv, parquet, revisions_file)
                ],
                "publication": shown.get("number"),
                "min_cell": min_cell,
                "suppressed": suppressed_figures(protection.audit),
                "figures": published.height,
                "revisions": revised.height,
                "approved": [
                    {"reporter": r, "period": p, "by": by, "at": at.astimezone(UTC).isoformat()}
                    for r, p, by, at in approved
                ],
            }
            manifest_file = temporary / MANIFEST_NAME
            atomic_write_text(manifest_file, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
            row = {
                "release": number,
                "created_at": now.astimezone(UTC),
                "embargo": embargo.astimezone(UTC) if embargo else None,
                "watermark": shown.get("watermark"),
                "note": note,
                "folder": str(target.resolve()),
                "min_cell": min_cell,
                "figures": published.height,
                "revisions": revised.height,
                "manifest_sha256": sha256_of_file(manifest_file),
            }
            releases.record_release(writer.con, row, figures, lambda: move_folder_into_place(temporary, target))
        finally:
            if temporary.exists():
                shutil.rmtree(temporary, ignore_errors=True)
        database.publish_analyst_file(writer, now, zone=zone, changed=True)
    return Release(number, target, published.height, revised.height, manifest)


def _cannot_release(problem: CannotProtect) -> str:
    """Why the approved figures cannot be released, and how to release the rest."""
    periods = problem.reporter_periods
    one = len(periods) == 1
    those, it = ("that reporter-period", "it") if one else ("those reporter-periods", "them")
    steps = ", ".join(f"`ctip unapprove {r} {p} --by NAME --reason TEXT`" for r, p in periods)
    return (
        f"Cannot release: {problem.explained()}\n"
        "Nothing was written and no release was recorded.\n"
        f"To release the other approved figures, leave {problem.periods_text()} out until this is resolved: "
        f"{steps}; then run `ctip release` again. As its figures stand, {those} cannot be released without giving "
        f"the small count{'' if problem.count == 1 else 's'} away: approve {it} again once {it} holds other "
        "figures (a corrected file loaded), or release with the --min-cell of the releases that published them."
    )


def _approved_rows(comparison: pl.DataFrame, approved: list[tuple]) -> pl.DataFrame:
    """The rows of approved reporter-periods, with the base figure only where its reporter-period is approved
    too (otherwise the base, its status and the change are left empty: no unapproved figure is released)."""
    pairs = pl.DataFrame(
        [(r, p) for r, p, _, _ in approved], schema={"reporter": pl.String, "period": pl.String}, orient="row"
    )
    rows = comparison.join(pairs, on=["reporter", "period"], how="semi", maintain_order="left")
    base_approved = rows.join(
        pairs.rename({"period": "base_period"}).with_columns(pl.lit(True).alias("_base_approved")),
        on=["reporter", "base_period"],
        how="left",
        maintain_order="left",
    )["_base_approved"].fill_null(False)
    hidden = ~base_approved
    return rows.with_columns(
        *(
            pl.when(hidden).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("base_value", "base_status", "change", "change_pct")
            if c in rows.columns
        )
    )


def _no_revisions(figures: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """The revisions of a first release: none, in the columns of every other."""
    return revisions(figures.clear(), figures, key)


def _embargo(text: str | None) -> datetime | None:
    return None if text is None else as_of_time(text, "--embargo")


def release(
    out: Annotated[
        Path,
        typer.Option("--out", file_okay=False, metavar="DIR", help="Folder of the releases (made if missing)."),
    ],
    min_cell: MinCellOption = DEFAULT_MIN_CELL,
    embargo: Annotated[
        str | None,
        typer.Option(
            "--embargo", metavar="TIME", help="Not to be made public before this time (kept in the manifest)."
        ),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", metavar="TEXT", help="A note kept in the manifest.")] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Write a new numbered release of the approved figures: DIR/release-NNNN/ with period_comparison.csv and
    .parquet (only approved reporter-periods, protected as `export --public`), revisions.csv (the figures that
    differ from the previous release) and MANIFEST.json (every file with its SHA-256). A release is never
    changed afterwards; audit.releases lists them.

    Exit 0 when written; 1 when nothing is approved, or when a small count of the approved figures cannot be
    protected (what earlier releases published gives it away): nothing is written then, and the message names the
    reporter-periods to leave out; 2 for wrong usage.
    """
    embargo_at = _embargo(embargo)
    if out.exists() and not out.is_dir():
        wrong_usage(f"--out {out} is a file; give a folder for the releases")
    settings = command_settings(warehouse=warehouse)
    readable_warehouse(settings)
    try:
        made = write_release(settings, load_registry(), out, min_cell, embargo_at, note, datetime.now(UTC))
    except NothingApproved as problem:
        errors.print(f"Nothing to release: {problem}.", highlight=False, markup=False)
        raise typer.Exit(1) from None
    except CannotProtect as problem:
        errors.print(_cannot_release(problem), highlight=False, markup=False)
        raise typer.Exit(1) from None
    except (OSError, WarehouseBusy) as problem:
        errors.print(f"Cannot write the release: {problem}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    console.print(
        f"Wrote release {made.number} to {made.folder}: {counted(made.figures, 'figure')}, "
        f"{counted(made.revisions, 'revision')} against the previous release (K = {min_cell})"
        + (f"; embargoed until {moment(embargo_at)}" if embargo_at else "")
        + ".",
        highlight=False,
        markup=False,
    )
