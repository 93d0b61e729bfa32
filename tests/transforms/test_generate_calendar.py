"""The calendar reports of `ctip generate`: besides its monthly files, a reporter whose calendar asks for
quarters or half-years sends one report per such period (every area, each figure the sum of its months),
from its calendar's first period on, valid or with one known defect like any other file."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl

from flows.checking import check_files
from flows.generate import arrival, is_late, write_inbox
from flows.settings import Settings
from schemas import load_registry
from tests.transforms.test_generate import assert_judged_as_listed
from transforms.generate import DEFECTS, Planned, Synthesiser, plan
from transforms.normalise import conform, normalise
from transforms.parts import parts_against_totals
from transforms.read import read_submission

REGISTRY = load_registry()
TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
AREAS = ["KH", "KH-12", "KH-25"]
KEY = ["reporter", "indicator", "area", *REGISTRY.dimension_names]


def _reports(planned: list[Planned]) -> list[Planned]:
    return [p for p in planned if p.is_report]


def test_each_reporter_reports_the_periods_of_its_calendar_from_its_first_period():
    planned = plan(REGISTRY, [2018, 2019], seed=1, areas=AREAS, today=TODAY)
    reports = [(p.reporter, p.period, p.period_type) for p in _reports(planned)]
    assert sorted(reports) == sorted(
        [(code, f"2019-S{h}", "half") for code in ("NCCT", "MOI", "MOJ") for h in (1, 2)]
        + [("MOSVY", f"2019-Q{q}", "quarter") for q in (1, 2, 3, 4)]
    )  # none in 2018, before the calendar's first period; none for MFAIC, whose calendar is monthly
    half = next(p for p in planned if p.reporter == "MOJ" and p.period == "2019-S1")
    assert (half.area, half.areas, half.months) == (None, tuple(AREAS), range(1, 7))
    assert half.file_name == f"moj_2019-S1.{half.format}"
    # sent after the reporter's files of the period's last month
    at = planned.index(half)
    assert [(p.reporter, p.period) for p in planned[at - 3 : at]] == [("MOJ", "2019-06")] * 3
    assert len(planned) - len(reports) == 5 * 12 * 2 * 3  # the monthly files as before


def test_only_ended_periods_are_reported():
    planned = plan(REGISTRY, [2019], areas=["KH"], reporters=["NCCT", "MOSVY"], today=date(2019, 7, 1))
    assert [p.period for p in _reports(planned)] == ["2019-Q1", "2019-S1", "2019-Q2"]
    planned = plan(REGISTRY, [2019], areas=["KH"], reporters=["NCCT", "MOSVY"], today=date(2019, 6, 30))
    assert [p.period for p in _reports(planned)] == ["2019-Q1"]


def test_a_report_is_the_sum_of_its_months_area_by_area():
    synthesiser = Synthesiser(REGISTRY, seed=8)
    planned = plan(REGISTRY, [2019], seed=8, areas=AREAS, reporters=["NCCT", "MOI", "MOSVY"])
    for report in _reports(planned):
        frame = synthesiser.submission(report)
        assert set(frame["period"]) == {report.period} and frame["comment"].is_null().all()
        assert list(dict.fromkeys(frame["area"])) == list(report.areas)  # one area after another
        months = pl.concat(
            [
                synthesiser.submission(Planned(report.reporter, area, 2019, month, "csv"))
                for area in report.areas
                for month in report.months
            ]
        )
        summed = months.group_by(KEY).agg(pl.col("value").cast(pl.Int64).sum())
        held = frame.select(*KEY, pl.col("value").cast(pl.Int64))
        assert held.height == summed.height == frame.select(KEY).unique().height
        assert held.sort(KEY).equals(summed.sort(KEY)), report


def test_reports_take_their_share_of_defects_and_fail_with_the_rule_the_manifest_names(tmp_path):
    folder = tmp_path / "inbox"
    manifest = write_inbox(folder, [2019], seed=5, invalid_share=0.6, areas=AREAS, today=TODAY)
    reports = [e for e in manifest["submissions"] if e["area"] is None]
    assert manifest["reports"] == len(reports) == 10
    assert sum(not e["valid"] for e in reports) == 6  # the share of the reports themselves
    assert {e["defect"] for e in reports if not e["valid"]} == set(DEFECTS)
    assert all(e["areas"] == AREAS for e in reports)
    settings = Settings(inbox=folder, warehouse=tmp_path / "warehouse" / "ctip.duckdb")
    checked = check_files([folder / e["file"] for e in reports], settings, REGISTRY, NOW)
    assert_judged_as_listed(reports, checked)


def test_parts_add_up_in_every_report(tmp_path):
    """Complete sets equal their totals, incomplete ones stay within them, in every area of every report."""
    folder = tmp_path / "inbox"
    manifest = write_inbox(folder, [2019], seed=6, invalid_share=0, areas=AREAS, today=TODAY)
    frames = []
    for entry in (e for e in manifest["submissions"] if e["area"] is None):
        raw = read_submission((folder / entry["file"]).read_bytes(), entry["format"], REGISTRY.limits)
        conformed, findings = conform(raw.frame, REGISTRY)
        assert conformed is not None and not findings, (entry["file"], findings)
        frames.append(
            conformed.with_columns(pl.lit(entry["file"]).alias("submission_id"), pl.lit(TODAY).alias("judged_on"))
        )
    observations = normalise(pl.concat(frames, how="vertical"), REGISTRY)
    assert set(observations["area"]) == set(AREAS)
    checks = parts_against_totals(observations, REGISTRY)
    complete, partial = checks.filter(pl.col("complete")), checks.filter(~pl.col("complete"))
    assert complete.height > 100 and partial.height
    assert complete.filter(pl.col("parts_sum") != pl.col("parent_value")).height == 0
    assert partial.filter(pl.col("parts_sum") > pl.col("parent_value")).height == 0


def test_a_report_arrives_on_the_tenth_after_its_period_and_late_when_a_month_of_it_is_named():
    half = next(p for p in plan(REGISTRY, [2019], areas=["KH"], reporters=["NCCT"]) if p.is_report)
    assert datetime.fromtimestamp(arrival(half, 0), UTC) == datetime(2019, 7, 10, 9, 0, tzinfo=UTC)
    for named in ({("NCCT", None)}, {("NCCT", "2019-03")}, {("NCCT", "2019-S1")}, {("NCCT", "2019")}):
        assert is_late(half, named), named
    for named in ({("NCCT", "2019-07")}, {("NCCT", "2019-Q3")}, {("MOI", "2019-03")}, {("NCCT", "2018")}):
        assert not is_late(half, named), named
    late = datetime.fromtimestamp(arrival(half, 0, REGISTRY, 30), UTC)
    assert late == datetime(2019, 8, 29, 9, 0, tzinfo=UTC)  # due on 30 July, 30 days after


def test_the_same_seed_writes_the_same_reports(tmp_path):
    def written(folder, seed):
        write_inbox(
            folder, [2019], seed=seed, invalid_share=0.3, areas=["KH", "KH-1"], reporters=["MOSVY"], today=TODAY
        )
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if "-Q" in p.name}

    first = written(tmp_path / "a", 3)
    assert len(first) == 4 and first == written(tmp_path / "b", 3)
    assert first != written(tmp_path / "c", 4)
