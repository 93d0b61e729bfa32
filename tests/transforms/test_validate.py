"""The validator: every row rule broken once and passed once, parts against totals,
and several submissions judged together."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.findings import FINDINGS_SCHEMA
from transforms.validate import validate

from tests.transforms.helpers import (
    JUDGED_ON,
    csv_of,
    errors,
    findings_of,
    line,
    observations,
    observations_from_file,
    observations_of,
    of_rule,
)

# Victims rescued in 2019-S1 by age (the seed report).
UNDER_15, AGE_15_17, ADULTS = 70, 31, 162
UNDER_18 = UNDER_15 + AGE_15_17
TOTAL = UNDER_15 + AGE_15_17 + ADULTS
# Suspects sent to court in 2019-S1 by citizenship.
CHINESE, AMERICANS = 12, 2
FOREIGNERS = CHINESE + AMERICANS
SUSPECTS = 97
CAMBODIANS = SUSPECTS - FOREIGNERS
# Victims rescued by sex.
FEMALE, MALE, SEX_UNKNOWN = 10, 5, 3

HYPOTHESIS = settings(max_examples=25, deadline=None)


def anchor(reporter: str = "NCCT") -> dict[str, str]:
    """A correct first row (row 2) that no other row of a case is a part of."""
    return line(5, reporter=reporter, indicator="suspects_to_court", period="2018-S1")


def rules_of(findings: pl.DataFrame) -> set[str]:
    return set(findings["rule"].to_list())


# ------------------------------------------------------------- the seed
@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_seed_passes(seed_files, registry, fmt):
    frame = observations_from_file(seed_files[fmt].read_bytes(), fmt)
    assert frame.height == 16
    findings = validate(frame, registry)
    assert findings.schema == pl.Schema(FINDINGS_SCHEMA)
    assert errors(findings) == []
    assert findings.height == 0


def test_no_rows_no_findings(registry):
    frame = observations(csv_of(line(5))).clear()
    assert validate(frame, registry).height == 0


# ------------------------------------------------------------ row rules
# (case id, fields of the breaking row, fields of a passing row, rule, column, text the message shows)
ROW_CASES = [
    ("reporter", {"reporter": "XYZ"}, {"reporter": "ncct"}, "unknown_code", "reporter", "'XYZ'"),
    ("reporter blank", {"reporter": ""}, {"reporter": " NCCT "}, "unknown_code", "reporter", "reporter is blank"),
    ("indicator", {"indicator": "victims"}, {"indicator": "Victims_Rescued"}, "unknown_code", "indicator", "'victims'"),
    ("indicator blank", {"indicator": " "}, {"indicator": "cases"}, "unknown_code", "indicator", "indicator is blank"),
    ("period", {"period": "2019-S3"}, {"period": "2019s1"}, "unknown_code", "period", "'2019-S3'"),
    ("period month 13", {"period": "2019-13"}, {"period": "201912"}, "unknown_code", "period", "'2019-13'"),
    ("period ytd", {"period": "2018-02/2018-10"}, {"period": "2018-01/2018-10"}, "unknown_code", "period",
     "'2018-02/2018-10'"),
    ("period blank", {"period": ""}, {"period": "2019"}, "unknown_code", "period", "period is blank"),
    ("area", {"area": "KH-99"}, {"area": "kh-12"}, "unknown_code", "area", "'KH-99'"),
    ("area before its years", {"area": "KH-25", "period": "2013-S1"}, {"area": "KH-25", "period": "2014-S1"},
     "unknown_code", "area", "KH-25"),
    ("sex", {"sex": "X"}, {"sex": "f"}, "unknown_code", "sex", "'X'"),
    ("age", {"age": "Y_LT20"}, {"age": "Y_LT18"}, "unknown_code", "age", "'Y_LT20'"),
    ("citizenship", {"citizenship": "ZZ"}, {"citizenship": "STLS"}, "unknown_code", "citizenship", "'ZZ'"),
    ("referral", {"referral": "POLICE"}, {"referral": "_O"}, "unknown_code", "referral", "'POLICE'"),
    ("offence", {"offence": "_U"}, {"offence": "SE"}, "unknown_code", "offence", "'_U'"),
    ("country", {"indicator": "victims_repatriated", "country": "XX"},
     {"indicator": "victims_repatriated", "country": "TH"}, "unknown_code", "country", "'XX'"),
    ("status", {"status": "Z"}, {"status": "E"}, "unknown_code", "status", "'Z'"),
    ("action", {"action": "X"}, {"action": "D"}, "unknown_code", "action", "'X'"),
    ("reporter and indicator", {"reporter": "MOJ", "indicator": "victims_rescued"},
     {"reporter": "MOJ", "indicator": "persons_convicted"}, "not_allowed", "indicator", "victims_rescued"),
    ("indicator cut by sex", {"indicator": "cases", "sex": "F"}, {"indicator": "cases", "offence": "HT"},
     "not_allowed", "sex", "'F'"),
    ("indicator cut by country", {"indicator": "marriage_applications", "country": "US"},
     {"indicator": "victims_repatriated", "country": "US"}, "not_allowed", "country", "'US'"),
    ("indicator cut by offence", {"indicator": "persons_convicted", "offence": "HT"},
     {"indicator": "persons_convicted", "citizenship": "CN"}, "not_allowed", "offence", "'HT'"),
    ("decimal", {"value": "1.5"}, {"value": "15"}, "bad_value", "value", "'1.5'"),
    ("negative", {"value": "-3"}, {"value": "3"}, "bad_value", "value", "'-3'"),
    ("thousands separator", {"value": "1,009"}, {"value": "1009"}, "bad_value", "value", "'1,009'"),
    ("letters", {"value": "abc"}, {"value": "០"}, "bad_value", "value", "'abc'"),
    ("twenty digits", {"value": "12345678901234567890"}, {"value": "1234567890123456789"}, "bad_value", "value",
     "'12345678901234567890'"),
    ("above 2^63-1", {"value": str(2**63)}, {"value": str(2**63 - 1)}, "bad_value", "value", f"'{2**63}'"),
    ("future period", {"period": "2026-12"}, {"period": "2026-11"}, "future_period", "period", "2026-12"),
    ("future year", {"period": "2027"}, {"period": "2026-Q4"}, "future_period", "period", "2027"),
    ("mixed reporters", {"reporter": "MOI", "indicator": "cases"}, {"reporter": "ncct", "indicator": "cases"},
     "mixed_reporters", "reporter", "MOI"),
]


def _case_file(fields: dict) -> str:
    fields = {"value": 5, **fields}
    reporter = fields.get("reporter", "NCCT").strip().upper()
    first = anchor(reporter if reporter in ("NCCT", "MOJ") else "NCCT")
    return csv_of(first, line(**fields))


@pytest.mark.parametrize(
    ("bad", "rule", "column", "found"),
    [pytest.param(bad, rule, column, found, id=name) for name, bad, _, rule, column, found in ROW_CASES],
)
def test_rule_broken(bad, rule, column, found):
    findings = findings_of(_case_file(bad))
    matching = [f for f in of_rule(findings, rule) if f["column_name"] == column]
    assert len(matching) == 1, findings.to_dicts()
    finding = matching[0]
    assert finding["submission_id"] == "s1"
    assert finding["severity"] == "error"
    assert finding["row_number"] == 3
    assert "row 3" in finding["message"]
    assert found in finding["message"]
    assert all(f["row_number"] == 3 for f in errors(findings))  # the correct row 2 is never blamed


@pytest.mark.parametrize(
    ("good", "rule"), [pytest.param(good, rule, id=name) for name, _, good, rule, _, _ in ROW_CASES]
)
def test_rule_passed(good, rule):
    findings = findings_of(_case_file(good))
    assert of_rule(findings, rule) == []
    assert errors(findings) == []


def test_area_before_its_years_message(registry):
    findings = findings_of(_case_file({"area": "KH-25", "period": "2013-S1"}))
    [finding] = of_rule(findings, "unknown_code")
    assert "exists from 2014" in finding["message"]
    assert "2013-S1" in finding["message"]


def test_not_allowed_names_what_the_reporter_reports():
    findings = findings_of(_case_file({"reporter": "MOJ", "indicator": "victims_rescued"}))
    [finding] = of_rule(findings, "not_allowed")
    assert "MOJ may not report victims_rescued" in finding["message"]
    assert "persons_convicted, suspects_to_court" in finding["message"]


def test_mixed_reporters_names_the_first_reporter_row():
    findings = findings_of(csv_of(anchor(), line(5, reporter="MOI", indicator="cases"), line(6, indicator="cases")))
    [finding] = of_rule(findings, "mixed_reporters")
    assert finding["row_number"] == 3
    assert "NCCT" in finding["message"]
    assert "row 2" in finding["message"]


def test_every_bad_row_is_named():
    findings = findings_of(csv_of(anchor(), line("1.5"), line(7, indicator="cases"), line("-3", indicator="cases")))
    assert [f["row_number"] for f in of_rule(findings, "bad_value")] == [3, 5]


def test_empty_value_is_not_bad():
    findings = findings_of(csv_of(anchor(), line(""), line("  ", indicator="cases")))
    assert errors(findings) == []


def test_future_period_judged_against_judging_date():
    text = csv_of(anchor(), line(5, period="2026-12"))
    assert of_rule(findings_of(text, judged_on=date(2026, 11, 30)), "future_period")
    assert of_rule(findings_of(text, judged_on=date(2026, 12, 1)), "future_period") == []


# --------------------------------------------------------- duplicate keys
def test_duplicate_key():
    findings = findings_of(csv_of(
        anchor(),
        line(5, indicator="cases"),
        line(6, indicator="cases", period="2019s1", reporter="ncct", area="kh"),
    ))
    [finding] = of_rule(findings, "duplicate_key")
    assert finding["severity"] == "error"
    assert finding["row_number"] == 4
    assert finding["column_name"] is None
    assert "row 4 repeats the key of row 3" in finding["message"]
    assert "cases 2019-S1 KH" in finding["message"]


def test_duplicate_key_each_repeat_named():
    findings = findings_of(csv_of(
        line(5, indicator="cases", offence="HT"), anchor(), line(6, indicator="cases", offence="HT"),
        line(7, indicator="cases", offence="ht"),
    ))
    duplicates = of_rule(findings, "duplicate_key")
    assert [f["row_number"] for f in duplicates] == [4, 5]
    assert all("of row 2" in f["message"] and "offence=HT" in f["message"] for f in duplicates)


@pytest.mark.parametrize(
    "other",
    [{"period": "2019-S2"}, {"area": "KH-12"}, {"offence": "HT"}, {"indicator": "victims_rescued"}],
)
def test_distinct_keys_pass(other):
    findings = findings_of(csv_of(anchor(), line(5, indicator="cases"), line(6, **{"indicator": "cases", **other})))
    assert of_rule(findings, "duplicate_key") == []
    assert errors(findings) == []


# -------------------------------------------------------------- provisional
def test_provisional_warning():
    findings = findings_of(csv_of(
        anchor(), line(5, period="2026-S2"), line(6, period="2026-S2", indicator="cases"),
    ))
    [finding] = of_rule(findings, "provisional")
    assert finding["severity"] == "warning"
    assert finding["row_number"] == 3
    assert finding["column_name"] == "period"
    assert "row 3" in finding["message"]
    assert "2026-S2" in finding["message"]
    assert errors(findings) == []


def test_provisional_warning_for_estimates_too():
    findings = findings_of(csv_of(anchor(), line(5, period="2026-11", status="E")))
    assert [f["row_number"] for f in of_rule(findings, "provisional")] == [3]


def test_ended_period_not_provisional():
    findings = findings_of(csv_of(anchor(), line(5, period="2026-S1")))
    assert of_rule(findings, "provisional") == []
    assert findings.height == 0


def test_future_period_not_provisional():
    findings = findings_of(csv_of(anchor(), line(5, period="2027-S1")))
    assert of_rule(findings, "provisional") == []
    assert len(of_rule(findings, "future_period")) == 1


# ------------------------------------------------------ parts and totals
def parts_findings(*lines: dict) -> pl.DataFrame:
    return findings_of(csv_of(*lines))


def only(findings: pl.DataFrame, rule: str) -> dict:
    assert rules_of(findings) == {rule}, findings.to_dicts()
    [finding] = findings.to_dicts()
    assert finding["severity"] == "error"
    assert finding["column_name"] == "value"
    return finding


def test_complete_age_bands_equal_to_total_pass():
    findings = parts_findings(
        line(TOTAL), line(UNDER_15, age="Y_LT15"), line(AGE_15_17, age="Y15T17"), line(ADULTS, age="Y_GE18"),
    )
    assert findings.height == 0


def test_complete_set_below_total_differs():
    adults = ADULTS - 12
    findings = parts_findings(
        line(UNDER_15, age="Y_LT15"), line(AGE_15_17, age="Y15T17"), line(adults, age="Y_GE18"), line(TOTAL),
    )
    finding = only(findings, "parts_differ_from_total")
    assert finding["row_number"] == 5  # the total's row
    message = finding["message"]
    assert message.startswith("row 5:")
    assert f"add up to {UNDER_15 + AGE_15_17 + adults}" in message
    assert f"total is {TOTAL}" in message
    assert f"Y_GE18 (18 and over) {adults} (row 4)" in message


def test_complete_set_above_total_differs():
    findings = parts_findings(
        line(TOTAL), line(UNDER_15, age="Y_LT15"), line(AGE_15_17 + 1, age="Y15T17"), line(ADULTS, age="Y_GE18"),
    )
    assert only(findings, "parts_differ_from_total")["row_number"] == 2


def test_incomplete_set_below_total_passes():
    findings = parts_findings(line(TOTAL), line(UNDER_15, age="Y_LT15"), line(AGE_15_17, age="Y15T17"))
    assert findings.height == 0


def test_incomplete_set_above_total_exceeds():
    findings = parts_findings(line(UNDER_15, age="Y_LT15"), line(UNDER_15 - 1), line(ADULTS, age="_U"))
    finding = only(findings, "parts_exceed_total")
    assert finding["row_number"] == 3
    assert f"add up to {UNDER_15 + ADULTS}" in finding["message"]
    assert f"more than their total of {UNDER_15 - 1}" in finding["message"]


def test_parts_without_total_not_checked():
    findings = parts_findings(
        line(UNDER_15, age="Y_LT15"), line(AGE_15_17, age="Y15T17"), line(ADULTS, age="Y_GE18"),
        line(CHINESE, indicator="suspects_to_court", citizenship="CN"),
        line(AMERICANS, indicator="suspects_to_court", citizenship="US"),
    )
    assert findings.height == 0


def test_parts_of_another_area_or_period_are_not_parts():
    findings = parts_findings(
        line(1), line(UNDER_15, age="Y_LT15", area="KH-12"), line(ADULTS, age="Y_GE18", period="2019-S2"),
        line(AGE_15_17, age="Y15T17", indicator="victims_repatriated"),
    )
    assert findings.height == 0


def test_y_lt18_replaces_its_bands_against_total():
    findings = parts_findings(
        line(TOTAL), line(UNDER_15, age="Y_LT15"), line(AGE_15_17, age="Y15T17"),
        line(UNDER_18, age="Y_LT18"), line(ADULTS, age="Y_GE18"),
    )
    assert findings.height == 0  # the bands are not counted twice against the total


def test_y_lt18_and_adults_complete_against_total():
    assert parts_findings(line(TOTAL), line(UNDER_18, age="Y_LT18"), line(ADULTS, age="Y_GE18")).height == 0
    findings = parts_findings(line(TOTAL), line(UNDER_18, age="Y_LT18"), line(ADULTS - 1, age="Y_GE18"))
    finding = only(findings, "parts_differ_from_total")
    assert finding["row_number"] == 2
    assert f"add up to {TOTAL - 1}" in finding["message"]


def test_bands_differ_from_y_lt18():
    findings = parts_findings(
        line(TOTAL), line(UNDER_15, age="Y_LT15"), line(AGE_15_17 + 1, age="Y15T17"),
        line(UNDER_18, age="Y_LT18"), line(ADULTS, age="Y_GE18"),
    )
    finding = only(findings, "parts_differ_from_total")
    assert finding["row_number"] == 5  # the row of Y_LT18
    assert f"add up to {UNDER_18 + 1}" in finding["message"]
    assert "Y_LT18" in finding["message"]


def test_one_band_above_y_lt18_exceeds():
    findings = parts_findings(line(UNDER_18, age="Y_LT18"), line(UNDER_18 + 1, age="Y_LT15"))
    finding = only(findings, "parts_exceed_total")
    assert finding["row_number"] == 2


def test_foreigners_between_their_countries_and_total_pass():
    findings = parts_findings(
        line(SUSPECTS, indicator="suspects_to_court"),
        line(FOREIGNERS, indicator="suspects_to_court", citizenship="FOREIGN"),
        line(CHINESE, indicator="suspects_to_court", citizenship="CN"),
        line(AMERICANS, indicator="suspects_to_court", citizenship="US"),
    )
    assert findings.height == 0


def test_countries_above_foreigners_exceed_at_foreign_row():
    americans = AMERICANS + 3
    findings = parts_findings(
        line(SUSPECTS, indicator="suspects_to_court"),
        line(CHINESE, indicator="suspects_to_court", citizenship="CN"),
        line(FOREIGNERS, indicator="suspects_to_court", citizenship="FOREIGN"),
        line(americans, indicator="suspects_to_court", citizenship="US"),
    )
    finding = only(findings, "parts_exceed_total")
    assert finding["row_number"] == 4  # FOREIGN's row, not the total's
    assert finding["message"].startswith("row 4:")
    assert f"add up to {CHINESE + americans}" in finding["message"]
    assert f"more than their FOREIGN (foreigners) of {FOREIGNERS}" in finding["message"]


def test_foreigners_above_total_exceed():
    findings = parts_findings(
        line(SUSPECTS, indicator="suspects_to_court"),
        line(SUSPECTS + 1, indicator="suspects_to_court", citizenship="FOREIGN"),
    )
    assert only(findings, "parts_exceed_total")["row_number"] == 2


def test_countries_without_foreigners_against_total():
    findings = parts_findings(
        line(SUSPECTS - 7, indicator="suspects_to_court", citizenship="CN"),
        line(8, indicator="suspects_to_court", citizenship="US"),
        line(SUSPECTS, indicator="suspects_to_court"),
    )
    finding = only(findings, "parts_exceed_total")
    assert finding["row_number"] == 4
    assert f"add up to {SUSPECTS + 1}" in finding["message"]


def test_foreigners_and_cambodians_complete_the_total():
    rows = [
        line(SUSPECTS, indicator="suspects_to_court"),
        line(FOREIGNERS, indicator="suspects_to_court", citizenship="FOREIGN"),
    ]
    assert parts_findings(*rows, line(CAMBODIANS, indicator="suspects_to_court", citizenship="KH")).height == 0
    findings = parts_findings(*rows, line(CAMBODIANS - 3, indicator="suspects_to_court", citizenship="KH"))
    finding = only(findings, "parts_differ_from_total")
    assert finding["row_number"] == 2
    assert f"add up to {SUSPECTS - 3}" in finding["message"]


def test_cross_cut_parts_of_their_own_total():
    rows = [line(50, indicator="cases"), line(25, indicator="suspects_to_court", offence="HT")]
    passing = parts_findings(
        line(50), line(25, offence="HT"), line(20, offence="HT", sex="F"), line(30, sex="F"),
    )
    assert passing.height == 0
    findings = parts_findings(line(50), line(25, offence="HT"), line(30, offence="HT", sex="F"))
    finding = only(findings, "parts_exceed_total")
    assert finding["row_number"] == 3  # offence=HT, sex=_T
    assert "sexes" in finding["message"]
    assert "F (female) 30 (row 4)" in finding["message"]
    assert rows  # the rows of other indicators are not parts


def test_cross_cut_of_two_dimensions():
    findings = parts_findings(
        line(40, offence="HT", sex="F"),
        line(25, offence="HT", sex="F", age="Y_LT15"),
        line(20, offence="HT", sex="F", age="Y_GE18"),
    )
    finding = only(findings, "parts_exceed_total")
    assert finding["row_number"] == 2
    assert "add up to 45" in finding["message"]


def test_unknown_counts_as_a_part():
    assert parts_findings(
        line(FEMALE + MALE + SEX_UNKNOWN), line(FEMALE, sex="F"), line(MALE, sex="M"), line(SEX_UNKNOWN, sex="_U"),
    ).height == 0
    findings = parts_findings(
        line(FEMALE + MALE), line(FEMALE, sex="F"), line(MALE, sex="M"), line(SEX_UNKNOWN, sex="_U"),
    )
    finding = only(findings, "parts_differ_from_total")
    assert f"add up to {FEMALE + MALE + SEX_UNKNOWN}" in finding["message"]


def test_unknown_in_incomplete_set_exceeds():
    findings = parts_findings(line(FEMALE + MALE), line(FEMALE, sex="F"), line(MALE + 1, sex="_U"))
    finding = only(findings, "parts_exceed_total")
    assert finding["row_number"] == 2
    assert f"add up to {FEMALE + MALE + 1}" in finding["message"]


def test_parts_beyond_64_bits_differ():
    big = 2**62
    findings = parts_findings(
        line(2**63 - 1), line(big, age="Y_LT15"), line(big, age="Y15T17"), line(big, age="Y_GE18"),
    )
    finding = only(findings, "parts_differ_from_total")
    assert f"{3 * big:,}" in finding["message"]


def test_withdrawn_and_unreported_rows_are_not_parts():
    findings = parts_findings(
        line(UNDER_15), line(UNDER_15, age="Y_LT15"), line(ADULTS, age="Y_GE18", action="D"),
        line("", age="Y15T17"),
    )
    assert errors(findings) == []


# ------------------------------------------------- several submissions
def test_submissions_judged_together_keep_their_findings(registry):
    frame = observations_of(
        ("s1", csv_of(line(TOTAL), line(TOTAL + 1, age="Y_LT15"))),
        ("s2", csv_of(
            line(5, reporter="MOJ", indicator="persons_convicted"),
            line("abc", reporter="MOJ", indicator="suspects_to_court"),
        )),
        ("s3", csv_of(line(TOTAL), line(UNDER_15, age="Y_LT15"))),
        ("s4", csv_of(line(1, reporter="MOI", indicator="cases"), line(2, reporter="MOI", indicator="cases"))),
    )
    findings = validate(frame, registry)
    by_submission = {
        sid: [(f["rule"], f["row_number"]) for f in findings.filter(pl.col("submission_id") == sid).to_dicts()]
        for sid in ("s1", "s2", "s3", "s4")
    }
    assert by_submission["s1"] == [("parts_exceed_total", 2)]
    assert by_submission["s2"] == [("bad_value", 3)]
    assert by_submission["s3"] == []  # same keys as s1: neither duplicates nor parts across files
    assert by_submission["s4"] == [("duplicate_key", 3)]
    assert set(findings["submission_id"].to_list()) == {"s1", "s2", "s4"}


def test_submission_ids_attributed_in_any_order(registry):
    frame = observations_of(
        ("b", csv_of(line(5, indicator="cases"), line(6, indicator="cases", reporter="MOI"))),
        ("a", csv_of(line(6, indicator="cases", reporter="MOI"), line(5, indicator="cases"))),
    )
    findings = validate(frame, registry)
    mixed = sorted((f["submission_id"], f["row_number"]) for f in of_rule(findings, "mixed_reporters"))
    assert mixed == [("a", 3), ("b", 3)]
    [first] = [f for f in of_rule(findings, "mixed_reporters") if f["submission_id"] == "a"]
    assert "NCCT differs from MOI" in first["message"]


# ------------------------------------------------------------ properties
VALUES = st.one_of(st.integers(0, 1_000), st.integers(0, 2**61))
OFFSETS = st.one_of(st.just(0), st.integers(-1_000_000, 1_000_000))


@HYPOTHESIS
@given(bands=st.tuples(VALUES, VALUES, VALUES), offset=OFFSETS)
def test_complete_bands_differ_iff_sum_differs(registry, bands, offset):
    total = max(sum(bands) + offset, 0)
    findings = parts_findings(
        line(total), *(line(value, age=code) for value, code in zip(bands, ("Y_LT15", "Y15T17", "Y_GE18")))
    )
    differ = of_rule(findings, "parts_differ_from_total")
    if sum(bands) != total:
        assert [f["row_number"] for f in differ] == [2]
        assert f"{sum(bands):,}" in differ[0]["message"]
    else:
        assert differ == []
        assert findings.height == 0


@HYPOTHESIS
@given(
    family=VALUES, social=VALUES, unknown=st.one_of(st.none(), VALUES), offset=OFFSETS,
)
def test_referrals_without_other_exceed_iff_sum_above_total(registry, family, social, unknown, offset):
    parts = [line(family, referral="FAMILY"), line(social, referral="SOCIAL_AFFAIRS")]
    if unknown is not None:
        parts.append(line(unknown, referral="_U"))
    parts_sum = family + social + (unknown or 0)
    total = max(parts_sum + offset, 0)
    findings = parts_findings(*parts, line(total))
    exceed = of_rule(findings, "parts_exceed_total")
    assert of_rule(findings, "parts_differ_from_total") == []
    if parts_sum > total:
        assert [f["row_number"] for f in exceed] == [len(parts) + 2]
    else:
        assert exceed == []
        assert findings.height == 0
