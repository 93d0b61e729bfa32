"""conform fits a file's columns to the contract; normalise types the cells."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.texts import message
from tests.transforms.helpers import JUDGED_ON, observations, observations_from_file, observations_of, rows
from transforms.normalise import _codes, code_cell, conform
from transforms.read import FILE_REPORTER, FILE_ROW_NUMBER, read_submission

SHORT_HEADER = "reporter,period,indicator,value"


def raw_frame(csv_text: str, registry) -> pl.DataFrame:
    raw = read_submission(csv_text.encode("utf-8"), "csv", registry.limits)
    assert raw.readable, raw.findings
    return raw.frame


def one(csv_text: str, judged_on: date = JUDGED_ON) -> dict:
    frame = observations(csv_text, judged_on=judged_on)
    assert frame.height == 1
    return frame.row(0, named=True)


# ----------------------------------------------------------------- conform
@pytest.mark.parametrize("absent", ["reporter", "period", "indicator", "value"])
def test_missing_required_column(registry, absent):
    columns = [c for c in SHORT_HEADER.split(",") if c != absent]
    text = ",".join(columns) + "\n" + ",".join("x" for _ in columns) + "\n"
    frame, findings = conform(raw_frame(text, registry), registry)
    assert frame is None
    assert [(f.rule, f.severity, f.column_name) for f in findings] == [("missing_column", "error", absent)]
    assert f"'{absent}'" in findings[0].message


def test_unknown_column_warned_and_dropped(registry):
    text = SHORT_HEADER + ",remarks\nNCCT,2019,cases,1,hello\n"
    frame, findings = conform(raw_frame(text, registry), registry)
    assert [(f.rule, f.severity, f.column_name) for f in findings] == [("unknown_column", "warning", "remarks")]
    assert "'remarks'" in findings[0].message
    assert "remarks" not in frame.columns
    assert frame.height == 1


def test_a_column_ctip_names_is_named_alike_in_every_language_and_shown_in_each(registry):
    """A header cell without a name, and the file's own row_number: their columns' names are English in every
    language, the messages show them in their own."""
    text = SHORT_HEADER + ",,row_number\nNCCT,2019,cases,1,hello,7\n"
    names = ["(column 5 without a name)", FILE_ROW_NUMBER]
    _, english = conform(raw_frame(text, registry), registry)
    _, khmer = conform(raw_frame(text, registry), registry, "km")
    assert [f.column_name for f in english] == [f.column_name for f in khmer] == names
    assert [f.message for f in english] == [message("unknown_column", "ignored", column=name) for name in names]
    shown = ["(ជួរឈរទី 5 គ្មានឈ្មោះ)", "row_number (ជួរឈររបស់ឯកសារ)"]
    assert [f.message for f in khmer] == [message("unknown_column", "ignored", "km", column=name) for name in shown]


def test_conform_gives_contract_columns_in_order(registry):
    frame, findings = conform(raw_frame("value,indicator,period,reporter\n1,cases,2019,NCCT\n", registry), registry)
    assert findings == []
    assert frame.columns == ["row_number", *registry.known_columns, FILE_REPORTER]  # the reporter a JSON file names
    assert frame.row(0, named=True)["sex"] == "_T" and frame.row(0, named=True)[FILE_REPORTER] is None  # absent


def test_absent_optional_columns_get_defaults(registry):
    row = one(SHORT_HEADER + "\nNCCT,2019,cases,1\n")
    assert row["area"] == "KH"
    assert row["status"] == "A"
    assert row["action"] == "I"
    for name in registry.dimension_names:
        assert row[name] == "_T", name
    assert row["comment"] is None


def test_a_json_observation_that_leaves_a_code_out_takes_its_default():
    """No key, null or "": absent from that observation (a JSON file has no header that gives a column)."""
    observed = [
        {"period": "2019-S1", "indicator": "victims_rescued", "value": 3, "sex": "F"},
        {"period": "2018-S1", "indicator": "victims_rescued", "value": 2, "sex": None, "status": ""},
        {"period": "2017-S1", "indicator": "victims_rescued", "value": 1, "sex": "  "},
    ]
    content = json.dumps({"reporter": "NCCT", "observations": observed}).encode()
    frame = observations_from_file(content, "json").sort("row_number")
    assert frame.select("sex", "status", "area").rows() == [("F", "A", "KH"), ("_T", "A", "KH"), ("_T", "A", "KH")]


def test_a_column_absent_from_the_file_gives_its_default():
    row = one(f"{SHORT_HEADER}\nNCCT,2019,cases,1\n")
    assert (row["area"], row["sex"], row["age"], row["status"], row["action"]) == ("KH", "_T", "_T", "A", "I")
    assert row["comment"] is None


def test_a_blank_code_of_a_column_the_file_has_is_no_code():
    """Blank is `unknown_code` (the validation's), on a row that states a figure; a row that states nothing (a
    template's row left empty) takes the defaults."""
    row = one(rows("NCCT,2019,cases, , , ,,,,,1, ,"))  # the columns of `rows` but action
    assert (row["area"], row["sex"], row["age"], row["status"], row["action"]) == ("", "", "", "", "I")
    assert row["loadable"] is True and row["comment"] is None
    empty = one(rows("NCCT,2019,cases, , , ,,,,,, ,"))
    assert (empty["area"], empty["sex"], empty["status"], empty["action"], empty["loadable"]) == (
        "KH",
        "_T",
        "A",
        "I",
        False,
    )


# --------------------------------------------------------------- normalise
def test_codes_trimmed_and_upper_cased():
    row = one(rows(" ncct ,2019-S1, Victims_Rescued ,kh-25, f ,y_lt15,cn,family,ht,_t,5,e,"))
    assert row["reporter"] == "NCCT"
    assert row["indicator"] == "victims_rescued"
    assert row["area"] == "KH-25"
    assert (row["sex"], row["age"], row["citizenship"], row["referral"], row["offence"], row["country"]) == (
        "F",
        "Y_LT15",
        "CN",
        "FAMILY",
        "HT",
        "_T",
    )
    assert row["status"] == "E"


def test_value_parsed():
    row = one(rows("NCCT,2019,cases,,,,,,,,78,,"))
    assert row["value"] == 78
    assert row["value_given"] is True
    assert row["loadable"] is True


def test_khmer_digits_in_value():
    row = one(rows("NCCT,2019,cases,,,,,,,,៧៨,,"))
    assert row["value"] == 78
    assert row["value_text"] == "78"


def test_khmer_digits_in_period():
    row = one(rows("NCCT,២០១៩-S1,cases,,,,,,,,1,,"))
    assert row["period"] == "2019-S1"
    assert row["period_type"] == "half"
    assert row["period_start"] == date(2019, 1, 1)
    assert row["period_end"] == date(2019, 7, 1)
    assert row["base_period"] == "2018-S1"
    assert row["period_year"] == 2019


def test_dhis2_period_made_canonical():
    frame = observations(rows("NCCT,2019s1,cases,,,,,,,,1,,", "NCCT,201903,cases,,,,,,,,1,,"))
    assert frame.sort("row_number")["period"].to_list() == ["2019-S1", "2019-03"]


def test_empty_value_is_not_reported_never_zero():
    row = one(rows("NCCT,2019,cases,,,,,,,,,,"))
    assert row["value_given"] is False
    assert row["value"] is None
    assert row["loadable"] is False


def test_zero_is_reported():
    row = one(rows("NCCT,2019,cases,,,,,,,,0,,"))
    assert row["value_given"] is True
    assert row["value"] == 0


def test_withdrawal_without_value_is_loadable():
    frame = observations("reporter,period,indicator,value,action\nNCCT,2019,cases,,D\n")
    row = frame.row(0, named=True)
    assert row["action"] == "D"
    assert row["value_given"] is False
    assert row["loadable"] is True


@pytest.mark.parametrize("text", ["1.5", "-3", "1,009", "abc", "12345678901234567890"])
def test_not_whole_value_left_null_but_given(text):
    row = one(rows(f'NCCT,2019,cases,,,,,,,,"{text}",,'))
    assert row["value_given"] is True
    assert row["value"] is None
    assert row["value_text"] == text


def test_largest_value_kept():
    row = one(rows(f"NCCT,2019,cases,,,,,,,,{2**63 - 1},,"))
    assert row["value"] == 2**63 - 1


def test_period_not_ended_is_provisional():
    row = one(rows("NCCT,2026-S2,cases,KH,_T,_T,_T,_T,_T,_T,5,A,"), judged_on=date(2026, 11, 28))
    assert row["provisional"] is True
    assert row["status"] == "P"


def test_estimated_status_kept_while_provisional():
    row = one(rows("NCCT,2026-S2,cases,,,,,,,,5,E,"), judged_on=date(2026, 11, 28))
    assert row["provisional"] is True
    assert row["status"] == "E"


def test_period_ended_is_not_provisional():
    row = one(rows("NCCT,2026-S1,cases,KH,_T,_T,_T,_T,_T,_T,5,A,"), judged_on=date(2026, 11, 28))
    assert row["provisional"] is False
    assert row["status"] == "A"


@pytest.mark.parametrize(
    ("judged_on", "provisional"),
    [(date(2026, 10, 31), False), (date(2026, 11, 1), True), (date(2026, 11, 30), True), (date(2026, 12, 1), False)],
)
def test_provisional_edges(judged_on, provisional):
    row = one(rows("NCCT,2026-11,cases,KH,_T,_T,_T,_T,_T,_T,5,A,"), judged_on=judged_on)
    assert row["provisional"] is provisional
    if provisional:
        assert row["status"] == "P"


def test_future_period_not_provisional():
    row = one(rows("NCCT,2027-S1,cases,,,,,,,,5,,"), judged_on=date(2026, 11, 28))
    assert row["provisional"] is False
    assert row["period_start"] > date(2026, 11, 28)


def test_bad_period_has_null_span():
    row = one(rows("NCCT,2019-S3,cases,,,,,,,,5,,"))
    assert row["period"] is None
    assert row["period_text"] == "2019-S3"
    assert row["provisional"] is False


@pytest.mark.parametrize("comment", ['  ស្ត្រី =HYPERLINK("x") ', "  ", " "])
def test_comment_kept_exactly(comment):
    """Spaces too: only an empty comment is no comment."""
    row = one(rows('NCCT,2019,cases,,,,,,,,5,,"' + comment.replace('"', '""') + '"'))
    assert row["comment"] == comment
    assert one(rows("NCCT,2019,cases,,,,,,,,5,," + comment))["comment"] == comment  # unquoted
    assert one(rows("NCCT,2019,cases,,,,,,,,5,,"))["comment"] is None


def test_several_submissions_keep_their_ids():
    frame = observations_of(
        ("a", rows("NCCT,2019,cases,,,,,,,,5,,")),
        ("b", rows("MOJ,2019,persons_convicted,,,,,,,,6,,", "MOJ,2019,suspects_to_court,,,,,,,,7,,")),
    )
    assert frame.group_by("submission_id").len().sort("submission_id").rows() == [("a", 1), ("b", 2)]


@pytest.mark.parametrize(("separator", "named"), [(";", "semicolons (;)"), ("\t", "tabs"), ("|", "vertical bars (|)")])
def test_another_separator_is_one_finding_that_names_it(separator, named, registry):
    text = "reporter,period,indicator,area,value\nNCCT,2019-S1,cases,KH,78\n".replace(",", separator)
    raw = read_submission(text.encode("utf-8"), "csv", registry.limits)
    frame, findings = conform(raw.frame, registry)
    assert frame is None
    assert [(f.rule, f.severity, f.row_number) for f in findings] == [("missing_column", "error", 1)]
    assert f"separated by {named}, not commas" in findings[0].message and "CSV UTF-8" in findings[0].message


def test_a_header_under_a_title_is_one_finding_that_names_its_row(registry):
    text = "Report of the Ministry, first half of 2019,,,\n,,,,\nReporter,Period,Indicator,Area,Value\nNCCT,2019-S1,cases,KH,78\n"
    raw = read_submission(text.encode("utf-8"), "csv", registry.limits)
    frame, findings = conform(raw.frame, registry)
    assert frame is None
    assert [(f.rule, f.severity, f.row_number) for f in findings] == [("missing_column", "error", 3)]
    assert "the header is on row 3" in findings[0].message and "delete the rows above it" in findings[0].message
    # a first row that is no header and no header below it: each missing column, as before
    frame, findings = conform(read_submission(b"a,b\n1,2\n", "csv", registry.limits).frame, registry)
    assert {f.column_name for f in findings if f.rule == "missing_column"} == set(registry.required_columns)


CELLS = ["", " ", "f", " F ", "NCCT", " ncct", "i", "D ", "\u3000m\u3000", "ក", "_T", "\xa0"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(*[st.one_of(st.none(), st.sampled_from(CELLS), st.text(max_size=6)) for _ in range(3)]),
        min_size=1,
        max_size=40,
    )
)
def test_codes_made_once_per_distinct_cell_are_those_made_row_by_row(cells):
    """`_codes` works each distinct cell out once; every row gets what `code_cell` gives that row's cell."""
    names = ["reporter", "sex", "indicator"]  # codes in upper case, and one kept in lower case
    frame = pl.DataFrame(cells, schema=dict.fromkeys(names, pl.String), orient="row")
    once = frame.with_columns(_codes(frame, names))
    row_by_row = frame.with_columns(code_cell(name) for name in names)
    assert once.to_dicts() == row_by_row.to_dicts()


# ------------------------------------------------------ invisible characters
INVISIBLE = {
    "\u200b": "<U+200B>",  # zero-width space, which Khmer typing puts between words
    "\u200c": "<U+200C>",
    "\u200d": "<U+200D>",
    "\u2060": "<U+2060>",
    "\ufeff": "<U+FEFF>",  # a byte order mark left inside a file
}


@pytest.mark.parametrize("mark", list(INVISIBLE))
def test_invisible_characters_around_codes_periods_values_and_header_names_are_trimmed(mark):
    """Such a character around a code, a period, a whole number or a column's name is taken away as a space
    is; inside a comment it is kept as sent."""
    header = f"{mark}reporter,period{mark},indicator,sex,value,{mark} comment"
    clean = one(rows(f"NCCT,2019-S1,victims_rescued,F,12,{mark}a{mark}", header=header))
    assert (clean["reporter"], clean["period"], clean["sex"], clean["value"]) == ("NCCT", "2019-S1", "F", 12)
    marked = one(
        rows(
            f"{mark}ncct{mark},{mark} 2019-S1{mark},victims_rescued{mark},{mark}f,12{mark},{mark}a{mark}", header=header
        )
    )
    assert {name: marked[name] for name in ("reporter", "period", "indicator", "sex", "value", "value_given")} == {
        "reporter": "NCCT",
        "period": "2019-S1",
        "indicator": "victims_rescued",
        "sex": "F",
        "value": 12,
        "value_given": True,
    }
    assert marked["comment"] == f"{mark}a{mark}"
    assert clean["comment"] == f"{mark}a{mark}"
    khmer_digits = one(rows(f"NCCT,2019-S1,cases,{mark}១២{mark}", header=SHORT_HEADER))
    assert khmer_digits["value"] == 12


def test_a_header_name_with_a_zero_width_space_is_the_column_not_an_unknown_one(registry):
    text = "reporter\u200b,period,\u200bindicator,value\u2060\nNCCT,2019,cases,1\n"
    frame, findings = conform(raw_frame(text, registry), registry)
    assert findings == []
    assert frame.row(0, named=True)["reporter"] == "NCCT"


def test_a_double_byte_order_mark_is_read_as_one(registry):
    """A file saved twice, or copied into another, begins with two byte order marks: the second is no part of
    the first column's name."""
    text = "\ufeff\ufeff" + SHORT_HEADER + "\nNCCT,2019,cases,1\n"
    frame, findings = conform(raw_frame(text, registry), registry)
    assert findings == [] and frame.row(0, named=True)["reporter"] == "NCCT"


def test_a_message_shows_an_invisible_character_left_inside_a_text(registry):
    """A character that shows nothing, inside a figure, a code, a period or a column's name, is written as its
    number where a message quotes the text: a value that looks right is seen to hold one."""
    from tests.transforms.helpers import findings_of

    text = rows(
        "NC\u200bCT,2019-S1,cases,1",
        "NCCT,2019\u200b-S1,cases,2",
        "NCCT,2018-S1,cases,1\u200c2",
        header=SHORT_HEADER,
    )
    found = findings_of(text).sort("row_number")["message"].to_list()
    assert any("'NC<U+200B>CT' is not a known reporter code" in said for said in found), found
    assert any("'2019<U+200B>-S1' is not a period" in said for said in found), found
    assert any("'1<U+200C>2' is not a whole number" in said for said in found), found
    _, findings = conform(raw_frame(SHORT_HEADER + ",re\u200bmarks\nNCCT,2019,cases,1,x\n", registry), registry)
    assert [f.message for f in findings] == ["the column 're<U+200B>marks' is not in the contract and was ignored"]
