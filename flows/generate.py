"""`ctip generate`: an inbox of realistic synthetic submissions, for trials and benchmarks.

The figures and defects come from `transforms/generate.py`; this module lays each
submission (a monthly file, or the report of a reporter's calendar period) out as its
reporter would (CSV mostly, some JSON and XLSX), writes the files with modification
times in the order they would have arrived, and records
what it wrote, and which files are invalid and why, in `.manifest.json` (a hidden file, which the inbox ignores).
"""

from __future__ import annotations

import inspect
import io
import json
import os
import re
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from flows.cli.common import command_settings, console, output_folder
from schemas import load_registry
from schemas.registry import TOTAL, Registry
from transforms.generate import STYLES, Generated, Planned, Style, parse_years
from transforms.generate import generate as generate_submissions
from transforms.periods import Period, parse_period, periods_of_year
from transforms.read import XLSX_SHEET

MANIFEST = ".manifest.json"  # hidden, so the inbox ignores it
WHOLE_NUMBER = re.compile(r"^[0-9]+$")


# ------------------------------------------------------------------ layout
def laid_out(frame: pl.DataFrame, planned: Planned, registry: Registry) -> pl.DataFrame:
    """The columns a reporter writes: every one (the NCCT), or only the dimensions its rows cut by, and a
    comment column only when there is one. `_T` is spelt out (a blank code is no code); a JSON observation
    leaves it out instead (`_json`), as it does any code it gives no other value."""
    style = STYLES.get(planned.reporter, Style())
    if style.full_columns:
        return frame
    dims = [d for d in registry.dimension_names if (frame[d] != TOTAL).any()]
    keep = ["reporter", "period", "indicator", "area", *dims, "value"]
    if frame["comment"].is_not_null().any():
        keep.append("comment")
    return frame.select(keep)


def encode(frame: pl.DataFrame, planned: Planned, registry: Registry) -> bytes:
    """The file's bytes in the planned format."""
    table = laid_out(frame, planned, registry)
    if planned.format == "csv":
        return table.write_csv(line_terminator="\n").encode("utf-8")
    if planned.format == "json":
        return _json(table, planned.reporter)
    if planned.format == "xlsx":
        return _xlsx(table, workbook_created(planned))
    raise ValueError(f"unknown format {planned.format}")


def _json(table: pl.DataFrame, reporter: str) -> bytes:
    """`{"reporter": ..., "observations": [...]}`, one observation a line; blanks, totals (`_T`) and the file's
    own reporter left out of each observation; whole numbers as JSON numbers."""
    lines = []
    for row in table.iter_rows(named=True):
        cells = {}
        for column, cell in row.items():
            if cell is None or cell == TOTAL or (column == "reporter" and cell == reporter):
                continue
            cells[column] = int(cell) if column == "value" and WHOLE_NUMBER.match(cell) else cell
        lines.append("    " + json.dumps(cells, ensure_ascii=False))
    body = ",\n".join(lines)
    return f'{{\n  "reporter": {json.dumps(reporter)},\n  "observations": [\n{body}\n  ]\n}}\n'.encode()


def workbook_created(planned: Planned) -> datetime:
    """When the workbook says it was made: the first moment after its period, so the same file is the same bytes."""
    year, month = planned.year + planned.month // 12, planned.month % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


def _xlsx(table: pl.DataFrame, created: datetime) -> bytes:
    """A workbook with one sheet `data`: the header, then the rows; whole numbers of `value` as numbers."""
    buffer = io.BytesIO()
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False}
    )
    workbook.set_properties({"created": created.replace(tzinfo=None)})
    sheet = workbook.add_worksheet(XLSX_SHEET)
    sheet.write_row(0, 0, table.columns)
    value_at = table.columns.index("value") if "value" in table.columns else None
    for number, cells in enumerate(table.iter_rows(), start=1):
        for position, cell in enumerate(cells):
            if cell is None:
                continue
            if position == value_at and WHOLE_NUMBER.match(cell):
                sheet.write_number(number, position, int(cell))
            else:
                sheet.write_string(number, position, cell)
    workbook.close()
    return buffer.getvalue()


# ----------------------------------------------------------------- writing
def arrival(planned: Planned, position: int, registry: Registry | None = None, late_days: int | None = None) -> float:
    """When the file would have arrived: the 10th of the month after its period (for a calendar report, the
    month after the period's last month), 09:00 UTC, plus
    `position` seconds, so an inbox is taken in the order it was planned. With `late_days`, the file
    is dated late instead: `late_days` days after the due day of the period of its reporter's calendar
    that holds its month (or that it reports), registry.toml, 09:00 UTC."""
    year, month = planned.year + planned.month // 12, planned.month % 12 + 1
    if late_days is None or registry is None:
        return datetime(year, month, 10, 9, 0, tzinfo=UTC).timestamp() + position
    calendar = registry.reporters[planned.reporter].calendar
    due_day = calendar_period_of(planned, calendar.period_type).end + timedelta(days=calendar.due_days - 1)
    moment = datetime.combine(due_day + timedelta(days=late_days), time(9, 0), tzinfo=UTC)
    return moment.timestamp() + position


def calendar_period_of(planned: Planned, period_type: str) -> Period:
    """The period of `period_type` that holds the planned file's month (a calendar report's last month)."""
    first = date(planned.year, planned.month, 1)
    return next(p for p in periods_of_year(planned.year, period_type) if p.start <= first < p.end)


def late_items(texts: list[str], registry: Registry) -> set[tuple[str, str | None]]:
    """`--late` items: REPORTER (every file of it) or REPORTER:PERIOD (its files of the months of that
    period and its calendar reports holding any of them, such as MFAIC:2019-03 or MOSVY:2019-Q2), as
    (reporter, period code or None).

    Raises ValueError naming the item that is neither."""
    chosen = set()
    for item in (part.strip() for text in texts for part in text.split(",")):
        if not item:
            continue
        code, _, period_text = item.partition(":")
        code = code.strip().upper()
        if code not in registry.reporters:
            raise ValueError(f"'{item}' names no reporter; the reporters are {', '.join(registry.reporters)}")
        period = parse_period(period_text) if period_text else None
        if period_text and period is None:
            raise ValueError(f"'{item}': '{period_text}' is not a period")
        chosen.add((code, period.code if period else None))
    return chosen


def is_late(planned: Planned, late: set[tuple[str, str | None]]) -> bool:
    """Whether the planned file is one `--late` names: its period shares a month with a period named."""
    first, last = date(planned.year, planned.months[0], 1), date(planned.year, planned.months[-1], 1)
    for reporter, period_code in late:
        if reporter != planned.reporter:
            continue
        if period_code is None:
            return True
        period = parse_period(period_code)
        if period is not None and period.start <= last and first < period.end:
            return True
    return False


def manifest_entry(item: Generated, rows: int, arrives: float | None = None) -> dict:
    entry = {
        "file": item.planned.file_name,
        "reporter": item.planned.reporter,
        "area": item.planned.area,
        **({"areas": list(item.planned.areas)} if item.planned.is_report else {}),
        "period": item.planned.period,
        "format": item.planned.format,
        "rows": rows,
        "valid": item.defect is None,
        "arrives": datetime.fromtimestamp(arrives, UTC).isoformat() if arrives is not None else None,
    }
    if item.defect is not None:
        entry.update(
            defect=item.defect.defect,
            rule=item.defect.rule,
            row_number=item.defect.row_number,
            detail=item.defect.detail,
        )
    return entry


def write_files(
    out: Path,
    items: Iterable[Generated],
    registry: Registry,
    settings: dict,
    manifest: Path | None = None,
    late: set[tuple[str, str | None]] = frozenset(),
    late_days: int = 30,
) -> dict:
    """Write every generated submission into `out` and the manifest (by default `out/.manifest.json`);
    return the manifest. The files `late` names are dated `late_days` after their due day (`arrival`)."""
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for position, item in enumerate(items):
        content = encode(item.frame, item.planned, registry)
        path = out / item.planned.file_name
        path.write_bytes(content)
        moment = arrival(item.planned, position, registry, late_days if is_late(item.planned, late) else None)
        os.utime(path, (moment, moment))
        entries.append(manifest_entry(item, item.frame.height, moment))
    invalid = [e for e in entries if not e["valid"]]
    document = {
        **settings,
        "files": len(entries),
        "reports": sum(1 for e in entries if e["area"] is None),
        "valid": len(entries) - len(invalid),
        "invalid": len(invalid),
        "rows": sum(e["rows"] for e in entries),
        "formats": dict(sorted(Counter(e["format"] for e in entries).items())),
        "defects": dict(sorted(Counter(e["defect"] for e in invalid).items())),
        "submissions": entries,
    }
    target = manifest or out / MANIFEST
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return document


def write_inbox(
    out: Path,
    years: list[int],
    manifest: Path | None = None,
    registry: Registry | None = None,
    late: set[tuple[str, str | None]] = frozenset(),
    late_days: int = 30,
    **options,
) -> dict:
    """Generate an inbox and write it; return its manifest.

    `options` are those of `transforms.generate.generate` (seed, invalid_share, areas, reporters, today, limit);
    the manifest records them, with the defaults of those not given. `late` (see `late_items`) names the
    files dated `late_days` days after their due day; each entry of the manifest says when it `arrives`.
    """
    registry = registry or load_registry()
    asked = inspect.signature(generate_submissions).bind(registry, years, **options)
    asked.apply_defaults()
    chosen = asked.arguments
    settings = {
        "seed": chosen["seed"],
        "years": [years[0], years[-1]] if years else [],
        "invalid_share": chosen["invalid_share"],
        "areas": chosen["areas"] if chosen["areas"] is not None else "all",
        "reporters": chosen["reporters"] if chosen["reporters"] is not None else list(registry.reporters),
        "late": sorted(f"{r}:{p}" if p else r for r, p in late),
        "late_days": late_days,
    }
    return write_files(
        out, generate_submissions(*asked.args, **asked.kwargs), registry, settings, manifest, late, late_days
    )


# ----------------------------------------------------------------- command
def _reporter_codes(given: list[str] | None, registry: Registry, option: str) -> list[str]:
    """The reporters an option names (repeated or comma-separated, any case), each once; an unknown one is
    wrong usage."""
    codes = list(
        dict.fromkeys(code.strip().upper() for item in given or [] for code in item.split(",") if code.strip())
    )
    unknown = [code for code in codes if code not in registry.reporters]
    if unknown:
        raise typer.BadParameter(
            f"unknown reporter {', '.join(unknown)}; the reporters are {', '.join(registry.reporters)}",
            param_hint=option,
        )
    return codes


def generate(
    out: Annotated[
        Path, typer.Option("--out", file_okay=False, help="Folder to write the submissions into (created if needed).")
    ],
    years: Annotated[str, typer.Option("--years", help="Years to cover, such as 2011-2022 or 2019.")] = "2011-2022",
    invalid_share: Annotated[
        float, typer.Option("--invalid-share", min=0.0, max=1.0, help="Share of files with one known defect.")
    ] = 0.01,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Same seed, same bytes.")] = 0,
    provinces: Annotated[
        str,
        typer.Option("--provinces", help="all: the national total and every province; none: the national total only."),
    ] = "all",
    reporters: Annotated[
        list[str] | None,
        typer.Option(
            "--reporters", help="Only these reporters (repeat the option or separate with commas); default all."
        ),
    ] = None,
    leave_out: Annotated[
        list[str] | None,
        typer.Option(
            "--leave-out",
            help="Leave these reporters out, so that every period of theirs is missing (repeat or separate with commas).",
        ),
    ] = None,
    late: Annotated[
        list[str] | None,
        typer.Option(
            "--late",
            help=(
                "Date these files late: REPORTER (all its files) or REPORTER:PERIOD (its files of that period's "
                "months and the calendar reports holding them, such as MFAIC:2019-03), --late-days after the "
                "due day of the reporter's calendar."
            ),
        ),
    ] = None,
    late_days: Annotated[
        int, typer.Option("--late-days", min=1, help="How many days after the due day the --late files are dated.")
    ] = 30,
) -> None:
    """Write realistic synthetic submissions: every reporter, the national total and the provinces,
    one file per reporter, area and month, and one report per reporter and quarter or half-year of its
    reporting calendar (every area, each figure the sum of its months), with a share of invalid files
    listed in DIR/.manifest.json. Each file is dated (its modification time, and `arrives` in the
    manifest) when it would have arrived: the 10th of the month after its period, or with --late after
    its due day.

    Only periods that have ended (in CTIP_TIMEZONE) are written. The manifest is a hidden file, so the
    folder can be used as an inbox as it is.
    """
    registry = load_registry()
    try:
        year_list = parse_years(years)
    except ValueError as problem:
        raise typer.BadParameter(str(problem), param_hint="--years") from None
    if provinces not in ("all", "none"):
        raise typer.BadParameter(f"'{provinces}' is neither all nor none", param_hint="--provinces")
    chosen = _reporter_codes(reporters, registry, "--reporters") or None
    if leave_out:
        left = _reporter_codes(leave_out, registry, "--leave-out")
        chosen = [code for code in (chosen or list(registry.reporters)) if code not in left]
        if not chosen:
            raise typer.BadParameter("leaves out every reporter: nothing to write", param_hint="--leave-out")
    try:
        late_files = late_items(late or [], registry)
    except ValueError as problem:
        raise typer.BadParameter(str(problem), param_hint="--late") from None
    areas = None if provinces == "all" else [registry.defaults["area"]]
    today = datetime.now(command_settings().zone).date()
    chosen_files = {
        "seed": seed,
        "invalid_share": invalid_share,
        "areas": areas,
        "reporters": chosen,
        "late": late_files,
    }
    output_folder(out, "--out")
    if (out / MANIFEST).exists():  # its files would be written over, and a run would take changed ones as restated
        raise typer.BadParameter(
            f"{out} already holds a generated inbox (its {MANIFEST}); give a new folder", param_hint="--out"
        )
    manifest = write_inbox(out, year_list, registry=registry, today=today, late_days=late_days, **chosen_files)
    defects = ", ".join(f"{name} {count}" for name, count in manifest["defects"].items()) or "none"
    formats = ", ".join(f"{name} {count}" for name, count in manifest["formats"].items())
    console.print(
        f"Wrote {manifest['files']:,} submissions ({manifest['reports']:,} of them calendar reports; "
        f"{manifest['rows']:,} rows; {formats}) to {out}: "
        f"{manifest['valid']:,} valid, {manifest['invalid']:,} invalid ({defects}). "
        f"Manifest: {out / MANIFEST}",
        highlight=False,
        markup=False,
    )
