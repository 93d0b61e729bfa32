"""`ctip generate`: an inbox of realistic synthetic submissions, for trials and benchmarks.

The figures and defects come from `transforms/generate.py`; this module lays each
submission out as its reporter would (CSV mostly, some JSON and XLSX), writes the
files with modification times in the order they would have arrived, and records
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
import xlsxwriter

from flows.cli.common import command_settings, console
from schemas import load_registry
from schemas.registry import TOTAL, Registry
from transforms.generate import STYLES, Generated, Planned, Style, parse_years
from transforms.generate import generate as generate_submissions
from transforms.read import XLSX_SHEET

MANIFEST = ".manifest.json"  # hidden, so the inbox ignores it
WHOLE_NUMBER = re.compile(r"^[0-9]+$")


# ------------------------------------------------------------------ layout
def laid_out(frame: pl.DataFrame, planned: Planned, registry: Registry) -> pl.DataFrame:
    """The columns a reporter writes: every one with `_T` spelt out (the NCCT), or only the
    dimensions its rows cut by, with blanks for `_T`, and a comment column only when there is one."""
    style = STYLES.get(planned.reporter, Style())
    if style.full_columns:
        return frame
    dims = [d for d in registry.dimension_names if (frame[d] != TOTAL).any()]
    keep = ["reporter", "period", "indicator", "area", *dims, "value"]
    if frame["comment"].is_not_null().any():
        keep.append("comment")
    return frame.select(keep).with_columns(
        [pl.when(pl.col(d) == TOTAL).then(None).otherwise(pl.col(d)).alias(d) for d in dims]
    )


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
    """`{"reporter": ..., "observations": [...]}`, one observation a line; blanks and the file's
    own reporter left out of each observation; whole numbers as JSON numbers."""
    lines = []
    for row in table.iter_rows(named=True):
        cells = {}
        for column, cell in row.items():
            if cell is None or (column == "reporter" and cell == reporter):
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
def arrival(planned: Planned, position: int) -> float:
    """When the file would have arrived: the 10th of the month after its period, 09:00 UTC, plus
    `position` seconds, so an inbox is taken in the order it was planned."""
    year, month = planned.year + planned.month // 12, planned.month % 12 + 1
    return datetime(year, month, 10, 9, 0, tzinfo=UTC).timestamp() + position


def manifest_entry(item: Generated, rows: int) -> dict:
    entry = {
        "file": item.planned.file_name,
        "reporter": item.planned.reporter,
        "area": item.planned.area,
        "period": item.planned.period,
        "format": item.planned.format,
        "rows": rows,
        "valid": item.defect is None,
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
    out: Path, items: Iterable[Generated], registry: Registry, settings: dict, manifest: Path | None = None
) -> dict:
    """Write every generated submission into `out` and the manifest (by default `out/.manifest.json`);
    return the manifest."""
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for position, item in enumerate(items):
        content = encode(item.frame, item.planned, registry)
        path = out / item.planned.file_name
        path.write_bytes(content)
        moment = arrival(item.planned, position)
        os.utime(path, (moment, moment))
        entries.append(manifest_entry(item, item.frame.height))
    invalid = [e for e in entries if not e["valid"]]
    document = {
        **settings,
        "files": len(entries),
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
    out: Path, years: list[int], manifest: Path | None = None, registry: Registry | None = None, **options
) -> dict:
    """Generate an inbox and write it; return its manifest.

    `options` are those of `transforms.generate.generate` (seed, invalid_share, areas, reporters, today, limit);
    the manifest records them, with the defaults of those not given.
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
    }
    return write_files(out, generate_submissions(*asked.args, **asked.kwargs), registry, settings, manifest)


# ----------------------------------------------------------------- command
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
) -> None:
    """Write realistic synthetic submissions: every reporter, the national total and the provinces,
    one file per reporter, area and month, with a share of invalid files listed in DIR/.manifest.json.

    Only months that have ended (in CTIP_TIMEZONE) are written. The manifest is a hidden file, so the
    folder can be used as an inbox as it is.
    """
    registry = load_registry()
    try:
        year_list = parse_years(years)
    except ValueError as problem:
        raise typer.BadParameter(str(problem), param_hint="--years") from None
    if provinces not in ("all", "none"):
        raise typer.BadParameter(f"'{provinces}' is neither all nor none", param_hint="--provinces")
    chosen = None
    if reporters:
        chosen = [code.strip().upper() for item in reporters for code in item.split(",") if code.strip()]
        unknown = [code for code in chosen if code not in registry.reporters]
        if unknown:
            raise typer.BadParameter(
                f"unknown reporter {', '.join(unknown)}; the reporters are {', '.join(registry.reporters)}",
                param_hint="--reporters",
            )
        chosen = list(dict.fromkeys(chosen))
    areas = None if provinces == "all" else [registry.defaults["area"]]
    today = datetime.now(command_settings().zone).date()
    manifest = write_inbox(
        out,
        year_list,
        registry=registry,
        seed=seed,
        invalid_share=invalid_share,
        areas=areas,
        reporters=chosen,
        today=today,
    )
    defects = ", ".join(f"{name} {count}" for name, count in manifest["defects"].items()) or "none"
    formats = ", ".join(f"{name} {count}" for name, count in manifest["formats"].items())
    console.print(
        f"Wrote {manifest['files']:,} submissions ({manifest['rows']:,} rows; {formats}) to {out}: "
        f"{manifest['valid']:,} valid, {manifest['invalid']:,} invalid ({defects}). "
        f"Manifest: {out / MANIFEST}",
        highlight=False,
        markup=False,
    )
