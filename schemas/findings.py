"""The shape of a finding, as `audit.findings` holds it (without the file name, added when stored)."""

from __future__ import annotations

import polars as pl

FINDINGS_SCHEMA = {
    "submission_id": pl.String,
    "severity": pl.String,
    "rule": pl.String,
    "row_number": pl.Int64,
    "column_name": pl.String,
    "message": pl.String,
}

# The finding that stands for the findings of one rule in one file past the cap: written and read only here.
_REST = (
    "and {rest:,} more findings of the rule {rule}, not listed one by one (at most {cap:,} of one rule in one file are)"
)
_REST_PATTERN = r"^and ([0-9,]+) more findings of the rule "


def rest_finding(submission_id: str, severity: str, rule: str, rest: int, cap: int) -> tuple:
    """The one finding that counts the `rest` findings of `rule` in a file left out past `cap`."""
    return (submission_id, severity, rule, None, None, _REST.format(rest=rest, rule=rule, cap=cap))


def cap_findings(findings: pl.DataFrame, cap: int) -> pl.DataFrame:
    """At most `cap` findings of one rule in one file, in their order, and one more that counts the rest,
    so that a file of a million bad rows costs no more to keep and show than one of a thousand.

    Findings that already count a rest (from an earlier cap) are added into the new count.
    """
    if findings.height <= cap:
        return findings
    counted = pl.col("message").str.extract(_REST_PATTERN).str.replace_all(",", "").cast(pl.Int64)
    marked = findings.with_columns(
        counted.alias("_rest"), pl.int_range(pl.len()).over("submission_id", "rule").alias("_nth")
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
            rest_finding(row["submission_id"], row["severity"], row["rule"], row["n"], cap)
            for row in rests.iter_rows(named=True)
        ],
        schema=findings.schema,
        orient="row",
    )
    kept = plain.filter(pl.col("_nth") < cap).drop("_nth", "_rest")
    return pl.concat([kept, counts], how="vertical")
