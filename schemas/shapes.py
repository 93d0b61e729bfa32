"""The shapes a run passes from step to step: a receipt, the decision on it, a backfill's rewind, the rows it loads.

Beside `schemas/findings.py` (the shape of a finding): plain data, no behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

# What can become of a receipt.
LOADED, REJECTED, DUPLICATE = "loaded", "rejected", "duplicate"


@dataclass(frozen=True)
class Receipt:
    """A file received from the inbox: its place in the order of receipts and when it was received."""

    sequence: int
    submission_id: str
    file_name: str
    format: str
    size_bytes: int
    modified_at: datetime
    received_at: datetime
    uploaded_by: str | None = None  # the portal account that sent it; None for a file put in the inbox folder
    uploaded_at: datetime | None = None
    uploaded_for: str | None = None  # the reporter of that account: the file's reporter, whatever its rows say


@dataclass(frozen=True)
class Decision:
    """What becomes of one receipt: `loaded`, `rejected` or `duplicate`."""

    receipt: Receipt
    status: str
    reporter: str | None
    set_aside: bool = (
        False  # rejected because ctip failed on it, not because of its content: received again, it is tried again
    )


@dataclass(frozen=True)
class Rewind:
    """What a backfill undoes before replaying: every effect from `since` on (of `reporter`, if given)."""

    since: datetime
    reporter: str | None
    sequences: tuple[int, ...]  # the receipts replayed


# The six dimensions that cut an observation, as the warehouse's columns are named and ordered (the
# registry's [dimensions]; a test holds the two together).
DIMENSIONS = ("sex", "age", "citizenship", "referral", "offence", "country")

# The columns of the rows a batch loads (one row per observation with a complete key), in this order.
LOAD_COLUMNS = [
    "submission_id",
    "row_number",
    "reporter",
    "area",
    "period",
    "period_type",
    "period_start",
    "period_end",
    "base_period",
    "indicator",
    *DIMENSIONS,
    "value",
    "status",
    "comment",
    "action",
]

# Which periods each submission names (kept so that a backfill finds what touches a range).
# figures: the rows of the submission that give a value for the period (a reporter-period is received only from
# a submission that holds a figure of it: an empty template names its period and holds none)
PERIODS_NAMED_SCHEMA = {
    "submission_id": pl.String,
    "period": pl.String,
    "period_start": pl.Date,
    "period_end": pl.Date,
    "figures": pl.Int64,
}


def empty_load_rows() -> pl.DataFrame:
    """No rows to load, in the load's columns."""
    return pl.DataFrame(schema={column: pl.String for column in LOAD_COLUMNS})


def empty_periods_named() -> pl.DataFrame:
    """No periods named, in the shape of `pipeline.submission_periods`."""
    return pl.DataFrame(schema=PERIODS_NAMED_SCHEMA)
