"""`ctip generate`: an inbox of realistic synthetic submissions, for trials and benchmarks.

The figures and defects come from `transforms/generate.py`; this module lays each
submission out as its reporter would (CSV mostly, some JSON and XLSX), writes the
files with modification times in the order they would have arrived, and records
what it wrote, and which files are invalid and why, in `.manifest.json` (a hidden file, which the inbox ignores).
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Optional
from xml.sax.saxutils import escape

import polars as pl
import typer

from flows.cli import _settings, app, console
from schemas import load_registry
from schemas.registry import TOTAL, Registry
from transforms.generate import STYLES, Generated, Planned, Style, parse_years
from transforms.generate import generate as generate_submissions

MANIFEST = ".manifest.json"  # hidden, so the inbox ignores it
WHOLE_NUMBER = re.compile(r"^[0-9]+$")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the same workbook is the same bytes


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
        return _xlsx(table)
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


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _xlsx(table: pl.DataFrame) -> bytes:
    """A minimal workbook with one sheet `data`: the header, then the rows; whole numbers as numbers."""
    rows_xml = []
    for number, cells in enumerate([table.columns, *table.iter_rows()], start=1):
        parts = []
        for position, cell in enumerate(cells):
            if cell is None:
                continue
            ref = f"{_column_letters(position)}{number}"
            if number > 1 and WHOLE_NUMBER.match(cell) and table.columns[position] == "value":
                parts.append(f'<c r="{ref}"><v>{cell}</v></c>')
            else:
                parts.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(cell)}</t></is></c>')
        rows_xml.append(f'<row r="{number}">{"".join(parts)}</row>')
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    relationships = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006/relationships"
    members = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{package}">'
            f'<Relationship Id="rId1" Type="{relationships}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<workbook xmlns="{main}" xmlns:r="{relationships}">'
            '<sheets><sheet name="data" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<Relationships xmlns="{package}">'
            f'<Relationship Id="rId1" Type="{relationships}/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{main}"><sheetData>{"".join(rows_xml)}</sheetData></worksheet>'
        ),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()


# ----------------------------------------------------------------- writing
def arrival(planned: Planned, position: int) -> float:
    """When the file would have arrived: the 10th of the month after its period, 09:00 UTC, plus
    `position` seconds, so an inbox is taken in the order it was planned."""
    year, month = planned.year + planned.month // 12, planned.month % 12 + 1
    return datetime(year, month, 10, 9, 0, tzinfo=timezone.utc).timestamp() + position


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
        entry.update(defect=item.defect.defect, rule=item.defect.rule, row_number=item.defect.row_number,
                     detail=item.defect.detail)
    return entry


def write_files(out: Path, items: Iterable[Generated], registry: Registry, settings: dict,
                manifest: Path | None = None) -> dict:
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
    out: Path,
    years: list[int],
    seed: int = 0,
    invalid_share: float = 0.01,
    areas: list[str] | None = None,
    reporters: list[str] | None = None,
    today: date | None = None,
    limit: int | None = None,
    manifest: Path | None = None,
    registry: Registry | None = None,
) -> dict:
    """Generate and write an inbox; return its manifest."""
    registry = registry or load_registry()
    settings = {
        "seed": seed,
        "years": [years[0], years[-1]] if years else [],
        "invalid_share": invalid_share,
        "areas": areas if areas is not None else "all",
        "reporters": reporters if reporters is not None else list(registry.reporters),
    }
    items = generate_submissions(registry, years, seed, invalid_share, areas, reporters, today, limit)
    return write_files(out, items, registry, settings, manifest)


# ----------------------------------------------------------------- command
@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", file_okay=False, help="Folder to write the submissions into (created if needed).")],
    years: Annotated[str, typer.Option("--years", help="Years to cover, such as 2011-2022 or 2019.")] = "2011-2022",
    invalid_share: Annotated[
        float, typer.Option("--invalid-share", min=0.0, max=1.0, help="Share of files with one known defect.")
    ] = 0.01,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Same seed, same bytes.")] = 0,
    provinces: Annotated[
        str, typer.Option("--provinces", help="all: the national total and every province; none: the national total only.")
    ] = "all",
    reporters: Annotated[
        Optional[list[str]],
        typer.Option("--reporters", help="Only these reporters (repeat the option or separate with commas); default all."),
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
    today = datetime.now(_settings().zone).date()
    manifest = write_inbox(out, year_list, seed, invalid_share, areas, chosen, today, registry=registry)
    defects = ", ".join(f"{name} {count}" for name, count in manifest["defects"].items()) or "none"
    formats = ", ".join(f"{name} {count}" for name, count in manifest["formats"].items())
    console.print(
        f"Wrote {manifest['files']:,} submissions ({manifest['rows']:,} rows; {formats}) to {out}: "
        f"{manifest['valid']:,} valid, {manifest['invalid']:,} invalid ({defects}). "
        f"Manifest: {out / MANIFEST}",
        highlight=False, markup=False,
    )
