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
