"""Building observation frames for tests from CSV text, through the real reader,
conformer and normaliser, the way a run prepares a submission."""

from __future__ import annotations

from datetime import date

import polars as pl

from schemas import load_registry
from transforms.normalise import conform, normalise
from transforms.read import read_submission
from transforms.validate import validate

JUDGED_ON = date(2026, 11, 28)

HEADER = "reporter,period,indicator,area,sex,age,citizenship,referral,offence,country,value,status,comment"


def conformed(csv_text: str, submission_id: str = "s1", judged_on: date = JUDGED_ON) -> pl.DataFrame:
    """The conformed frame of one CSV file with its submission id and judging date."""
    registry = load_registry()
    raw = read_submission(csv_text.encode("utf-8"), "csv", registry.limits)
    assert raw.readable, raw.findings
    frame, findings = conform(raw.frame, registry)
    assert frame is not None, findings
    return frame.with_columns(pl.lit(submission_id).alias("submission_id"), pl.lit(judged_on).alias("judged_on"))


def observations(csv_text: str, submission_id: str = "s1", judged_on: date = JUDGED_ON) -> pl.DataFrame:
    """The normalised observations of one CSV file."""
    return normalise(conformed(csv_text, submission_id, judged_on), load_registry())


def observations_of(*files: tuple[str, str], judged_on: date = JUDGED_ON) -> pl.DataFrame:
    """The normalised observations of several CSV files, given as (submission_id, csv_text)."""
    frames = [conformed(text, submission_id, judged_on) for submission_id, text in files]
    return normalise(pl.concat(frames, how="vertical"), load_registry())


def findings_of(csv_text: str, submission_id: str = "s1", judged_on: date = JUDGED_ON) -> pl.DataFrame:
    """The validator's findings for one CSV file."""
    return validate(observations(csv_text, submission_id, judged_on), load_registry())


def rows(*lines: str, header: str = HEADER) -> str:
    """CSV text: the header, then one line per row."""
    return "\n".join([header, *lines]) + "\n"


def of_rule(findings: pl.DataFrame, rule: str) -> list[dict]:
    """The findings of one rule, as dicts."""
    return findings.filter(pl.col("rule") == rule).to_dicts()


def errors(findings: pl.DataFrame) -> list[dict]:
    return findings.filter(pl.col("severity") == "error").to_dicts()
