"""Reporting periods, known in this one place: the types, their names, parsing (canonical and DHIS2
forms), calendar spans, the year before, the period before and which shorter periods add up to one.

A period is a span of civil dates [start, end). Its "year before" (base) keeps the shape
and moves both ends back one year, which is what a half-year report compares with.

The warehouse's SQL does the same arithmetic on canonical codes for periods it may not
hold (`warehouse/sql/ddl/11_core_period_macros.sql`, `marts/tilings.sql`,
`marts/derived_figures.sql`); tests/warehouse/test_period_sql.py checks that they agree
with this module over every period of a range of years.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

import polars as pl

FIRST_YEAR = 1900
LAST_YEAR = 2999

# The one digit rule of periods and values: ASCII digits, and Khmer digits read as ASCII ones.
# Other Unicode digits (fullwidth, Arabic-Indic, mathematical...) are no digits.
KHMER_DIGITS = [chr(0x17E0 + d) for d in range(10)]
ASCII_DIGITS = [str(d) for d in range(10)]
_TO_ASCII = str.maketrans(dict(zip(KHMER_DIGITS, ASCII_DIGITS, strict=True)))

_YEAR = re.compile(r"^([0-9]{4})$")
_HALF = re.compile(r"^([0-9]{4})-?S([12])$")
_QUARTER = re.compile(r"^([0-9]{4})-?Q([1-4])$")
_MONTH = re.compile(r"^([0-9]{4})-?([0-9]{2})$")
_YTD = re.compile(r"^([0-9]{4})-([0-9]{2})/([0-9]{4})-([0-9]{2})$")


@dataclass(frozen=True)
class PeriodType:
    """A kind of period: its name in the data (`period_type`), its name in prose, an example of its
    canonical code, and the shorter types whose periods add up to one of it, preferred first."""

    name: str
    label: str
    example: str
    made_of: tuple[str, ...]


# Every type the contract knows, longest first. A figure no one reported is derived from a
# complete set of shorter ones, each reported or itself derived: a year from its halves, a half
# from its quarters (or else its months), a quarter from its months, a year to date from its
# months; so a year from four quarters or twelve months too.
PERIOD_TYPES = {
    kind.name: kind
    for kind in (
        PeriodType("year", "year", "2019", ("half",)),
        PeriodType("half", "half-year", "2019-S1", ("quarter", "month")),
        PeriodType("quarter", "quarter", "2019-Q1", ("month",)),
        PeriodType("month", "month", "2019-01", ()),
        PeriodType("ytd", "year to date", "2019-01/2019-10", ("month",)),
    )
}


def period_type_name(period_type: str) -> str:
    """A period type as prose names it ("half-year"); an unknown type as it is."""
    known = PERIOD_TYPES.get(period_type)
    return known.label if known else period_type


@dataclass(frozen=True, order=True)
class Period:
    start: date
    end: date  # exclusive
    type: str
    code: str  # canonical form

    @property
    def base(self) -> Period:
        """The same period a year before."""
        return _shift_years(self, -1)

    @property
    def previous(self) -> Period:
        """The period of the same type just before (for a year to date of January alone, the
        whole year before, as a year to date)."""
        year = self.start.year
        if self.type == "ytd":
            last_month = self.months[1]
            shifted = (
                _make(year - 1, "ytd", last_month=12)
                if last_month == 1
                else _make(year, "ytd", last_month=last_month - 1)
            )
        else:
            candidates = (*periods_of_year(year - 1, self.type), *periods_of_year(year, self.type))
            shifted = next((p for p in candidates if p.end == self.start), None)
        if shifted is None:
            raise ValueError(f"{self.code} has no period before it")
        return shifted

    @property
    def months(self) -> tuple[int, int]:
        """The months of its year the period spans, [first, end) counted from 0 (2019-S2: (6, 12))."""
        return self.start.month - 1, (self.end.year - self.start.year) * 12 + self.end.month - 1

    def members(self, part_type: str) -> tuple[Period, ...]:
        """The periods of `part_type` that add up to this one, in order (2019: 2019-S1, 2019-S2),
        or () when they do not make it up exactly."""
        first, end = self.months
        inside = tuple(
            p for p in periods_of_year(self.start.year, part_type) if first <= p.months[0] and p.months[1] <= end
        )
        tiles = (
            bool(inside)
            and inside[0].months[0] == first
            and inside[-1].months[1] == end
            and all(a.months[1] == b.months[0] for a, b in pairwise(inside))
        )
        return inside if tiles else ()

    def within(self) -> tuple[Period, ...]:
        """This period and every period of any type inside it (2019-S1: itself, its quarters, its months and the
        years to date of its months), in order of type."""
        return tuple(
            p
            for kind in PERIOD_TYPES
            for p in periods_of_year(self.start.year, kind)
            if self.start <= p.start and p.end <= self.end
        )

    def derivations(self) -> tuple[tuple[Period, ...], ...]:
        """Every complete set of shorter periods the figure of this one is derived from, preferred first."""
        return tuple(self.members(part_type) for part_type in PERIOD_TYPES[self.type].made_of)


def _month_start(year: int, month: int) -> date:
    return date(year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def _make(year: int, kind: str, index: int = 0, last_month: int = 0) -> Period | None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    if kind == "year":
        return Period(date(year, 1, 1), date(year + 1, 1, 1), "year", f"{year:04d}")
    if kind == "half":
        start = _month_start(year, 6 * (index - 1) + 1)
        return Period(start, _month_start(year, 6 * index + 1), "half", f"{year:04d}-S{index}")
    if kind == "quarter":
        start = _month_start(year, 3 * (index - 1) + 1)
        return Period(start, _month_start(year, 3 * index + 1), "quarter", f"{year:04d}-Q{index}")
    if kind == "month":
        if not 1 <= index <= 12:
            return None
        return Period(_month_start(year, index), _month_start(year, index + 1), "month", f"{year:04d}-{index:02d}")
    if kind == "ytd":
        if not 1 <= last_month <= 12:
            return None
        code = f"{year:04d}-01/{year:04d}-{last_month:02d}"
        return Period(date(year, 1, 1), _month_start(year, last_month + 1), "ytd", code)
    raise ValueError(kind)


_PER_YEAR = {"year": 1, "half": 2, "quarter": 4, "month": 12}


def periods_of_year(year: int, kind: str) -> tuple[Period, ...]:
    """Every period of a type in a year, in order (none outside FIRST_YEAR..LAST_YEAR)."""
    if kind == "ytd":
        found = (_make(year, "ytd", last_month=month) for month in range(1, 13))
    else:
        found = (_make(year, kind, index) for index in range(1, _PER_YEAR[kind] + 1))
    return tuple(period for period in found if period is not None)


def parse_period(text: str | None) -> Period | None:
    """The period a cell names, or None when it names none.

    Accepts the canonical forms and the DHIS2 forms of the contract, any case,
    spaces around ignored, written with ASCII or Khmer digits.
    """
    if text is None:
        return None
    text = text.strip().upper().translate(_TO_ASCII)
    if match := _YEAR.match(text):
        return _make(int(match[1]), "year")
    if match := _HALF.match(text):
        return _make(int(match[1]), "half", int(match[2]))
    if match := _QUARTER.match(text):
        return _make(int(match[1]), "quarter", int(match[2]))
    if match := _MONTH.match(text):
        return _make(int(match[1]), "month", int(match[2]))
    if match := _YTD.match(text):
        first_year, first_month, last_year, last_month = (int(g) for g in match.groups())
        if first_month != 1 or first_year != last_year:
            return None
        return _make(first_year, "ytd", last_month=last_month)
    return None


def _shift_years(period: Period, years: int) -> Period:
    year = period.start.year + years
    if period.type == "year":
        shifted = _make(year, "year")
    elif period.type == "ytd":
        shifted = _make(year, "ytd", last_month=period.months[1])
    else:
        shifted = parse_period(f"{year:04d}{period.code[4:]}")
    if shifted is None:
        raise ValueError(f"{period.code} has no period {years:+d} years away")
    return shifted


def base_period_code(code: str) -> str | None:
    """Canonical code of the same period a year before, or None for a code that is no period."""
    period = parse_period(code)
    if period is None or period.start.year - 1 < FIRST_YEAR:
        return None
    return period.base.code


PERIOD_SCHEMA = {
    "period_text": pl.String,
    "period": pl.String,
    "period_type": pl.String,
    "period_start": pl.Date,
    "period_end": pl.Date,
    "base_period": pl.String,
}


def periods_frame(texts: pl.Series) -> pl.DataFrame:
    """One row per distinct period text: canonical code, type, span and year before.

    Texts that name no period get nulls, so a join keeps every row and the
    validator can name the bad cell.
    """
    rows = []
    for text in texts.drop_nulls().unique().to_list():
        period = parse_period(text)
        if period is None:
            rows.append((text, None, None, None, None, None))
        else:
            rows.append((text, period.code, period.type, period.start, period.end, base_period_code(period.code)))
    return pl.DataFrame(rows, schema=PERIOD_SCHEMA, orient="row")
