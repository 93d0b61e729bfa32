"""Reporting periods: parsing (canonical and DHIS2 forms), calendar span, the year before.

A period is a span of civil dates [start, end). Its "year before" keeps the shape
and moves both ends back one year, which is what a half-year report compares with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import polars as pl

FIRST_YEAR = 1900
LAST_YEAR = 2999

# The one digit rule of periods and values: ASCII digits, and Khmer digits read as ASCII ones.
# Other Unicode digits (fullwidth, Arabic-Indic, mathematical...) are no digits.
KHMER_DIGITS = [chr(0x17E0 + d) for d in range(10)]
ASCII_DIGITS = [str(d) for d in range(10)]
_TO_ASCII = str.maketrans(dict(zip(KHMER_DIGITS, ASCII_DIGITS)))

_YEAR = re.compile(r"^([0-9]{4})$")
_HALF = re.compile(r"^([0-9]{4})-?S([12])$")
_QUARTER = re.compile(r"^([0-9]{4})-?Q([1-4])$")
_MONTH = re.compile(r"^([0-9]{4})-?([0-9]{2})$")
_YTD = re.compile(r"^([0-9]{4})-([0-9]{2})/([0-9]{4})-([0-9]{2})$")

PERIOD_TYPES = ("year", "half", "quarter", "month", "ytd")


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

    def covered_by(self, first: Period, last: Period) -> bool:
        """True when this period starts no earlier than `first` and ends no later than `last`."""
        return self.start >= first.start and self.end <= last.end


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
        shifted = _make(year, "ytd", last_month=(period.end.month - 2) % 12 + 1)
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
