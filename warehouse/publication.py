"""Publication of the analyst file: what analysts open, swapped in whole.

The writer keeps its own database (`state.duckdb`). After each load, the changes
since the last publication are written as immutable Parquet segments, and a small
new analyst file is built — views over the segments, the code lists as tables —
and renamed over the old one. The rename is atomic: an analyst who holds the old
file open keeps a consistent old state, the next one to open it sees the new one,
and nobody ever blocks the writer or sees a half-published state. A run costs the
size of its changes, not a copy of the warehouse; when the segments grow too many,
one full publication compacts them into a new generation.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import datetime
from pathlib import Path

import duckdb

from warehouse.durable import atomic_path, atomic_write_text, leftovers
from warehouse.layout import WarehouseFiles
from warehouse.marts import completeness_sql, period_comparison_sql
from warehouse.sqlfiles import SQL_DIR, sql_text

MAX_SEGMENTS = 32  # history segments in a generation before a full publication compacts them
STATE_CATALOG = "state"
ANALYST_CATALOG = "analyst"
SMALL_TABLES = (
    "core.periods",
    "core.reporters",
    "core.reporter_indicators",
    "core.indicators",
    "core.codes",
    "core.areas",
)
# Reviewers' acts and releases: small tables of the writer's database that the analyst file holds as they are.
AUDIT_TABLES = ("audit.approvals", "audit.releases")
# Small tables of the writer's database that the analyst file holds under another name.
COPIED_AS = {
    "audit.submission_periods": "pipeline.submission_periods",
    "audit.notifications": "audit.notifications",
    "audit.released_figures": "pipeline.released_figures",
}
# Small tables that change without a new receipt (a notice sent by `ctip remind`): a change of their
# rows makes the next publication rebuild the analyst file, so they are current after each command.
REFRESHED = ("audit.notifications",)
DEFAULT_ZONE = "Asia/Phnom_Penh"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _segment_queries(watermark: datetime | None, last_sequence: int, full: bool, keys: str) -> dict[str, str]:
    if full:
        return {
            "history": "select * from core.observation_history",
            "closures": f"select {keys}, valid_from, valid_to from core.observation_history where false",
            "submissions": "select * from audit.submissions",
            "findings": "select * from audit.findings",
        }
    since = f"{_quote(watermark.isoformat())}::timestamptz" if watermark else "'-infinity'::timestamptz"
    new_submissions = (
        f"select submission_id from audit.submissions where sequence > {last_sequence} and status <> 'duplicate'"
    )
    return {
        "history": f"select * from core.observation_history where valid_from > {since}",
        "closures": (
            f"select {keys}, valid_from, valid_to from core.observation_history "
            f"where valid_to > {since} and valid_from <= {since}"
        ),
        "submissions": f"select * from audit.submissions where sequence > {last_sequence}",
        "findings": f"select * from audit.findings where submission_id in ({new_submissions})",
    }


def publish(
    con: duckdb.DuckDBPyConnection,
    files: WarehouseFiles,
    key_columns: tuple[str, ...],
    now: datetime,
    force_full: bool = False,
    zone: str = DEFAULT_ZONE,
    changed: bool = False,
) -> int:
    """Publish what the writer's database holds beyond the last publication; return its number.

    Does nothing new when no submission was added since (unless `changed`: the caller changed
    what the segments do not hold, such as `audit.approvals`), but always makes sure the analyst
    file shows the latest publication (a run killed between the two is mended here).
    """
    _remove_leftovers(files)
    last = con.execute(
        "select number, generation, watermark, last_sequence from pipeline.publications order by number desc limit 1"
    ).fetchall()
    watermark, last_sequence = con.execute(
        "select max(received_at), coalesce(max(sequence), 0) from audit.submissions"
    ).fetchall()[0]
    if last and not force_full and not changed and (last[0][2], last[0][3]) == (watermark, last_sequence):
        number, generation = last[0][0], last[0][1]
    else:
        number, generation = _write_segments(
            con, files, key_columns, now, last[0] if last else None, watermark, last_sequence, force_full
        )
    marker = _marker(number, zone, _refreshed_digest(con))
    if _published_marker(files) != marker or not files.analyst_file.exists():
        _write_analyst_file(con, files, generation, number, zone, marker)
    return number


def _leftovers(files: WarehouseFiles) -> list[Path]:
    """Files a publication writes under temporary names: none is left once it ends, however it ends."""
    analyst, marker = files.analyst_file, files.published_marker
    found = [*leftovers(analyst.parent, analyst.name), *leftovers(marker.parent, marker.name)]
    if files.segments_dir.is_dir():
        found += [path for folder in files.segments_dir.glob("g*/*") for path in leftovers(folder)]
    return found


def _remove_leftovers(files: WarehouseFiles) -> None:
    """Remove what a killed publication left (only the writer, under its lock, publishes)."""
    for path in _leftovers(files):
        path.unlink(missing_ok=True)


def _definitions_digest() -> str:
    """A digest of the SQL the analyst file is built from, so a new version of ctip rebuilds it."""
    digest = hashlib.sha256(repr((SMALL_TABLES, COPIED_AS, AUDIT_TABLES)).encode())
    for path in sorted(SQL_DIR.glob("*/*.sql")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _refreshed_digest(con: duckdb.DuckDBPyConnection) -> str:
    """A digest of the rows of the REFRESHED tables (a few hundred rows at most)."""
    digest = hashlib.sha256()
    for table in REFRESHED:
        rows = con.execute(f"select * from {table} order by all").fetchall()
        digest.update(repr(rows).encode())
    return digest.hexdigest()[:16]


def _marker(number: int, zone: str, refreshed: str) -> str:
    """What the analyst file was built from: the publication, the SQL, the zone of its clock, the small tables."""
    built_from = f"{_definitions_digest()} {zone} {refreshed}"
    return f"{number} {hashlib.sha256(built_from.encode()).hexdigest()[:16]}"


def _write_segments(con, files, key_columns, now, last, watermark, last_sequence, force_full) -> tuple[int, int]:
    number = (last[0] + 1) if last else 1
    history_segments = 0
    if last:
        history_segments = con.execute(
            f"select count(*) from pipeline.segments where generation = {last[1]} and relation = 'history'"
        ).fetchall()[0][0]
    full = force_full or last is None or history_segments >= MAX_SEGMENTS
    generation = (last[1] + 1) if (last and full) else (last[1] if last else 1)
    queries = _segment_queries(last[2] if last else None, last[3] if last else 0, full, ", ".join(key_columns))
    written = []
    for relation, query in queries.items():
        if not full and con.execute(f"select count(*) from ({query})").fetchall()[0][0] == 0:
            continue
        relative = f"g{generation:04d}/{relation}/{number:08d}.parquet"
        _write_segment(con, query, files.segments_dir / relative)
        written.append((generation, relation, relative, number))
    con.execute("begin transaction")
    for row in written:
        con.execute("insert into pipeline.segments values (?, ?, ?, ?)", list(row))
    con.execute(
        "insert into pipeline.publications values (?, ?, ?, ?, ?, ?)",
        # published once what it holds was received: never before its watermark (a run gives its files receipt
        # times from its start on, a microsecond apart), so the history as of published_at is what it shows
        [number, generation, watermark, last_sequence, full, max(now, watermark) if watermark else now],
    )
    con.execute("commit")
    if full:
        _drop_old_generations(con, files, keep_from=generation - 1)
    return number, generation


def _write_segment(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> None:
    """Write the rows of `query` as the Parquet segment `target`, whole or not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as temporary:
        con.execute(f"copy ({query}) to {_quote(str(temporary))} (format parquet)")


def _drop_old_generations(con, files: WarehouseFiles, keep_from: int) -> None:
    """Delete the segments of generations before the previous one.

    The previous generation stays, for an analyst who still has the analyst file
    of before the compaction open.
    """
    con.execute(f"delete from pipeline.segments where generation < {keep_from}")
    for folder in files.segments_dir.glob("g*"):
        if folder.is_dir() and folder.name[1:].isdigit() and int(folder.name[1:]) < keep_from:
            shutil.rmtree(folder, ignore_errors=True)


def _published_marker(files: WarehouseFiles) -> str | None:
    """The publication number and definitions digest the analyst file was built with."""
    try:
        return files.published_marker.read_text().strip()
    except FileNotFoundError:
        return None


def _file_list(con, files: WarehouseFiles, generation: int, relation: str) -> str:
    rows = con.execute(
        f"select file from pipeline.segments where generation = {generation} and relation = {_quote(relation)} "
        "order by publication"
    ).fetchall()
    return "[" + ", ".join(_quote(str(files.segments_dir / file)) for (file,) in rows) + "]"


def _write_analyst_file(
    con: duckdb.DuckDBPyConnection, files: WarehouseFiles, generation: int, number: int, zone: str, marker: str
) -> None:
    """Build the analyst file under a temporary name, then rename it over the old one."""
    with atomic_path(files.analyst_file) as temporary:
        _build_analyst_file(con, files, generation, number, temporary, zone)
    atomic_write_text(files.published_marker, marker)


def _build_analyst_file(
    con: duckdb.DuckDBPyConnection, files: WarehouseFiles, generation: int, number: int, temporary: Path, zone: str
) -> None:
    lists = {r: _file_list(con, files, generation, r) for r in ("history", "closures", "submissions", "findings")}
    con.execute(f"attach {_quote(str(temporary))} as {ANALYST_CATALOG}")
    try:
        con.execute(f"use {ANALYST_CATALOG}")
        for schema in ("core", "audit", "marts"):
            con.execute(f"create schema if not exists {schema}")
        for table in SMALL_TABLES:
            con.execute(f"create table {table} as select * from {STATE_CATALOG}.{table}")
        for table in AUDIT_TABLES:
            con.execute(f"create table {table} as select * from {STATE_CATALOG}.{table}")
        for table, source in COPIED_AS.items():
            con.execute(f"create table {table} as select * from {STATE_CATALOG}.{source}")
        con.execute(
            sql_text("analyst", "observation_history.sql").format(history=lists["history"], closures=lists["closures"])
        )
        con.execute(sql_text("ddl", "06_core_observations.sql"))
        con.execute(sql_text("analyst", "observations_as_of.sql"))
        con.execute(
            f"create view audit.submissions as select * from read_parquet({lists['submissions']}, union_by_name = true)"
        )
        con.execute(
            f"create view audit.findings as select * from read_parquet({lists['findings']}, union_by_name = true)"
        )
        con.execute(sql_text("ddl", "11_core_period_macros.sql"))
        con.execute(f"create view marts.period_comparison as {period_comparison_sql()}")
        con.execute(sql_text("marts", "reporter_disagreements.sql"))
        con.execute(f"create view marts.completeness as {completeness_sql(zone)}")
        con.execute(
            f"create table audit.publication as select number, generation, watermark, published_at "
            f"from {STATE_CATALOG}.pipeline.publications where number = {number}"
        )
    finally:
        con.execute(f"use {STATE_CATALOG}")
        con.execute(f"detach {ANALYST_CATALOG}")


def export_self_contained(analyst_file: Path, target: Path) -> list[str]:
    """Copy every relation of the analyst file into `target` as a table, with its macros: a DuckDB file
    that reads nothing outside itself, so it works wherever it is copied. Returns the relations copied.

    Written under a temporary name and renamed over `target`, so a reader never sees it half written.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    source = "live"
    with atomic_path(target) as temporary:
        with duckdb.connect(str(temporary)) as con:
            con.execute(f"attach {_quote(str(analyst_file))} as {source} (read_only)")
            relations = con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = $db "
                "union all select schema_name, view_name from duckdb_views() where database_name = $db and not internal "
                "order by 1, 2",
                {"db": source},
            ).fetchall()
            for schema in sorted({schema for schema, _ in relations}):
                con.execute(f"create schema if not exists {schema}")
            for schema, name in relations:
                con.execute(f"create table {schema}.{name} as select * from {source}.{schema}.{name}")
            con.execute(f"detach {source}")
            con.execute(sql_text("ddl", "11_core_period_macros.sql"))
            con.execute(sql_text("analyst", "observations_as_of.sql"))
            con.execute("checkpoint")
    return [f"{schema}.{name}" for schema, name in relations]
