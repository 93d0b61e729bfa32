"""Scale benchmark at ten million observations: load, nothing new, one new file, backfill.

Run with `make bench` (not part of `make test`); CTIP_BENCH_OBSERVATIONS (default
10,000,000) sets the size. The inbox is written by `tests/bench/bulk.py`: large valid
files (1,494 observations each). Every job runs in a fresh Python process
(`tests/bench/test_bench.py`'s `Bench`), its peak memory its own:

- ctip's job without the orchestrator loading the whole inbox into a new warehouse;
- a run that finds nothing new, then one new file, each without and through the
  Prefect flow (the target compares the two runs);
- the backfill of the whole archive through the Prefect flow `ctip-backfill`
  (the memory target).
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import pytest

from schemas import load_registry
from tests.bench.bulk import rows_per_file, write_bulk_inbox
from tests.bench.test_bench import TIMEZONE, Bench, _list, _row

pytestmark = pytest.mark.bench

FIRST_YEAR = 2015
NEW_FILES_YEAR = 2025  # after every year of the inbox, before today
MEMORY_TARGET_MB = 2048
ONE_NEW_TARGET_RATIO = 2.0


def test_bench_ten_million(tmp_path: Path):
    registry = load_registry()
    observations = int(os.environ.get("CTIP_BENCH_OBSERVATIONS") or 10_000_000)
    files = math.ceil(observations / rows_per_file(registry))
    years_needed = math.ceil(files / (12 * 26 * 3)) + 1
    bench = Bench(tmp_path)
    load_before = list(os.getloadavg())
    common = {"timezone": TIMEZONE}
    inbox, warehouse = tmp_path / "inbox", tmp_path / "wh" / "ctip.duckdb"

    started = time.perf_counter()
    written = write_bulk_inbox(inbox, registry, list(range(FIRST_YEAR, FIRST_YEAR + years_needed)), limit=files)
    generated = time.perf_counter() - started
    assert written["files"] == files and written["rows"] >= observations, written
    megabytes = sum(p.stat().st_size for p in inbox.iterdir()) / 2**20

    load = bench.run("ctip", inbox=str(inbox), warehouse=str(warehouse), **common)
    assert load["loaded"] == files and load["rejected"] == 0, load
    again = bench.repeated(3, "ctip", inbox=str(inbox), warehouse=str(warehouse), **common)
    assert again["loaded"] == 0 and again["unchanged"] == files, again
    bench.run("prefect-noop")  # first start in a new PREFECT_HOME builds its database: not measured
    prefect_again = bench.repeated(3, "prefect-ctip", inbox=str(inbox), warehouse=str(warehouse), **common)
    assert prefect_again["loaded"] == 0 and prefect_again["unchanged"] == files, prefect_again

    assert FIRST_YEAR + years_needed <= NEW_FILES_YEAR, "more observations than the years before NEW_FILES_YEAR hold"

    # one new file each time: a month of one reporter and area, after the inbox's last
    def add_one(offset: int) -> None:
        extra = tmp_path / "extra"
        write_bulk_inbox(extra, registry, [NEW_FILES_YEAR], limit=offset + 1)
        newest = max(extra.iterdir(), key=lambda p: p.stat().st_mtime)  # the file written last
        (inbox / newest.name).write_bytes(newest.read_bytes())

    rows_new = rows_per_file(registry)
    add_one(0)
    one_new = bench.run("ctip", inbox=str(inbox), warehouse=str(warehouse), **common)
    assert one_new["loaded"] == 1 and one_new["unchanged"] == files, one_new
    add_one(1)
    prefect_one_new = bench.run("prefect-ctip", inbox=str(inbox), warehouse=str(warehouse), **common)
    assert prefect_one_new["loaded"] == 1 and prefect_one_new["unchanged"] == files + 1, prefect_one_new

    backfill = bench.run("prefect-backfill", warehouse=str(warehouse), **common)
    assert backfill["loaded"] == files + 2 and backfill["rejected"] == 0, backfill

    ratio_job = one_new["seconds"] / again["seconds"]
    ratio_process = one_new["process"] / again["process"]
    ratio_prefect = prefect_one_new["process"] / prefect_again["process"]
    header = f"{'job':<46} {'files':>6} {'rows':>8} {'job s':>9} {'process s':>9} {'rows/s':>10} {'peak MB':>8}"
    total_rows = written["rows"]
    lines = [
        "",
        f"ctip bench at {total_rows:,} observations: {os.cpu_count()} CPUs, {files:,} files of "
        f"{rows_per_file(registry):,} rows ({megabytes:,.0f} MB), written in {generated:.1f} s",
        header,
        "-" * len(header),
        _row("ctip run_once, new warehouse", files, total_rows, load["seconds"], load["process"], load["peak_mb"], 46),
        _row("ctip run_once, nothing new", files, 0, again["seconds"], again["process"], again["peak_mb"], 46),
        _row(
            "ctip run_once, one new file", 1, rows_new, one_new["seconds"], one_new["process"], one_new["peak_mb"], 46
        ),
        _row(
            "Prefect flow ctip-nightly, nothing new",
            files,
            0,
            prefect_again["seconds"],
            prefect_again["process"],
            prefect_again["peak_mb"],
            46,
        ),
        _row(
            "Prefect flow ctip-nightly, one new file",
            1,
            rows_new,
            prefect_one_new["seconds"],
            prefect_one_new["process"],
            prefect_one_new["peak_mb"],
            46,
        ),
        _row(
            "Prefect flow ctip-backfill, the whole archive",
            files + 2,
            total_rows + 2 * rows_new,
            backfill["seconds"],
            backfill["process"],
            backfill["peak_mb"],
            46,
        ),
        "",
        f"repeated runs, process s: nothing new {_list(again['all_process'])}; "
        f"through Prefect {_list(prefect_again['all_process'])}",
        f"target: one new file at most {ONE_NEW_TARGET_RATIO:.0f}x the nothing-new run: without the orchestrator "
        f"job {ratio_job:.1f}x, process {ratio_process:.1f}x; through the Prefect flow (process) {ratio_prefect:.2f}x -> "
        + ("met" if ratio_prefect <= ONE_NEW_TARGET_RATIO else "missed")
        + " for the flow's run",
        f"target: peak memory of the backfill under {MEMORY_TARGET_MB:,} MB: {backfill['peak_mb']:,.0f} MB -> "
        + ("met" if backfill["peak_mb"] < MEMORY_TARGET_MB else "missed")
        + f"; the load without the orchestrator peaked at {load['peak_mb']:,.0f} MB",
        f"load average at the start {_list(load_before)}, at the end {_list(list(os.getloadavg()))} (1, 5, 15 minutes)",
    ]
    print("\n".join(lines))
