"""Bulk inboxes for the 10-million-observation benchmark: few, large, valid files, written fast.

Each file is one reporter's month for one area: victims repatriated by age, sex and
country, leaves only (no totals, so no parts to add up), 3 x 2 x 249 = 1,494 rows. The
figures depend on the key only, never on the year or the reporter, so a rerun finds no
outliers and the reporters never disagree. Three reporters may report the indicator;
with the 26 areas, a year is 936 files and about 1.4 million observations.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import polars as pl

from schemas.registry import Registry

INDICATOR = "victims_repatriated"
HEADER = ["reporter", "area", "period", "indicator", "age", "sex", "country", "value"]


def rows_per_file(registry: Registry) -> int:
    dims = registry.dimensions
    return len(dims["age"].leaves) * len(dims["sex"].leaves) * len(dims["country"].leaves)


def _cells(registry: Registry) -> pl.DataFrame:
    dims = registry.dimensions
    cells = (
        pl.DataFrame({"age": list(dims["age"].leaves)})
        .join(pl.DataFrame({"sex": list(dims["sex"].leaves)}), how="cross")
        .join(pl.DataFrame({"country": list(dims["country"].leaves)}), how="cross")
    )
    return cells.with_columns(
        pl.Series("value", [zlib.crc32("|".join(row).encode()) % 9 for row in cells.iter_rows()], dtype=pl.Int64)
    )


def write_bulk_inbox(
    inbox: Path, registry: Registry, years: list[int], start_mtime: int = 1_600_000_000, limit: int | None = None
) -> dict:
    """Write the files (oldest first by modification time); returns files and rows written."""
    inbox.mkdir(parents=True, exist_ok=True)
    reporters = sorted(r for r, i in registry.allowed_pairs() if i == INDICATOR)
    areas = [a.code for a in registry.areas.values()]
    cells = _cells(registry)
    files = rows = 0
    for year in years:
        for month in range(1, 13):
            period = f"{year}-{month:02d}"
            for area in areas:
                if not (registry.areas[area].first_year or 0) <= year <= (registry.areas[area].last_year or 9999):
                    continue
                for reporter in reporters:
                    if limit is not None and files >= limit:
                        return {"files": files, "rows": rows}
                    frame = cells.with_columns(
                        pl.lit(reporter).alias("reporter"),
                        pl.lit(area).alias("area"),
                        pl.lit(period).alias("period"),
                        pl.lit(INDICATOR).alias("indicator"),
                    ).select(HEADER)
                    path = inbox / f"{reporter}_{area}_{period}_bulk.csv"
                    frame.write_csv(path)
                    os.utime(path, (start_mtime + files, start_mtime + files))
                    files += 1
                    rows += frame.height
    return {"files": files, "rows": rows}
