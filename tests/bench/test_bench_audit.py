"""Benchmark of the disclosure audit: the public export of a two-year, all-province, all-reporter warehouse.

Run with `make bench` (not part of `make test`). A generated inbox (2018-2019, every province, every
reporter, no invalid files) is loaded, then the comparison table is protected as `ctip export --public`
does it (primary and secondary suppression, then the interval audit until every suppressed count
passes) at K = 10: first a typical half-year release (the figures of 2019-S1 of one reporter), then 2019-S1 of
every reporter, then the whole table.
Printed: rows, figures, suppressed counts (primary C, secondary D), how many intervals are exact LP bounds,
wall and processor seconds. Asserted: every suppressed count passes, and the table is not trivially small.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from typer.testing import CliRunner

from flows import steps
from flows.cli import app
from flows.export import _read_comparison, protected_table
from schemas import load_registry
from transforms.disclosure import PRIMARY, SECONDARY
from transforms.periods import parse_period

pytestmark = pytest.mark.bench

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
HALF = (date(2019, 1, 1), date(2019, 7, 1))


def _in_half(period: str) -> bool:
    span = parse_period(period)
    return span is not None and span.start >= HALF[0] and span.end <= HALF[1]


def _measure(label: str, comparison: pl.DataFrame, registry, min_cell: int, audit_file) -> None:
    """`protected_table` as `ctip export --public` calls it: protection, the audit until it passes, the office's
    audit written."""
    print(f"{label}, K = {min_cell}: protecting {comparison.height:,} rows...", flush=True)
    started, processor = time.perf_counter(), time.process_time()
    table = protected_table(comparison, registry, min_cell, audit_file).table
    seconds, cpu = time.perf_counter() - started, time.process_time() - processor
    audit = pl.read_csv(audit_file)
    figures = comparison.height + comparison["base_value"].is_not_null().sum()
    print(
        f"{label}, K = {min_cell}: {comparison.height:,} rows ({figures:,} figures with the base values); "
        f"suppressed {(audit['status'] == PRIMARY).sum():,} C and {(audit['status'] == SECONDARY).sum():,} D; "
        f"{audit['exact'].sum():,} intervals exact LP bounds; {seconds:.1f} s wall, {cpu:.1f} s processor",
        flush=True,
    )
    assert table.height == comparison.height
    assert audit.filter(pl.col("status") == PRIMARY)["protected"].all()


def test_bench_disclosure_audit(tmp_path):
    registry = load_registry()
    inbox, warehouse = tmp_path / "inbox", tmp_path / "warehouse" / "ctip.duckdb"
    made = CliRunner().invoke(
        app,
        [
            "generate",
            "--out",
            str(inbox),
            "--years",
            "2018-2019",
            "--provinces",
            "all",
            "--invalid-share",
            "0",
            "--seed",
            "2026",
        ],
    )
    assert made.exit_code == 0, made.output
    summary = steps.run_once(inbox, warehouse, registry, ZoneInfo("Asia/Phnom_Penh"), NOW)
    assert summary.count("loaded") == 3120 + 10  # the monthly files, then the half-year and quarter reports of 2019
    comparison, _, _ = _read_comparison(warehouse)
    assert comparison.height > 40_000
    print()
    half = comparison.filter(pl.col("period").map_elements(_in_half, return_dtype=pl.Boolean))
    audit_file = tmp_path / "disclosure_audit.csv"
    ncct = half.filter(pl.col("reporter") == "NCCT")
    _measure("half-year 2019-S1, one reporter (NCCT), every province", ncct, registry, 10, audit_file)
    _measure("half-year 2019-S1, every province and reporter", half, registry, 10, audit_file)
    _measure("two years, every province and reporter", comparison, registry, 10, audit_file)
