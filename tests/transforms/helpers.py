"""Building observation frames for tests from CSV text, through the real reader,
conformer and normaliser, the way a run prepares its submissions."""

from __future__ import annotations

import csv
import io
from datetime import date

import polars as pl

from schemas import load_registry
from schemas.registry import TOTAL
from schemas.shapes import DIMENSIONS
from transforms.normalise import conform, normalise
from transforms.read import read_submission
from transforms.validate import validate

JUDGED_ON = date(2026, 11, 28)

# The columns of the seed files, in their order (no action column).
HEADER = "reporter,period,indicator,area,sex,age,citizenship,referral,offence,country,value,status,comment"

FIELDS = load_registry().known_columns  # every column the contract knows, in the order files give them


def rows(*lines: str, header: str = HEADER) -> str:
    """CSV text: the header, then one line per row (the first line is row 2)."""
    return "\n".join([header, *lines]) + "\n"


def line(value: object = "", **fields: object) -> dict[str, str]:
    """One row: NCCT, 2019-S1, victims_rescued, KH, every dimension _T, status A, action I, unless given."""
    row = {
        "reporter": "NCCT",
        "period": "2019-S1",
        "indicator": "victims_rescued",
        "area": "KH",
        **dict.fromkeys(DIMENSIONS, TOTAL),
        "value": value,
        "status": "A",
        "action": "I",
        "comment": "",
    }
    unknown = set(fields) - set(FIELDS)
    assert not unknown, unknown
    row.update(fields)
    return {name: str(cell) for name, cell in row.items()}


def csv_of(*lines: dict[str, str]) -> str:
    """CSV text with every column of the contract, one line per `line()`; the first is row 2."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(lines)
    return buffer.getvalue()


def conformed_file(
    content: bytes, file_format: str, submission_id: str = "s1", judged_on: date = JUDGED_ON
) -> pl.DataFrame:
    """One file read and conformed, with its submission id and judging date, as a run prepares it."""
    registry = load_registry()
    raw = read_submission(content, file_format, registry.limits)
    assert raw.readable, raw.findings
    frame, findings = conform(raw.frame, registry, file_format=raw.format)
    assert frame is not None, findings
    return frame.with_columns(pl.lit(submission_id).alias("submission_id"), pl.lit(judged_on).alias("judged_on"))


def conformed(csv_text: str, submission_id: str = "s1", judged_on: date = JUDGED_ON) -> pl.DataFrame:
    return conformed_file(csv_text.encode("utf-8"), "csv", submission_id, judged_on)


def observations(csv_text: str, submission_id: str = "s1", judged_on: date = JUDGED_ON) -> pl.DataFrame:
    """The normalised observations of one CSV file."""
    return normalise(conformed(csv_text, submission_id, judged_on), load_registry())


def observations_from_file(
    content: bytes, file_format: str, submission_id: str = "s1", judged_on: date = JUDGED_ON
) -> pl.DataFrame:
    """The normalised observations of one file's bytes in any format."""
    return normalise(conformed_file(content, file_format, submission_id, judged_on), load_registry())


def observations_of(*files: tuple, judged_on: date = JUDGED_ON) -> pl.DataFrame:
    """The normalised observations of several CSV files judged together.

    Each file is (submission_id, csv_text) or (submission_id, csv_text, its own judging date).
    """
    frames = [conformed(file[1], file[0], file[2] if len(file) > 2 else judged_on) for file in files]
    return normalise(pl.concat(frames, how="vertical"), load_registry())


def findings_of(csv_text: str, submission_id: str = "s1", judged_on: date = JUDGED_ON) -> pl.DataFrame:
    """The validator's findings for one CSV file."""
    return validate(observations(csv_text, submission_id, judged_on), load_registry())


def of_rule(findings: pl.DataFrame, rule: str) -> list[dict]:
    """The findings of one rule, as dicts in row order."""
    return findings.filter(pl.col("rule") == rule).sort("row_number").to_dicts()


def errors(findings: pl.DataFrame) -> list[dict]:
    """The error findings, as dicts."""
    return findings.filter(pl.col("severity") == "error").to_dicts()
