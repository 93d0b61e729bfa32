"""`ctip claims`: percentages quoted in official statements, checked against the warehouse.

Reads a CSV of claims, looks up each claim's figure and base figure in the analyst
file (read-only, `core.observations`) and prints the verdict of `transforms.claims`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import duckdb
import polars as pl
import typer
from rich.markup import escape
from rich.table import Table

from flows.cli import (
    TableOrJson, WarehouseOption, _registry, _settings, app, console, errors, format_option, readable_warehouse,
)
from flows.steps import display_name
from warehouse.archive import NotRegularFile, read_regular
from transforms.claims import (
    ACCEPTED,
    VERDICTS,
    Claim,
    Judgement,
    judge,
    parse_claims,
    signed,
)

_COLOURS = {"rounded": "green", "truncated": "green", "wrong_base": "red", "no_match": "red", "not_found": "yellow"}


@app.command()
def claims(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False,
            help="CSV of claims: reporter, indicator, period, claimed_change_pct; optional base_period, area and dimensions.",
        ),
    ],
    warehouse: WarehouseOption = None,
    output: Annotated[TableOrJson, format_option(TableOrJson, "table (for people) or json (for machines).")] = TableOrJson.table,
) -> None:
    """Check the percentage changes quoted in statements against the warehouse.

    Each claim is judged to as many decimals as it shows: rounded, truncated, wrong_base, no_match or not_found.

    Exit 0 when every claim is rounded or truncated, 1 otherwise, 2 for wrong usage (a claims file that cannot be
    read, a warehouse that is not a ctip warehouse).
    """
    shown = display_name(file.name)
    try:
        content = read_regular(file, _registry.limits.max_file_bytes)
    except NotRegularFile:
        errors.print(f"{shown} is not a regular file (a link, folder, device or pipe); give the claims file itself.",
                     highlight=False, markup=False)
        raise typer.Exit(2) from None
    if content is None:
        errors.print(f"{shown} is larger than {_registry.limits.max_file_bytes:,} bytes, the limit of a file.",
                     highlight=False, markup=False)
        raise typer.Exit(2)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        errors.print(f"{shown} is not UTF-8 text; save it as CSV UTF-8.", highlight=False, markup=False)
        raise typer.Exit(2) from None
    parsed = parse_claims(text, _registry)
    if parsed.problems:
        for problem in parsed.problems:
            errors.print(f"{shown}: {problem}", highlight=False, markup=False)
        raise typer.Exit(2)
    settings = _settings(warehouse=warehouse)
    readable_warehouse(settings)
    try:
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            figures = lookup(con, parsed.claims)
    except duckdb.Error as problem:
        errors.print(f"Cannot read {settings.warehouse}: {problem}", highlight=False, markup=False)
        raise typer.Exit(1) from None
    judged = [
        (claim, judge(claim, figures.get(claim.key(claim.period)), figures.get(claim.key(claim.base_period))))
        for claim in parsed.claims
    ]
    if output is TableOrJson.json:
        console.print_json(json.dumps([_record(claim, judgement, figures) for claim, judgement in judged]))
    else:
        _print_table(file.name, judged)
    raise typer.Exit(0 if all(judgement.verdict in ACCEPTED for _, judgement in judged) else 1)


def lookup(con: duckdb.DuckDBPyConnection, claims: list[Claim]) -> dict[tuple[str, ...], int]:
    """The current value of every key the claims name, in their periods and base periods."""
    columns = list(_registry.key_columns)
    keys = sorted({claim.key(period) for claim in claims for period in (claim.period, claim.base_period)})
    if not keys:
        return {}
    wanted = pl.DataFrame(keys, schema={name: pl.String for name in columns}, orient="row")
    con.register("claimed_keys", wanted)
    try:
        names = ", ".join(columns)
        rows = con.sql(
            f"select {names}, o.value from claimed_keys join core.observations as o using ({names})"
        ).fetchall()
    finally:
        con.unregister("claimed_keys")
    return {tuple(row[:-1]): int(row[-1]) for row in rows}


def _text(number) -> str | None:
    return None if number is None else str(number)


def _record(claim: Claim, judgement: Judgement, figures: dict[tuple[str, ...], int]) -> dict:
    value, base_value = figures.get(claim.key(claim.period)), figures.get(claim.key(claim.base_period))
    change = None if value is None or base_value is None else value - base_value
    return {
        "row_number": claim.row_number,
        "claim": claim.label(_registry.default_of("area") or ""),
        "reporter": claim.reporter, "area": claim.area, "indicator": claim.indicator, **claim.cut,
        "period": claim.period, "base_period": claim.base_period,
        "claimed_change_pct": str(claim.claimed), "decimals": claim.decimals,
        "value": value, "base_value": base_value, "change": change,
        "change_pct": None if change is None or base_value == 0 else 100 * change / base_value,
        "rounded": _text(judgement.computed), "truncated": _text(judgement.truncated),
        "change_pct_of_value": _text(judgement.of_value),
        "verdict": judgement.verdict, "detail": judgement.detail,
    }


def _print_table(file_name: str, judged: list[tuple[Claim, Judgement]]) -> None:
    table = Table(title=f"Claims of {escape(file_name)} against the warehouse", title_justify="left")
    for name, justify in [("Row", "right"), ("Claim", "left"), ("Claimed %", "right"), ("Computed change %", "right"),
                          ("Verdict", "left"), ("Detail", "left")]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    national = _registry.default_of("area") or ""
    for claim, judgement in judged:
        colour = _COLOURS[judgement.verdict]
        table.add_row(
            str(claim.row_number), escape(claim.label(national)), signed(claim.claimed), signed(judgement.computed),
            f"[{colour}]{judgement.verdict}[/]", escape(judgement.detail),
        )
    console.print(table, highlight=False)
    counts = {verdict: sum(1 for _, j in judged if j.verdict == verdict) for verdict in VERDICTS}
    console.print(
        f"{len(judged)} claims: " + ", ".join(f"{verdict} {count}" for verdict, count in counts.items()) + ".",
        highlight=False,
    )
