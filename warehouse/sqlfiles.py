"""The SQL of the warehouse lives in files, one object or query per file, under sql/."""

from __future__ import annotations

from pathlib import Path

SQL_DIR = Path(__file__).parent / "sql"


def sql_text(*parts: str) -> str:
    return SQL_DIR.joinpath(*parts).read_text(encoding="utf-8")
