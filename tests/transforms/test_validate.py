"""The validator: every row rule broken once and passed once, parts against totals,
and several submissions judged together.

A Great Expectations validation costs a few hundred milliseconds whatever the
number of rows, so the cases of a table are judged together, one submission per
case, in a single run, the way the nightly job judges its files; each case is
then checked on its own findings.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.transforms.helpers import (
    JUDGED_ON,
    conformed_file,
    csv_of,
    errors,
    findings_of,
    line,
    observations,
    observations_of,
)
from transforms.findings import FINDINGS_SCHEMA
from transforms.normalise import normalise
from transforms.validate import validate

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
# Victims of human trafficking (offence HT), and the women among them.
HT_VICTIMS, HT_WOMEN = 25, 20
BIG = 2**62  # three of these do not fit 64 bits

HYPOTHESIS = settings(max_examples=10, deadline=None)


def anchor(reporter: str = "NCCT") -> dict[str, str]:
    """A correct first row (row 2) of which no other row of a case is a part."""
    return line(5, reporter=reporter, indicator="suspects_to_court", period="2018-S1")


def judge(files: dict[str, str | tuple[str, date]], registry) -> dict[str, list[dict]]:
    """Validate several CSV files in one run; each file's findings, sorted by row and rule."""
    entries = [(sid, text) if isinstance(text, str) else (sid, text[0], text[1]) for sid, text in files.items()]
    findings = validate(observations_of(*entries), registry)
    assert findings.schema == pl.Schema(FINDINGS_SCHEMA)
    assert set(findings["submission_id"].to_list()) <= set(files)
    return {
        sid: findings.filter(pl.col("submission_id") == sid).sort("row_number", "rule", "column_name").to_dicts()
        for sid in files
    }


def rules_rows(findings: list[dict]) -> list[tuple[str, int | None]]:
    return [(f["rule"], f["row_number"]) for f in findings]


# ------------------------------------------------------------- the seed
def test_seed_passes_in_every_format(seed_files, registry):
    frames = [conformed_file(seed_files[fmt].read_bytes(), fmt, submission_id=fmt) for fmt in ("csv", "json", "xlsx")]
    frame = normalise(pl.concat(frames, how="vertical"), registry)
    assert frame.group_by("submission_id").len().sort("submission_id").rows() == [
        ("csv", 16),
        ("json", 16),
        ("xlsx", 16),
    ]
    findings = validate(frame, registry)
    assert findings.schema == pl.Schema(FINDINGS_SCHEMA)
    assert errors(findings) == []
    assert findings.height == 0


def test_no_rows_no_findings(registry):
    frame = observations(csv_of(line(5))).clear()
    findings = validate(frame, registry)
    assert findings.height == 0
    assert findings.schema == pl.Schema(FINDINGS_SCHEMA)


# ------------------------------------------------------------ row rules
# One case a line: the fields of a row that breaks the rule, of one that passes it, and the finding
# (rule, column, a text its message shows). Fields are name=value, double-quoted where spaces count.
ROW_TABLE = """
case                       | breaking row                               | passing row                                | rule            | column      | message shows
reporter                   | reporter=XYZ                               | reporter=ncct                              | unknown_code    | reporter    | 'XYZ'
reporter blank             | reporter=                                  | reporter=" NCCT "                          | unknown_code    | reporter    | blank
indicator                  | indicator=victims                          | indicator=Victims_Rescued                  | unknown_code    | indicator   | 'victims'
indicator blank            | indicator=" "                              | indicator=cases                            | unknown_code    | indicator   | blank
period                     | period=2019-S3                             | period=2019s1                              | unknown_code    | period      | '2019-S3'
period month 13            | period=2019-13                             | period=201912                              | unknown_code    | period      | '2019-13'
period ytd                 | period=2018-02/2018-10                     | period=2018-01/2018-10                     | unknown_code    | period      | '2018-02/2018-10'
period blank               | period=                                    | period=2019                                | unknown_code    | period      | blank
period fullwidth digits    | period=２０１９-S1                             | period=២០១៩-S1                             | unknown_code    | period      | '２０１９-S1'
period Arabic-Indic digits | period=٢٠١٩-S1                             | period=២០១៩-s1                             | unknown_code    | period      | '٢٠١٩-S1'
period mathematical digits | period=𝟚𝟘𝟙𝟡                                | period=២០១៩                                | unknown_code    | period      | '𝟚𝟘𝟙𝟡'
area                       | area=KH-99                                 | area=kh-12                                 | unknown_code    | area        | 'KH-99'
area before its years      | area=KH-25 period=2013-S1                  | area=KH-25 period=2014-S1                  | unknown_code    | area        | KH-25
sex                        | sex=X                                      | sex=f                                      | unknown_code    | sex         | 'X'
age                        | age=Y_LT20                                 | age=Y_LT18                                 | unknown_code    | age         | 'Y_LT20'
citizenship                | citizenship=ZZ                             | citizenship=STLS                           | unknown_code    | citizenship | 'ZZ'
referral                   | referral=POLICE                            | referral=_O                                | unknown_code    | referral    | 'POLICE'
offence                    | offence=_U                                 | offence=SE                                 | unknown_code    | offence     | '_U'
country                    | indicator=victims_repatriated country=XX   | indicator=victims_repatriated country=TH   | unknown_code    | country     | 'XX'
status                     | status=Z                                   | status=E                                   | unknown_code    | status      | 'Z'
action                     | action=X                                   | action=D                                   | unknown_code    | action      | 'X'
reporter and indicator     | reporter=MOJ indicator=victims_rescued     | reporter=MOJ indicator=persons_convicted   | not_allowed     | indicator   | victims_rescued
indicator cut by sex       | indicator=cases sex=F                      | indicator=cases offence=HT                 | not_allowed     | sex         | 'F'
indicator cut by country   | indicator=marriage_applications country=US | indicator=victims_repatriated country=US   | not_allowed     | country     | 'US'
indicator cut by offence   | indicator=persons_convicted offence=HT     | indicator=persons_convicted citizenship=CN | not_allowed     | offence     | 'HT'
decimal                    | value=1.5                                  | value=15                                   | bad_value       | value       | '1.5'
negative                   | value=-3                                   | value=3                                    | bad_value       | value       | '-3'
thousands separator        | value=1,009                                | value=1009                                 | bad_value       | value       | '1,009'
letters                    | value=abc                                  | value=៧៨                                   | bad_value       | value       | 'abc'
value fullwidth digits     | value=７８                                   | value=៧៨                                   | bad_value       | value       | '７８'
twenty digits              | value=12345678901234567890                 | value=1234567890123456789                  | bad_value       | value       | '12345678901234567890'
above 2^63-1               | value=9223372036854775808                  | value=9223372036854775807                  | bad_value       | value       | '9223372036854775808'
future period              | period=2026-12                             | period=2026-11                             | future_period   | period      | 2026-12
future year                | period=2027                                | period=2026-Q4                             | future_period   | period      | 2027
mixed reporters            | reporter=MOI indicator=cases               | reporter=ncct indicator=cases              | mixed_reporters | reporter    | MOI
"""


def _fields(text: str) -> dict[str, str]:
    return dict(token.split("=", 1) for token in shlex.split(text))


def _row_cases(table: str) -> list[tuple[str, dict, dict, str, str, str]]:
    cases = []
    for text in table.strip().splitlines()[1:]:
        name, bad, good, rule, column, shown = (cell.strip() for cell in text.split(" | "))
        cases.append((name, _fields(bad), _fields(good), rule, column, shown))
    return cases


ROW_CASES = _row_cases(ROW_TABLE)
CASE_IDS = [case[0] for case in ROW_CASES]


def _case_file(fields: dict) -> str:
    """The anchor row (row 2, same reporter where that reporter may report it), then the case's row 3."""
    fields = {"value": 5, **fields}
    reporter = str(fields.get("reporter", "NCCT")).strip().upper()
    return csv_of(anchor(reporter if reporter in ("NCCT", "MOJ") else "NCCT"), line(**fields))


@pytest.fixture(scope="module")
def broken(registry) -> dict[str, list[dict]]:
    return judge({name: _case_file(bad) for name, bad, *_ in ROW_CASES}, registry)


@pytest.fixture(scope="module")
def passed(registry) -> dict[str, list[dict]]:
    return judge({name: _case_file(good) for name, _, good, *_ in ROW_CASES}, registry)


@pytest.mark.parametrize(
    ("name", "rule", "column", "found"), [(c[0], c[3], c[4], c[5]) for c in ROW_CASES], ids=CASE_IDS
)
def test_rule_broken(broken, name, rule, column, found):
    findings = broken[name]
    matching = [f for f in findings if f["rule"] == rule and f["column_name"] == column]
    assert len(matching) == 1, findings
    finding = matching[0]
    assert finding["submission_id"] == name
    assert finding["severity"] == "error"
    assert finding["row_number"] == 3
    assert "row 3" in finding["message"]
    assert found in finding["message"]
    assert {f["row_number"] for f in findings if f["severity"] == "error"} == {3}  # the anchor row is never blamed


@pytest.mark.parametrize(("name", "rule"), [(c[0], c[3]) for c in ROW_CASES], ids=CASE_IDS)
def test_rule_passed(passed, name, rule):
    findings = passed[name]
    assert [f for f in findings if f["rule"] == rule] == []
    assert [f for f in findings if f["severity"] == "error"] == []


def test_batched_case_judged_alone_alike(broken):
    alone = findings_of(_case_file({"value": "1.5"}), submission_id="decimal")
    assert alone.sort("row_number", "rule", "column_name").to_dicts() == broken["decimal"]


def test_area_before_its_years_message(broken):
    [finding] = [f for f in broken["area before its years"] if f["rule"] == "unknown_code"]
    assert "2014" in finding["message"]
    assert "2013-S1" in finding["message"]


def test_not_allowed_names_what_the_reporter_reports(broken):
    [finding] = [f for f in broken["reporter and indicator"] if f["rule"] == "not_allowed"]
    assert "MOJ" in finding["message"]
    assert "persons_convicted, suspects_to_court" in finding["message"]


def test_mixed_reporters_names_the_first_reporter_and_its_row(broken):
    [finding] = [f for f in broken["mixed reporters"] if f["rule"] == "mixed_reporters"]
    assert "NCCT" in finding["message"]
    assert "row 2" in finding["message"]


# ------------------------------------------------- scenarios of many rows
@dataclass
class Scenario:
    """A file's rows (the first is row 2) and the findings expected: (rule, row, column, texts in the message)."""

    lines: list[dict]
    expected: list[tuple[str, int, str | None, tuple[str, ...]]] = field(default_factory=list)
    judged_on: date = JUDGED_ON


def parts_error(rule: str, row: int, *texts: object) -> tuple:
    return (rule, row, "value", (f"row {row}", *(str(t) for t in texts)))


SCENARIOS = {
    # rows and values
    "every bad row named": Scenario(
        [anchor(), line("1.5"), line(7, indicator="cases"), line("-3", indicator="cases", period="2019-S2")],
        [("bad_value", 3, "value", ("row 3", "'1.5'")), ("bad_value", 5, "value", ("row 5", "'-3'"))],
    ),
    "empty value is not reported, not bad": Scenario([anchor(), line(""), line("  ", indicator="cases")]),
    "period begun on judging date": Scenario(
        [anchor(), line(5, period="2026-12")],
        judged_on=date(2026, 12, 1),
        expected=[("provisional", 3, "period", ("row 3", "2026-12"))],
    ),
    "period begins the day after": Scenario(
        [anchor(), line(5, period="2026-12")],
        judged_on=date(2026, 11, 30),
        expected=[("future_period", 3, "period", ("row 3", "2026-12"))],
    ),
    # pairs of codes, judged only where both codes are known
    "unknown reporter not judged with its indicator": Scenario(
        [line(5, reporter="XYZ")], [("unknown_code", 2, "reporter", ("'XYZ'",))]
    ),
    "unknown indicator not judged with its cuts": Scenario(
        [line(5, indicator="victims", sex="F")], [("unknown_code", 2, "indicator", ("'victims'",))]
    ),
    "unknown code cuts an indicator not cut by it": Scenario(
        [line(5, indicator="cases", sex="X")],
        [("not_allowed", 2, "sex", ("cases is not cut by sex", "'X'")), ("unknown_code", 2, "sex", ("'X'",))],
    ),
    # duplicate keys
    "duplicate key": Scenario(
        [anchor(), line(5, indicator="cases"), line(6, indicator="cases", period="2019s1", reporter="ncct", area="kh")],
        [("duplicate_key", 4, None, ("row 4", "row 3", "cases", "2019-S1"))],
    ),
    "duplicate key each repeat named": Scenario(
        [
            line(5, indicator="cases", offence="HT"),
            anchor(),
            line(5, indicator="cases", offence="HT"),
            line(5, indicator="cases", offence="ht"),
        ],
        [("duplicate_key", 4, None, ("row 4", "row 2", "HT")), ("duplicate_key", 5, None, ("row 5", "row 2", "HT"))],
    ),
    "same key other period": Scenario(
        [anchor(), line(5, indicator="cases"), line(5, indicator="cases", period="2019-S2")]
    ),
    "same key other area": Scenario([anchor(), line(5, indicator="cases"), line(5, indicator="cases", area="KH-12")]),
    "same key other cut": Scenario([anchor(), line(6, indicator="cases"), line(5, indicator="cases", offence="HT")]),
    "same key other indicator": Scenario([anchor(), line(5, indicator="cases"), line(5)]),
    # provisional
    "provisional": Scenario(
        [anchor(), line(5, period="2026-S2"), line(6, period="2026-S2", indicator="cases")],
        [("provisional", 3, "period", ("row 3", "2026-S2"))],
    ),
    "provisional estimate": Scenario(
        [anchor(), line(5, period="2026-11", status="E")], [("provisional", 3, "period", ("row 3", "2026-11"))]
    ),
    "ended period": Scenario([anchor(), line(5, period="2026-S1")]),
    "future period is not provisional": Scenario(
        [anchor(), line(5, period="2027-S1")], [("future_period", 3, "period", ("row 3", "2027-S1"))]
    ),
    # parts against totals
    "complete bands equal to total": Scenario(
        [line(TOTAL), line(UNDER_15, age="Y_LT15"), line(AGE_15_17, age="Y15T17"), line(ADULTS, age="Y_GE18")]
    ),
    "complete bands below total": Scenario(
        [line(UNDER_15, age="Y_LT15"), line(AGE_15_17, age="Y15T17"), line(ADULTS - 12, age="Y_GE18"), line(TOTAL)],
        [
            parts_error(
                "parts_differ_from_total", 5, UNDER_15 + AGE_15_17 + ADULTS - 12, TOTAL, "Y_GE18", ADULTS - 12, "row 4"
            )
        ],
    ),
    "complete bands above total": Scenario(
        [line(TOTAL), line(UNDER_15, age="Y_LT15"), line(AGE_15_17 + 1, age="Y15T17"), line(ADULTS, age="Y_GE18")],
        [parts_error("parts_differ_from_total", 2, TOTAL + 1, TOTAL)],
    ),
    "incomplete bands below total": Scenario(
        [line(TOTAL), line(UNDER_15, age="Y_LT15"), line(AGE_15_17, age="Y15T17")]
    ),
    "incomplete bands above total": Scenario(
        [line(UNDER_15, age="Y_LT15"), line(UNDER_15 - 1), line(ADULTS, age="_U")],
        [parts_error("parts_exceed_total", 3, UNDER_15 + ADULTS, UNDER_15 - 1, "Y_LT15", "_U")],
    ),
    "parts without a total": Scenario(
        [
            line(UNDER_15, age="Y_LT15"),
            line(AGE_15_17, age="Y15T17"),
            line(ADULTS, age="Y_GE18"),
            line(SUSPECTS, indicator="suspects_to_court", citizenship="CN"),
            line(SUSPECTS, indicator="suspects_to_court", citizenship="US"),
        ]
    ),
    "parts of another area, period or indicator": Scenario(
        [
            line(1),
            line(UNDER_15, age="Y_LT15", area="KH-12"),
            line(ADULTS, age="Y_GE18", period="2019-S2"),
            line(AGE_15_17, age="Y15T17", indicator="victims_repatriated"),
        ]
    ),
    "Y_LT18 replaces its bands against the total": Scenario(
        [
            line(TOTAL),
            line(UNDER_15, age="Y_LT15"),
            line(AGE_15_17, age="Y15T17"),
            line(UNDER_18, age="Y_LT18"),
            line(ADULTS, age="Y_GE18"),
        ]
    ),
    "Y_LT18 and adults make the total": Scenario(
        [line(TOTAL), line(UNDER_18, age="Y_LT18"), line(ADULTS, age="Y_GE18")]
    ),
    "Y_LT18 and adults below the total": Scenario(
        [line(TOTAL), line(UNDER_18, age="Y_LT18"), line(ADULTS - 1, age="Y_GE18")],
        [parts_error("parts_differ_from_total", 2, TOTAL - 1, TOTAL, "Y_LT18", "Y_GE18")],
    ),
    "bands differ from Y_LT18": Scenario(
        [
            line(TOTAL),
            line(UNDER_15, age="Y_LT15"),
            line(AGE_15_17 + 1, age="Y15T17"),
            line(UNDER_18, age="Y_LT18"),
            line(ADULTS, age="Y_GE18"),
        ],
        [parts_error("parts_differ_from_total", 5, UNDER_18 + 1, UNDER_18, "Y_LT18", "row 3", "row 4")],
    ),
    "one band above Y_LT18": Scenario(
        [line(UNDER_18, age="Y_LT18"), line(UNDER_18 + 1, age="Y_LT15")],
        [parts_error("parts_exceed_total", 2, UNDER_18 + 1, UNDER_18, "Y_LT18")],
    ),
    "countries within foreigners within total": Scenario(
        [
            line(SUSPECTS, indicator="suspects_to_court"),
            line(FOREIGNERS, indicator="suspects_to_court", citizenship="FOREIGN"),
            line(CHINESE, indicator="suspects_to_court", citizenship="CN"),
            line(AMERICANS, indicator="suspects_to_court", citizenship="US"),
        ]
    ),
    "countries above foreigners": Scenario(
        [
            line(SUSPECTS, indicator="suspects_to_court"),
            line(CHINESE, indicator="suspects_to_court", citizenship="CN"),
            line(FOREIGNERS, indicator="suspects_to_court", citizenship="FOREIGN"),
            line(AMERICANS + 3, indicator="suspects_to_court", citizenship="US"),
        ],
        [parts_error("parts_exceed_total", 4, CHINESE + AMERICANS + 3, FOREIGNERS, "FOREIGN", "CN", "US")],
    ),
    "foreigners above total": Scenario(
        [
            line(SUSPECTS, indicator="suspects_to_court"),
            line(SUSPECTS + 1, indicator="suspects_to_court", citizenship="FOREIGN"),
        ],
        [parts_error("parts_exceed_total", 2, SUSPECTS + 1, SUSPECTS, "FOREIGN")],
    ),
    "countries without foreigners above total": Scenario(
        [
            line(SUSPECTS - 7, indicator="suspects_to_court", citizenship="CN"),
            line(8, indicator="suspects_to_court", citizenship="US"),
            line(SUSPECTS, indicator="suspects_to_court"),
        ],
        [parts_error("parts_exceed_total", 4, SUSPECTS + 1, SUSPECTS, "CN", "US")],
    ),
    "foreigners and Cambodians make the total": Scenario(
        [
            line(SUSPECTS, indicator="suspects_to_court"),
            line(FOREIGNERS, indicator="suspects_to_court", citizenship="FOREIGN"),
            line(CAMBODIANS, indicator="suspects_to_court", citizenship="KH"),
        ]
    ),
    "foreigners and Cambodians below the total": Scenario(
        [
            line(SUSPECTS, indicator="suspects_to_court"),
            line(FOREIGNERS, indicator="suspects_to_court", citizenship="FOREIGN"),
            line(CAMBODIANS - 3, indicator="suspects_to_court", citizenship="KH"),
        ],
        [parts_error("parts_differ_from_total", 2, SUSPECTS - 3, SUSPECTS, "FOREIGN", "KH")],
    ),
    "cross-cut within its own total": Scenario(
        [
            line(2 * HT_VICTIMS),
            line(HT_VICTIMS, offence="HT"),
            line(HT_WOMEN, offence="HT", sex="F"),
            line(HT_VICTIMS + 5, sex="F"),
        ]
    ),
    "cross-cut above its own total": Scenario(
        [line(2 * HT_VICTIMS), line(HT_VICTIMS, offence="HT"), line(HT_VICTIMS + 5, offence="HT", sex="F")],
        [parts_error("parts_exceed_total", 3, HT_VICTIMS + 5, HT_VICTIMS, "row 4")],
    ),
    "cross-cut of two dimensions above": Scenario(
        [
            line(HT_WOMEN, offence="HT", sex="F"),
            line(HT_WOMEN - 5, offence="HT", sex="F", age="Y_LT15"),
            line(10, offence="HT", sex="F", age="Y_GE18"),
        ],
        [parts_error("parts_exceed_total", 2, HT_WOMEN + 5, HT_WOMEN)],
    ),
    "unknown sex completes the total": Scenario(
        [line(FEMALE + MALE + SEX_UNKNOWN), line(FEMALE, sex="F"), line(MALE, sex="M"), line(SEX_UNKNOWN, sex="_U")]
    ),
    "unknown sex counted in a complete set": Scenario(
        [line(FEMALE + MALE), line(FEMALE, sex="F"), line(MALE, sex="M"), line(SEX_UNKNOWN, sex="_U")],
        [parts_error("parts_differ_from_total", 2, FEMALE + MALE + SEX_UNKNOWN, FEMALE + MALE, "_U")],
    ),
    "unknown sex counted in an incomplete set": Scenario(
        [line(FEMALE + MALE), line(FEMALE, sex="F"), line(MALE + 1, sex="_U")],
        [parts_error("parts_exceed_total", 2, FEMALE + MALE + 1, FEMALE + MALE, "_U")],
    ),
    "referrals without other below total": Scenario(
        [line(TOTAL), line(TOTAL - 72, referral="FAMILY"), line(72, referral="SOCIAL_AFFAIRS")]
    ),
    "parts beyond 64 bits": Scenario(
        [line(2**63 - 1), line(BIG, age="Y_LT15"), line(BIG, age="Y15T17"), line(BIG, age="Y_GE18")],
        [parts_error("parts_differ_from_total", 2, f"{3 * BIG:,}")],
    ),
    "withdrawn and unreported rows are not parts": Scenario(
        [line(UNDER_15), line(UNDER_15, age="Y_LT15"), line(ADULTS, age="Y_GE18", action="D"), line("", age="Y15T17")]
    ),
    "bad values are not parts": Scenario(
        [line(UNDER_15), line(UNDER_15, age="Y_LT15"), line("1.5", age="Y15T17")],
        [("bad_value", 4, "value", ("row 4", "'1.5'"))],
    ),
}


@pytest.fixture(scope="module")
def judged(registry) -> dict[str, list[dict]]:
    return judge({name: (csv_of(*s.lines), s.judged_on) for name, s in SCENARIOS.items()}, registry)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(judged, name):
    scenario = SCENARIOS[name]
    findings = judged[name]
    expected = sorted(scenario.expected, key=lambda e: (e[1], e[0], e[2] or ""))
    assert [(f["rule"], f["row_number"], f["column_name"]) for f in findings] == [e[:3] for e in expected], findings
    for finding, (rule, _, _, texts) in zip(findings, expected, strict=False):
        assert finding["severity"] == ("warning" if rule == "provisional" else "error")
        for text in texts:
            assert text in finding["message"], (text, finding["message"])


def test_findings_of_a_row_in_the_order_of_the_suite(registry):
    row = line("1.5", reporter="MOJ", indicator="victims_rescued")
    findings = validate(observations(csv_of(anchor(), row)), registry)
    assert findings["rule"].to_list() == ["not_allowed", "mixed_reporters", "bad_value"]


# ------------------------------------------------- several submissions
def test_submissions_judged_together_keep_their_findings(registry):
    found = judge(
        {
            "s1": csv_of(line(TOTAL), line(TOTAL + 1, age="Y_LT15")),
            "s2": csv_of(
                line(5, reporter="MOJ", indicator="persons_convicted"),
                line("abc", reporter="MOJ", indicator="suspects_to_court"),
            ),
            "s3": csv_of(line(TOTAL), line(UNDER_15, age="Y_LT15")),
            "s4": csv_of(line(1, reporter="MOI", indicator="cases"), line(2, reporter="MOI", indicator="cases")),
            "s5": csv_of(line(6, indicator="cases"), line(7, indicator="cases", reporter="MOI")),
            "s6": csv_of(line(7, indicator="cases", reporter="MOI"), line(6, indicator="cases")),
        },
        registry,
    )
    assert rules_rows(found["s1"]) == [("parts_exceed_total", 2)]
    assert rules_rows(found["s2"]) == [("bad_value", 3)]
    assert found["s3"] == []  # the keys of s1: neither duplicates nor parts across files
    assert rules_rows(found["s4"]) == [("duplicate_key", 3)]
    assert rules_rows(found["s5"]) == [("mixed_reporters", 3)]
    assert rules_rows(found["s6"]) == [("mixed_reporters", 3)]
    assert "MOI" in found["s5"][0]["message"] and "NCCT" in found["s5"][0]["message"]
    assert "row 2" in found["s6"][0]["message"] and "NCCT" in found["s6"][0]["message"]


# ------------------------------------------------------------ properties
VALUES = st.one_of(st.integers(0, 1_000), st.integers(0, 2**61))
OFFSETS = st.one_of(st.just(0), st.integers(-1_000_000, 1_000_000))
BANDS = ("Y_LT15", "Y15T17", "Y_GE18")


@HYPOTHESIS
@given(cases=st.lists(st.tuples(st.tuples(VALUES, VALUES, VALUES), OFFSETS), min_size=1, max_size=8))
def test_complete_bands_differ_iff_sum_differs(registry, cases):
    files, totals = {}, {}
    for index, (bands, offset) in enumerate(cases):
        total = max(sum(bands) + offset, 0)
        totals[f"s{index}"] = (sum(bands), total)
        files[f"s{index}"] = csv_of(
            line(total), *(line(value, age=code) for value, code in zip(bands, BANDS, strict=False))
        )
    found = judge(files, registry)
    for sid, (parts_sum, total) in totals.items():
        if parts_sum != total:
            assert rules_rows(found[sid]) == [("parts_differ_from_total", 2)]
            assert f"{parts_sum:,}" in found[sid][0]["message"]
            assert f"{total:,}" in found[sid][0]["message"]
        else:
            assert found[sid] == []


@HYPOTHESIS
@given(cases=st.lists(st.tuples(VALUES, VALUES, st.one_of(st.none(), VALUES), OFFSETS), min_size=1, max_size=8))
def test_referrals_without_other_exceed_iff_sum_above_total(registry, cases):
    files, expected = {}, {}
    for index, (family, social, unknown, offset) in enumerate(cases):
        parts = [line(family, referral="FAMILY"), line(social, referral="SOCIAL_AFFAIRS")]
        if unknown is not None:
            parts.append(line(unknown, referral="_U"))
        parts_sum = family + social + (unknown or 0)
        total = max(parts_sum + offset, 0)
        files[f"s{index}"] = csv_of(*parts, line(total))
        expected[f"s{index}"] = [("parts_exceed_total", len(parts) + 2)] if parts_sum > total else []
    found = judge(files, registry)
    for sid, rules in expected.items():
        assert rules_rows(found[sid]) == rules  # never parts_differ_from_total: _O is missing


def test_a_bad_value_is_explained_in_plain_words(registry):
    from tests.transforms.helpers import csv_of, findings_of, line, of_rule

    found = of_rule(findings_of(csv_of(line("9223372036854775808"), line("12.5", period="2018-S1"))), "bad_value")
    messages = [f["message"] for f in found]
    assert "too large to be a count" in messages[0] and "9.2 quintillion (19 digits)" in messages[0]
    assert "is not a whole number (digits only" in messages[1]
    assert not any("9,223,372,036,854,775,807" in m or "9223372036854775807" in m for m in messages)


def test_a_total_within_a_cut_is_named_with_its_cut(registry):
    """The sexes of the suspects of one offence above that offence's total: the message says which offence, in
    the words of the other rules' messages ("offence=HT"), so the total is found among the file's others."""
    rows = [
        line(10, reporter="MOI", indicator="suspects_arrested", offence="HT"),
        line(11, reporter="MOI", indicator="suspects_arrested", offence="HT", sex="F"),
    ]
    (found,) = judge({"s1": csv_of(*rows)}, registry)["s1"]
    assert found["rule"] == "parts_exceed_total" and found["row_number"] == 2
    assert "suspects_arrested for 2019-S1 in KH (offence=HT) add up to 11" in found["message"]
    (plain,) = judge({"s1": csv_of(line(10), line(11, sex="F"))}, registry)["s1"]
    assert "victims_rescued for 2019-S1 in KH add up" in plain["message"]
