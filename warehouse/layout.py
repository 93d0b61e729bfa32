"""Where a warehouse keeps its files.

The file that `--warehouse` names is the one analysts open. Everything else ctip
keeps for it lives in one folder beside it, `<file>.ctip/`, which belongs to that
file alone: the writer's own database, the archive of every file received, the
published Parquet segments, the Data Docs site, the served orchestrator's home, the last
disclosure audit, a scratch folder and the writer's lock.
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
    def prefect_home(self) -> Path:
        """PREFECT_HOME of the Prefect server `ctip serve` starts: its database holds this warehouse's runs alone."""
        return self.home / "prefect"

    @property
    def prefect_profile(self) -> Path:
        """The Prefect profile naming the server `ctip serve` serves on, while it serves: runs report to it."""
        return self.home / "prefect-profile.toml"

    @property
    def scratch_dir(self) -> Path:
        """Prepared shards of a backfill waiting to be loaded; empty between runs."""
        return self.home / "scratch"

    @property
    def disclosure_audit(self) -> Path:
        """The interval of every count the last public export suppressed: for the office, never published."""
        return self.home / "disclosure_audit.csv"

    @property
    def accounts_db(self) -> Path:
        """Who may send and see what (SQLite, WAL): the portal and `ctip accounts` write it, never the analyst file."""
        return self.home / "accounts.sqlite"

    @property
    def uploads_db(self) -> Path:
        """The portal's ledger of uploads: who sent which bytes, when, and the answer given."""
        return self.home / "uploads.sqlite"

    @property
    def upload_spool_dir(self) -> Path:
        """Uploads being received by the portal; a file leaves it for the archive and the inbox, or is removed."""
        return self.home / "spool"

    @property
    def lock_file(self) -> Path:
        return self.home / "writer.lock"

    @property
    def published_marker(self) -> Path:
        """The number of the publication the analyst file shows, and the digest of its definitions."""
        return self.home / "published"
