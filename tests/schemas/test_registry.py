"""The registry: the submission contract read from schemas/ is whole and consistent."""

from __future__ import annotations

import pytest

from schemas import Registry, load_registry
from schemas.registry import TOTAL, UNKNOWN

DIMENSION_ORDER = ("sex", "age", "citizenship", "referral", "offence", "country")
KEY_COLUMNS = ("reporter", "area", "period", "indicator", *DIMENSION_ORDER)
RULE_IDS = (
    "unreadable",
    "empty",
    "missing_column",
    "unknown_code",
    "not_allowed",
    "bad_value",
    "future_period",
    "duplicate_key",
    "mixed_reporters",
    "parts_exceed_total",
    "parts_differ_from_total",
    "provisional",
    "unknown_column",
)
WARNINGS = ("provisional", "unknown_column")


def test_registry_loads(registry):
    assert isinstance(registry, Registry)
    assert registry is load_registry()  # read once per process
    assert {"NCCT", "MOI", "MOJ", "MOSVY", "MFAIC"} <= set(registry.reporters)
    assert "victims_rescued" in registry.indicators
    assert registry.required_columns == ("reporter", "period", "indicator", "value")
    assert registry.defaults == {"area": "KH", "status": "A", "action": "I", "dimension": TOTAL}
    assert registry.limits.max_value == 2**63 - 1


def test_every_reporter_indicator_exists(registry):
    for reporter in registry.reporters.values():
        assert reporter.indicators, reporter.code
        assert reporter.indicators <= set(registry.indicators), reporter.code


def test_ncct_reports_every_indicator(registry):
    assert registry.reporters["NCCT"].indicators == frozenset(registry.indicators)
    assert ("MOJ", "victims_rescued") not in registry.allowed_pairs()
    assert ("MOJ", "persons_convicted") in registry.allowed_pairs()


def test_every_indicator_dimension_exists(registry):
    for indicator in registry.indicators.values():
        assert set(indicator.dimensions) <= set(registry.dimensions), indicator.code


def test_dimension_codes_end_with_unknown_and_total(registry):
    for dimension in registry.dimensions.values():
        assert dimension.codes[-1] == TOTAL
        assert (UNKNOWN in dimension.codes) == dimension.unknown
    assert UNKNOWN not in registry.dimensions["offence"].codes


def test_y_lt18_is_under_15_and_15_to_17(registry):
    age = registry.dimensions["age"]
    assert age.aggregates["Y_LT18"] == frozenset({"Y_LT15", "Y15T17"})
    assert "Y_GE18" not in age.aggregates["Y_LT18"]
    assert age.aggregate_of() == {"Y_LT15": "Y_LT18", "Y15T17": "Y_LT18"}
    assert age.leaf_count("Y_LT18") == 2
    assert age.leaf_count("Y_LT15") == 1
    assert age.leaf_count(UNKNOWN) == 0


def test_foreign_covers_every_citizenship_leaf_but_kh(registry):
    citizenship = registry.dimensions["citizenship"]
    foreign = citizenship.aggregates["FOREIGN"]
    assert "KH" in citizenship.leaves
    assert "STLS" in citizenship.leaves
    assert set(registry.countries) <= set(citizenship.leaves)
    assert foreign == frozenset(citizenship.leaves) - {"KH"}
    assert "STLS" in foreign
    assert "KH" not in foreign
    assert {"CN", "US", "TH", "VN"} <= foreign
    assert len(foreign) == len(citizenship.leaves) - 1


def test_country_leaves_are_the_countries(registry):
    country = registry.dimensions["country"]
    assert country.leaves == tuple(registry.countries)
    assert "KH" in country.leaves
    assert country.aggregates == {}


def test_kh25_exists_from_2014(registry):
    area = registry.areas["KH-25"]
    assert area.first_year == 2014
    assert area.last_year is None
    kh = registry.areas["KH"]
    assert kh.first_year is None and kh.last_year is None


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_contract_rule_is_in_registry(registry, rule_id):
    expected = "warning" if rule_id in WARNINGS else "error"
    assert registry.rule(rule_id).severity == expected


def test_every_rule_is_error_or_warning(registry):
    assert registry.rules
    for rule in registry.rules.values():
        assert rule.severity in ("error", "warning"), rule.id
        assert rule.description, rule.id


def test_outlier_rule_keeps_its_parameters(registry):
    params = registry.rule("outlier").params
    assert params["threshold_pct"] == 300
    assert params["min_base"] == 10


def test_key_columns_order(registry):
    assert registry.dimension_names == DIMENSION_ORDER
    assert registry.key_columns == KEY_COLUMNS


def test_known_columns(registry):
    assert registry.known_columns == (
        "reporter",
        "period",
        "indicator",
        "area",
        *DIMENSION_ORDER,
        "value",
        "status",
        "action",
        "comment",
    )


def test_defaults_of_columns(registry):
    assert registry.default_of("area") == "KH"
    assert registry.default_of("sex") == TOTAL
    assert registry.default_of("status") == "A"
    assert registry.default_of("action") == "I"
    assert registry.default_of("reporter") is None
