"""Peak memory of the largest file the limits admit, of each kind, valid and invalid.

Run with `make bench` (not part of `make test`). For CSV and JSON the largest admitted
file has `max_rows` rows or `max_file_bytes` bytes, whichever comes first; for XLSX,
`max_xlsx_cells` cells. The invalid file is the same with a bad value on every row, so
that every row is a finding (at most `max_findings_per_rule` of them are listed).
CTIP_BENCH_ADMITTED_SHARE (default 1) scales every file, for a quick trial.

Each file is the only one of a fresh inbox, run through the nightly job without the
orchestrator (`flows.steps.run_once`) in a fresh Python process, so that its peak memory
(ru_maxrss) is its own. The target, under 2 GB, is printed beside each figure, not
asserted (figures depend on the machine); the outcome of each file is asserted, so the
benchmark cannot silently measure nothing.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import polars as pl
import pytest

from schemas import load_registry
from tests.bench.bulk import INDICATOR

pytestmark = pytest.mark.bench

PROJECT = Path(__file__).resolve().parents[2]
TARGET_BYTES = 2 * 1024**3
COLUMNS = ["reporter", "area", "period", "indicator", "age", "sex", "country", "value"]

CHILD = r"""
import json, resource, sys, time
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo
started = time.perf_counter()
from flows import steps
from schemas import load_registry
summary = steps.run_once(Path(sys.argv[1]), Path(sys.argv[2]), load_registry(), ZoneInfo("Asia/Phnom_Penh"),
                         datetime(2026, 11, 28, tzinfo=timezone.utc))
print(json.dumps({
    "seconds": time.perf_counter() - started,
    "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "statuses": [s["status"] for s in summary.submissions],
    "findings": len(summary.findings),
}))
"""


def _share() -> float:
    return float(os.environ.get("CTIP_BENCH_ADMITTED_SHARE") or 1)


def _keys(rows: int) -> pl.DataFrame:
    """`rows` distinct keys of MOSVY's victims repatriated: leaves only, so no parts to add up."""
    registry = load_registry()
    dims = registry.dimensions
    cells = (
        pl.DataFrame({"age": list(dims["age"].leaves)})
        .join(pl.DataFrame({"sex": list(dims["sex"].leaves)}), how="cross")
        .join(pl.DataFrame({"country": list(dims["country"].leaves)}), how="cross")
    )
    areas = [a.code for a in registry.areas.values() if not a.first_year and not a.last_year]
    periods = [f"{year}-{month:02d}" for year in range(2000, 2026) for month in range(1, 13)]
    places = pl.DataFrame({"area": areas}).join(pl.DataFrame({"period": periods}), how="cross")
    needed = -(-rows // cells.height)
    assert needed <= places.height, "more rows than distinct keys"
    return (
        places.head(needed)
        .join(cells, how="cross")
        .head(rows)
        .with_columns(pl.lit("MOSVY").alias("reporter"), pl.lit(INDICATOR).alias("indicator"))
    )


def _frame(rows: int, valid: bool) -> pl.DataFrame:
    frame = _keys(rows)
    value = (pl.int_range(pl.len()) % 97).cast(pl.String) if valid else pl.lit("x")
    return frame.with_columns(value.alias("value")).select(COLUMNS)


def _largest_rows(limits, bytes_per_row: int) -> int:
    return int(min(limits.max_rows, limits.max_file_bytes // bytes_per_row) * _share())


def write_csv(path: Path, valid: bool) -> int:
    limits = load_registry().limits
    sample = _frame(1000, valid).write_csv().encode()
    rows = _largest_rows(limits, -(-len(sample) // 1000) + 1)
    _frame(rows, valid).write_csv(path)
    return rows


def write_json(path: Path, valid: bool) -> int:
    limits = load_registry().limits
    frame = _frame(1000, valid)
    sample = frame.write_json().encode()
    rows = _largest_rows(limits, -(-len(sample) // 1000) + 1)
    frame = _frame(rows, valid)
    if valid:
        frame = frame.with_columns(pl.col("value").cast(pl.Int64))  # numbers, as most senders write them
    with path.open("wb") as handle:
        handle.write(b'{"reporter": "MOSVY", "observations": ')
        handle.write(frame.drop("reporter").write_json().encode())
        handle.write(b"}\n")
    return rows


def write_xlsx(path: Path, valid: bool) -> int:
    """A workbook of inline texts and numbers, its sheet streamed (openpyxl would take minutes)."""
    from tests.files.bad.make_bad_files import MAIN_NS, SHEET_PATH, _column_letters, _package, _zip_info

    limits = load_registry().limits
    rows = int(min(limits.max_rows, limits.max_xlsx_cells // len(COLUMNS) - 1) * _share())
    frame = _frame(rows, valid)
    letters = [_column_letters(i) for i in range(len(COLUMNS))]

    def cell(reference: str, value: str, number: bool) -> str:
        if number:
            return f'<c r="{reference}"><v>{value}</v></c>'
        return f'<c r="{reference}" t="inlineStr"><is><t>{value}</t></is></c>'

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        _package(archive, "data")
        with archive.open(_zip_info(SHEET_PATH), "w", force_zip64=True) as entry:
            entry.write(
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN_NS}"><sheetData>'.encode()
            )
            header = "".join(cell(f"{letter}1", name, False) for letter, name in zip(letters, COLUMNS, strict=False))
            entry.write(f'<row r="1">{header}</row>'.encode())
            buffer = io.StringIO()
            for number, values in enumerate(frame.iter_rows(), start=2):
                cells = "".join(
                    cell(f"{letter}{number}", value, valid and name == "value")
                    for letter, name, value in zip(letters, COLUMNS, values, strict=False)
                )
                buffer.write(f'<row r="{number}">{cells}</row>')
                if number % 20_000 == 0:
                    entry.write(buffer.getvalue().encode())
                    buffer = io.StringIO()
            entry.write(buffer.getvalue().encode())
            entry.write(b"</sheetData></worksheet>")
    return rows


WRITERS = {"csv": write_csv, "json": write_json, "xlsx": write_xlsx}


@pytest.mark.parametrize("valid", [True, False], ids=["valid", "invalid"])
@pytest.mark.parametrize("file_format", list(WRITERS))
def test_peak_memory_of_the_largest_admitted_file(tmp_path, file_format, valid):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    path = inbox / f"largest.{file_format}"
    rows = WRITERS[file_format](path, valid)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(inbox), str(tmp_path / "w" / "ctip.duckdb")],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    assert child.returncode == 0, child.stderr[-3000:]
    outcome = json.loads(child.stdout.strip().splitlines()[-1])
    assert outcome["statuses"] == ["loaded" if valid else "rejected"]
    peak = outcome["peak_bytes"]
    print(
        f"\nlargest admitted {file_format.upper()} ({'valid' if valid else 'invalid'}): {rows:,} rows, "
        f"{path.stat().st_size / 1024**2:,.1f} MiB: {outcome['seconds']:.1f} s, peak {peak / 1024**3:.2f} GB "
        f"(target under {TARGET_BYTES / 1024**3:.0f} GB: {'met' if peak < TARGET_BYTES else 'NOT met'}), "
        f"{outcome['findings']:,} findings"
    )
