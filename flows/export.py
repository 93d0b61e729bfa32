"""`ctip export --public DIR`: the comparison table for publication, small counts suppressed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from flows.cli import WarehouseOption, _registry, _settings, app, console, errors, readable_warehouse
from schemas.registry import TOTAL
from transforms.disclosure import DEFAULT_MIN_CELL, PRIMARY, PUBLIC_COLUMNS, SECONDARY, protect_comparison

PUBLIC_NAME = "period_comparison"
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


def write_public(frame: pl.DataFrame, directory: Path) -> tuple[Path, Path]:
    """Write `frame` as DIR/period_comparison.parquet and .csv, each replacing the old file whole."""
    directory.mkdir(parents=True, exist_ok=True)
    parquet, csv = directory / f"{PUBLIC_NAME}.parquet", directory / f"{PUBLIC_NAME}.csv"
    for target, write in (
        (parquet, lambda path: frame.write_parquet(path)),
        (csv, lambda path: neutralise_text(frame).write_csv(path)),
    ):
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            write(temporary)
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
    return parquet, csv


def _read_comparison(warehouse: Path) -> pl.DataFrame | None:
    import duckdb

    from warehouse.queries import DetachedAnalystFile, open_analyst_file

    try:
        with open_analyst_file(warehouse) as con:
            return con.sql(f"select {', '.join(PUBLIC_COLUMNS)} from marts.period_comparison").pl()
    except DetachedAnalystFile as problem:
        errors.print(str(problem), markup=False, highlight=False)
        return None
    except duckdb.Error as problem:
        errors.print(f"Cannot read marts.period_comparison from {warehouse}: {str(problem).splitlines()[0]}",
                     highlight=False, markup=False)
        return None


def _export_duckdb(warehouse: Path, target: Path) -> None:
    """`--duckdb FILE`: every relation of the analyst file as a table, with the macros, in one portable file."""
    import duckdb

    from warehouse.publication import export_self_contained
    from warehouse.queries import DetachedAnalystFile, open_analyst_file

    if target.resolve() == warehouse.resolve():
        raise typer.BadParameter("names the warehouse itself; give another file", param_hint="--duckdb")
    try:
        open_analyst_file(warehouse).close()
        relations = export_self_contained(warehouse, target.resolve())
    except DetachedAnalystFile as problem:
        errors.print(str(problem), markup=False, highlight=False)
        raise typer.Exit(1) from None
    except (duckdb.Error, OSError) as problem:
        errors.print(f"Cannot export {warehouse} to {target}: {str(problem).splitlines()[0]}", markup=False,
                     highlight=False)
        raise typer.Exit(1) from None
    console.print(
        f"Wrote {target}: {len(relations)} relations as tables, with the macros; it needs nothing beside it.",
        highlight=False, markup=False,
    )


@app.command()
def export(
    public: Annotated[
        Path | None,
        typer.Option(
            "--public", file_okay=False, help="Folder for period_comparison.parquet and .csv (made if missing)."
        ),
    ] = None,
    min_cell: Annotated[
        int, typer.Option("--min-cell", min=1, help="K: counts from 1 to K-1 are suppressed (0 is published).")
    ] = DEFAULT_MIN_CELL,
    warehouse: WarehouseOption = None,
    duckdb_file: Annotated[
        Path | None,
        typer.Option(
            "--duckdb", dir_okay=False,
            help="Write a self-contained copy of the analyst file here (every relation as a table, with the macros), "
                 "to open anywhere.",
        ),
    ] = None,
) -> None:
    """Write the comparison table for publication, as Parquet and CSV, with small counts suppressed;
    or (--duckdb FILE) a self-contained copy of the analyst file that works wherever it is copied.

    Every row of marts.period_comparison: counts from 1 to K-1 are suppressed (C), then enough others (D) that none
    can be worked out from a published total; value_conf and base_value_conf give each count's status (F free).

    Exit 0 when written, 1 when there is nothing to export, 2 for wrong usage.
    """
    settings = _settings(warehouse=warehouse)
    if public is None and duckdb_file is None:
        raise typer.BadParameter("give --public DIR, --duckdb FILE or both", param_hint="--public / --duckdb")
    readable_warehouse(settings)
    if duckdb_file is not None:
        _export_duckdb(settings.warehouse, duckdb_file)
        if public is None:
            return
    comparison = _read_comparison(settings.warehouse)
    if comparison is None:
        raise typer.Exit(1)
    if comparison.height == 0:
        errors.print(f"Nothing to export: {settings.warehouse} holds no comparison rows.", highlight=False, markup=False)
        raise typer.Exit(1)
    dims = list(_registry.dimension_names)
    cut_size = pl.sum_horizontal([(pl.col(d) != TOTAL).cast(pl.Int8) for d in dims])
    published = (
        protect_comparison(comparison, _registry, min_cell)
        .with_columns(cut_size.alias("_cut_size"))
        .sort("reporter", "area", "indicator", "period", "_cut_size", *dims)
        .drop("_cut_size")
    )
    parquet, csv = write_public(published, public.resolve())
    statuses = pl.concat([published["value_conf"], published["base_value_conf"]]).drop_nulls()
    console.print(
        f"Wrote {published.height} rows to {parquet} and {csv.name} (K = {min_cell}). Cells suppressed: "
        f"{(statuses == PRIMARY).sum()} small counts (C), {(statuses == SECONDARY).sum()} to protect them (D).",
        highlight=False, markup=False,
    )
