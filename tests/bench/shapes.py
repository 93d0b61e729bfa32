"""Inbox shapes for the shape benchmark (tests/bench/test_bench_shapes.py), written fast and valid.

- `provincial`: one reporter (MOI), the 25 provinces, monthly, one small file per province and
  month: victims rescued with their sex, age band and offence cuts beside the total, and the
  cases with their offence cuts beside theirs (12 rows, every set of parts complete);
- `large`: a few large files, each one reporter's four years of every province and month at a
  finer grain (sex by age cross-cuts and referrals too: 21 rows a province and month);
- `mixed`: the provincial files, every third one JSON and every third one XLSX, as ctip's
  generator lays them out (`flows.generate`).

Figures are Poisson draws around a province's mean, split by multinomial draws so that
the parts add up to their totals exactly; the files are dated (modification time) in the
order they would arrive. Every shape returns a manifest: the files, their formats and rows.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from flows.generate import _json, _xlsx
from schemas.registry import TOTAL, Registry
from transforms.generate import rng_for

REPORTER = "MOI"
LARGE_REPORTERS = ("MOI", "NCCT")
FIRST_YEAR = 2011
HEADER = ["reporter", "period", "indicator", "area", "sex", "age", "referral", "offence", "value"]
_CUTS = ("sex", "age", "referral", "offence")  # the dimensions of HEADER
SEED = 2026


def provinces(registry: Registry) -> list[str]:
    return [code for code in registry.areas if code != registry.defaults["area"]]


def _exists(registry: Registry, area: str, year: int) -> bool:
    spec = registry.areas[area]
    return (spec.first_year or 0) <= year <= (spec.last_year or 9999)


def blocks(registry: Registry, years: range, limit: int | None = None) -> list[tuple[str, int, int]]:
    """(province, year, month) in the order the files would arrive: month by month, province by province."""
    planned = [
        (area, year, month)
        for year in years
        for month in range(1, 13)
        for area in provinces(registry)
        if _exists(registry, area, year)
    ]
    return planned[:limit] if limit is not None else planned


def _split(rng: np.random.Generator, total: int, odds: list[float]) -> list[int]:
    return [int(n) for n in rng.multinomial(total, np.array(odds) / sum(odds))]


def block_rows(reporter: str, area: str, year: int, month: int, fine: bool = False) -> list[tuple]:
    """One province-month of one reporter: 12 rows (21 with `fine`), every set of parts adding up to its total."""
    rng = rng_for(SEED, "shape", area, year, month)
    period = f"{year:04d}-{month:02d}"
    mean = 2.0 + (zlib_of(area) % 17)
    victims, cases = int(rng.poisson(mean * 3)), int(rng.poisson(mean))
    rows = [(reporter, period, "victims_rescued", area, None, None, None, None, victims)]
    cells = _split(rng, victims, [0.68 * 0.28, 0.68 * 0.22, 0.68 * 0.5, 0.32 * 0.28, 0.32 * 0.22, 0.32 * 0.5])
    female, male = sum(cells[:3]), sum(cells[3:])
    ages = [cells[0] + cells[3], cells[1] + cells[4], cells[2] + cells[5]]
    rows += [
        (reporter, period, "victims_rescued", area, sex, None, None, None, n) for sex, n in (("F", female), ("M", male))
    ]
    rows += [
        (reporter, period, "victims_rescued", area, None, age, None, None, n)
        for age, n in zip(("Y_LT15", "Y15T17", "Y_GE18"), ages, strict=True)
    ]
    rows.append((reporter, period, "victims_rescued", area, None, "Y_LT18", None, None, ages[0] + ages[1]))
    offences = _split(rng, victims, [0.55, 0.45])
    rows += [
        (reporter, period, "victims_rescued", area, None, None, None, o, n)
        for o, n in zip(("HT", "SE"), offences, strict=True)
    ]
    if fine:
        rows += [
            (reporter, period, "victims_rescued", area, sex, age, None, None, n)
            for (sex, age), n in zip(
                [(s, a) for s in ("F", "M") for a in ("Y_LT15", "Y15T17", "Y_GE18")], cells, strict=True
            )
        ]
        referrals = _split(rng, victims, [0.6, 0.32, 0.08])
        rows += [
            (reporter, period, "victims_rescued", area, None, None, r, None, n)
            for r, n in zip(("FAMILY", "SOCIAL_AFFAIRS", "_O"), referrals, strict=True)
        ]
    rows.append((reporter, period, "cases", area, None, None, None, None, cases))
    rows += [
        (reporter, period, "cases", area, None, None, None, o, n)
        for o, n in zip(("HT", "SE"), _split(rng, cases, [0.55, 0.45]), strict=True)
    ]
    return rows


def zlib_of(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode())


def _frame(rows: list[tuple]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema={c: pl.String for c in HEADER[:-1]} | {"value": pl.Int64}, orient="row")
    return frame.with_columns(pl.col("value").cast(pl.String))


def _arrives(year: int, month: int, position: int) -> float:
    year, month = year + month // 12, month % 12 + 1
    return datetime(year, month, 10, 9, 0, tzinfo=UTC).timestamp() + position


def _write(path: Path, content: bytes, moment: float) -> None:
    path.write_bytes(content)
    os.utime(path, (moment, moment))


def write_provincial(inbox: Path, registry: Registry, files: int, formats: tuple[str, ...] = ("csv",)) -> dict:
    """`files` provincial monthly files of one reporter (the formats taken in turn); the manifest."""
    inbox.mkdir(parents=True, exist_ok=True)
    planned = blocks(registry, range(FIRST_YEAR, 2100), files)
    assert len(planned) == files
    entries = []
    for position, (area, year, month) in enumerate(planned):
        file_format = formats[position % len(formats)]
        frame = _frame(block_rows(REPORTER, area, year, month))
        entries.append(
            _write_frame(
                inbox,
                frame,
                f"{REPORTER.lower()}_{area}_{year:04d}-{month:02d}",
                file_format,
                _arrives(year, month, position),
            )
        )
    return _manifest(inbox, entries)


def write_large(inbox: Path, registry: Registry, files: int, years_per_file: int = 4) -> dict:
    """`files` large CSV files: each one reporter's `years_per_file` years of every province and month."""
    inbox.mkdir(parents=True, exist_ok=True)
    entries = []
    for position in range(files):
        reporter = LARGE_REPORTERS[position % len(LARGE_REPORTERS)]
        first = FIRST_YEAR + (position // len(LARGE_REPORTERS)) * years_per_file
        years = range(first, first + years_per_file)
        rows = [row for block in blocks(registry, years) for row in block_rows(reporter, *block, fine=True)]
        name = f"{reporter.lower()}_{first}-{years[-1]}_provinces"
        entries.append(_write_frame(inbox, _frame(rows), name, "csv", _arrives(years[-1], 12, position)))
    return _manifest(inbox, entries)


def _write_frame(inbox: Path, frame: pl.DataFrame, stem: str, file_format: str, moment: float) -> dict:
    path = inbox / f"{stem}.{file_format}"
    laid = frame.select([c for c in frame.columns if c == "value" or frame[c].is_not_null().any()])
    if file_format != "json":  # a blank code is no code: the totals spelt out (a JSON observation leaves them out)
        laid = laid.with_columns(pl.col(c).fill_null(TOTAL) for c in laid.columns if c in _CUTS)
    if file_format == "csv":
        content = laid.write_csv(line_terminator="\n").encode("utf-8")
    elif file_format == "json":
        content = _json(laid, frame["reporter"][0])
    else:
        content = _xlsx(laid, datetime.fromtimestamp(moment, UTC))
    _write(path, content, moment)
    return {"file": path.name, "format": file_format, "rows": frame.height, "bytes": len(content)}


def _manifest(inbox: Path, entries: list[dict]) -> dict:
    return {
        "inbox": str(inbox),
        "files": len(entries),
        "rows": sum(e["rows"] for e in entries),
        "bytes": sum(e["bytes"] for e in entries),
        "formats": {f: sum(1 for e in entries if e["format"] == f) for f in ("csv", "json", "xlsx")},
        "submissions": entries,
    }
