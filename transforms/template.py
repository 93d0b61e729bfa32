"""The rows of a blank submission template: what a reporter may report for one period, values left empty.

For the national area, each indicator the reporter may report gets its total and every
one-dimension part: each code of each dimension it may be cut by. The long lists
(citizenships, countries) get their aggregates, the codes a file needs most and a few rows
whose code the sender picks. A template left empty is a file of "not reported" rows.
"""

from __future__ import annotations

from schemas.registry import TOTAL, Registry

NATIONAL = "KH"
PICK_ROWS = 3  # rows of a long list whose code is left for the sender to pick
_LONG_LIST_FIRST = {"citizenship": ("KH",), "country": ()}  # named first in a long list, before the picks


def template_rows(registry: Registry, reporter: str, period: str) -> list[dict[str, str]]:
    """One dict per row, with the columns of `template_columns`; value left empty."""
    columns = template_columns(registry)
    rows = []
    for indicator in registry.indicators.values():
        if indicator.code not in registry.reporters[reporter].indicators:
            continue

        def row(code: str = indicator.code, **cut: str) -> dict[str, str]:
            values = {column: "" for column in columns}
            values.update(reporter=reporter, period=period, indicator=code, area=NATIONAL)
            values.update({name: TOTAL for name in registry.dimension_names})
            values.update(status=registry.default_of("status"))  # spelt out: a blank code is no code
            values.update(cut)
            return values

        rows.append(row())
        for name in indicator.dimensions:
            dimension = registry.dimensions[name]
            if name in _LONG_LIST_FIRST:
                codes = [
                    *_LONG_LIST_FIRST[name],
                    *(c for c in dimension.codes if c in dimension.aggregates or c in ("STLS", "_U")),
                ]
                rows += [row(**{name: code}) for code in codes]
                rows += [row(**{name: ""}) for _ in range(PICK_ROWS)]
            else:
                rows += [row(**{name: code}) for code in dimension.codes if code != TOTAL]
    return rows


def template_columns(registry: Registry) -> tuple[str, ...]:
    """The contract's columns but `action`: a template sets figures, it withdraws none."""
    return tuple(column for column in registry.known_columns if column != "action")


def code_lists(registry: Registry, reporter: str) -> dict[str, list[str]]:
    """The codes a sender may pick in each coded column of the template, in the registry's order."""
    indicators = [code for code in registry.indicators if code in registry.reporters[reporter].indicators]
    return {
        "reporter": [reporter],
        "indicator": indicators,
        "area": list(registry.areas),
        **{name: list(dimension.codes) for name, dimension in registry.dimensions.items()},
        "status": list(registry.statuses),
    }


def label_kind(column: str, registry: Registry) -> str:
    """The kind of label (for `Registry.label`) of a coded column's codes."""
    return f"code:{column}" if column in registry.dimensions else column
