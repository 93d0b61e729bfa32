"""The cap of findings per rule and file: a million bad rows cost no more to report than a thousand."""

from __future__ import annotations

import polars as pl

from schemas.findings import FINDINGS_SCHEMA, cap_findings, rest_finding

CAP = 3


def _findings(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=FINDINGS_SCHEMA, orient="row")


def _bad(submission: str, rule: str, rows: range) -> list[tuple]:
    return [(submission, "error", rule, row, "value", f"row {row}: bad") for row in rows]


def test_past_the_cap_one_finding_counts_the_rest_per_rule_and_file():
    found = _findings(
        _bad("a", "bad_value", range(2, 12))
        + _bad("a", "unknown_code", range(2, 4))
        + _bad("b", "bad_value", range(2, 6))
    )
    capped = cap_findings(found, CAP)
    by_key = capped.group_by("submission_id", "rule").agg(pl.col("row_number"), pl.col("message").last())
    got = {(r["submission_id"], r["rule"]): (r["row_number"], r["message"]) for r in by_key.iter_rows(named=True)}
    assert got[("a", "bad_value")][0] == [2, 3, 4, None]
    assert got[("a", "bad_value")][1].startswith("and 7 more findings of the rule bad_value")
    assert got[("a", "unknown_code")] == ([2, 3], "row 3: bad")
    assert got[("b", "bad_value")][0] == [2, 3, 4, None] and "and 1 more" in got[("b", "bad_value")][1]


def test_a_count_from_an_earlier_cap_is_added_into_the_new_one():
    earlier = _bad("a", "bad_value", range(2, 5)) + [rest_finding("a", "error", "bad_value", 1_000, CAP)]
    capped = cap_findings(_findings(earlier + _bad("a", "bad_value", range(100, 102))), CAP)
    assert capped["row_number"].to_list() == [2, 3, 4, None]
    assert capped["message"].to_list()[-1].startswith("and 1,002 more findings of the rule bad_value")


def test_within_the_cap_nothing_changes():
    found = _findings(_bad("a", "bad_value", range(2, 5)))
    assert cap_findings(found, CAP).equals(found)
