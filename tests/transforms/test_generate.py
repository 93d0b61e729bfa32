"""The synthetic inbox of `ctip generate`: valid files pass, invalid ones fail with the rule the
manifest names, areas appear only in the years they exist, and a seed fixes every byte."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from flows.checking import check_files
from flows.cli import app
from flows.generate import MANIFEST, write_inbox
from flows.settings import Settings
from schemas import load_registry
from transforms.generate import (
    DEFECTS,
    Synthesiser,
    choose_invalid,
    generate,
    parse_years,
    plan,
)
from transforms.normalise import conform, normalise
from transforms.parts import parts_against_totals
from transforms.read import read_submission

REGISTRY = load_registry()
TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
AREAS = ["KH", "KH-3", "KH-12", "KH-25"]  # the national total, the province KH-25 was split from, the capital, KH-25

runner = CliRunner()


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> tuple[Path, dict]:
    """Two years of every reporter in four areas, one file in ten invalid."""
    out = tmp_path_factory.mktemp("generated")
    manifest = write_inbox(out, [2013, 2014], seed=3, invalid_share=0.1, areas=AREAS, today=TODAY)
    return out, manifest


def _observations(folder: Path, entries: list[dict]) -> pl.DataFrame:
    """The files read, conformed and normalised together, as a run prepares them (without the suites)."""
    frames = []
    for entry in entries:
        raw = read_submission((folder / entry["file"]).read_bytes(), entry["format"], REGISTRY.limits)
        assert raw.readable, (entry["file"], raw.findings)
        conformed, findings = conform(raw.frame, REGISTRY)
        assert conformed is not None and not findings, (entry["file"], findings)
        frames.append(
            conformed.with_columns(pl.lit(entry["file"]).alias("submission_id"), pl.lit(TODAY).alias("judged_on"))
        )
    return normalise(pl.concat(frames, how="vertical"), REGISTRY)


def test_the_manifest_describes_the_inbox(inbox):
    folder, manifest = inbox
    entries = manifest["submissions"]
    written = sorted(p.name for p in folder.iterdir() if p.name != MANIFEST)
    assert written == sorted(e["file"] for e in entries)
    assert manifest == json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    # 5 reporters x 24 months x 4 areas, less KH-25 in 2013
    assert manifest["files"] == len(entries) == 5 * 24 * 4 - 5 * 12
    assert manifest["invalid"] == round(0.1 * manifest["files"])
    assert set(manifest["defects"]) == set(DEFECTS)
    assert set(manifest["defects"]) <= set(load_registry().rules)  # each defect named by the rule it breaks
    assert set(manifest["formats"]) == {"csv", "json", "xlsx"}
    assert manifest["formats"]["csv"] > manifest["files"] / 2  # CSV mostly
    assert manifest["rows"] == sum(e["rows"] for e in entries)
    for entry in entries:
        if not entry["valid"]:
            assert DEFECTS[entry["defect"]] == entry["rule"] and entry["row_number"] >= 1


def test_valid_files_pass_and_invalid_ones_fail_with_the_rule_in_the_manifest(inbox, tmp_path):
    folder, manifest = inbox
    entries = manifest["submissions"]
    valid = [e for e in entries if e["valid"]]
    sample = (
        valid[::7] + [e for e in valid if e["format"] != "csv"][::5] + [e for e in valid if e["area"] == "KH-25"][:5]
    )
    sample = list({e["file"]: e for e in sample}.values())
    invalid = [e for e in entries if not e["valid"]]
    assert {e["format"] for e in sample} == {"csv", "json", "xlsx"}
    assert {e["reporter"] for e in sample} == set(REGISTRY.reporters)

    settings = Settings(inbox=folder, warehouse=tmp_path / "warehouse" / "ctip.duckdb")
    reports = check_files([folder / e["file"] for e in sample + invalid], settings, REGISTRY, NOW)

    assert_judged_as_listed(sample + invalid, reports)
    assert not (tmp_path / "warehouse").exists()  # validate writes nothing


def test_the_cli_validates_a_generated_file(inbox, tmp_path):
    folder, manifest = inbox
    valid = next(
        e["file"] for e in manifest["submissions"] if e["valid"] and e["reporter"] == "NCCT" and e["area"] == "KH"
    )
    invalid = next(e["file"] for e in manifest["submissions"] if not e["valid"])
    assert runner.invoke(app, ["validate", str(folder / valid)]).exit_code == 0  # no default warehouse: judged without
    assert runner.invoke(app, ["validate", str(folder / invalid)]).exit_code == 1


def test_parts_add_up_in_every_valid_file(inbox):
    """Complete sets equal their totals, incomplete ones stay within them (checked without the suites, on all files)."""
    folder, manifest = inbox
    valid = [e for e in manifest["submissions"] if e["valid"]]
    observations = _observations(folder, valid)
    assert observations.height == sum(e["rows"] for e in valid)
    checks = parts_against_totals(observations, REGISTRY)
    assert checks.height > 1000
    assert set(checks["dimension"].unique()) == set(REGISTRY.dimension_names)
    assert set(checks["parent_code"].unique()) >= {"_T", "FOREIGN", "Y_LT18"}
    complete, partial = checks.filter(pl.col("complete")), checks.filter(~pl.col("complete"))
    assert complete.height and partial.height
    assert complete.filter(pl.col("parts_sum") != pl.col("parent_value")).height == 0
    assert partial.filter(pl.col("parts_sum") > pl.col("parent_value")).height == 0


def test_the_national_figure_is_the_sum_of_the_provinces():
    synthesiser = Synthesiser(REGISTRY, seed=5)
    for year, month in [(2011, 1), (2013, 12), (2014, 1), (2022, 7)]:
        totals = synthesiser.province_totals("victims_rescued", year, month)
        assert ("KH-25" in totals) == (year >= 2014)
        assert synthesiser.total("victims_rescued", "KH", year, month) == sum(totals.values())
        assert 5 <= sum(totals.values()) <= 200  # around 38 a month in 2011, trending slowly


def test_kh_25_never_appears_before_2014(tmp_path):
    planned = plan(REGISTRY, parse_years("2011-2016"), seed=1)
    years_of_kh25 = {p.year for p in planned if p.area == "KH-25"}
    assert years_of_kh25 == {2014, 2015, 2016}
    assert {p.year for p in planned if p.area == "KH-3"} == set(range(2011, 2017))

    for item in generate(REGISTRY, [2013, 2014], seed=1, invalid_share=0.2, reporters=["NCCT", "MOI"]):
        areas = item.frame.filter(pl.col("area") == "KH-25")
        assert item.planned.area != "KH-25" or item.planned.year >= 2014
        assert areas.height == 0 or areas["period"].str.slice(0, 4).cast(pl.Int64).min() >= 2014


def test_only_ended_months_are_planned():
    planned = plan(REGISTRY, [2026], today=date(2026, 4, 15), areas=["KH"], reporters=["NCCT"])
    assert [p.period for p in planned] == ["2026-01", "2026-02", "2026-03"]


def test_the_same_seed_writes_the_same_bytes(tmp_path):
    def written(folder: Path, seed: int) -> dict[str, bytes]:
        write_inbox(folder, [2019], seed=seed, invalid_share=0.2, areas=["KH", "KH-25"], today=TODAY)
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}

    first, again, other = written(tmp_path / "a", 11), written(tmp_path / "b", 11), written(tmp_path / "c", 12)
    assert len(first) == 5 * 12 * 2 + 3 * 2 + 4 + 1 and first == again  # months, halves, quarters, manifest
    assert len(other) == len(first) and other != first  # another seed: other figures and formats


def test_the_same_submission_whatever_else_is_generated():
    """A submission depends on the seed and its own reporter, area and month, not on the selection."""
    alone = next(generate(REGISTRY, [2019], seed=4, invalid_share=0, areas=["KH-12"], reporters=["MOSVY"]))
    among = [
        g
        for g in generate(REGISTRY, [2018, 2019], seed=4, invalid_share=0)
        if (g.planned.reporter, g.planned.area, g.planned.period) == ("MOSVY", "KH-12", "2019-01")
    ]
    assert alone.planned == among[0].planned and alone.frame.equals(among[0].frame)


def test_the_invalid_share_is_controlled():
    chosen = choose_invalid(1000, 0.01, seed=9)
    assert len(chosen) == 10 and set(chosen.values()) == set(DEFECTS)
    assert choose_invalid(1000, 0.01, seed=9) == chosen
    assert choose_invalid(1000, 0, seed=9) == {}
    with pytest.raises(ValueError):
        choose_invalid(10, 1.5, seed=9)


def test_the_command(tmp_path):
    out = tmp_path / "inbox"
    result = runner.invoke(
        app,
        [
            "generate",
            "--out",
            str(out),
            "--years",
            "2019",
            "--provinces",
            "none",
            "--reporters",
            "ncct,MFAIC",
            "--seed",
            "2",
            "--invalid-share",
            "0.1",
        ],
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["files"] == 2 * 12 + 2 and manifest["reports"] == 2 and manifest["invalid"] == 2
    assert {e["area"] for e in manifest["submissions"]} == {"KH", None}  # None: the NCCT's half-year reports
    assert {e["reporter"] for e in manifest["submissions"]} == {"NCCT", "MFAIC"}
    assert "26 submissions (2 of them calendar reports" in result.output


@pytest.mark.parametrize(
    "arguments",
    [
        ["--years", "2022-2011"],
        ["--years", "twenty"],
        ["--provinces", "some"],
        ["--reporters", "MOH"],
        ["--invalid-share", "2"],
    ],
)
def test_the_command_refuses_wrong_usage(tmp_path, arguments):
    result = runner.invoke(app, ["generate", "--out", str(tmp_path / "inbox"), *arguments])
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "inbox").exists()


def test_a_generated_workbook_is_the_same_bytes_whenever_it_is_written():
    """The workbook is written by xlsxwriter, dated by its period (never by the clock), so it is the same bytes."""
    import io
    import zipfile

    from flows.generate import encode

    item = next(
        g
        for g in generate(REGISTRY, [2019], seed=2, invalid_share=0, reporters=["MOSVY"], areas=["KH"])
        if g.planned.format == "xlsx"
    )
    first = encode(item.frame, item.planned, REGISTRY)
    assert encode(item.frame, item.planned, REGISTRY) == first
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        core = archive.read("docProps/core.xml").decode()
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    month_after = f"{item.planned.year + item.planned.month // 12:04d}-{item.planned.month % 12 + 1:02d}-01T00:00:00Z"
    assert f'<dcterms:created xsi:type="dcterms:W3CDTF">{month_after}</dcterms:created>' in core
    assert f'<dcterms:modified xsi:type="dcterms:W3CDTF">{month_after}</dcterms:modified>' in core
    raw = read_submission(first, "xlsx", REGISTRY.limits)
    assert raw.readable and raw.frame.height == item.frame.height


def assert_judged_as_listed(entries: list[dict], reports: list[dict]) -> None:
    """Each file of the manifest judged as it says: a valid one without an error, an invalid one with the error of
    its defect's rule at the row it names, and no other."""
    for entry, report in zip(entries, reports, strict=True):
        errors = [f for f in report["findings"] if f["severity"] == "error"]
        if entry["valid"]:
            assert errors == [], (entry["file"], errors)
        else:
            assert {f["rule"] for f in errors} == {entry["rule"]}, (entry, errors)
            assert {f["row_number"] for f in errors} == {entry["row_number"]}, (entry, errors)
