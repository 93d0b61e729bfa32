"""The commands that read: `ctip validate` (files before they are sent), `ctip compare` (the comparison table),
`ctip submissions` and `ctip findings` (what the runs received and found)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from flows.cli.common import (
    FiguresFormat,
    Language,
    ListFormat,
    TableCsvOrJson,
    TableOrJson,
    WarehouseOption,
    as_of_option,
    as_of_time,
    choices,
    command_settings,
    compared_periods,
    console,
    counted,
    errors,
    known_reporter,
    lang_option,
    moment,
    readable_warehouse,
    reading_analyst,
    registry_words,
    reporter_option,
    titled_table,
    with_registry_words,
)
from schemas import load_registry
from schemas.registry import TOTAL, Registry
from schemas.texts import text
from transforms.claims import DERIVED_MARK
from transforms.report import area_label, code_label, count_text, percent_one_decimal, signed_count

VALIDATE_HELP = (
    "Dry run before sending: every problem in each file, with row and column. Writes nothing.\n\n"
    "Errors (the file would be rejected): {error_rules}. Warnings (it would load): {warning_rules}.\n\n"
    "Exit 0 when every file is valid (warnings allowed), 1 when any file has an error, 2 for wrong usage "
    "(a file that does not exist, a --warehouse that is not a ctip warehouse)."
)


def validate(
    files: Annotated[
        list[Path],
        typer.Argument(exists=True, dir_okay=False, metavar="FILE", help="Submission files (.csv, .xlsx, .json)."),
    ],
    warehouse: WarehouseOption = None,
    output: ListFormat = TableOrJson.table,
    lang: Annotated[Language, lang_option("Language of the messages: en (English) or km (Khmer).")] = Language.en,
) -> None:
    """Dry run before sending: every problem in each file, with row and column. Writes nothing."""
    from flows.checking import check_files

    settings = command_settings(warehouse=warehouse)
    if readable_warehouse(settings, missing_ok=True) is None and settings.warehouse_origin == "CTIP_WAREHOUSE":
        errors.print(  # a mistyped variable must not pass for a clean judgement against the warehouse
            f"CTIP_WAREHOUSE names no warehouse ({settings.warehouse}): judged against an empty one.",
            markup=False,
            highlight=False,
        )
    report = check_files(files, settings, load_registry(), datetime.now(UTC), lang.value)
    if output is TableOrJson.json:
        typer.echo(json.dumps(report, default=str, ensure_ascii=False, indent=2))
    else:
        for item in report:
            _print_file_report(item, lang.value)
    raise typer.Exit(1 if any(item["errors"] for item in report) else 0)


BASE_HELP = "An earlier period of the same length to compare with (default: a year before)."


def compare(
    period: Annotated[str, typer.Argument(metavar="PERIOD", help="Period to compare, such as 2019-S1.")],
    base: Annotated[str | None, typer.Option("--base", metavar="PERIOD", help=BASE_HELP)] = None,
    reporter: Annotated[str | None, reporter_option("Only this reporter's figures")] = None,
    as_of: Annotated[str | None, as_of_option("Show the figures as known at this time")] = None,
    warehouse: WarehouseOption = None,
    output: FiguresFormat = TableCsvOrJson.table,
) -> None:
    """Print the comparison table of PERIOD against the same period a year before (or --base).

    Columns: the base period's figure, then PERIOD's, the change and the change in per cent; codes with their labels.

    Exit 0, 1 when nothing is there to compare (or nothing was known at --as-of), 2 for wrong usage
    (a period that does not parse, a --base that is not an earlier period of the same length, a warehouse
    that is not a ctip warehouse).
    """
    import polars as pl

    from transforms.periods import base_period_code
    from warehouse.queries import comparison, comparison_figures

    registry = load_registry()
    settings = command_settings(warehouse=warehouse)
    reporter_code = known_reporter(registry, reporter)
    known_at = _timestamp(as_of) if as_of else None
    period_code, base_code = compared_periods(period, base)
    readable_warehouse(settings)
    with reading_analyst(settings.warehouse) as con:
        if known_at is not None:
            _known_then(con, known_at)
        rows = comparison(
            con,
            registry,
            period_code,
            base_code,
            reporter_code,
            default_base=base_period_code(period_code),
            as_of=known_at,
        )
        # whether each base figure is derived, as the comparison table has it (as now: for --as-of, left unsaid)
        keys = [
            tuple(base_code if name == "period" else row[name] for name in registry.key_columns)
            for row in rows.iter_rows(named=True)
        ]
        held = comparison_figures(con, registry, keys) if known_at is None else {}
        rows = rows.with_columns(pl.Series("base_is_derived", [held.get(k, (0, False))[1] for k in keys], pl.Boolean))
    if rows.height == 0:
        errors.print(
            f"Nothing to compare: no figures for {period_code}"
            + (f" from {escape(reporter)}" if reporter else "")
            + (f" as known at {moment(known_at)}" if known_at else "")
            + ".",
            highlight=False,
        )
        raise typer.Exit(1)
    if output is TableCsvOrJson.table:
        _print_comparison(rows, registry, period_code, base_code, known_at)
    else:
        records = comparison_records(rows, registry)
        if output is TableCsvOrJson.json:
            typer.echo(json.dumps(records, ensure_ascii=False, indent=1))
        else:
            typer.echo(pl.DataFrame(records, schema=_record_schema(registry), orient="row").write_csv(), nl=False)
    if rows["base_value"].null_count() == rows.height:
        errors.print(f"Nothing to compare: no figures for {base_code} match those of {period_code}.", highlight=False)
        raise typer.Exit(1)


def _known_then(con, known_at: datetime) -> None:
    """Exit 1, saying so, when --as-of comes before the warehouse received its first submission."""
    from warehouse.queries import first_received

    first = first_received(con)
    if first is None or known_at < first:
        errors.print(
            f"Nothing was known at {moment(known_at)}: "
            + (
                f"the first submission was received at {moment(first)}."
                if first
                else "the warehouse holds no submission."
            ),
            highlight=False,
        )
        raise typer.Exit(1)


def _timestamp(text: str) -> datetime:
    return as_of_time(text)


# ------------------------------------------------------- daily operation
SubmissionStatus = choices("SubmissionStatus", "loaded", "rejected", "duplicate")
Severity = choices("Severity", "error", "warning")


ReporterFilter = Annotated[str | None, reporter_option("Only this reporter's files")]
StatusFilter = Annotated[
    SubmissionStatus | None,
    typer.Option(
        "--status", case_sensitive=False, metavar="loaded|rejected|duplicate", help="Only files of this status."
    ),
]
FileFilter = Annotated[
    str | None, typer.Option("--file", metavar="NAME", help="Only the file of this name (as it was in the inbox).")
]


def _limit_option(what: str):
    return typer.Option("--limit", min=1, metavar="N", help=f"At most N {what}.")


def submissions(
    reporter: ReporterFilter = None,
    status: StatusFilter = None,
    file: FileFilter = None,
    limit: Annotated[int, _limit_option("files, the latest first")] = 20,
    warehouse: WarehouseOption = None,
    output: ListFormat = TableOrJson.table,
) -> None:
    """List the latest files received: when, from whom, loaded, rejected or duplicate, with their counts of findings.

    Read from audit.submissions of the analyst file. Exit 0, 2 for wrong usage.
    """
    from warehouse.queries import recent_submissions

    settings = command_settings(warehouse=warehouse)
    reporter_code = known_reporter(load_registry(), reporter)
    readable_warehouse(settings)
    with reading_analyst(settings.warehouse) as con:
        rows = recent_submissions(con, reporter_code, status.value if status else None, file, limit)
    if output is TableOrJson.json:
        typer.echo(json.dumps(rows.to_dicts(), default=_json_value, ensure_ascii=False, indent=1))
        return
    columns = ["#", "Received (UTC)", "File", "Reporter", "Status", "Errors", "Warnings", "Rows"]
    table = titled_table(
        f"Latest {counted(rows.height, 'file')} received", columns, {"#", "Errors", "Warnings", "Rows"}
    )
    colours = {"loaded": "green", "rejected": "red", "duplicate": "yellow"}
    for row in rows.iter_rows(named=True):
        table.add_row(
            str(row["sequence"]),
            f"{row['received_at'].astimezone(UTC):%Y-%m-%d %H:%M:%S}",
            escape(row["file_name"]),
            escape(row["reporter"] or "—"),
            f"[{colours.get(row['status'], 'default')}]{escape(row['status'])}[/]",
            f"{row['errors']:,}",
            f"{row['warnings']:,}",
            f"{row['observations']:,}",
        )
    console.print(table, highlight=False)


def findings(
    reporter: ReporterFilter = None,
    status: StatusFilter = None,
    rule: Annotated[
        str | None, typer.Option("--rule", metavar="RULE", help="Only this rule ({error_rules}, {warning_rules}).")
    ] = None,
    severity: Annotated[
        Severity | None,
        typer.Option("--severity", case_sensitive=False, metavar="error|warning", help="Only errors or only warnings."),
    ] = None,
    file: FileFilter = None,
    limit: Annotated[int, _limit_option("findings, of the latest files first")] = 50,
    warehouse: WarehouseOption = None,
    output: ListFormat = TableOrJson.table,
) -> None:
    """List the findings of the latest files: file, row, column, rule and message.

    Read from audit.findings of the analyst file. Exit 0, 2 for wrong usage (such as a rule the contract does not have).
    """
    from warehouse.queries import recent_findings

    registry = load_registry()
    settings = command_settings(warehouse=warehouse)
    reporter_code = known_reporter(registry, reporter)
    if rule is not None and rule.strip() not in registry.rules:
        rules = with_registry_words("{error_rules}, {warning_rules}", registry_words(registry))
        raise typer.BadParameter(f"'{rule}' is not a rule; use one of {rules}", param_hint="--rule")
    readable_warehouse(settings)
    with reading_analyst(settings.warehouse) as con:
        rows = recent_findings(
            con,
            reporter_code,
            status.value if status else None,
            rule.strip() if rule else None,
            severity.value if severity else None,
            file,
            limit,
        )
    if output is TableOrJson.json:
        typer.echo(json.dumps(rows.to_dicts(), default=_json_value, ensure_ascii=False, indent=1))
        return
    columns = ["File", "Status", "Row", "Column", "Rule", "Message"]
    table = titled_table(f"{counted(rows.height, 'finding')} of the latest files", columns, {"Row"})
    for row in rows.iter_rows(named=True):
        colour = "red" if row["severity"] == "error" else "yellow"
        table.add_row(
            escape(row["file_name"]),
            escape(row["status"]),
            "" if row["row_number"] is None else str(row["row_number"]),
            escape(row["column_name"] or ""),
            f"[{colour}]{escape(row['rule'])}[/]",
            escape(row["message"]),
        )
    console.print(table, highlight=False)


def _json_value(value) -> str:
    """Times as ISO 8601 (with their offset); anything else JSON does not know as its text."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _cut(row: dict, registry: Registry) -> str:
    parts = [f"{d}: {code_label(registry, d, row[d])}" for d in registry.dimension_names if row[d] != TOTAL]
    return ", ".join(parts) or "total"


def _record_schema(registry: Registry) -> dict:
    import polars as pl

    return {
        "reporter": pl.String,
        "area": pl.String,
        "area_label": pl.String,
        "indicator": pl.String,
        **{d: pl.String for d in registry.dimension_names},
        "cut": pl.String,
        "base_period": pl.String,
        "base_value": pl.Int64,
        "base_is_derived": pl.Boolean,
        "period": pl.String,
        "value": pl.Int64,
        "status": pl.String,
        "is_derived": pl.Boolean,
        "change": pl.Int64,
        "change_pct": pl.Float64,
    }


def comparison_records(rows, registry: Registry) -> list[dict]:
    """The comparison rows for csv and json: codes with labels beside them; the base period before PERIOD."""
    records = []
    for row in rows.iter_rows(named=True):
        records.append(
            {
                "reporter": row["reporter"],
                "area": row["area"],
                "area_label": registry.areas[row["area"]].name if row["area"] in registry.areas else None,
                "indicator": row["indicator"],
                **{d: row[d] for d in registry.dimension_names},
                "cut": _cut(row, registry),
                "base_period": row["base_period"],
                "base_value": row["base_value"],
                "base_is_derived": bool(row.get("base_is_derived")),
                "period": row["period"],
                "value": row["value"],
                "status": row["status"],
                "is_derived": bool(row.get("is_derived")),
                "change": row["change"],
                "change_pct": row["change_pct"],
            }
        )
    return records


def _print_comparison(rows, registry: Registry, period: str, base: str, known_at: datetime | None = None) -> None:
    title = f"{period} against {base}" + (f", as known at {moment(known_at)}" if known_at else "")
    figures = [base, period, "Change", "Change %"]
    table = titled_table(title, ["Reporter", "Area", "Indicator", "Cut", *figures], figures)
    for row in rows.iter_rows(named=True):
        table.add_row(
            escape(row["reporter"]),
            escape(area_label(registry, row["area"])),
            escape(row["indicator"]),
            escape(_cut(row, registry)),
            count_text(row["base_value"]) + (DERIVED_MARK if row.get("base_is_derived") else ""),
            count_text(row["value"])
            + (f" {escape(row['status'])}" if row["status"] != "A" else "")
            + (DERIVED_MARK if row.get("is_derived") else ""),
            signed_count(row["change"]),
            percent_one_decimal(row["change"], row["base_value"]),
        )
    console.print(table, highlight=False)


def _print_file_report(item: dict, lang: str = "en") -> None:
    """One file's verdict and findings, in the words of `lang`; rules, codes and numbers as they are."""
    if item["errors"]:
        verdict = f"[red]{text('portal', 'verdict_invalid', lang)}[/]"
    else:
        verdict = f"[green]{text('portal', 'verdict_valid', lang)}[/]"
    found = [
        text("portal", "errors", lang, count=f"{item['errors']:,}"),
        text("portal", "warnings", lang, count=f"{item['warnings']:,}"),
    ]
    console.print(f"{escape(item['file'])}: {verdict} ({', '.join(found)})", highlight=False)
    if item["findings"]:
        table = Table(show_header=True)
        for key in ("row", "column", "rule", "severity"):
            table.add_column(text("portal", key, lang), overflow="fold")
        table.add_column(text("validate", "message", lang), overflow="fold")
        for f in item["findings"]:
            table.add_row(
                "" if f["row_number"] is None else str(f["row_number"]),
                escape(f["column_name"] or ""),
                escape(f["rule"]),
                escape(text("portal", f"severity_{f['severity']}", lang)),
                escape(f["message"]),
            )
        console.print(table, highlight=False)
