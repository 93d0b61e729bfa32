"""Percentages quoted in official statements, judged against the figures they came from.

A statement says "an increase of 25 per cent"; the warehouse holds 62 and 78, a
change of +25.806...%. A claim is judged to as many decimals as it shows:

- `rounded`: it equals the change rounded half away from zero;
- `truncated`: it equals the change cut toward zero;
- `wrong_base`: it equals, rounded or cut, the change divided by the current value
  instead of the base (100 * change / value);
- `no_match`: none of these;
- `not_found`: the warehouse holds no value, or no base value, for it.

The figures are those of the comparison table (`marts.period_comparison`), which `ctip compare`
and `ctip report` show: reported, or derived from shorter periods where no one reported them
(a year from its halves, 2019-S1 from its quarters); a derived figure is named "(derived)".

Everything is computed exactly from the two integers with the decimal module, so
no binary-float rounding decides a verdict. Parsing the claims file's text and
judging are pure; reading the file and the warehouse is `flows/claims.py`'s.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from schemas.percent import exact_percent
from schemas.registry import TOTAL, Registry
from transforms.periods import base_period_code, parse_period

REQUIRED_COLUMNS = ("reporter", "indicator", "period", "claimed_change_pct")
BASE_PERIOD = "base_period"
LOWER_CASE_CODES = ("indicator",)  # as in submissions: indicators are lower case, every other code upper case

ROUNDED, TRUNCATED, WRONG_BASE, NO_MATCH, NOT_FOUND = "rounded", "truncated", "wrong_base", "no_match", "not_found"
VERDICTS = (ROUNDED, TRUNCATED, WRONG_BASE, NO_MATCH, NOT_FOUND)
ACCEPTED = frozenset({ROUNDED, TRUNCATED})  # the claim is the change, only shortened

DERIVED_MARK = (
    " (derived)"  # beside a figure no one reported, added up from shorter periods, as `ctip compare` marks it
)

_PERCENT = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")


# ------------------------------------------------------------------ numbers
def decimals_of(claimed: Decimal) -> int:
    """How many decimals a claim shows: 0 for "25", 1 for "25.8", 2 for "25.80"."""
    exponent = claimed.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def signed_decimal(number: Decimal | None) -> str:
    """A percentage as exact as computed, every decimal it has and its sign always shown: "+25.80"; "—" for none.

    (`transforms.report.percent_one_decimal` is the other way: a change shown to one decimal, as reports quote it.)"""
    return "—" if number is None else f"{number:+f}"


# ------------------------------------------------------------------- claims
@dataclass(frozen=True)
class Claim:
    row_number: int  # as a spreadsheet shows the claims file: the header is row 1
    reporter: str
    indicator: str
    period: str
    base_period: str
    claimed: Decimal
    area: str
    cut: dict[str, str] = field(default_factory=dict)  # dimension -> code, every dimension

    @property
    def decimals(self) -> int:
        return decimals_of(self.claimed)

    def key(self, period: str) -> tuple[str, ...]:
        """The observation key of the claim's figure in `period`."""
        return (self.reporter, self.area, period, self.indicator, *self.cut.values())

    def label(self, national_area: str = "KH") -> str:
        """ "NCCT cases 2019-S1 against 2018-S1", with the area and cut when not the national total."""
        text = f"{self.reporter} {self.indicator} {self.period} against {self.base_period}"
        where = [f"area={self.area}"] if self.area != national_area else []
        where += [f"{name}={code}" for name, code in self.cut.items() if code != TOTAL]
        return text + (f" ({', '.join(where)})" if where else "")


@dataclass(frozen=True)
class ClaimsFile:
    claims: list[Claim]
    problems: list[str]  # the file cannot be judged while any is left: missing columns, bad cells


def _fold(column: str, text: str) -> str:
    text = text.strip()
    return text.lower() if column in LOWER_CASE_CODES else text.upper()


def parse_claims(text: str, registry: Registry) -> ClaimsFile:
    """The claims of a CSV text, or the problems that keep it from being judged.

    Columns: reporter, indicator, period, claimed_change_pct; optional base_period
    (default: the same period a year before), area (default KH) and one column per
    dimension (default _T). Column names and codes are case-insensitive and trimmed;
    blank rows are skipped; other columns are ignored.
    """
    records = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    try:
        header = [name.strip().lower() for name in next(records, [])]
    except csv.Error as problem:
        return ClaimsFile([], [f"the claims file is not CSV: {problem}"])
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        return ClaimsFile(
            [],
            [f"the claims file has no column '{name}' (required: {', '.join(REQUIRED_COLUMNS)})" for name in missing],
        )
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    if repeated:
        return ClaimsFile([], [f"row 1: the column '{name}' appears more than once in the header" for name in repeated])
    claims, problems = [], []
    try:
        for row_number, record in enumerate(records, start=2):
            extra = [cell for cell in record[len(header) :] if cell.strip()]
            if extra:
                problems.append(
                    f"row {row_number} has {len(record)} cells but the header names {len(header)} columns "
                    "(a number written with a decimal comma, such as 25,9, splits into two cells: write 25.9)"
                )
                continue
            cells = {name: (record[i] if i < len(record) else "") for i, name in enumerate(header)}
            if not any(cell.strip() for cell in cells.values()):
                continue
            claim, found = _claim(row_number, cells, registry)
            problems += found
            if claim is not None:
                claims.append(claim)
    except csv.Error as problem:
        problems.append(f"the claims file is not CSV near line {records.line_num}: {problem}")
    if not claims and not problems:
        problems.append("the claims file holds no claim: add one row per claim under the header")
    return ClaimsFile(claims, problems)


def _claim(row_number: int, cells: dict[str, str], registry: Registry) -> tuple[Claim | None, list[str]]:
    problems = []

    def code(column: str, known) -> str:
        value = _fold(column, cells.get(column) or "") or (registry.default_of(column) or "")
        if value not in known:
            shown = (cells.get(column) or "").strip()
            problems.append(
                f"row {row_number}, column {column}: "
                + (f"'{shown}' is not a known {column} code" if shown else "blank, but it has no default")
            )
        return value

    reporter = code("reporter", registry.reporters)
    indicator = code("indicator", registry.indicators)
    area = code("area", registry.areas)
    cut = {name: code(name, dimension.codes) for name, dimension in registry.dimensions.items()}

    period = parse_period(cells["period"])
    if period is None:
        problems.append(f"row {row_number}, column period: '{cells['period'].strip()}' is not a period such as 2019-S1")
    base_text = (cells.get(BASE_PERIOD) or "").strip()
    base = parse_period(base_text) if base_text else None
    if base_text and base is None:
        problems.append(f"row {row_number}, column {BASE_PERIOD}: '{base_text}' is not a period such as 2018-S1")
    base_code = base.code if base else (base_period_code(period.code) if period else None)

    claimed_text = cells["claimed_change_pct"].strip().removesuffix("%").strip()
    if not _PERCENT.match(claimed_text):
        problems.append(
            f"row {row_number}, column claimed_change_pct: '{cells['claimed_change_pct'].strip()}' is not a "
            "percentage such as 25, 25.8 or -3.5"
        )
    if problems or period is None or base_code is None:
        return None, problems
    return Claim(row_number, reporter, indicator, period.code, base_code, Decimal(claimed_text), area, cut), []


# ---------------------------------------------------------------- judgement
@dataclass(frozen=True)
class Judgement:
    verdict: str
    detail: str
    computed: Decimal | None = None  # the change in per cent, rounded half away from zero to the claim's decimals
    truncated: Decimal | None = None  # the same, cut toward zero
    of_value: Decimal | None = None  # 100 * change / value, rounded to the claim's decimals

    @property
    def accepted(self) -> bool:
        return self.verdict in ACCEPTED


def figure_text(value: int, derived: bool = False) -> str:
    """A figure as the claims' details name it: "263", or "263 (derived)" for one added up from shorter periods."""
    return f"{value}{DERIVED_MARK if derived else ''}"


def judge(
    claim: Claim, value: int | None, base_value: int | None, derived: bool = False, base_derived: bool = False
) -> Judgement:
    """The verdict on one claim, given the figure of its period and of its base period as the comparison table
    shows them, and whether each is derived from shorter periods (the details say so beside the figure)."""
    if value is None or base_value is None:
        missing = []
        if value is None:
            missing.append(f"no value for {claim.period}")
        if base_value is None:
            missing.append(f"no base value for {claim.base_period}")
        return Judgement(NOT_FOUND, "the warehouse holds " + " and ".join(missing))
    places, claimed = claim.decimals, claim.claimed
    change = value - base_value
    computed = truncated = of_value = None
    if base_value != 0:
        computed = exact_percent(change, base_value, places, ROUND_HALF_UP)
        truncated = exact_percent(change, base_value, places, ROUND_DOWN)
    of_value_cut = None
    if value != 0:
        of_value = exact_percent(change, value, places, ROUND_HALF_UP)
        of_value_cut = exact_percent(change, value, places, ROUND_DOWN)
    finer = None if base_value == 0 else exact_percent(change, base_value, places + 2)
    shown, base_shown = figure_text(value, derived), figure_text(base_value, base_derived)
    against = f"{shown} against {base_shown}"
    if computed is not None and claimed == computed:
        return Judgement(
            ROUNDED,
            f"{against}: {signed_decimal(finer)}% rounds to {signed_decimal(computed)}%",
            computed,
            truncated,
            of_value,
        )
    if truncated is not None and claimed == truncated:
        return Judgement(
            TRUNCATED,
            f"{against}: {signed_decimal(finer)}% cut to {signed_decimal(truncated)}% (rounded: {signed_decimal(computed)}%)",
            computed,
            truncated,
            of_value,
        )
    if of_value is not None and claimed in (of_value, of_value_cut):
        return Judgement(
            WRONG_BASE,
            f"the change {change:+} divided by the {claim.period} value {shown}, not by the {claim.base_period} "
            f"base {base_shown}: {signed_decimal(of_value)}% (against the base: {signed_decimal(computed)}%)",
            computed,
            truncated,
            of_value,
        )
    if base_value == 0:
        return Judgement(NO_MATCH, f"{against}: no percentage change from a base of 0", None, None, of_value)
    return Judgement(NO_MATCH, f"{against}: the change is {signed_decimal(finer)}%", computed, truncated, of_value)
