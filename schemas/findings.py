"""The shape of a finding, as `audit.findings` holds it (without the file name, added when stored)."""

from __future__ import annotations

import re

import polars as pl

from schemas.texts import message, message_templates

FINDINGS_SCHEMA = {
    "submission_id": pl.String,
    "severity": pl.String,
    "rule": pl.String,
    "row_number": pl.Int64,
    "column_name": pl.String,
    "message": pl.String,
}


# The finding that stands for the findings of one rule in one file past the cap: its message is
# `common.more_findings` of texts.toml, and its count is read back from it in any language.
def _rest_pattern() -> str:
    """The start of the counting message in each language, up to its count, as one regular expression."""
    starts = []
    for template in message_templates()["common"]["more_findings"].values():
        before = template.split("{rest:,}")[0]
        after = template.split("{rest:,}")[1].split("{rule}")[0]
        starts.append(re.escape(before) + "([0-9,]+)" + re.escape(after))
    return "^(?:" + "|".join(starts) + ")"


def _rest_count() -> pl.Expr:
    """The count a finding that counts a rest past the cap gives (null for any other finding)."""
    languages = len(message_templates()["common"]["more_findings"])  # one group of the pattern each
    counts = [pl.col("message").str.extract(_rest_pattern(), group) for group in range(1, languages + 1)]
    return pl.coalesce(counts).str.replace_all(",", "").cast(pl.Int64)


def where(indicator: str, period: str, area: str, cut: list[str], lang: str = "en") -> str:
    """Which figure a message names: its indicator, period and area, and the codes of its cut that are not the
    total (`cut`, each "dimension=code"), as every rule's messages give them."""
    named = {"indicator": indicator, "period": period, "area": area}
    if cut:
        return message("common", "where_cut", lang, cut=", ".join(cut), **named)
    return message("common", "where", lang, **named)


def in_other_words(kept: list[dict], again: list[dict]) -> list[dict]:
    """The findings `kept`, each with the message of the same finding (rule, row and column) among `again`, found
    again in another language; a finding not found again keeps its own (a warning judged against the warehouse
    as it stood then, say)."""
    waiting: dict[tuple, list[str]] = {}
    for finding in again:
        key = (finding["rule"], finding["row_number"], finding["column_name"])
        waiting.setdefault(key, []).append(finding["message"])
    worded = []
    for finding in kept:
        messages = waiting.get((finding["rule"], finding["row_number"], finding["column_name"]))
        worded.append({**finding, "message": messages.pop(0)} if messages else finding)
    return worded


def stands_for() -> pl.Expr:
    """How many findings each finding stands for: the count of one that counts a rest past the cap, else 1
    (a file's errors and warnings are counted with it, whatever the cap lists)."""
    return _rest_count().fill_null(1)


def count_of(findings: list[dict]) -> int:
    """The findings these stand for (see `stands_for`)."""
    if not findings:
        return 0
    return pl.DataFrame({"message": [f["message"] for f in findings]}, schema={"message": pl.String}).select(
        stands_for().sum()
    )[0, 0]


def rest_finding(submission_id: str, severity: str, rule: str, rest: int, cap: int, lang: str = "en") -> tuple:
    """The one finding that counts the `rest` findings of `rule` in a file left out past `cap`."""
    return (
        submission_id,
        severity,
        rule,
        None,
        None,
        message("common", "more_findings", lang, rest=rest, rule=rule, cap=cap),
    )


def cap_findings(findings: pl.DataFrame, cap: int, lang: str = "en") -> pl.DataFrame:
    """At most `cap` findings of one rule in one file, in their order, and one more that counts the rest,
    so that a file of a million bad rows costs no more to keep and show than one of a thousand.

    Findings that already count a rest (from an earlier cap) are added into the new count.
    """
    if findings.height <= cap:
        return findings
    marked = findings.with_columns(
        _rest_count().alias("_rest"), pl.int_range(pl.len()).over("submission_id", "rule").alias("_nth")
    )
    plain = marked.filter(pl.col("_rest").is_null())
    plain = plain.with_columns(pl.int_range(pl.len()).over("submission_id", "rule").alias("_nth"))
    over = pl.concat(
        [
            plain.filter(pl.col("_nth") >= cap).select(
                "submission_id", "rule", "severity", pl.lit(1, pl.Int64).alias("n")
            ),
            marked.filter(pl.col("_rest").is_not_null()).select(
                "submission_id", "rule", "severity", pl.col("_rest").alias("n")
            ),
        ]
    )
    if over.height == 0:
        return findings
    rests = over.group_by("submission_id", "rule", maintain_order=True).agg(
        pl.col("severity").first(), pl.col("n").sum()
    )
    counts = pl.DataFrame(
        [
            rest_finding(row["submission_id"], row["severity"], row["rule"], row["n"], cap, lang)
            for row in rests.iter_rows(named=True)
        ],
        schema=findings.schema,
        orient="row",
    )
    kept = plain.filter(pl.col("_nth") < cap).drop("_nth", "_rest")
    return pl.concat([kept, counts], how="vertical")
