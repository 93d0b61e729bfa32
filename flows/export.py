"""`ctip export --public DIR`: the comparison table for publication, small counts suppressed and audited.

Beside the table, DIR/metadata.json says where it comes from, how it was protected
and that it passed the interval audit; the audit itself (every suppressed count, its
status and feasible interval) is written for the office outside DIR, by default at
`<warehouse>.ctip/disclosure_audit.csv`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from flows.cli import WarehouseOption, _registry, _settings, app, console, errors
from schemas.registry import TOTAL
from transforms.disclosure import (
    DEFAULT_MIN_CELL, DESCRIPTIVE_COLUMNS, PRIMARY, PUBLIC_COLUMNS, SECONDARY, Protection, protect,
)
from transforms.report import with_labels
from warehouse.layout import WarehouseFiles

PUBLIC_NAME = "period_comparison"
METADATA_NAME = "metadata.json"
SUPPRESSION_RULE = (
    "Counts from 1 to K-1 are suppressed (primary suppression). Other counts are suppressed (secondary "
    "suppression) until no additive group (a total and its parts along any dimension, an aggregate and its "
    "codes, the country and its provinces, a period and the shorter periods that tile it) has exactly one "
    "suppressed member, and then until every suppressed count passes the interval audit: by linear "
    "programming over everything published and every additive relation that holds in the data, its feasible "
    "interval is at least K wide and contains 0 or a value of at least K. Every suppressed count is shown "
    "empty with status C."
)
# A spreadsheet evaluates a cell that begins with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would evaluate, prefixed with `'`; numbers untouched."""

    def formula(name: str) -> pl.Expr:
        return pl.any_horizontal(pl.col(name).str.starts_with(prefix) for prefix in FORMULA_PREFIXES).fill_null(False)

    return frame.with_columns(
        pl.when(formula(name)).then(pl.lit("'") + pl.col(name)).otherwise(pl.col(name)).alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    )


def _replace(target: Path, write: Callable[[Path], object]) -> None:
    """Write `target` through a temporary file beside it, so a reader never sees half of it."""
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write(temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def write_public(frame: pl.DataFrame, directory: Path) -> tuple[Path, Path]:
    """Write `frame` as DIR/period_comparison.parquet and .csv, each replacing the old file whole."""
    directory.mkdir(parents=True, exist_ok=True)
    parquet, csv = directory / f"{PUBLIC_NAME}.parquet", directory / f"{PUBLIC_NAME}.csv"
    _replace(parquet, frame.write_parquet)
    _replace(csv, neutralise_text(frame).write_csv)
    return parquet, csv


def public_table(protection: Protection) -> pl.DataFrame:
    """The protected table as published: `change_pct_rounded` (one decimal) beside `change_pct`, code labels."""
    rounded = pl.col("change_pct").round(1).alias("change_pct_rounded")
    table = protection.table
    position = table.columns.index("change_pct") + 1
    columns = [*table.columns[:position], "change_pct_rounded", *table.columns[position:]]
    return with_labels(table.with_columns(rounded).select(columns), _registry)


def metadata(warehouse: Path, publication: tuple | None, protection: Protection, min_cell: int,
             files: list[Path], now: datetime) -> dict:
    """What DIR/metadata.json says: source, publication, watermark, suppression rule, audit outcome."""
    number, watermark, published_at = publication or (None, None, None)
    audit = protection.audit

    def iso(moment: datetime | None) -> str | None:
        return moment.astimezone(timezone.utc).isoformat() if moment else None

    return {
        "source": f"marts.period_comparison of the ctip warehouse {warehouse.name}",
        "publication": {"number": number, "published_at": iso(published_at)},
        "watermark": iso(watermark),
        "created_at": iso(now),
        "rows": protection.table.height,
        "suppression": {
            "min_cell": min_cell,
            "rule": SUPPRESSION_RULE,
            "status_codes": {"F": "free", "C": "confidential: suppressed, shown empty"},
        },
        "disclosure_audit": {
            "passed": bool(audit["protected"].all()),
            "suppressed": audit.height,
            "primary": int((audit["status"] == PRIMARY).sum()),
            "secondary": int((audit["status"] == SECONDARY).sum()),
        },
        "files": [path.name for path in files],
    }


def _read_comparison(warehouse: Path) -> tuple[pl.DataFrame, tuple | None] | None:
    """The comparison table and the analyst file's publication (number, watermark, published_at), if any."""
    import duckdb

    columns = ", ".join([*PUBLIC_COLUMNS, *DESCRIPTIVE_COLUMNS])
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            comparison = con.sql(f"select {columns} from marts.period_comparison").pl()
            try:
                found = con.sql("select number, watermark, published_at from audit.publication").fetchall()
            except duckdb.CatalogException:
                found = []
            publication = found[0] if found else None
            return comparison, publication
    except duckdb.Error as problem:
        errors.print(f"Cannot read marts.period_comparison from {warehouse}: {str(problem).splitlines()[0]}")
        return None


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


@app.command()
def export(
    public: Annotated[
        Path,
        typer.Option(
            "--public", file_okay=False,
            help="Folder for period_comparison.parquet and .csv and metadata.json (made if missing).",
        ),
    ],
    min_cell: Annotated[
        int, typer.Option("--min-cell", min=1, help="K: counts from 1 to K-1 are suppressed (0 is published).")
    ] = DEFAULT_MIN_CELL,
    audit: Annotated[
        Path | None,
        typer.Option(
            "--audit", dir_okay=False,
            help="Where the disclosure audit goes, for the office only (default <warehouse>.ctip/disclosure_audit.csv); "
                 "never inside --public.",
        ),
    ] = None,
    warehouse: WarehouseOption = None,
) -> None:
    """Write the comparison table for publication, as Parquet and CSV, with small counts suppressed and audited.

    Every row of marts.period_comparison: counts from 1 to K-1 are suppressed, then enough others that none can be
    worked out from the published figures, which an interval audit by linear programming proves; every suppressed
    count is empty with status C. metadata.json beside the table says where it comes from and that it passed the
    audit; the audit itself (each suppressed count, its status C or D and its feasible interval) goes to --audit.

    Exit 0 when written, 1 when there is nothing to export or the table does not pass the audit, 2 for wrong usage.
    """
    settings = _settings(warehouse=warehouse)
    public = public.resolve()
    audit_file = (audit or WarehouseFiles(settings.warehouse).disclosure_audit).resolve()
    if _inside(audit_file, public):
        errors.print(f"--audit {audit_file} is inside --public {public}: the audit is never published.")
        raise typer.Exit(2)
    if not settings.warehouse.exists():
        errors.print(f"No warehouse at {settings.warehouse}; run `ctip run` first.")
        raise typer.Exit(1)
    read = _read_comparison(settings.warehouse)
    if read is None:
        raise typer.Exit(1)
    comparison, publication = read
    if comparison.height == 0:
        errors.print(f"Nothing to export: {settings.warehouse} holds no comparison rows.")
        raise typer.Exit(1)
    protection = protect(comparison, _registry, min_cell)
    unprotected = protection.audit.filter(~pl.col("protected"))
    if unprotected.height:
        errors.print(f"The table does not pass the disclosure audit: {unprotected.height} small counts can be "
                     f"narrowed below K = {min_cell}; nothing was written.")
        raise typer.Exit(1)
    dims = list(_registry.dimension_names)
    cut_size = pl.sum_horizontal([(pl.col(d) != TOTAL).cast(pl.Int8) for d in dims])
    published = (
        public_table(protection)
        .with_columns(cut_size.alias("_cut_size"))
        .sort("reporter", "area", "indicator", "period", "_cut_size", *dims)
        .drop("_cut_size")
    )
    audit_file.parent.mkdir(parents=True, exist_ok=True)
    _replace(audit_file, protection.audit.write_csv)
    parquet, csv = write_public(published, public)
    meta = metadata(settings.warehouse, publication, protection, min_cell, [parquet, csv],
                    datetime.now(timezone.utc))
    _replace(public / METADATA_NAME, lambda path: path.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8"))
    statuses = protection.audit["status"]
    console.print(
        f"Wrote {published.height} rows to {parquet}, {csv.name} and {METADATA_NAME} (K = {min_cell}). Cells "
        f"suppressed: {(statuses == PRIMARY).sum()} small counts, {(statuses == SECONDARY).sum()} to protect them; "
        f"every small count passes the disclosure audit ({audit_file}).",
        highlight=False,
    )
