"""`ctip describe`: the data dictionary of the analyst file.

Lists every relation analysts may query (schemas core, audit and marts) with its
grain, its description and its columns and types, and the code lists of the
contract. Columns and types come from an actual analyst file (an empty one built in
a temporary folder when the default warehouse does not exist yet); grains and descriptions from
`warehouse/sql/relations.toml`; code lists from the registry. The output has no
time and no path in it, so docs/data_dictionary.md is this command's output.
"""

from __future__ import annotations

import json
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import duckdb
import typer

from flows.cli.common import (
    MarkdownOrJson,
    WarehouseOption,
    command_settings,
    errors,
    format_option,
    no_warehouse,
    readable_warehouse,
    reading_analyst,
)
from flows.settings import Settings
from schemas import load_registry
from schemas.registry import TOTAL, UNKNOWN, Registry
from warehouse.queries import relations
from warehouse.sqlfiles import SQL_DIR

RELATIONS_FILE = SQL_DIR / "relations.toml"


def describe(
    warehouse: WarehouseOption = None,
    output: Annotated[
        MarkdownOrJson, format_option(MarkdownOrJson, "markdown (the data dictionary page) or json.")
    ] = MarkdownOrJson.markdown,
) -> None:
    """Print the data dictionary: every relation analysts may query, its grain and columns, and the code lists.

    Without a warehouse at the default place (or CTIP_WAREHOUSE), describes an empty one built in a temporary
    folder. Exit 0, 2 for wrong usage (a --warehouse that names nothing or a file that is not a ctip warehouse).
    """
    registry = load_registry()
    settings = command_settings(warehouse=warehouse)
    readable_warehouse(settings, missing_ok=True)
    with _analyst_file(settings, registry) as analyst_file, reading_analyst(analyst_file) as con:
        data = dictionary(con, registry)
    text = markdown(data) if output is MarkdownOrJson.markdown else json.dumps(data, indent=2, ensure_ascii=False)
    typer.echo(text, nl=False)


@contextmanager
def _analyst_file(settings: Settings, registry: Registry) -> Iterator[Path]:
    """The analyst file at the warehouse's place, or an empty one built by a run on an empty inbox."""
    if settings.warehouse.exists():
        yield settings.warehouse
        return
    from flows.steps import run_once

    errors.print(f"{no_warehouse(settings.warehouse)}; describing an empty one.", highlight=False, markup=False)
    with tempfile.TemporaryDirectory(prefix="ctip-describe-") as folder:
        inbox, analyst_file = Path(folder) / "inbox", Path(folder) / "warehouse" / "ctip.duckdb"
        inbox.mkdir()
        run_once(inbox, analyst_file, registry, settings.zone, datetime.now(UTC), settings.lock_timeout_seconds)
        yield analyst_file


# --------------------------------------------------------------- relations
def relation_notes() -> dict[str, dict[str, str]]:
    """relation -> {grain, description}, from warehouse/sql/relations.toml."""
    return tomllib.loads(RELATIONS_FILE.read_text(encoding="utf-8"))


# -------------------------------------------------------------- code lists
def _code_kind(dimension, code: str) -> str:
    if code == TOTAL:
        return "total"
    if code == UNKNOWN:
        return "unknown"
    return "aggregate" if code in dimension.aggregates else "leaf"


def code_lists(registry: Registry) -> dict[str, list]:
    """The contract's code lists, in the registry's order."""
    indicator_order = list(registry.indicators)
    reporters_of = {
        code: [r.code for r in registry.reporters.values() if code in r.indicators] for code in registry.indicators
    }
    dimensions = []
    for name, dimension in registry.dimensions.items():
        part_of = dimension.aggregate_of()
        dimensions.append(
            {
                "name": name,
                "label": dimension.label,
                "codes": [
                    {
                        "code": code,
                        "label": dimension.labels.get(code),
                        "kind": _code_kind(dimension, code),
                        "aggregate": part_of.get(code),
                        "stands_for": [leaf for leaf in dimension.leaves if leaf in dimension.aggregates.get(code, ())],
                    }
                    for code in dimension.codes
                ],
            }
        )
    return {
        "reporters": [
            {
                "code": r.code,
                "name": r.name,
                "consolidates": r.consolidates,
                "indicators": sorted(r.indicators, key=indicator_order.index),
            }
            for r in registry.reporters.values()
        ],
        "indicators": [
            {
                "code": i.code,
                "label": i.label,
                "unit": i.unit,
                "dimensions": list(i.dimensions),
                "reporters": reporters_of[i.code],
            }
            for i in registry.indicators.values()
        ],
        "dimensions": dimensions,
        "statuses": [{"code": code, "label": label} for code, label in registry.statuses.items()],
        "areas": [
            {"code": a.code, "name": a.name, "first_year": a.first_year, "last_year": a.last_year}
            for a in registry.areas.values()
        ],
        "countries": [{"code": code, "name": name} for code, name in registry.countries.items()],
    }


def dictionary(con: duckdb.DuckDBPyConnection, registry: Registry) -> dict:
    """Everything `ctip describe` prints, as plain data."""
    notes = relation_notes()
    described = [
        {
            "name": r["name"],
            "kind": r["kind"],
            "parameters": r["parameters"],
            "grain": notes.get(r["name"], {}).get("grain"),
            "description": notes.get(r["name"], {}).get("description"),
            "columns": r["columns"],
        }
        for r in relations(con)
    ]
    key = {"columns": list(registry.key_columns), "total": TOTAL, "national_area": registry.default_of("area")}
    return {"relations": described, "key": key, **code_lists(registry)}


# ---------------------------------------------------------------- markdown
def _cell(value) -> str:
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, list):
        return ", ".join(f"`{item}`" for item in value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]


def _stands_for(code: dict, leaves: list[str]) -> str:
    """The leaves an aggregate stands for, or "every leaf except ..." when that is shorter."""
    covered = code["stands_for"]
    if not covered:
        return ""
    left_out = [leaf for leaf in leaves if leaf not in covered]
    if len(left_out) < len(covered) / 2:
        return "every leaf except " + _cell(left_out)
    return _cell(covered)


def markdown(data: dict) -> str:
    """The data dictionary page (docs/data_dictionary.md)."""
    countries = {c["code"]: c["name"] for c in data["countries"]}
    key = data["key"]
    lines = [
        "# Data dictionary",
        "",
        "<!-- Generated by `ctip describe --format markdown` (`make docs`); do not edit by hand. -->",
        "",
        (
            "What the analyst file (`warehouse/ctip.duckdb` by default) holds: every relation analysts may query, "
            "what one of its rows is, and its columns with their DuckDB types; then the code lists of the "
            "submission contract (`schemas/`). Grains and descriptions are written in `warehouse/sql/relations.toml`."
        ),
        "",
        (
            f"A key is `{', '.join(key['columns'])}`; `{key['total']}` on a dimension means all, so the headline "
            f"figure of an indicator is the row with `{key['total']}` everywhere and `area = '{key['national_area']}'`."
        ),
        "",
        "## Relations",
        "",
        *_table(
            ["relation", "kind", "grain"],
            [[f"[`{_call(r)}`](#{_anchor(r['name'])})", r["kind"], _cell(r["grain"])] for r in data["relations"]],
        ),
    ]
    for relation in data["relations"]:
        lines += [
            f"### {relation['name']}",
            "",
            f"{relation['kind'].capitalize()}"
            + (f" `{_call(relation)}`" if relation["parameters"] else "")
            + f", {_cell(relation['grain']) or 'grain not described'}.",
            "",
        ]
        if relation["description"]:
            lines += [_cell(relation["description"]), ""]
        lines += _table(["column", "type"], [[f"`{c['name']}`", f"`{c['type']}`"] for c in relation["columns"]])
    lines += [
        "## Code lists",
        "",
        "### Reporters",
        "",
        *_table(
            ["code", "name", "consolidates", "may report"],
            [
                [f"`{r['code']}`", _cell(r["name"]), _cell(r["consolidates"]), _cell(r["indicators"])]
                for r in data["reporters"]
            ],
        ),
        "### Indicators",
        "",
        *_table(
            ["code", "label", "unit", "dimensions", "reported by"],
            [
                [f"`{i['code']}`", _cell(i["label"]), _cell(i["unit"]), _cell(i["dimensions"]), _cell(i["reporters"])]
                for i in data["indicators"]
            ],
        ),
        "### Dimensions",
        "",
        (
            f"Leaves together make the total `{TOTAL}`; `{UNKNOWN}` (unknown), where the dimension has it, is one "
            "more part of the total; an aggregate stands for some of the leaves."
        ),
        "",
    ]
    with_countries = []
    for dimension in data["dimensions"]:
        leaves = [c["code"] for c in dimension["codes"] if c["kind"] == "leaf"]
        listed = [c for c in dimension["codes"] if not (c["kind"] == "leaf" and countries.get(c["code"]) == c["label"])]
        from_countries = len(dimension["codes"]) - len(listed)
        label = "" if dimension["label"] == dimension["name"] else f" ({_cell(dimension['label'])})"
        lines += [f"#### {dimension['name']}{label}", ""]
        lines += _table(
            ["code", "label", "kind", "part of", "stands for"],
            [
                [
                    f"`{c['code']}`",
                    _cell(c["label"]),
                    c["kind"],
                    _cell(c["aggregate"] and [c["aggregate"]]),
                    _stands_for(c, leaves),
                ]
                for c in listed
            ],
        )
        if from_countries:
            with_countries.append(dimension["name"])
            lines += [f"And {from_countries} leaves: the country codes of [Countries](#countries).", ""]
    lines += [
        "### Statuses",
        "",
        *_table(["code", "meaning"], [[f"`{s['code']}`", _cell(s["label"])] for s in data["statuses"]]),
        "### Areas",
        "",
        "Years are those the area existed in; blank means no limit.",
        "",
        *_table(
            ["code", "name", "first year", "last year"],
            [
                [f"`{a['code']}`", _cell(a["name"]), _cell(a["first_year"]), _cell(a["last_year"])]
                for a in data["areas"]
            ],
        ),
        "### Countries",
        "",
        "ISO 3166-1 alpha-2 codes (`schemas/countries.csv`): the leaves of the dimensions "
        + _cell(with_countries)
        + ".",
        "",
        *_table(["code", "name"], [[f"`{c['code']}`", _cell(c["name"])] for c in data["countries"]]),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _call(relation: dict) -> str:
    return relation["name"] + (f"({', '.join(relation['parameters'])})" if relation["parameters"] else "")


def _anchor(name: str) -> str:
    """The anchor GitHub gives the heading `### schema.name`."""
    return name.replace(".", "")
