"""Claims in statements judged against the figures: parsing, exact rounding, every verdict."""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.percent import exact_percent
from schemas.registry import TOTAL
from transforms.claims import (
    NO_MATCH,
    NOT_FOUND,
    ROUNDED,
    TRUNCATED,
    WRONG_BASE,
    Claim,
    decimals_of,
    judge,
    parse_claims,
)

# The seed: NCCT cases cracked down, 62 in 2018-S1 and 78 in 2019-S1 (+25.806...%).
SEED_BASE, SEED_VALUE = 62, 78
# A tie: 8 -> 9 is +12.5% exactly, 8 -> 7 is -12.5% exactly.
TIE_BASE, TIE_UP, TIE_DOWN = 8, 9, 7
# 20000 -> 20201 is +1.005% exactly, which a binary float holds as 1.00499999...
FLOAT_TRAP_BASE, FLOAT_TRAP_VALUE = 20_000, 20_201
LARGEST = 9_223_372_036_854_775_807  # the contract's largest value


# ------------------------------------------------------------- the reference
def exact_pct(numerator: int, denominator: int) -> Fraction:
    return Fraction(100 * numerator, denominator)


def half_away(x: Fraction, places: int) -> Decimal:
    """`x` rounded half away from zero, by integer arithmetic alone."""
    scaled = abs(x) * 10**places
    whole = math.floor(scaled + Fraction(1, 2))
    return Decimal(-whole if x < 0 else whole).scaleb(-places)


def toward_zero(x: Fraction, places: int) -> Decimal:
    whole = math.floor(abs(x) * 10**places)
    return Decimal(-whole if x < 0 else whole).scaleb(-places)


def claim(text: str, period: str = "2019-S1", base_period: str = "2018-S1", **cut: str) -> Claim:
    from schemas import load_registry

    dims = {name: cut.get(name, TOTAL) for name in load_registry().dimension_names}
    return Claim(2, "NCCT", "cases", period, base_period, Decimal(text), "KH", dims)


# ------------------------------------------------------------------ numbers
@pytest.mark.parametrize(
    ("text", "places"), [("25", 0), ("25.8", 1), ("25.80", 2), ("-3.5", 1), ("+148", 0), ("0.000", 3)]
)
def test_decimals_are_those_the_claim_shows(text, places):
    assert decimals_of(Decimal(text)) == places


def test_percent_rounds_half_away_from_zero_and_cuts_toward_zero():
    up, down = TIE_UP - TIE_BASE, TIE_DOWN - TIE_BASE
    assert exact_percent(up, TIE_BASE, 0, ROUND_HALF_UP) == half_away(exact_pct(up, TIE_BASE), 0) == Decimal("13")
    assert exact_percent(up, TIE_BASE, 0, ROUND_DOWN) == Decimal("12")
    assert exact_percent(down, TIE_BASE, 0, ROUND_HALF_UP) == Decimal("-13")
    assert exact_percent(down, TIE_BASE, 0, ROUND_DOWN) == Decimal("-12")  # toward zero, not down


def test_percent_is_exact_where_a_float_is_not():
    change = FLOAT_TRAP_VALUE - FLOAT_TRAP_BASE
    assert exact_pct(change, FLOAT_TRAP_BASE) == Fraction(1005, 1000)
    assert round(100 * change / FLOAT_TRAP_BASE, 2) == 1.0  # the float falls just below the tie
    assert exact_percent(change, FLOAT_TRAP_BASE, 2) == Decimal("1.01")
    assert judge(claim("1.01"), FLOAT_TRAP_VALUE, FLOAT_TRAP_BASE).verdict == ROUNDED
    assert judge(claim("1.00"), FLOAT_TRAP_VALUE, FLOAT_TRAP_BASE).verdict == TRUNCATED


def test_percent_never_shows_minus_zero():
    assert str(exact_percent(-1, 1000, 0)) == "0"
    assert str(exact_percent(-1, 10_000, 1, ROUND_DOWN)) == "0.0"  # -0.01 cut to one decimal


@given(
    numerator=st.integers(min_value=-LARGEST, max_value=LARGEST),
    denominator=st.integers(min_value=1, max_value=LARGEST),
    places=st.integers(min_value=0, max_value=6),
)
def test_percent_equals_the_exact_fraction_rounded(numerator, denominator, places):
    exact = exact_pct(numerator, denominator)
    assert exact_percent(numerator, denominator, places, ROUND_HALF_UP) == half_away(exact, places)
    assert exact_percent(numerator, denominator, places, ROUND_DOWN) == toward_zero(exact, places)


@given(base=st.integers(min_value=1, max_value=10**6), step=st.integers(min_value=-999, max_value=999))
def test_percent_settles_ties_away_from_zero(base, step):
    # change/base = step/2000 makes 100*change/base = step/20: a tie at one decimal whenever step is odd
    change_scaled, base_scaled = step * base, 2000 * base
    exact = exact_pct(change_scaled, base_scaled)
    assert exact_percent(change_scaled, base_scaled, 1) == half_away(exact, 1)


# ---------------------------------------------------------------- verdicts
SEED_EXACT = exact_pct(SEED_VALUE - SEED_BASE, SEED_BASE)  # 25.806...
SEED_OF_VALUE = exact_pct(SEED_VALUE - SEED_BASE, SEED_VALUE)  # 20.512...: the change over the current value


def test_the_article_quoted_the_seed_cut_to_whole_per_cents():
    assert str(toward_zero(SEED_EXACT, 0)) == "25" and str(half_away(SEED_EXACT, 0)) == "26"
    judged = judge(claim("25"), SEED_VALUE, SEED_BASE)
    assert judged.verdict == TRUNCATED and judged.verdict != ROUNDED
    assert judged.computed == Decimal("26") and judged.truncated == Decimal("25")
    assert "+25.81%" in judged.detail and judged.accepted


@pytest.mark.parametrize("places", [0, 1, 2, 3, 4])
def test_a_claim_rounded_to_its_decimals_is_rounded(places):
    text = str(half_away(SEED_EXACT, places))
    judged = judge(claim(text), SEED_VALUE, SEED_BASE)
    assert judged.verdict == ROUNDED and judged.computed == Decimal(text)


@pytest.mark.parametrize("places", [0, 2, 4])  # where cutting and rounding differ: 25/26, 25.80/25.81, 25.8064/25.8065
def test_a_claim_cut_to_its_decimals_is_truncated(places):
    text = str(toward_zero(SEED_EXACT, places))
    assert Decimal(text) != half_away(SEED_EXACT, places)
    assert judge(claim(text), SEED_VALUE, SEED_BASE).verdict == TRUNCATED


def test_trailing_zeros_are_decimals_the_claim_shows():
    assert judge(claim("25.8"), SEED_VALUE, SEED_BASE).verdict == ROUNDED  # 25.806 to 1 decimal
    assert judge(claim("25.80"), SEED_VALUE, SEED_BASE).verdict == TRUNCATED  # to 2 decimals it rounds to 25.81


@pytest.mark.parametrize("rounding", [half_away, toward_zero])
@pytest.mark.parametrize("places", [0, 1])
def test_a_claim_over_the_current_value_is_wrong_base(rounding, places):
    text = str(rounding(SEED_OF_VALUE, places))
    judged = judge(claim(text), SEED_VALUE, SEED_BASE)
    assert judged.verdict == WRONG_BASE
    assert judged.of_value == half_away(SEED_OF_VALUE, places)
    assert f"divided by the 2019-S1 value {SEED_VALUE}" in judged.detail and not judged.accepted


def test_anything_else_is_no_match():
    off = half_away(SEED_EXACT, 0) + 4
    judged = judge(claim(str(off)), SEED_VALUE, SEED_BASE)
    assert judged.verdict == NO_MATCH and judged.computed == half_away(SEED_EXACT, 0)
    assert judge(claim(str(-half_away(SEED_EXACT, 0))), SEED_VALUE, SEED_BASE).verdict == NO_MATCH  # the sign counts


@pytest.mark.parametrize(
    ("value", "base", "says"),
    [
        (None, SEED_BASE, "no value for 2019-S1"),
        (SEED_VALUE, None, "no base value for 2018-S1"),
        (None, None, "no value for 2019-S1 and no base value for 2018-S1"),
    ],
)
def test_a_missing_figure_is_not_found_and_named(value, base, says):
    judged = judge(claim("25"), value, base)
    assert judged.verdict == NOT_FOUND and says in judged.detail and judged.computed is None


def test_a_derived_figure_is_named_derived_in_the_detail():
    """Figures no one reported, added up from shorter periods, are judged as any other and said to be derived."""
    rounded = judge(claim("148.1"), 263, 106, derived=True, base_derived=True)
    assert rounded.verdict == ROUNDED
    assert rounded.detail == "263 (derived) against 106 (derived): +148.113% rounds to +148.1%"
    assert judge(claim("25.8"), SEED_VALUE, SEED_BASE, derived=True).detail.startswith("78 (derived) against 62:")
    wrong = judge(claim("59.7"), 263, 106, derived=True)  # 100 * 157 / 263
    assert (
        wrong.verdict == WRONG_BASE and "the 2019-S1 value 263 (derived), not by the 2018-S1 base 106:" in wrong.detail
    )


# ---------------------------------------------------------- negative changes
DROP_BASE, DROP_VALUE = SEED_VALUE, SEED_BASE  # 78 -> 62: -20.512...%


@pytest.mark.parametrize("places", [0, 1, 2])
def test_a_fall_cut_toward_zero_is_truncated_and_rounded_away_from_zero_is_rounded(places):
    exact = exact_pct(DROP_VALUE - DROP_BASE, DROP_BASE)
    assert exact < 0
    cut, rounded = toward_zero(exact, places), half_away(exact, places)
    assert cut >= rounded  # toward zero: the cut is the larger of two negatives
    assert judge(claim(str(rounded)), DROP_VALUE, DROP_BASE).verdict == ROUNDED
    if cut != rounded:
        assert judge(claim(str(cut)), DROP_VALUE, DROP_BASE).verdict == TRUNCATED


def test_a_negative_tie_rounds_away_from_zero():
    assert judge(claim("-13"), TIE_DOWN, TIE_BASE).verdict == ROUNDED
    assert judge(claim("-12"), TIE_DOWN, TIE_BASE).verdict == TRUNCATED
    assert judge(claim("-12.5"), TIE_DOWN, TIE_BASE).verdict == ROUNDED
    assert judge(claim("13"), TIE_UP, TIE_BASE).verdict == ROUNDED


def test_a_fall_over_the_current_value_is_wrong_base():
    text = str(half_away(exact_pct(DROP_VALUE - DROP_BASE, DROP_VALUE), 1))  # -25.8: the seed's rise, reversed
    assert judge(claim(text), DROP_VALUE, DROP_BASE).verdict == WRONG_BASE


# ------------------------------------------------------------------ zeroes
def test_no_change_is_zero_per_cent_whatever_its_sign():
    assert judge(claim("0"), SEED_BASE, SEED_BASE).verdict == ROUNDED
    assert judge(claim("-0.0"), SEED_BASE, SEED_BASE).verdict == ROUNDED


def test_a_base_of_zero_has_no_percentage_change():
    value = 5
    judged = judge(claim("50"), value, 0)
    assert judged.verdict == NO_MATCH and judged.computed is None and "base of 0" in judged.detail
    assert judge(claim("100"), value, 0).verdict == WRONG_BASE  # 100 * change / value


def test_a_fall_to_zero_is_minus_one_hundred():
    assert judge(claim("-100"), 0, SEED_BASE).verdict == ROUNDED


# ------------------------------------------------------------------ parsing
def test_claims_file_with_defaults_and_folded_codes(registry):
    text = (
        "\ufeff Reporter ,INDICATOR,Period,base_period,claimed_change_pct,age,area,source\n"
        " ncct , Cases ,2019s1,,25,,,the article\n"
        "\n"
        "moi,victims_rescued,2019-S1,2017-s1,+25.8%,y_lt18,kh-12,\n"
        ",,,,,,,\n"
    )
    parsed = parse_claims(text, registry)
    assert parsed.problems == []
    first, second = parsed.claims
    assert (first.row_number, first.reporter, first.indicator, first.period, first.base_period) == (
        2,
        "NCCT",
        "cases",
        "2019-S1",
        "2018-S1",
    )
    assert first.area == "KH" and set(first.cut.values()) == {TOTAL} and first.claimed == Decimal("25")
    assert (second.row_number, second.reporter, second.base_period, second.area) == (4, "MOI", "2017-S1", "KH-12")
    assert second.cut["age"] == "Y_LT18" and second.claimed == Decimal("25.8") and second.decimals == 1
    assert first.key("2019-S1") == ("NCCT", "KH", "2019-S1", "cases", *[TOTAL] * len(registry.dimension_names))
    assert first.label() == "NCCT cases 2019-S1 against 2018-S1"
    assert second.label() == "MOI victims_rescued 2019-S1 against 2017-S1 (area=KH-12, age=Y_LT18)"


def test_claims_file_without_a_required_column_names_it(registry):
    parsed = parse_claims("reporter,indicator,period,claimed_pct\nNCCT,cases,2019-S1,25\n", registry)
    assert parsed.claims == [] and len(parsed.problems) == 1
    assert "no column 'claimed_change_pct'" in parsed.problems[0]


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ("NCCT,cases,2019-S7,,25", "row 2, column period: '2019-S7' is not a period"),
        ("NCCT,cases,2019-S1,last year,25", "row 2, column base_period: 'last year' is not a period"),
        ("NCCT,cases,2019-S1,,about 25", "row 2, column claimed_change_pct: 'about 25' is not a percentage"),
        ("NCCT,cases,2019-S1,,1e2", "row 2, column claimed_change_pct"),
        ("NCCT,casess,2019-S1,,25", "row 2, column indicator: 'casess' is not a known indicator code"),
        ("XYZ,cases,2019-S1,,25", "row 2, column reporter: 'XYZ' is not a known reporter code"),
        (",cases,2019-S1,,25", "row 2, column reporter: blank"),
    ],
)
def test_bad_cells_are_named_by_row_and_column(registry, row, says):
    parsed = parse_claims(f"reporter,indicator,period,base_period,claimed_change_pct\n{row}\n", registry)
    assert parsed.claims == [] and any(says in problem for problem in parsed.problems), parsed.problems


def test_a_bad_dimension_code_is_named(registry):
    parsed = parse_claims("reporter,indicator,period,claimed_change_pct,sex\nNCCT,cases,2019-S1,25,X\n", registry)
    assert parsed.problems == ["row 2, column sex: 'X' is not a known sex code"]


@pytest.mark.parametrize(
    ("base", "value", "shown"),
    [(400, 401, "+0.3%"), (400, 399, "-0.3%"), (20000, 20230, "+1.2%"), (2000, 1977, "-1.2%"), (62, 78, "+25.8%")],
)
def test_reports_quote_a_change_as_claims_judge_it_rounded(base, value, shown):
    """`compare` and the report round a change as `change_pct_rounded` and `ctip claims` do (half away from zero,
    on the exact fraction): a journalist quoting the report is told the claim is `rounded`, never truncated."""
    from transforms.report import percent_one_decimal

    assert percent_one_decimal(value - base, base) == shown
    claim = Claim(2, "NCCT", "cases", "2019-S1", "2018-S1", Decimal(shown.rstrip("%")), "KH")
    assert judge(claim, value, base).verdict == ROUNDED
