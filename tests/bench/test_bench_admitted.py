"""Time and peak memory of the largest file the limits admit, of each kind, valid and invalid,
against DuckDB alone reading and grouping the same file.

Run with `make bench` (not part of `make test`). For CSV and JSON the largest admitted
file has `max_rows` rows or `max_file_bytes` bytes, whichever comes first; for XLSX,
`max_xlsx_cells` cells. The invalid file is the same with a bad value on every row, so
that every row is a finding (at most `max_findings_per_rule` of them are listed).
CTIP_BENCH_ADMITTED_SHARE (default 1) scales every file, for a quick trial.

Each file is the only one of a fresh inbox, run through the nightly job without the
orchestrator (`flows.steps.run_once`) in a fresh Python process, so that its peak memory
(ru_maxrss) is its own. Then another fresh process does what DuckDB alone would: read the
same file and group it by reporter, indicator, period and area (rows and sum of values).
CSV: `read_csv` with every column as text; JSON: `read_json` given the columns of the
contract (left to detect them itself, DuckDB takes seven times longer on one large
object); XLSX: DuckDB's `excel` extension cannot be installed offline, so the sheet is
read by python-calamine (the reader ctip uses), its cells put into an Arrow table that
DuckDB groups. Both times run from the start of the process, imports included; DuckDB's
time without its import is printed too.

The targets, under 2 GB and at most 30 times DuckDB alone, are printed beside each
figure, not asserted (figures depend on the machine); the outcome of each file is
asserted, so the benchmark cannot silently measure nothing.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import polars as pl
import pytest

from schemas import load_registry
from tests.bench.bulk import INDICATOR
from tests.conftest import run_python

pytestmark = pytest.mark.bench

TARGET_BYTES = 2 * 1024**3
TARGET_RATIO = 30  # ctip's time at most this many times DuckDB's alone
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


BASELINE = r"""
import json, resource, sys, time
started = time.perf_counter()
import duckdb
path, file_format, columns = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
con = duckdb.connect()
imported = time.perf_counter()
if file_format == "csv":
    source = f"read_csv('{path}', all_varchar = true)"
elif file_format == "json":
    observed = ", ".join(f"{name} varchar" for name in columns if name != "reporter")
    source = (
        f"(select reporter, unnest(observations, recursive := true) from read_json('{path}', "
        f"maximum_object_size = 1073741824, columns = {{reporter: 'varchar', observations: 'struct({observed})[]'}}))"
    )
else:  # python-calamine, the cells into Arrow, DuckDB groups them
    import pyarrow as pa
    from python_calamine import CalamineWorkbook
    grid = CalamineWorkbook.from_path(path).get_sheet_by_name("data").to_python()
    sheet = pa.table({
        str(name): pa.array([None if row[i] == "" else str(row[i]) for row in grid[1:]], pa.string())
        for i, name in enumerate(grid[0])
    })
    source = "sheet"
groups = con.sql(
    "select reporter, indicator, period, area, count(*) as observations, sum(try_cast(value as bigint)) as total "
    f"from {source} group by all"
).fetchall()
done = time.perf_counter()
print(json.dumps({
    "seconds": done - started,
    "query_seconds": done - imported,
    "groups": len(groups),
    "peak_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
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
    child = run_python(CHILD, str(inbox), str(tmp_path / "w" / "ctip.duckdb"), timeout=None)
    assert child.returncode == 0, child.stderr[-3000:]
    outcome = json.loads(child.stdout.strip().splitlines()[-1])
    assert outcome["statuses"] == ["loaded" if valid else "rejected"]
    alone = run_python(BASELINE, str(path), file_format, json.dumps(COLUMNS), timeout=None)
    assert alone.returncode == 0, alone.stderr[-3000:]
    duck = json.loads(alone.stdout.strip().splitlines()[-1])
    assert duck["groups"] > 0
    peak, ratio = outcome["peak_bytes"], outcome["seconds"] / duck["seconds"]
    print(
        f"\nlargest admitted {file_format.upper()} ({'valid' if valid else 'invalid'}): {rows:,} rows, "
        f"{path.stat().st_size / 1024**2:,.1f} MiB, {outcome['findings']:,} findings\n"
        f"  ctip {outcome['seconds']:.1f} s; DuckDB alone {duck['seconds']:.2f} s ({duck['query_seconds']:.2f} s "
        f"without its import): {ratio:.1f}x (target at most {TARGET_RATIO}x: "
        f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}; {outcome['seconds'] / duck['query_seconds']:.1f}x "
        f"DuckDB's time without its import)\n"
        f"  peak memory {peak / 1024**3:.2f} GB (target under {TARGET_BYTES / 1024**3:.0f} GB: "
        f"{'met' if peak < TARGET_BYTES else 'NOT met'}; DuckDB alone {duck['peak_bytes'] / 1024**3:.2f} GB)"
    )
