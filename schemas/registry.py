"""The one registry of the submission contract, read from the data files beside it.

Everything else (the Great Expectations suite, the parts-against-total checks, the
warehouse's code tables and the command-line help) derives from `load_registry()`,
so a code list is written once, here, as data.
"""

from __future__ import annotations

import csv
import functools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

_HERE = Path(__file__).parent
TOTAL = "_T"
UNKNOWN = "_U"


@dataclass(frozen=True)
class Reporter:
    code: str
    name: str
    indicators: frozenset[str]
    consolidates: bool = False  # national figures that the ministries' are compared with


@dataclass(frozen=True)
class Indicator:
    code: str
    label: str
    unit: str
    dimensions: tuple[str, ...]


@dataclass(frozen=True)
class Dimension:
    """A dimension's codes: leaves make the total, aggregates stand for some leaves."""

    name: str
    label: str
    leaves: tuple[str, ...]
    aggregates: dict[str, frozenset[str]]
    unknown: bool
    parts_label: str  # what its codes are called in prose ("age bands")
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def codes(self) -> tuple[str, ...]:
        """Every code a row may carry in this dimension."""
        extra = (UNKNOWN,) if self.unknown else ()
        return (*self.leaves, *self.aggregates, *extra, TOTAL)

    def aggregate_of(self) -> dict[str, str]:
        """Leaf code -> the aggregate that stands for it (one level, as in the contract)."""
        return {leaf: agg for agg, leaves in self.aggregates.items() for leaf in leaves}

    def leaf_count(self, code: str) -> int:
        """How many leaves a code covers: 1 for a leaf, all of them for an aggregate, 0 for `_U`."""
        if code in self.aggregates:
            return len(self.aggregates[code])
        return 1 if code in self.leaves else 0


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    first_year: int | None
    last_year: int | None


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    description: str
    params: dict[str, object]


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    max_xlsx_uncompressed_bytes: int
    max_xlsx_cells: int
    max_rows: int
    max_columns: int
    max_text_chars: int
    max_findings_per_rule: int
    max_value: int


@dataclass(frozen=True)
class Registry:
    reporters: dict[str, Reporter]
    indicators: dict[str, Indicator]
    dimensions: dict[str, Dimension]
    areas: dict[str, Area]
    statuses: dict[str, str]
    actions: dict[str, str]
    rules: dict[str, Rule]
    defaults: dict[str, str]
    required_columns: tuple[str, ...]
    optional_columns: tuple[str, ...]
    limits: Limits
    countries: dict[str, str]
    labels: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (kind, code) -> {lang: label}

    def label(self, kind: str, code: str, lang: str = "en") -> str:
        """The label of a code in a language (English where none is given, the code where there is no label).

        Kinds: reporter, indicator, unit, dimension, code:<dimension>, area, country, status, action, rule.
        """
        known = self.labels.get((kind, code), {})
        return known.get(lang) or known.get("en") or code

    @property
    def dimension_names(self) -> tuple[str, ...]:
        return tuple(self.dimensions)

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The key of an observation: who, where, when, what, and the cut."""
        return ("reporter", "area", "period", "indicator", *self.dimension_names)

    @property
    def known_columns(self) -> tuple[str, ...]:
        """Every column the contract knows, in the order files usually give them."""
        first = ("reporter", "period", "indicator", "area")
        rest = tuple(c for c in (*self.required_columns, *self.optional_columns) if c not in first)
        return (*first, *self.dimension_names, *rest)

    def default_of(self, column: str) -> str | None:
        if column in self.dimensions:
            return self.defaults["dimension"]
        return self.defaults.get(column)

    def allowed_pairs(self) -> set[tuple[str, str]]:
        """(reporter, indicator) pairs the contract permits."""
        return {(r.code, i) for r in self.reporters.values() for i in r.indicators}

    @property
    def consolidating_reporters(self) -> tuple[str, ...]:
        return tuple(code for code, r in self.reporters.items() if r.consolidates)

    def rule(self, rule_id: str) -> Rule:
        return self.rules[rule_id]

    def area_rank(self, code: str) -> int:
        """Where an area sorts: in the order of areas.csv (the country, then the provinces by number,
        so KH-2 before KH-10); a code the registry does not know after them."""
        return _area_ranks(tuple(self.areas)).get(code, len(self.areas))


@functools.cache
def _area_ranks(codes: tuple[str, ...]) -> dict[str, int]:
    return {code: rank for rank, code in enumerate(codes)}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _year(text: str) -> int | None:
    return int(text) if text.strip() else None


@functools.cache
def load_registry(folder: Path = _HERE) -> Registry:
    """Read the registry once per process from `registry.toml`, `countries.csv`, `areas.csv`."""
    data = tomllib.loads((folder / "registry.toml").read_text(encoding="utf-8"))
    countries = {row["code"]: row["name"] for row in _read_csv(folder / "countries.csv")}

    indicators = {
        code: Indicator(code, spec["label"], spec["unit"], tuple(spec["dimensions"]))
        for code, spec in data["indicators"].items()
    }
    reporters = {
        code: Reporter(
            code,
            spec["name"],
            frozenset(indicators if spec["indicators"] == "*" else spec["indicators"]),
            bool(spec.get("consolidates", False)),
        )
        for code, spec in data["reporters"].items()
    }
    dimensions = {}
    for name, spec in data["dimensions"].items():
        leaves = tuple(spec.get("leaves", [])) + (tuple(countries) if spec.get("leaves_from_countries") else ())
        aggregates = {}
        for agg, agg_spec in spec.get("aggregates", {}).items():
            if "leaves" in agg_spec:
                aggregates[agg] = frozenset(agg_spec["leaves"])
            else:
                excluded = set(agg_spec["all_leaves_except"])
                aggregates[agg] = frozenset(c for c in leaves if c not in excluded)
        labels = dict(spec.get("labels", {}))
        if spec.get("leaves_from_countries"):
            labels = {**countries, **labels}
        dimensions[name] = Dimension(
            name=name,
            label=spec["label"],
            parts_label=spec["parts_label"],
            leaves=leaves,
            aggregates=aggregates,
            unknown=bool(spec["unknown"]),
            labels=labels,
        )
    areas = {
        row["code"]: Area(row["code"], row["name"], _year(row["first_year"]), _year(row["last_year"]))
        for row in _read_csv(folder / "areas.csv")
    }
    rules = {
        rule_id: Rule(
            rule_id,
            spec["severity"],
            spec["description"],
            {k: v for k, v in spec.items() if k not in ("severity", "description", "description_km")},
        )
        for rule_id, spec in data["rules"].items()
    }
    return Registry(
        reporters=reporters,
        indicators=indicators,
        dimensions=dimensions,
        areas=areas,
        statuses=dict(data["statuses"]),
        actions=dict(data["actions"]),
        rules=rules,
        defaults=dict(data["defaults"]),
        required_columns=tuple(data["columns"]["required"]),
        optional_columns=tuple(data["columns"]["optional"]),
        limits=Limits(**data["limits"]),
        countries=countries,
        labels=_labels(data, dimensions, _read_csv(folder / "areas.csv"), _read_csv(folder / "countries.csv")),
    )


LANGUAGES = ("en", "km")


def _labels(data: dict, dimensions: dict[str, Dimension], areas: list[dict], countries: list[dict]) -> dict:
    """Every label of the contract in English and Khmer, keyed by (kind, code)."""
    labels: dict[tuple[str, str], dict[str, str]] = {}

    def put(kind: str, code: str, en: str | None, km: str | None) -> None:
        labels[(kind, code)] = {lang: text for lang, text in (("en", en), ("km", km)) if text}

    for code, spec in data["reporters"].items():
        put("reporter", code, spec["name"], spec.get("name_km"))
    for code, spec in data["indicators"].items():
        put("indicator", code, spec["label"], spec.get("label_km"))
        put("unit", spec["unit"], spec["unit"], data.get("units_km", {}).get(spec["unit"]))
    common, common_km = data.get("common_codes", {}), data.get("common_codes_km", {})
    for name, spec in data["dimensions"].items():
        put("dimension", name, spec["label"], spec.get("label_km"))
        own, own_km = spec.get("labels", {}), spec.get("labels_km", {})
        for code in dimensions[name].codes:
            en = own.get(code) or common.get(code)
            km = own_km.get(code) or common_km.get(code)
            if spec.get("leaves_from_countries"):
                country = next((row for row in countries if row["code"] == code), None)
                if country is not None:
                    en, km = en or country["name"], km or country.get("name_km")
            put(f"code:{name}", code, en, km)
    for row in areas:
        put("area", row["code"], row["name"], row.get("name_km"))
    for row in countries:
        put("country", row["code"], row["name"], row.get("name_km"))
    for code, text in data["statuses"].items():
        put("status", code, text, data.get("statuses_km", {}).get(code))
    for code, text in data["actions"].items():
        put("action", code, text, data.get("actions_km", {}).get(code))
    for code, spec in data["rules"].items():
        put("rule", code, spec["description"], spec.get("description_km"))
    return labels
