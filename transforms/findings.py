"""Findings: every problem found in a submission, as rows of one frame."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from schemas.findings import FINDINGS_SCHEMA


@dataclass(frozen=True)
class Finding:
    """One problem found in a submission, before it is known which submission: `findings_frame` adds that."""

    rule: str
    severity: str  # error or warning
    message: str
    row_number: int | None = None  # the row the problem stands in; None for the whole file
    column_name: str | None = None


def findings_frame(submission_id: str, findings: list[Finding]) -> pl.DataFrame:
    """One submission's findings as a frame of the `audit.findings` shape."""
    return pl.DataFrame(
        [(submission_id, f.severity, f.rule, f.row_number, f.column_name, f.message) for f in findings],
        schema=FINDINGS_SCHEMA,
        orient="row",
    )


def empty_findings() -> pl.DataFrame:
    return pl.DataFrame(schema=FINDINGS_SCHEMA)


def with_errors(findings: pl.DataFrame) -> set[str]:
    """The submissions that have an error finding."""
    return set(findings.filter(pl.col("severity") == "error")["submission_id"].to_list())
