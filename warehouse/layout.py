"""Where a warehouse keeps its files.

The file that `--warehouse` names is the one analysts open. Everything else ctip
keeps for it lives in one folder beside it, `<file>.ctip/`, which belongs to that
file alone: the writer's own database, the archive of every file received, the
published Parquet segments, the Data Docs site, the last disclosure audit, a scratch folder and the writer's lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WarehouseFiles:
    analyst_file: Path

    @property
    def home(self) -> Path:
        return self.analyst_file.with_name(self.analyst_file.name + ".ctip")

    @property
    def state_db(self) -> Path:
        """The writer's database: the source of truth, opened by ctip alone."""
        return self.home / "state.duckdb"

    @property
    def archive_dir(self) -> Path:
        return self.home / "archive"

    @property
    def segments_dir(self) -> Path:
        """Immutable Parquet files that the analyst file's views read."""
        return self.home / "segments"

    @property
    def docs_dir(self) -> Path:
        """The Great Expectations Data Docs site of the latest run."""
        return self.home / "docs"

    @property
    def scratch_dir(self) -> Path:
        """Prepared chunks of a backfill waiting to be applied; empty between runs."""
        return self.home / "scratch"

    @property
    def disclosure_audit(self) -> Path:
        """The interval of every count the last public export suppressed: for the office, never published."""
        return self.home / "disclosure_audit.csv"

    @property
    def lock_file(self) -> Path:
        return self.home / "writer.lock"

    @property
    def published_marker(self) -> Path:
        """The number of the publication the analyst file shows, and the digest of its definitions."""
        return self.home / "published"
