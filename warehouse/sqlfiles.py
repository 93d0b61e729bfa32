"""The SQL of the warehouse lives in files, one object or query per file, under sql/."""

from __future__ import annotations

import functools
from pathlib import Path

SQL_DIR = Path(__file__).parent / "sql"


@functools.cache
def sql_text(*parts: str) -> str:
    """The text of one SQL file, read once per process (loads ask for the same few per submission)."""
    return SQL_DIR.joinpath(*parts).read_text(encoding="utf-8")
