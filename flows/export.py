"""`ctip export --public DIR` and `--sdmx DIR`: the comparison table for publication, small counts suppressed and
audited.

`protected_table` is the one way to the protected table (the public files, SDMX and releases all take it): counts
from 1 to K-1 suppressed, then more until every one of them passes the interval audit of transforms/audit.py.
Beside the public table, DIR/metadata.json says how it was protected and that it passed the audit; the audit itself
(every suppressed count, whether small or suppressed to protect one, and its feasible interval) is for the office
only, written outside the published folders, by default at `<warehouse>.ctip/disclosure_audit.csv`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from flows.cli.common import (
    WarehouseOption,
    command_settings,
    console,
    counted,
    errors,
    output_folder,
    readable_warehouse,
    reading_analyst,
)
from flows.settings import usable_cores
from schemas import load_registry
from schemas.registry import TOTAL, Registry
from transforms.disclosure import (
    DEFAULT_MIN_CELL,
    FREE,
    PRIMARY,
    PUBLIC_COLUMNS,
    SECONDARY,
    Protection,
    UnprotectedTable,
    protect_comparison,
)
from warehouse.durable import atomic_path, atomic_write_text
from warehouse.layout import WarehouseFiles

PUBLIC_NAME = "period_comparison"
METADATA_NAME = "metadata.json"
STRUCTURE_NAME = "structure.xml"
# Columns of marts.period_comparison published as they are beside the protected counts.
CARRIED = ("status", "base_status", "is_derived")
# The public confidentiality statuses (SDMX CONF_STATUS): one status for every suppressed count, so that the
# status does not tell a small count from one suppressed to protect it (the audit assumes as much).
PUBLIC_STATUSES = {
    FREE: "free: published as it is",
    PRIMARY: "confidential: suppressed, shown empty",
}
SUPPRESSION_RULE = (
    "Counts from 1 to {small} are suppressed (primary suppression). Then other counts are suppressed (secondary "
    "suppression) until no additive group (a total and its parts along any dimension, an aggregate and its codes, "
    "the country and its provinces, a period and the shorter periods that make it up) has exactly one suppressed "
    "member, and then until every small count passes the interval audit: by linear programming over everything "
    "published and every additive relation that holds in the data, the smallest and largest value it can take "
    "are at least {k} apart and the range holds 0 or a value of at least {k}, so that neither 'zero' nor 'small' "
    "can be concluded. 0 is published. Every suppressed count is empty with status C, whichever the reason, and "
    "so are change and change_pct beside it; F marks a count published as it is."
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


def write_public(frame: pl.DataFrame, directory: Path) -> tuple[Path, Path]:
    """Write `frame` as DIR/period_comparison.parquet and .csv, each replacing the old file whole."""
    directory.mkdir(parents=True, exist_ok=True)
    parquet, csv = directory / f"{PUBLIC_NAME}.parquet", directory / f"{PUBLIC_NAME}.csv"
    for target, write in (
        (parquet, lambda path: frame.write_parquet(path)),
        (csv, lambda path: neutralise_text(frame).write_csv(path)),
    ):
        with atomic_path(target) as temporary:
            write(temporary)
    return parquet, csv


def write_sdmx_files(protected: pl.DataFrame, registry: Registry, directory: Path) -> tuple[Path, Path, int]:
    """Write the protected table as SDMX-CSV 2.0 in DIR/period_comparison.csv and the structure it follows
    (code lists with every language's names, concepts, data structure definition, dataflow) as SDMX-ML 3.0 in
    DIR/structure.xml, each replacing the old file whole; (the two files, how many observations were written)."""
    from pysdmx.io import write_sdmx
    from pysdmx.io.format import Format
    from pysdmx.model.message import Header

    from schemas.sdmx import load_exchange
    from transforms.sdmx import comparison_dataset, comparison_structure, with_names

    exchange = load_exchange()
    structure = comparison_structure(registry, exchange)
    xml = write_sdmx(structure.artefacts, Format.STRUCTURE_SDMX_ML_3_0, header=Header(sender=exchange.agency))
    dataset = comparison_dataset(protected, structure)
    text = write_sdmx(dataset, Format.DATA_SDMX_CSV_2_0_0)
    directory.mkdir(parents=True, exist_ok=True)
    data, structure_file = directory / f"{PUBLIC_NAME}.csv", directory / STRUCTURE_NAME
    atomic_write_text(structure_file, with_names(xml, structure.names))
    atomic_write_text(data, text)
    return data, structure_file, len(dataset.data)


def readable_columns(published: pl.DataFrame, registry: Registry) -> pl.DataFrame:
    """Beside the protected table: the change in per cent rounded to one decimal (half away from zero, as
    quoted in reports; the exact one stays in change_pct) and the English label of every code."""
    labelled = ["reporter", "area", "indicator", *registry.dimension_names]
    kinds = {name: (f"code:{name}" if name in registry.dimensions else name) for name in labelled}
    return published.with_columns(
        pl.col("change_pct").round(1, mode="half_away_from_zero").alias("change_pct_rounded"),
        *(
            pl.col(name)
            .replace_strict(
                {code: registry.label(kinds[name], code) for code in published[name].unique().to_list()},
                return_dtype=pl.String,
            )
            .alias(f"{name}_label")
            for name in labelled
        ),
    )


def write_metadata(
    directory: Path, files: list[Path], publication: dict, min_cell: int, published: pl.DataFrame
) -> Path:
    """DIR/metadata.json: where the table comes from, the rule that protected it, and the files with their SHA-256."""
    statuses = pl.concat([published["value_conf"], published["base_value_conf"]]).drop_nulls()
    suppressed = int((statuses == PRIMARY).sum())
    document = {
        "source": "ctip: marts.period_comparison of the warehouse's analyst file",
        "publication": publication.get("number"),
        "watermark": _iso(publication.get("watermark")),
        "published_at": _iso(publication.get("published_at")),
        "created_at": datetime.now(UTC).isoformat(),
        "min_cell": min_cell,
        "suppression": SUPPRESSION_RULE.format(small=min_cell - 1, k=min_cell),
        "status_codes": PUBLIC_STATUSES,
        "suppressed": {PRIMARY: suppressed},
        "disclosure_audit": {"passed": True, "audited": suppressed},
        "rows": published.height,
        "files": [{"name": path.name, "sha256": sha256_of_file(path), "size": path.stat().st_size} for path in files],
    }
    target = directory / METADATA_NAME
    atomic_write_text(target, json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    return target


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while window := handle.read(1 << 20):
            digest.update(window)
    return digest.hexdigest()


def _read_comparison(warehouse: Path) -> tuple[pl.DataFrame, dict, pl.DataFrame | None]:
    """The comparison table, the publication it belongs to (number, watermark, published_at) and the figures
    the releases published (None when the analyst file, published by an older ctip, does not hold them)."""
    from warehouse.database import has_table
    from warehouse.queries import public_comparison, publication
    from warehouse.releases import public_figures

    with reading_analyst(warehouse) as con:
        known = public_figures(con, "audit.released_figures") if has_table(con, "audit", "released_figures") else None
        return public_comparison(con, (*PUBLIC_COLUMNS, *CARRIED)), publication(con), known


def _export_duckdb(warehouse: Path, target: Path) -> None:
    """`--duckdb FILE`: every relation of the analyst file as a table, with the macros, in one portable file."""
    import duckdb

    from warehouse.publication import export_self_contained

    if target.resolve() == warehouse.resolve():
        raise typer.BadParameter("names the warehouse itself; give another file", param_hint="--duckdb")
    with reading_analyst(warehouse):
        pass  # a live file away from its .ctip folder cannot be copied: exit 1, saying why
    try:
        relations = export_self_contained(warehouse, target.resolve())
    except (duckdb.Error, OSError) as problem:
        errors.print(
            f"Cannot export {warehouse} to {target}: {str(problem).splitlines()[0]}", markup=False, highlight=False
        )
        raise typer.Exit(1) from None
    console.print(
        f"Wrote {target}: {len(relations)} relations as tables, with the macros; it needs nothing beside it.",
        highlight=False,
        markup=False,
    )


def protected_table(
    comparison: pl.DataFrame,
    registry: Registry,
    min_cell: int,
    audit_file: Path | None = None,
    known: pl.DataFrame | None = None,
) -> Protection:
    """The comparison table protected for publication (transforms.disclosure), with `CARRIED` as they are, and
    its audit:
    by reporter, area, indicator and period, each total before its cuts. Every small count in it has passed the
    interval audit; raises CannotProtect when one cannot. With `audit_file`, the audit (every suppressed count
    with its status, C small or D suppressed to protect, and its feasible interval) is written there, for the
    office only. The same comparison gives the same table whatever the order of its rows. `known`: figures
    already public (as `transforms.disclosure.confidentiality` takes them)."""
    try:
        protection = protect_comparison(comparison, registry, min_cell, CARRIED, workers=usable_cores(), known=known)
    except UnprotectedTable as problem:
        raise CannotProtect(problem, registry, min_cell, known) from None
    unprotected = protection.audit.filter(pl.col("protected").not_().fill_null(False))
    if unprotected.height:
        small = unprotected.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + 1).alias("small"))
        raise CannotProtect(UnprotectedTable(small), registry, min_cell, known)
    if audit_file is not None:
        audit_file.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(audit_file) as temporary:
            protection.audit.write_csv(temporary)
    dims = list(registry.dimension_names)
    cut_size = pl.sum_horizontal([(pl.col(d) != TOTAL).cast(pl.Int8) for d in dims])
    table = (
        protection.table.with_columns(cut_size.alias("_cut_size"))
        .sort("reporter", "area", "indicator", "period", "_cut_size", *dims)
        .drop("_cut_size")
    )
    return Protection(table, protection.audit)


class CannotProtect(Exception):
    """Small counts of the table cannot be protected (`transforms.disclosure.UnprotectedTable`), described for
    people: `figures`, a line for each count naming it, its bounds and the public figures that pin it (with the
    release that published each); `reporter_periods`, the (reporter, period) pairs that hold them."""

    def __init__(self, problem: UnprotectedTable, registry: Registry, min_cell: int, known: pl.DataFrame | None):
        self.min_cell = min_cell
        self.count = problem.figures.height
        self.pinned_by_releases = problem.public.height > 0
        self.figures = _described(problem, registry, known)
        self.reporter_periods = sorted({(r, p) for r, p in problem.figures.select("reporter", "period").iter_rows()})
        super().__init__(
            f"{counted(self.count, 'small count')} cannot be protected (K = {min_cell}): " + "; ".join(self.figures)
        )

    def explained(self) -> str:
        """What cannot be protected, and why, as lines for people."""
        subject = f"{counted(self.count, 'small count')} cannot be protected (K = {self.min_cell})"
        it = "it" if self.count == 1 else "them"
        if self.pinned_by_releases:
            subject += (
                ": figures that an earlier release published, which still hold the values it published, give "
                f"{it} away whatever is suppressed now (a reader who kept that release subtracts them, so they "
                f"cannot be suppressed to protect {it})"
            )
        else:
            subject += f": every other figure of the relations that pin {it} is suppressed already"
        return subject + ":\n" + "\n".join(f"  - {line}" for line in self.figures)

    def periods_text(self) -> str:
        return ", ".join(f"{r} {p}" for r, p in self.reporter_periods)


def figure_name(row: dict, registry: Registry) -> str:
    """A figure as people read it: `NCCT 2019-S1 KH victims_rescued, age Y15T17` (`(total)` with no cut)."""
    cut = [f"{name} {row[name]}" for name in registry.dimension_names if row.get(name) not in (None, TOTAL)]
    name = f"{row['reporter']} {row['period']} {row['area']} {row['indicator']}"
    return f"{name}, {', '.join(cut)}" if cut else f"{name} (total)"


def _described(problem: UnprotectedTable, registry: Registry, known: pl.DataFrame | None) -> list[str]:
    key = ["reporter", "area", "indicator", "period", *registry.dimension_names]
    public = problem.public
    if known is not None and "release" in known.columns and public.height:
        first = known.group_by(*key, "value").agg(pl.col("release").min())
        public = public.join(first, on=[*key, "value"], how="left", maintain_order="left", nulls_equal=True)
    lines = []
    for row in problem.figures.iter_rows(named=True):
        lower, upper = row.get("lower"), row.get("upper")
        bounds = (
            f"what is published leaves it between {lower:,} and {upper:,}"
            if lower is not None and upper is not None
            else "what is published pins it too closely"
        )
        pinning = public.filter(pl.col("small") == row["small"]) if public.height else public
        cut_size = pl.sum_horizontal([(pl.col(d) != TOTAL).cast(pl.Int8) for d in registry.dimension_names])
        pinning = pinning.sort(cut_size, *key)  # each total before its cuts
        by_release: dict[object, list[str]] = {}
        for known_row in pinning.iter_rows(named=True):
            by_release.setdefault(known_row.get("release"), []).append(
                f"{figure_name(known_row, registry)} = {known_row['value']:,}"
            )
        said = [
            (f"release {number} published " if number is not None else "already published: ") + " and ".join(names)
            for number, names in sorted(by_release.items(), key=lambda item: (item[0] is None, item[0] or 0))
        ]
        itself = pinning.filter(pl.all_horizontal(pl.col(c) == row[c] for c in key))
        if itself.height:  # published as it is by a release of a smaller K: no suppression can take it back
            number = itself.row(0, named=True).get("release")
            bounds = f"{'release ' + str(number) if number is not None else 'an earlier release'} published it already"
            said = []
        lines.append(
            f"{figure_name(row, registry)} = {row['value']:,}: {bounds}"
            + (f", since {'; '.join(said)}" if said else "")
        )
    return lines


def suppressed_figures(audit: pl.DataFrame) -> dict[str, int]:
    """How many figures a protected table suppresses: small counts (C) and counts suppressed to protect them (D)."""
    return {
        "small_counts": int((audit["status"] == PRIMARY).sum()),
        "protecting": int((audit["status"] == SECONDARY).sum()),
    }


def _suppressed(table: pl.DataFrame, audit: pl.DataFrame, audit_file: Path) -> str:
    statuses = pl.concat([table["value_conf"], table["base_value_conf"]]).drop_nulls()
    figures = suppressed_figures(audit)
    return (
        f"Cells suppressed (C): {(statuses == PRIMARY).sum():,}. Figures suppressed: "
        f"{counted(figures['small_counts'], 'small count')} and {figures['protecting']:,} to protect them; "
        f"every small count passes the disclosure audit ({audit_file})."
    )


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


# K of the small counts a published table suppresses.
MinCellOption = Annotated[
    int, typer.Option("--min-cell", min=1, help="K: counts from 1 to K-1 are suppressed (0 is published).")
]


def _folder(name: str, help_text: str):
    return typer.Option(name, file_okay=False, metavar="DIR", help=f"{help_text} (made if missing).")


def _file(name: str, help_text: str):
    return typer.Option(name, dir_okay=False, metavar="FILE", help=help_text)


_SDMX_HELP = (
    "Folder for the same table as SDMX-CSV 2.0 (period_comparison.csv) and its data structure definition as "
    "SDMX-ML 3.0 (structure.xml)"
)
_AUDIT_HELP = (
    "Where the disclosure audit of --public or --sdmx goes, for the office only (default "
    "<warehouse>.ctip/disclosure_audit.csv); never inside a published folder."
)
_DUCKDB_HELP = (
    "Write a self-contained copy of the analyst file here (every relation as a table, with the macros), to open "
    "anywhere."
)


def export(
    public: Annotated[Path | None, _folder("--public", "Folder for period_comparison.parquet and .csv")] = None,
    sdmx: Annotated[Path | None, _folder("--sdmx", _SDMX_HELP)] = None,
    min_cell: MinCellOption = DEFAULT_MIN_CELL,
    audit: Annotated[Path | None, _file("--audit", _AUDIT_HELP)] = None,
    warehouse: WarehouseOption = None,
    duckdb_file: Annotated[Path | None, _file("--duckdb", _DUCKDB_HELP)] = None,
) -> None:
    """Write the comparison table for publication, as Parquet and CSV (--public DIR) or as SDMX-CSV 2.0 with its
    SDMX-ML structure (--sdmx DIR), with small counts suppressed; or (--duckdb FILE) a self-contained copy of the
    analyst file that works wherever it is copied.

    Every row of marts.period_comparison: counts from 1 to K-1 are suppressed, then enough others that none can be
    worked out from the published figures, which an interval audit by linear programming proves; value_conf and
    base_value_conf give each count's status: F free, C suppressed (empty), whatever the reason. The audit itself
    (each suppressed count, C small or D suppressed to protect one, and its feasible interval) goes to --audit.

    Exit 0 when written, 1 when there is nothing to export or the table does not pass the audit, 2 for wrong usage.
    """
    registry = load_registry()
    settings = command_settings(warehouse=warehouse)
    if public is None and sdmx is None and duckdb_file is None:
        raise typer.BadParameter(
            "give --public DIR, --sdmx DIR or --duckdb FILE (or more than one)",
            param_hint="--public / --sdmx / --duckdb",
        )
    if public is not None and sdmx is not None and public.resolve() == sdmx.resolve():
        raise typer.BadParameter(
            "names the folder of --public; both write period_comparison.csv, so give another folder",
            param_hint="--sdmx",
        )
    for option, folder in (("--public", public), ("--sdmx", sdmx)):
        if folder is not None:  # before the disclosure audit, which takes minutes on a large table
            output_folder(folder.resolve(), option)
    audit_file = (audit or WarehouseFiles(settings.warehouse).disclosure_audit).resolve()
    for option, folder in (("--public", public), ("--sdmx", sdmx)):
        if folder is not None and _inside(audit_file, folder.resolve()):
            raise typer.BadParameter(
                f"{audit_file} is inside {option}: the audit is never published", param_hint="--audit"
            )
    readable_warehouse(settings)
    if duckdb_file is not None:
        output_folder(duckdb_file.resolve().parent, "--duckdb")
        _export_duckdb(settings.warehouse, duckdb_file)
        if public is None and sdmx is None:
            return
    comparison, publication, released = _read_comparison(settings.warehouse)
    if comparison.height == 0:
        errors.print(
            f"Nothing to export: {settings.warehouse} holds no comparison rows.", highlight=False, markup=False
        )
        raise typer.Exit(1)
    try:
        protection = protected_table(comparison, registry, min_cell, audit_file, known=released)
    except CannotProtect as problem:
        errors.print(
            f"The table does not pass the disclosure audit: {problem.explained()}\n"
            "Nothing was written. The export publishes every figure of the warehouse, approved or not, so it "
            f"cannot leave these out; it can pass only once the figures of {problem.periods_text()} change (if they are "
            "wrong: unapprove the period if it is approved, have the reporter send the corrected file, and export "
            "again once a run has loaded it). Meanwhile `ctip release` publishes the approved figures once it "
            f"leaves out {problem.periods_text()}: "
            + ", ".join(f"`ctip unapprove {r} {p} --by NAME --reason TEXT`" for r, p in problem.reporter_periods)
            + ".",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(1) from None
    if public is not None:
        published = readable_columns(protection.table, registry)
        parquet, csv = write_public(published, public.resolve())
        write_metadata(public.resolve(), [parquet, csv], publication, min_cell, published)
        console.print(
            f"Wrote {published.height} rows to {parquet} and {csv.name} (K = {min_cell}). {_suppressed(published, protection.audit, audit_file)}",
            highlight=False,
            markup=False,
        )
    if sdmx is not None:
        try:
            data, structure, observations = write_sdmx_files(protection.table, registry, sdmx.resolve())
        except OSError as problem:
            errors.print(f"Cannot write to {sdmx}: {problem}", highlight=False, markup=False)
            raise typer.Exit(1) from None
        console.print(
            f"Wrote {observations} observations to {data} (SDMX-CSV 2.0) and their structure to "
            f"{structure.name} (SDMX-ML 3.0) (K = {min_cell}). "
            f"{_suppressed(protection.table, protection.audit, audit_file)}",
            highlight=False,
            markup=False,
        )
