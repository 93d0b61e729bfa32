"""The analyst file: swapped in whole, never blocking the writer, cheap per run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.conftest import SEED, run_python
from tests.flows.conftest import NOW, query, run, write_inbox
from warehouse import publication
from warehouse.layout import WarehouseFiles

SEED_CSV = (SEED / "ncct_2019-S1.csv").read_text(encoding="utf-8")
FIRST = 1009
SECOND = 1010


def _marriages(value: int) -> str:
    return f"reporter,period,indicator,value\nMFAIC,2019-S1,marriage_applications,{value}\n"


ANALYST = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    q = "select value from core.observations where indicator = 'marriage_applications'"
    print("before", con.sql(q).fetchall()[0][0], flush=True)
    sys.stdin.readline()
    print("after", con.sql(q).fetchall()[0][0], flush=True)
    """
)


def test_an_analyst_holding_the_file_open_does_not_block_the_run(paths):
    inbox, warehouse = paths
    write_inbox(inbox, {"a.csv": _marriages(FIRST)})
    run(inbox, warehouse)
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(warehouse)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert analyst.stdout.readline().split() == ["before", str(FIRST)]
        write_inbox(inbox, {"b.csv": _marriages(SECOND)}, start_mtime=1_800_000_000)
        summary = run(inbox, warehouse, NOW + timedelta(hours=1))
        assert summary.count("loaded") == 1
        # the open session keeps the consistent state it opened; a new one sees the new state
        out, _ = analyst.communicate("go\n", timeout=30)
        assert out.split() == ["after", str(FIRST)]
    finally:
        analyst.kill()
    assert query(warehouse, "select value from core.observations where indicator = 'marriage_applications'") == [
        (SECOND,)
    ]


def test_a_run_publishes_only_its_changes(paths):
    inbox, warehouse = paths
    files = WarehouseFiles(warehouse)
    write_inbox(inbox, {"seed.csv": SEED_CSV})
    run(inbox, warehouse)
    write_inbox(inbox, {"b.csv": _marriages(SECOND)}, start_mtime=1_800_000_000)
    run(inbox, warehouse, NOW + timedelta(hours=1))
    history_segments = sorted((files.segments_dir / "g0001" / "history").glob("*.parquet"))
    sizes = [query(warehouse, f"select count(*) from read_parquet('{segment}')")[0][0] for segment in history_segments]
    # an empty first publication (the new warehouse), the seed, then only the one new version
    assert sizes == [0, 16, 1]
    assert query(warehouse, "select count(*) from core.observation_history") == [(17,)]
    assert query(warehouse, "select number from audit.publication") == [(3,)]


def test_too_many_segments_are_compacted_into_a_new_generation(paths, monkeypatch):
    inbox, warehouse = paths
    monkeypatch.setattr(publication, "MAX_SEGMENTS", 2)
    files = WarehouseFiles(warehouse)
    for step, value in enumerate([100, 101, 102, 103]):
        write_inbox(inbox, {f"f{step}.csv": _marriages(value)}, start_mtime=1_700_000_000 + step * 100)
        run(inbox, warehouse, NOW + timedelta(hours=step))
    generations = sorted(p.name for p in files.segments_dir.iterdir())
    assert generations == ["g0002", "g0003"]  # compacted twice; only the previous generation is kept
    versions = query(
        warehouse,
        "select value, valid_to is null from core.observation_history where indicator = 'marriage_applications' order by valid_from",
    )
    assert versions == [(100, False), (101, False), (102, False), (103, True)]
    assert query(warehouse, "select count(*) from audit.submissions") == [(4,)]


def test_observations_as_of_gives_what_was_known_then(paths):
    inbox, warehouse = paths
    write_inbox(inbox, {"a.csv": _marriages(FIRST)})
    run(inbox, warehouse)
    write_inbox(inbox, {"b.csv": _marriages(SECOND)}, start_mtime=1_800_000_000)
    run(inbox, warehouse, NOW + timedelta(days=1))
    first, second = [r[0] for r in query(warehouse, "select received_at from audit.submissions order by sequence")]
    between = first + (second - first) / 2
    assert query(warehouse, f"select value from core.observations_as_of('{between.isoformat()}')") == [(FIRST,)]
    assert query(warehouse, f"select value from core.observations_as_of('{second.isoformat()}')") == [(SECOND,)]
    assert query(warehouse, "select value from core.observations_as_of('2000-01-01 00:00:00')") == []


def test_a_new_version_of_the_definitions_rebuilds_the_analyst_file(paths):
    inbox, warehouse = paths
    files = WarehouseFiles(warehouse)
    write_inbox(inbox, {"a.csv": _marriages(FIRST)})
    run(inbox, warehouse)
    number, digest = files.published_marker.read_text().split()
    built = warehouse.stat().st_ino
    run(inbox, warehouse)  # nothing new, same definitions: the file is left as it is
    assert warehouse.stat().st_ino == built
    files.published_marker.write_text(f"{number} {'0' * len(digest)}")  # built by another version of ctip
    run(inbox, warehouse)
    assert warehouse.stat().st_ino != built
    assert files.published_marker.read_text().split() == [number, digest]
    assert query(warehouse, "select value from core.observations") == [(FIRST,)]


# The README's as-of queries, word for word (the test checks the README still holds them).
README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
AS_OF_FIRST_LOAD = (
    "select * from core.observations_as_of((select min(received_at) from audit.submissions where status = 'loaded'));"
)
AS_OF_NO_ZONE = "select * from core.observations_as_of('2026-11-29 13:02:50');"
AS_OF_OFFSET = "select * from core.observations_as_of('2026-11-29 20:02:50+07:00');"
AS_OF_BY_HAND = """select * from core.observation_history
where valid_from <= timestamptz '2026-11-29 13:02:50+00'
  and (valid_to is null or valid_to > timestamptz '2026-11-29 13:02:50+00');"""
# received between 13:02:50 in Phnom Penh (06:02:50 UTC) and 13:02:50 UTC, so the two readings differ
SECOND_RECEIVED = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Phnom_Penh"])
def test_as_of_reads_a_time_without_zone_as_utc_in_every_session_zone(paths, zone):
    inbox, warehouse = paths
    write_inbox(inbox, {"a.csv": _marriages(FIRST)})
    run(inbox, warehouse)
    write_inbox(inbox, {"b.csv": _marriages(SECOND)}, start_mtime=1_800_000_000)
    run(inbox, warehouse, SECOND_RECEIVED)
    for documented in (AS_OF_FIRST_LOAD, AS_OF_NO_ZONE, AS_OF_OFFSET, AS_OF_BY_HAND):
        assert documented in README
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute(f"set TimeZone = '{zone}'")

        def values(sql: str) -> list[int]:
            return [row[0] for row in con.sql(f"select value from ({sql.rstrip(';')})").fetchall()]

        assert values(AS_OF_FIRST_LOAD) == [FIRST]  # works on a warehouse loaded today
        assert values(AS_OF_NO_ZONE) == [SECOND]  # 13:02:50 UTC, after the second receipt at 08:00 UTC
        assert values(AS_OF_OFFSET) == [SECOND]
        assert values(AS_OF_BY_HAND) == [SECOND]
        assert values("select * from core.observations_as_of('2026-11-29 07:59:59')") == [FIRST]
        assert values("select * from core.observations_as_of(timestamp '2026-11-29 08:00:00')") == [SECOND]
        assert values("select * from core.observations_as_of('2026-11-29T14:02:50+07')") == [FIRST]


DISK_FULL_PUBLISH = textwrap.dedent(
    """
    import resource, signal, sys
    from pathlib import Path
    from tests.flows.conftest import run
    from warehouse import database
    original = database.publish_analyst_file
    calls = [0]
    def publish(writer, now, force_full=False, zone="Asia/Phnom_Penh"):
        calls[0] += 1
        if calls[0] == 2:  # the run's own publication, after its load: the disk is now full
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (2048, resource.RLIM_INFINITY))
        return original(writer, now, force_full, zone)
    database.publish_analyst_file = publish
    try:
        run(Path(sys.argv[1]), Path(sys.argv[2]))
    except Exception as problem:
        print("failed:", type(problem).__name__, flush=True)
    """
)


def test_a_publication_that_fails_on_a_full_disk_leaves_no_temporary_file(paths):
    """No room left for a segment or the new analyst file: the run fails, and nothing half written stays."""
    from tests.flows.test_crash import temporary_files

    inbox, warehouse = paths
    write_inbox(inbox, {"a.csv": SEED_CSV})
    child = run_python(DISK_FULL_PUBLISH, str(inbox), str(warehouse))
    assert "failed:" in child.stdout, child.stdout + child.stderr[-2000:]
    assert temporary_files(warehouse.parent) == []
    run(inbox, warehouse)  # with room again, the next run publishes what was loaded
    assert query(warehouse, "select count(*) from core.observations") == [(16,)]


def test_a_connection_opened_after_the_run_shows_the_new_state_once_the_process_holds_no_older_one(paths):
    """As the README says: DuckDB shares one database per file within a process, so an open connection
    makes a new one in the same process see the state it holds; once it is closed, a new one sees the run."""
    import duckdb

    inbox, warehouse = paths
    write_inbox(inbox, {"a.csv": _marriages(FIRST)})
    run(inbox, warehouse)
    q = "select value from core.observations where indicator = 'marriage_applications'"
    held = duckdb.connect(str(warehouse), read_only=True)
    write_inbox(inbox, {"b.csv": _marriages(SECOND)}, start_mtime=1_800_000_000)
    run(inbox, warehouse, NOW + timedelta(hours=1))
    with duckdb.connect(str(warehouse), read_only=True) as same_process:
        assert same_process.sql(q).fetchall() == [(FIRST,)]
    held.close()
    with duckdb.connect(str(warehouse), read_only=True) as fresh:
        assert fresh.sql(q).fetchall() == [(SECOND,)]


def test_the_publication_is_never_dated_before_what_it_holds(paths):
    """A run gives its files receipt times from its start on, a microsecond apart; the publication is dated no
    earlier than its watermark, so the history as of `published_at` is what the analyst file shows."""
    inbox, warehouse = paths
    write_inbox(inbox, {f"m{n}.csv": _marriages(FIRST + n).replace("2019-S1", f"{2010 + n}-S1") for n in range(5)})
    run(inbox, warehouse)
    [(watermark, published_at)] = query(warehouse, "select watermark, published_at from audit.publication")
    assert published_at >= watermark
    as_published = "select count(*) from core.observations_as_of((select published_at from audit.publication))"
    assert query(warehouse, as_published) == query(warehouse, "select count(*) from core.observations") == [(5,)]
