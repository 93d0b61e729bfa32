"""Synthetic submissions: realistic reports from every reporter, some with one known defect.

Pure functions, deterministic for a seed: `plan` lists the submissions (one per
reporter, area and month, and one per reporter and period of its reporting calendar
when that period is longer than a month, each with its file format),
`Synthesiser.submission` builds one submission's rows as a frame of text cells, and
`with_defect` breaks exactly one rule of the contract in a copy. `generate` puts them
together. Writing the files is `flows/generate.py`.

The figures behave like the real ones:

- each province has a monthly mean per indicator (a share of the national mean,
  roughly by population, larger on the Thai border and in Phnom Penh) with a slow
  trend of its own and a mild season; its figure is a Poisson draw around it;
- the national figure (KH) is the sum of the provinces that existed that month:
  KH-25 (Tboung Khmum) reports only from its first year, and before that its share
  is Kampong Cham's (KH-3), from which it was split;
- the cuts of a figure are a multinomial split of it, so complete sets of parts add
  up to their total exactly; sex and age are split jointly, so the cross-cuts add
  up both ways; KH + FOREIGN (+ `_U`) is the citizenship total and the foreign
  citizenships named add up to FOREIGN at most; countries found in add up to the
  total at most;
- the ministries and the NCCT hold the same figure for the same key, except for a
  few ministry figures off by one to three (late cases), as in real consolidation;
- a report of a reporter's calendar period (a quarter for MOSVY, a half-year for the
  NCCT, MOI and MOJ: registry.toml) holds, for every area, each figure of its monthly
  files added up over the period's months, so it equals the sum of its months exactly.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from schemas.registry import TOTAL, UNKNOWN, Registry
from transforms.periods import parse_period, periods_of_year

# A national monthly mean per indicator around 2011 (the samples in data/inbox/ are of this size).
MONTHLY_MEAN = {
    "cases": 12.0,
    "victims_rescued": 38.0,
    "victims_repatriated": 20.0,
    "suspects_arrested": 20.0,
    "suspects_to_court": 15.0,
    "persons_convicted": 9.0,
    "marriage_applications": 160.0,
}
DEFAULT_MONTHLY_MEAN = 10.0
FIRST_TREND_YEAR = 2011

# Relative weight of each province: roughly its population (thousands, 2019 census), times 1.5 on the
# Thai border and in the capital, where most cases are found.
PROVINCE_WEIGHT = {
    "KH-1": 860 * 1.5,
    "KH-2": 990 * 1.5,
    "KH-3": 900,
    "KH-4": 530,
    "KH-5": 880,
    "KH-6": 680,
    "KH-7": 590,
    "KH-8": 1200,
    "KH-9": 120 * 1.5,
    "KH-10": 370,
    "KH-11": 90,
    "KH-12": 2130 * 1.5,
    "KH-13": 250,
    "KH-14": 1060,
    "KH-15": 410,
    "KH-16": 200,
    "KH-17": 1010,
    "KH-18": 310,
    "KH-19": 160,
    "KH-20": 530,
    "KH-21": 900,
    "KH-22": 280 * 1.5,
    "KH-23": 40,
    "KH-24": 75 * 1.5,
    "KH-25": 780,
}
DEFAULT_PROVINCE_WEIGHT = 400
SPLIT_FROM = {"KH-25": "KH-3"}  # a province created later: before its first year its figures are its parent's

# How a figure splits along each dimension. Codes absent from the registry are left out; the
# code OTHER is drawn but never written (so the parts named add up to less than their total).
OTHER = "(other)"
SEX_VICTIMS = {"F": 0.68, "M": 0.29, UNKNOWN: 0.03}
SEX_SUSPECTS = {"F": 0.25, "M": 0.73, UNKNOWN: 0.02}
AGE = {"Y_LT15": 0.28, "Y15T17": 0.22, "Y_GE18": 0.46, UNKNOWN: 0.04}
CITIZENSHIP_VICTIMS = {"KH": 0.92, "FOREIGN": 0.06, UNKNOWN: 0.02}
CITIZENSHIP_SUSPECTS = {"KH": 0.79, "FOREIGN": 0.19, UNKNOWN: 0.02}
FOREIGN_CITIZENSHIPS = {"CN": 0.38, "VN": 0.27, "TH": 0.10, "KR": 0.06, "MY": 0.04, "STLS": 0.03, OTHER: 0.12}
REFERRAL = {"FAMILY": 0.58, "SOCIAL_AFFAIRS": 0.31, "_O": 0.08, UNKNOWN: 0.03}
OFFENCE = {"HT": 0.55, "SE": 0.45}
COUNTRY = {
    "TH": 0.46,
    "MY": 0.14,
    "CN": 0.14,
    "VN": 0.06,
    "ID": 0.04,
    "SA": 0.03,
    "KR": 0.03,
    UNKNOWN: 0.03,
    OTHER: 0.07,
}
VICTIM_INDICATORS = ("victims_rescued", "victims_repatriated")

# The file formats each reporter sends, with their odds; CSV for the others.
FORMATS = {
    "NCCT": {"csv": 0.85, "json": 0.10, "xlsx": 0.05},
    "MOI": {"csv": 0.80, "xlsx": 0.20},
    "MOJ": {"csv": 0.60, "json": 0.40},
    "MOSVY": {"csv": 0.60, "xlsx": 0.40},
    "MFAIC": {"csv": 0.90, "json": 0.10},
}
COMMENTS = (
    "includes cases referred by provincial police",
    "late reports from two districts included",
    "figures checked with the provincial department",
    "ករណីជួញដូរមនុស្ស",  # "human trafficking cases"
    "see annex for details",
)
COMMENT_ODDS = 0.04
DISAGREEMENT_ODDS = 0.04  # a ministry figure that differs from the NCCT's (timing, late cases)


@dataclass(frozen=True)
class Style:
    """How a reporter writes: which cuts it gives and how."""

    cross_sex_age: bool = False  # the sex-by-age table, not just its margins
    under_18: bool = False  # the aggregate Y_LT18 beside its age bands
    skip: tuple[str, ...] = ()  # dimensions it does not cut by
    full_columns: bool = False  # every column of the contract, `_T` written out; otherwise blanks


STYLES = {
    "NCCT": Style(cross_sex_age=True, under_18=True, full_columns=True),
    "MOI": Style(),
    "MOJ": Style(),
    "MOSVY": Style(cross_sex_age=True, under_18=True, skip=("offence", "citizenship")),
    "MFAIC": Style(skip=("age",)),
}

# The defects an invalid file carries (one each), named by the rule each one breaks.
DEFECTS = {
    "parts_exceed_total": "parts_exceed_total",
    "unknown_code": "unknown_code",
    "bad_value": "bad_value",
    "duplicate_key": "duplicate_key",
    "future_period": "future_period",
    "mixed_reporters": "mixed_reporters",
}
UNKNOWN_CODES = (  # column, a code a clerk might type that the contract does not know
    ("citizenship", "UK"),
    ("country", "UK"),
    ("sex", "W"),
    ("age", "Y18T24"),
    ("referral", "POLICE"),
    ("offence", "FL"),
    ("indicator", "victim_rescued"),
    ("area", "KH-26"),
)
BAD_VALUES = ("n/a", "12.5", "-3", "1 204", "about 40", "?", "9223372036854775808")
FUTURE_YEARS = 100  # a future period: the year typed a century ahead


MONTHS_IN = {"month": 1, "quarter": 3, "half": 6, "year": 12}


@dataclass(frozen=True)
class Planned:
    """One submission to generate: who, where, which period, and in which format.

    A monthly file (`period_type` month) holds the figures of one area and month. A calendar
    report (`period_type` quarter, half or year: the period its reporter's calendar asks for)
    holds the figures of that period for every area of `areas`; its `area` is None and its
    `month` the last month of the period, the month after which it is sent.
    """

    reporter: str
    area: str | None
    year: int
    month: int
    format: str
    period_type: str = "month"
    areas: tuple[str, ...] = ()

    @property
    def is_report(self) -> bool:
        return self.period_type != "month"

    @property
    def months(self) -> range:
        """The months of the year the submission's period spans (1-12)."""
        return range(self.month - MONTHS_IN[self.period_type] + 1, self.month + 1)

    @property
    def period(self) -> str:
        if self.period_type == "month":
            return f"{self.year:04d}-{self.month:02d}"
        return next(p.code for p in periods_of_year(self.year, self.period_type) if p.months[1] == self.month)

    @property
    def key(self) -> tuple:
        """What the submission's random draws depend on, besides the seed."""
        if self.is_report:
            return (self.reporter, self.period)
        return (self.reporter, self.area, self.year, self.month)

    @property
    def file_name(self) -> str:
        where = "" if self.area is None else f"_{self.area}"
        return f"{self.reporter.lower()}{where}_{self.period}.{self.format}"


@dataclass(frozen=True)
class Defect:
    """What was broken in an invalid file: the defect, the rule it breaks, the row the finding names."""

    defect: str
    rule: str
    row_number: int  # as the validator counts it (CSV and XLSX: header = 1; JSON: first observation = 1)
    detail: str


@dataclass(frozen=True)
class Generated:
    planned: Planned
    frame: pl.DataFrame  # text cells, one row per observation, in file order
    defect: Defect | None


# ------------------------------------------------------------------ seeding
def _key(part: object) -> int:
    return part if isinstance(part, int) else zlib.crc32(str(part).encode("utf-8"))


def rng_for(seed: int, *parts: object) -> np.random.Generator:
    """A generator that depends on the seed and the parts only, never on what else is generated."""
    return np.random.default_rng([seed, *(_key(p) for p in parts)])


# --------------------------------------------------------------------- plan
def parse_years(text: str) -> list[int]:
    """`2011-2022` or `2019` as a list of years; ValueError otherwise."""
    pieces = text.strip().split("-")
    if len(pieces) not in (1, 2) or not all(p.strip().isdigit() for p in pieces):
        raise ValueError(f"'{text}' is not a year or a range of years such as 2011-2022")
    first, last = int(pieces[0]), int(pieces[-1])
    if last < first:
        raise ValueError(f"'{text}' ends before it begins")
    if first < 1900 or last > 2999:
        raise ValueError(f"'{text}' is outside the years 1900-2999 that periods may name")
    return list(range(first, last + 1))


def area_exists(registry: Registry, area: str, year: int) -> bool:
    spec = registry.areas[area]
    return (spec.first_year is None or year >= spec.first_year) and (spec.last_year is None or year <= spec.last_year)


def national_area(registry: Registry) -> str:
    return registry.defaults["area"]


def provinces(registry: Registry) -> list[str]:
    return [code for code in registry.areas if code != national_area(registry)]


def plan(
    registry: Registry,
    years: list[int],
    seed: int = 0,
    areas: list[str] | None = None,
    reporters: list[str] | None = None,
    today: date | None = None,
) -> list[Planned]:
    """One submission per reporter, area and month, and one calendar report per reporter and period of
    its calendar (from its first period on) when that period is longer than a month, in the order they
    would arrive: a report after the reporter's files of the period's last month.

    `areas` defaults to the national total and every province; an area is planned
    only in the years it exists. With `today`, only periods that have ended by then.
    """
    areas = areas if areas is not None else [national_area(registry), *provinces(registry)]
    reporters = reporters if reporters is not None else list(registry.reporters)
    unknown = [a for a in areas if a not in registry.areas] + [r for r in reporters if r not in registry.reporters]
    if unknown:
        raise ValueError(f"unknown reporters or areas: {', '.join(unknown)}")
    planned = []
    for year in years:
        for month in range(1, 13):
            ends = date(year + month // 12, month % 12 + 1, 1)
            if today is not None and ends > today:
                continue
            for reporter in reporters:
                for area in areas:
                    if area_exists(registry, area, year):
                        fmt = _choose(
                            rng_for(seed, "format", reporter, area, year, month), FORMATS.get(reporter, {"csv": 1.0})
                        )
                        planned.append(Planned(reporter, area, year, month, fmt))
                report = calendar_report(registry, reporter, year, month, areas, seed)
                if report is not None:
                    planned.append(report)
    return planned


def calendar_report(
    registry: Registry, reporter: str, year: int, month: int, areas: list[str], seed: int = 0
) -> Planned | None:
    """The report of the reporter's calendar period that ends with `month`, holding every area of `areas` that
    exists that year; None when its calendar is monthly, no period of it ends then or it is before its first."""
    calendar = registry.reporters[reporter].calendar
    if calendar is None or calendar.period_type not in MONTHS_IN or calendar.period_type == "month":
        return None
    period = next((p for p in periods_of_year(year, calendar.period_type) if p.months[1] == month), None)
    first = parse_period(calendar.first_period)
    if period is None or (first is not None and period.start < first.start):
        return None
    held = tuple(area for area in areas if area_exists(registry, area, year))
    if not held:
        return None
    fmt = _choose(rng_for(seed, "format", reporter, period.code), FORMATS.get(reporter, {"csv": 1.0}))
    return Planned(reporter, None, year, month, fmt, calendar.period_type, held)


def _choose(rng: np.random.Generator, odds: dict[str, float]) -> str:
    codes = list(odds)
    weights = np.array([odds[c] for c in codes], dtype=float)
    return codes[int(rng.choice(len(codes), p=weights / weights.sum()))]


def choose_invalid(count: int, share: float, seed: int, *kind: object) -> dict[int, str]:
    """Which of `count` planned submissions carry a defect, and which: round(share * count) of them,
    the defects taken in turn so that every kind appears once there are six or more. `kind` names the
    submissions chosen among (nothing for monthly files), so that each kind has its own draw."""
    if not 0 <= share <= 1:
        raise ValueError(f"the invalid share must be between 0 and 1, not {share}")
    invalid = min(count, round(share * count))
    if invalid == 0:
        return {}
    rng = rng_for(seed, "invalid", count, *kind)
    chosen = sorted(int(i) for i in rng.choice(count, size=invalid, replace=False))
    kinds = [list(DEFECTS)[i % len(DEFECTS)] for i in range(invalid)]
    order = rng.permutation(invalid)
    return {index: kinds[int(k)] for index, k in zip(chosen, order, strict=True)}


# ------------------------------------------------------------------ figures
class Synthesiser:
    """The figures of one seed: province means and trends, then each submission's rows."""

    def __init__(self, registry: Registry, seed: int = 0):
        self.registry = registry
        self.seed = seed
        self.national = national_area(registry)
        self.provinces = provinces(registry)
        self.columns = [c for c in registry.known_columns if c != "action"]
        self._totals: dict[tuple[str, int, int], dict[str, int]] = {}
        rng = rng_for(seed, "world")
        factor = {p: float(rng.lognormal(0.0, 0.25)) for p in self.provinces}
        weights = {p: PROVINCE_WEIGHT.get(p, DEFAULT_PROVINCE_WEIGHT) * factor[p] for p in self.provinces}
        whole = sum(weights.values())
        self.share = {p: w / whole for p, w in weights.items()}
        self.slope = {
            (p, i): float(np.clip(rng.normal(0.02, 0.05), -0.08, 0.12))
            for p in self.provinces
            for i in registry.indicators
        }

    # ---------------------------------------------------------- totals
    def mean(self, indicator: str, area: str, year: int, month: int) -> float:
        """The expected monthly figure of a province (0 before it existed: its parent has its share)."""
        if not area_exists(self.registry, area, year):
            return 0.0
        share = self.share[area] + sum(
            self.share[child]
            for child, parent in SPLIT_FROM.items()
            if parent == area and child in self.share and not area_exists(self.registry, child, year)
        )
        t = year - FIRST_TREND_YEAR + (month - 1) / 12
        season = 1 + 0.12 * math.sin(2 * math.pi * (month - 3) / 12)
        national = MONTHLY_MEAN.get(indicator, DEFAULT_MONTHLY_MEAN)
        return national * share * math.exp(self.slope[(area, indicator)] * t) * season

    def province_totals(self, indicator: str, year: int, month: int) -> dict[str, int]:
        """Every province's figure for the month (the same whichever submission asks)."""
        key = (indicator, year, month)
        if key not in self._totals:
            means = [self.mean(indicator, p, year, month) for p in self.provinces]
            draws = rng_for(self.seed, "totals", indicator, year, month).poisson(means)
            self._totals[key] = {
                p: int(n) for p, n in zip(self.provinces, draws, strict=True) if area_exists(self.registry, p, year)
            }
        return self._totals[key]

    def total(self, indicator: str, area: str, year: int, month: int) -> int:
        totals = self.province_totals(indicator, year, month)
        return sum(totals.values()) if area == self.national else totals[area]

    # ------------------------------------------------------------ cuts
    def cuts(
        self, indicator: str, area: str, year: int, month: int, total: int, style: Style
    ) -> list[tuple[dict, int]]:
        """The parts of a total, as (codes by dimension, value); the same for every reporter giving that total.

        The split is drawn whole and in a fixed order, so two reporters with the same
        total hold the same parts; the style only chooses which of them are written.
        """
        dims = [d for d in self.registry.indicators[indicator].dimensions if d in self.registry.dimensions]
        if total == 0 or not dims:
            return []
        rng = rng_for(self.seed, "cuts", indicator, area, year, month, total)
        victims = indicator in VICTIM_INDICATORS
        rows: list[tuple[dict, int]] = []
        sex_odds = self._odds("sex", SEX_VICTIMS if victims else SEX_SUSPECTS)
        age_odds = self._odds("age", AGE)
        if "sex" in dims and "age" in dims:
            rows += self._joint(rng, total, sex_odds, age_odds, style)
        elif "sex" in dims or "age" in dims:
            name, odds = ("sex", sex_odds) if "sex" in dims else ("age", age_odds)
            rows += self._margin(name, self._split(rng, total, odds), odds, style)
        for name in dims:
            if name in ("sex", "age"):
                continue
            if name == "citizenship":
                rows += self._citizenship(rng, total, victims)
            else:
                table = {"referral": REFERRAL, "offence": OFFENCE, "country": COUNTRY}.get(name)
                odds = self._odds(name, table) if table else self._uniform(name)
                if odds:
                    rows += self._margin(name, self._split(rng, total, odds), odds, style)
        return [(codes, value) for codes, value in rows if codes and not any(d in style.skip for d in codes)]

    def _odds(self, name: str, table: dict[str, float]) -> dict[str, float]:
        dimension = self.registry.dimensions[name]
        known = set(dimension.codes) | {OTHER}
        return {code: p for code, p in table.items() if code in known and (code != UNKNOWN or dimension.unknown)}

    def _uniform(self, name: str) -> dict[str, float]:
        """A dimension this generator has no figures for: an even split over its leaves, if few."""
        dimension = self.registry.dimensions[name]
        if not 0 < len(dimension.leaves) <= 12:
            return {}
        return {code: 1.0 for code in dimension.leaves}

    @staticmethod
    def _split(rng: np.random.Generator, total: int, odds: dict[str, float]) -> dict[str, int]:
        codes = list(odds)
        p = np.array([odds[c] for c in codes], dtype=float)
        return dict(zip(codes, (int(n) for n in rng.multinomial(total, p / p.sum())), strict=True))

    def _margin(self, name: str, split: dict[str, int], odds: dict[str, float], style: Style) -> list[tuple[dict, int]]:
        """Parts of one dimension: every leaf (zeros too, so the set is complete), `_U` when not 0."""
        dimension = self.registry.dimensions[name]
        rows = []
        written = [c for c in split if c != OTHER and (c in dimension.leaves or split[c] > 0)]
        small_set = len(dimension.leaves) <= 12
        for code in written:
            if small_set or split[code] > 0:
                rows.append(({name: code}, split[code]))
        if name == "age" and style.under_18:
            for aggregate, leaves in dimension.aggregates.items():
                if leaves <= set(split):
                    rows.append(({name: aggregate}, sum(split[c] for c in leaves)))
        return rows

    def _joint(self, rng, total: int, sex_odds: dict, age_odds: dict, style: Style) -> list[tuple[dict, int]]:
        """Sex and age split together: the margins, and the cross-cuts (not 0) for reporters that give them."""
        cells = [(s, a) for s in sex_odds for a in age_odds]
        p = np.array([sex_odds[s] * age_odds[a] for s, a in cells], dtype=float)
        counts = dict(zip(cells, (int(n) for n in rng.multinomial(total, p / p.sum())), strict=True))
        by_sex = {s: sum(counts[(s, a)] for a in age_odds) for s in sex_odds}
        by_age = {a: sum(counts[(s, a)] for s in sex_odds) for a in age_odds}
        rows = self._margin("sex", by_sex, sex_odds, style) + self._margin("age", by_age, age_odds, style)
        if style.cross_sex_age and "sex" not in style.skip and "age" not in style.skip:
            rows += [({"sex": s, "age": a}, n) for (s, a), n in counts.items() if n > 0]
        return rows

    def _citizenship(self, rng, total: int, victims: bool) -> list[tuple[dict, int]]:
        """KH, FOREIGN and `_U` make the total; the foreign citizenships named add up to FOREIGN at most."""
        dimension = self.registry.dimensions["citizenship"]
        odds = self._odds("citizenship", CITIZENSHIP_VICTIMS if victims else CITIZENSHIP_SUSPECTS)
        if set(odds) - {UNKNOWN} != {"KH", "FOREIGN"} or "FOREIGN" not in dimension.aggregates:
            return []
        split = self._split(rng, total, odds)
        rows = [({"citizenship": "KH"}, split["KH"]), ({"citizenship": "FOREIGN"}, split["FOREIGN"])]
        if split.get(UNKNOWN):
            rows.append(({"citizenship": UNKNOWN}, split[UNKNOWN]))
        foreign = {c: p for c, p in FOREIGN_CITIZENSHIPS.items() if c == OTHER or c in dimension.aggregates["FOREIGN"]}
        for code, n in self._split(rng, split["FOREIGN"], foreign).items():
            if code != OTHER and n > 0:
                rows.append(({"citizenship": code}, n))
        return rows

    # ------------------------------------------------------ submissions
    def submission(self, planned: Planned) -> pl.DataFrame:
        """The rows of one valid submission, every cell text, `_T` written out, in file order."""
        if planned.is_report:
            return self.report(planned)
        registry = self.registry
        style = STYLES.get(planned.reporter, Style())
        rng = rng_for(self.seed, "submission", planned.reporter, planned.area, planned.year, planned.month)
        consolidates = registry.reporters[planned.reporter].consolidates
        rows = []
        for indicator in registry.indicators:
            if indicator not in registry.reporters[planned.reporter].indicators:
                continue
            total = self.total(indicator, planned.area, planned.year, planned.month)
            if not consolidates and rng.random() < DISAGREEMENT_ODDS:
                total = max(0, total + int(rng.choice([-2, -1, 1, 2, 3])))
            comment = COMMENTS[int(rng.integers(len(COMMENTS)))] if rng.random() < COMMENT_ODDS else None
            rows.append(self._row(planned, indicator, {}, total, comment))
            for codes, value in self.cuts(indicator, planned.area, planned.year, planned.month, total, style):
                rows.append(self._row(planned, indicator, codes, value, None))
        return pl.DataFrame(rows, schema={c: pl.String for c in self.columns}, orient="row")

    def report(self, planned: Planned) -> pl.DataFrame:
        """A calendar report: for each of its areas in turn, every figure of the reporter's monthly files of the
        period's months added up (a cut missing from a month counts 0 there, as it was), indicators in the
        registry's order, without comments. Each figure is the sum of its months, so no derived figure
        contradicts it and complete sets of parts still add up to their totals."""
        indicators = {code: rank for rank, code in enumerate(self.registry.indicators)}
        keys = [c for c in self.columns if c not in ("period", "value", "comment")]
        blocks = []
        for area in planned.areas:
            months = pl.concat(
                [
                    self.submission(Planned(planned.reporter, area, planned.year, month, planned.format))
                    for month in planned.months
                ],
                how="vertical",
            )
            blocks.append(
                months.group_by(keys, maintain_order=True)
                .agg(pl.col("value").cast(pl.Int64).sum().cast(pl.String))
                .sort(pl.col("indicator").replace_strict(indicators, return_dtype=pl.Int64), maintain_order=True)
            )
        whole = pl.concat(blocks, how="vertical").with_columns(
            pl.lit(planned.period).alias("period"), pl.lit(None, pl.String).alias("comment")
        )
        return whole.select(self.columns)

    def _row(self, planned: Planned, indicator: str, codes: dict, value: int, comment: str | None) -> tuple:
        cells = {
            "reporter": planned.reporter,
            "period": planned.period,
            "indicator": indicator,
            "area": planned.area,
            "value": str(value),
            "status": "A",
            "comment": comment,
            **{d: codes.get(d, TOTAL) for d in self.registry.dimension_names},
        }
        return tuple(cells.get(c) for c in self.columns)


# ------------------------------------------------------------------ defects
def row_number_of(index: int, file_format: str) -> int:
    """The row number the validator gives the frame's row `index` (0-based) in a file of that format."""
    return index + (1 if file_format == "json" else 2)


def with_defect(
    frame: pl.DataFrame, planned: Planned, defect: str, registry: Registry, seed: int = 0
) -> tuple[pl.DataFrame, Defect]:
    """A copy of a valid submission with one defect, which breaks exactly the rule `DEFECTS[defect]`.

    In a file of several areas (a calendar report) the defect is made in the rows of one of them."""
    rng = rng_for(seed, "defect", defect, *planned.key)
    rows = frame.to_dicts()
    start, end = 0, len(rows)
    areas = list(dict.fromkeys(row["area"] for row in rows))
    if len(areas) > 1:
        area = areas[int(rng.integers(len(areas)))]
        start = next(i for i, row in enumerate(rows) if row["area"] == area)
        end = start + sum(1 for row in rows if row["area"] == area)
    block = rows[start:end]
    index, detail = {
        "parts_exceed_total": _parts_exceed_total,
        "unknown_code": _unknown_code,
        "bad_value": _bad_value,
        "duplicate_key": _duplicate_key,
        "future_period": _future_period,
        "mixed_reporters": _mixed_reporters,
    }[defect](block, rng, registry)
    rows[start:end] = block
    broken = pl.DataFrame(rows, schema=frame.schema, orient="row")
    return broken, Defect(defect, DEFECTS[defect], row_number_of(start + index, planned.format), detail)


def _is_total(row: dict, registry: Registry) -> bool:
    return all(row[d] == TOTAL for d in registry.dimension_names)


def _movable(row: dict, registry: Registry) -> bool:
    """True unless the row is an unknown (`_U`) part: taken out of a complete set, it would leave the set
    complete but short of its total; any other row taken out only makes its set smaller or orphans its parts."""
    return all(row[d] != UNKNOWN for d in registry.dimension_names)


def _cut_only_by(row: dict, name: str, registry: Registry) -> bool:
    return row[name] != TOTAL and all(row[d] == TOTAL for d in registry.dimension_names if d != name)


def _parts_exceed_total(rows: list[dict], rng, registry: Registry) -> tuple[int, str]:
    """Foreign citizenships above FOREIGN, or countries above the total: an incomplete set over its total.

    These parts are parents of nothing, so raising one breaks that one set and no other.
    """
    countries = set(registry.dimensions["country"].leaves)
    for indicator in rng.permutation(sorted({r["indicator"] for r in rows})).tolist():
        dims = registry.indicators[indicator].dimensions
        mine = [i for i, r in enumerate(rows) if r["indicator"] == indicator]
        total_at = next(i for i in mine if _is_total(rows[i], registry))
        if "citizenship" in dims:
            foreign_at = next(
                (
                    i
                    for i in mine
                    if _cut_only_by(rows[i], "citizenship", registry) and rows[i]["citizenship"] == "FOREIGN"
                ),
                None,
            )
            parent_at = foreign_at if foreign_at is not None else total_at
            parts = [
                i
                for i in mine
                if _cut_only_by(rows[i], "citizenship", registry)
                and rows[i]["citizenship"] not in ("KH", "FOREIGN", UNKNOWN)
            ]
            name = "citizenship"
        elif "country" in dims:
            parent_at = total_at
            parts = [i for i in mine if _cut_only_by(rows[i], "country", registry)]
            name = "country"
        else:
            continue
        parent = int(rows[parent_at]["value"])
        excess = int(rng.integers(1, 10))
        if parts:
            at = parts[int(rng.integers(len(parts)))]
            others = sum(int(rows[i]["value"]) for i in parts if i != at)
            rows[at]["value"] = str(parent - others + excess)
        else:  # no parts written (a total of 0): add one
            code = "CN" if name == "citizenship" else "TH"
            assert code in countries
            new = {**rows[total_at], name: code, "value": str(parent + excess), "comment": None}
            at = max(mine) + 1
            rows.insert(at, new)
            parent_at = parent_at if parent_at < at else parent_at + 1
        label = rows[parent_at][name] if rows[parent_at][name] != TOTAL else "the total"
        return parent_at, f"{indicator}: the {name} parts add up to {parent + excess}, more than {label} ({parent})"
    raise ValueError("no citizenship or country cut to break")


def _unknown_code(rows: list[dict], rng, registry: Registry) -> tuple[int, str]:
    """One code the contract does not know; a part dropped from its set only makes the set smaller."""
    options = [
        (i, column, code)
        for column, code in UNKNOWN_CODES
        for i, r in enumerate(rows)
        if _movable(r, registry)
        and (column in ("indicator", "area") or (column in registry.dimensions and r[column] != TOTAL))
    ]
    at, column, code = options[int(rng.integers(len(options)))]
    was = rows[at][column]
    rows[at][column] = code
    return at, f"{column} '{code}' instead of '{was}'"


def _bad_value(rows: list[dict], rng, registry: Registry) -> tuple[int, str]:
    """A value that is no whole number; the row no longer counts as a part of anything."""
    options = [i for i, r in enumerate(rows) if _movable(r, registry)]
    at = options[int(rng.integers(len(options)))]
    was = rows[at]["value"]
    rows[at]["value"] = BAD_VALUES[int(rng.integers(len(BAD_VALUES)))]
    return at, f"value '{rows[at]['value']}' instead of {was}"


def _duplicate_key(rows: list[dict], rng, registry: Registry) -> tuple[int, str]:
    """A headline row pasted twice, same value: a parent of its cuts, a part of nothing."""
    totals = [i for i, r in enumerate(rows) if _is_total(r, registry)]
    original = totals[int(rng.integers(len(totals)))]
    rows.insert(original + 1, dict(rows[original]))
    return original + 1, f"the {rows[original]['indicator']} total repeated"


def _future_period(rows: list[dict], rng, registry: Registry) -> tuple[int, str]:
    """One headline row dated a century ahead: its cuts then have no total to be checked against."""
    totals = [i for i, r in enumerate(rows) if _is_total(r, registry)]
    at = totals[int(rng.integers(len(totals)))]
    was = rows[at]["period"]
    rows[at]["period"] = f"{int(was[:4]) + FUTURE_YEARS:04d}{was[4:]}"
    return at, f"period {rows[at]['period']} instead of {was}"


def _mixed_reporters(rows: list[dict], rng, registry: Registry) -> tuple[int, str]:
    """One row (not the first) under another reporter that may report its indicator."""
    mine = rows[0]["reporter"]
    options = [
        (i, other)
        for i, r in enumerate(rows)
        if i > 0 and _movable(r, registry)
        for other, spec in registry.reporters.items()
        if other != mine and r["indicator"] in spec.indicators
    ]
    at, other = options[int(rng.integers(len(options)))]
    rows[at]["reporter"] = other
    return at, f"reporter {other} in a file of {mine}"


# --------------------------------------------------------------- together
def generate(
    registry: Registry,
    years: list[int],
    seed: int = 0,
    invalid_share: float = 0.01,
    areas: list[str] | None = None,
    reporters: list[str] | None = None,
    today: date | None = None,
    limit: int | None = None,
) -> Iterator[Generated]:
    """Every planned submission (the first `limit` of them, if given), valid or with its one defect.

    The invalid share is taken of the monthly files and of the calendar reports apart, so that an
    inbox of few reports still has its share of invalid ones (and so reporter-periods that only a
    rejected file arrived for)."""
    planned = plan(registry, years, seed, areas, reporters, today)[:limit]
    monthly = [index for index, item in enumerate(planned) if not item.is_report]
    reports = [index for index, item in enumerate(planned) if item.is_report]
    defects = {monthly[i]: kind for i, kind in choose_invalid(len(monthly), invalid_share, seed).items()}
    defects |= {reports[i]: kind for i, kind in choose_invalid(len(reports), invalid_share, seed, "reports").items()}
    synthesiser = Synthesiser(registry, seed)
    for index, item in enumerate(planned):
        frame = synthesiser.submission(item)
        if index in defects:
            frame, defect = with_defect(frame, item, defects[index], registry, seed)
            yield Generated(item, frame, defect)
        else:
            yield Generated(item, frame, None)
