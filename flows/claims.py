"""`ctip claims`: percentages quoted in official statements, checked against the warehouse.

Reads a CSV of claims, looks up each claim's figure and base figure in the analyst
file (read-only) as the comparison table shows them (`marts.period_comparison`, which
`ctip compare` and `ctip report` read: reported, or derived from shorter periods) and
prints the verdict of `transforms.claims`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from flows.cli.common import (
    ListFormat,
    TableOrJson,
    WarehouseOption,
    command_settings,
    console,
    errors,
    readable_warehouse,
    reading_analyst,
    titled_table,
)
from flows.steps import display_name
from schemas import load_registry
from schemas.registry import Registry
from transforms.claims import (
    ACCEPTED,
    VERDICTS,
    Claim,
    Judgement,
    judge,
    parse_claims,
    signed_decimal,
)
from warehouse.archive import NotRegularFile, read_regular
from warehouse.queries import comparison_figures

_COLOURS = {"rounded": "green", "truncated": "green", "wrong_base": "red", "no_match": "red", "not_found": "yellow"}


def claims(
    file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            help="CSV of claims: reporter, indicator, period, claimed_change_pct; optional base_period, area and dimensions.",
        ),
    ],
    warehouse: WarehouseOption = None,
    output: ListFormat = TableOrJson.table,
) -> None:
    """Check the percentage changes quoted in statements against the warehouse.

    The figures are those ctip compare and ctip report show (marts.period_comparison), derived ones included.
    Each claim is judged to as many decimals as it shows: rounded, truncated, wrong_base, no_match or not_found.

    Exit 0 when every claim is rounded or truncated, 1 otherwise, 2 for wrong usage (a claims file that cannot be
    read, a warehouse that is not a ctip warehouse).
    """
    registry = load_registry()
    shown = display_name(file.name)
    try:
        content = read_regular(file, registry.limits.max_file_bytes)
    except NotRegularFile:
        errors.print(
            f"{shown} is not a regular file (a link, folder, device or pipe); give the claims file itself.",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(2) from None
    if content is None:
        errors.print(
            f"{shown} is larger than {registry.limits.max_file_bytes:,} bytes, the limit of a file.",
            highlight=False,
            markup=False,
        )
        raise typer.Exit(2)
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        errors.print(f"{shown} is not UTF-8 text; save it as CSV UTF-8.", highlight=False, markup=False)
        raise typer.Exit(2) from None
    parsed = parse_claims(text, registry)
    if parsed.problems:
        for problem in parsed.problems:
            errors.print(f"{shown}: {problem}", highlight=False, markup=False)
        raise typer.Exit(2)
    settings = command_settings(warehouse=warehouse)
    readable_warehouse(settings)
    keys = sorted({claim.key(period) for claim in parsed.claims for period in (claim.period, claim.base_period)})
    with reading_analyst(settings.warehouse) as con:
        figures = comparison_figures(con, registry, keys)
    judged = [(claim, _judged(claim, figures)) for claim in parsed.claims]
    if output is TableOrJson.json:
        console.print_json(json.dumps([_record(claim, judgement, figures, registry) for claim, judgement in judged]))
    else:
        _print_table(file.name, judged, registry)
    raise typer.Exit(0 if all(judgement.verdict in ACCEPTED for _, judgement in judged) else 1)


def _figures(
    figures: dict[tuple[str, ...], tuple[int, bool]], claim: Claim
) -> tuple[tuple[int | None, bool], tuple[int | None, bool]]:
    """The claim's figure and base figure, each with whether it is derived; (None, False) where the table holds
    none."""
    return tuple(figures.get(claim.key(period), (None, False)) for period in (claim.period, claim.base_period))


def _judged(claim: Claim, figures: dict[tuple[str, ...], tuple[int, bool]]) -> Judgement:
    (value, derived), (base_value, base_derived) = _figures(figures, claim)
    return judge(claim, value, base_value, derived, base_derived)


def _text(number) -> str | None:
    return None if number is None else str(number)


def _record(
    claim: Claim, judgement: Judgement, figures: dict[tuple[str, ...], tuple[int, bool]], registry: Registry
) -> dict:
    (value, derived), (base_value, base_derived) = _figures(figures, claim)
    change = None if value is None or base_value is None else value - base_value
    return {
        "row_number": claim.row_number,
        "claim": claim.label(registry.default_of("area") or ""),
        "reporter": claim.reporter,
        "area": claim.area,
        "indicator": claim.indicator,
        **claim.cut,
        "period": claim.period,
        "base_period": claim.base_period,
        "claimed_change_pct": str(claim.claimed),
        "decimals": claim.decimals,
        "value": value,
        "is_derived": derived,
        "base_value": base_value,
        "base_is_derived": base_derived,
        "change": change,
        "change_pct": None if change is None or base_value == 0 else 100 * change / base_value,
        "rounded": _text(judgement.computed),
        "truncated": _text(judgement.truncated),
        "change_pct_of_value": _text(judgement.of_value),
        "verdict": judgement.verdict,
        "detail": judgement.detail,
    }


def _print_table(file_name: str, judged: list[tuple[Claim, Judgement]], registry: Registry) -> None:
    figures = ["Row", "Claimed %", "Computed change %"]
    columns = ["Row", "Claim", "Claimed %", "Computed change %", "Verdict", "Detail"]
    table = titled_table(f"Claims of {escape(file_name)} against the warehouse", columns, figures)
    national = registry.default_of("area") or ""
    for claim, judgement in judged:
        colour = _COLOURS[judgement.verdict]
        table.add_row(
            str(claim.row_number),
            escape(claim.label(national)),
            signed_decimal(claim.claimed),
            signed_decimal(judgement.computed),
            f"[{colour}]{judgement.verdict}[/]",
            escape(judgement.detail),
        )
    console.print(table, highlight=False)
    counts = {verdict: sum(1 for _, j in judged if j.verdict == verdict) for verdict in VERDICTS}
    console.print(
        f"{len(judged)} claims: " + ", ".join(f"{verdict} {count}" for verdict, count in counts.items()) + ".",
        highlight=False,
    )
