"""A run of many submissions gives the same warehouse and warnings as the same files one run each.

The versions of a run are computed for every key at once and each submission is
judged against the state as known at its receipt; these properties check that
against the plainest reading: apply the submissions one at a time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.findings import FINDINGS_SCHEMA
from schemas.registry import TOTAL
from schemas.shapes import DIMENSIONS, LOAD_COLUMNS, Decision, Receipt
from transforms.periods import base_period_code, parse_period
from warehouse import loading
from warehouse.database import Writer, open_writer
from warehouse.invariants import LoadAuditFailed
from warehouse.judgement import repeated_keys_sql, versions_sql
from warehouse.layout import WarehouseFiles

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)
PERIODS = ["2017", "2018", "2017-S1", "2018-S1", "2018-S2"]
VALUES = [0, 10, 12, 20, 50, 60]  # 10 -> 50 is +400%: an outlier; 12 + 50 = 62 against a year of 60 or 62

row = st.tuples(st.sampled_from(["I", "I", "I", "D"]), st.sampled_from(VALUES), st.sampled_from(["A", "E"]))
submission = st.tuples(
    st.sampled_from(["NCCT", "MOI"]), st.dictionaries(st.sampled_from(PERIODS), row, min_size=1, max_size=4)
)


def _rows(number: int, reporter: str, rows: dict[str, tuple[str, int, str]]) -> pl.DataFrame:
    records = []
    for row_number, (period, (action, value, status)) in enumerate(sorted(rows.items()), start=2):
        parsed = parse_period(period)
        records.append(
            {
                "submission_id": f"s{number:02d}",
                "row_number": row_number,
                "reporter": reporter,
                "area": "KH",
                "period": parsed.code,
                "period_type": parsed.type,
                "period_start": parsed.start,
                "period_end": parsed.end,
                "base_period": base_period_code(parsed.code),
                "indicator": "cases",
                **dict.fromkeys(DIMENSIONS, TOTAL),
                "value": value,
                "status": status,
                "comment": None,
                "action": action,
            }
        )
    return pl.DataFrame(records).select(LOAD_COLUMNS)


def _load(warehouse: Writer, runs: list[list[tuple[int, str, dict]]]) -> None:
    for run in runs:
        receipts = [
            Receipt(number, f"s{number:02d}", f"f{number:02d}.csv", "csv", 1, NOW, NOW + number * TICK)
            for number, _, _ in run
        ]
        warehouse.con.execute(
            "insert into pipeline.receipts by name select * from (select unnest($r, recursive := true))",
            {"r": [r.__dict__ for r in receipts]},
        )
        decisions = [Decision(r, "loaded", reporter) for r, (_, reporter, _) in zip(receipts, run, strict=True)]
        observations = pl.concat([_rows(number, reporter, rows) for number, reporter, rows in run])
        loading.load_batch(warehouse, decisions, observations, pl.DataFrame(schema=FINDINGS_SCHEMA))


def _state(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {
        "history": con.sql("select * from core.observation_history order by all").fetchall(),
        "findings": con.sql("select * from audit.findings order by all").fetchall(),
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(submission, min_size=1, max_size=6))
def test_one_run_equals_one_run_per_submission(registry, new_warehouse, submissions):
    numbered = [(number, reporter, rows) for number, (reporter, rows) in enumerate(submissions, start=1)]
    states = []
    for runs in ([numbered], [[s] for s in numbered]):
        with open_writer(new_warehouse(), registry) as warehouse:
            _load(warehouse, runs)
            states.append(_state(warehouse.con))
    together, apart = states
    assert together == apart
    # every key holds at most one current version, and versions of a key never overlap
    assert all(row[-1] is None or row[-1] > row[-2] for row in together["history"])


def test_the_properties_see_warnings(registry, tmp_path):
    """The scenario space reaches every rule the run judges, so the equality above means something."""
    files = WarehouseFiles(tmp_path / "ctip.duckdb")
    runs = [
        [
            (1, "NCCT", {"2017-S1": ("I", 10, "A"), "2018": ("I", 60, "A")}),
            (2, "NCCT", {"2018-S1": ("I", 50, "A"), "2018-S2": ("I", 12, "A"), "2017-S1": ("I", 12, "A")}),
            (3, "MOI", {"2018": ("I", 20, "A")}),
            (4, "NCCT", {"2018-S2": ("D", 0, "A")}),
        ]
    ]
    with open_writer(files, registry) as warehouse:
        _load(warehouse, runs)
        rules = warehouse.con.sql("select submission_id, rule, row_number from audit.findings order by all").fetchall()
        current = warehouse.con.sql("select period, value from core.observations order by all").fetchall()
    # s02's rows: 2 is 2017-S1, 3 is 2018-S1, 4 is 2018-S2
    assert rules == [
        ("s02", "derived_mismatch", 3),  # 2018 = 60 held, its halves 50 + 12 = 62 (the first part's row)
        ("s02", "outlier", 3),  # 2018-S1 = 50 against 2017-S1 = 12 from the same file: +316.7%
        ("s02", "restatement", 2),  # 2017-S1 was 10
        ("s03", "disagreement", 2),  # MOI's 2018 = 20 against NCCT's 60
    ]
    assert current == [("2017-S1", 12), ("2018", 20), ("2018", 60), ("2018-S1", 50)]  # 2018-S2 withdrawn


def test_a_key_left_with_two_current_versions_fails_the_audit_and_nothing_is_committed(registry, tmp_path, monkeypatch):
    files = WarehouseFiles(tmp_path / "ctip.duckdb")
    with open_writer(files, registry) as warehouse:
        _load(warehouse, [[(1, "NCCT", {"2018": ("I", 10, "A")})]])

        def versions_without_closing(writer: Writer) -> None:  # a defect: the replaced version stays current
            history = "core.observation_history"
            writer.con.execute(
                f"create or replace temp table {loading.RUN_REPEATED} as {repeated_keys_sql(writer.registry, history)}"
            )
            writer.con.execute(
                f"create or replace table pipeline.run_versions as {versions_sql(writer.registry, history)}"
            )
            writer.con.execute(
                f"insert into {history} by name select * exclude (sequence, present, "
                "received_at, ends), received_at as valid_from, ends as valid_to "
                "from pipeline.run_versions where sequence > 0 and present"
            )

        monkeypatch.setattr(loading, "write_versions", versions_without_closing)
        with pytest.raises(LoadAuditFailed, match="^1 keys would have more than one current version$"):
            _load(warehouse, [[(2, "NCCT", {"2018": ("I", 20, "A"), "2017": ("I", 5, "A")})]])
        assert warehouse.con.sql("select submission_id from audit.submissions").fetchall() == [("s01",)]
        assert warehouse.con.sql("select period, value from core.observation_history").fetchall() == [("2018", 10)]


def test_rows_with_a_code_the_registry_does_not_know_fail_the_audit_and_nothing_is_committed(registry, tmp_path):
    """Validation never lets such a row through; loaded without it, the audit counts every such row."""
    files = WarehouseFiles(tmp_path / "ctip.duckdb")
    with open_writer(files, registry) as warehouse:
        _load(warehouse, [[(1, "NCCT", {"2018": ("I", 10, "A")})]])
        unknown = {"2017": ("I", 5, "A"), "2016": ("I", 4, "A")}
        with pytest.raises(LoadAuditFailed, match="^2 staged rows carry codes the registry does not know$"):
            _load(warehouse, [[(2, "NCCT", {"2019": ("I", 6, "A")}), (3, "NOBODY", unknown)]])
        assert warehouse.con.sql("select submission_id from audit.submissions").fetchall() == [("s01",)]
        assert warehouse.con.sql("select period, value from core.observation_history").fetchall() == [("2018", 10)]


def test_an_attempt_taken_back_puts_back_the_batch_of_the_attempt_before(registry, tmp_path):
    """Killed in a batch of 130, then stopped (SIGTERM) in a batch of 3: the stopped attempt is taken back whole,
    so the file is where the kill left it (one attempt, in a batch of 130), as if the stopped run had not begun."""
    from warehouse import receipts
    from warehouse.database import open_writer
    from warehouse.layout import WarehouseFiles

    with open_writer(WarehouseFiles(tmp_path / "w" / "ctip.duckdb"), registry) as writer:
        receipts.note_attempt(writer.con, list(range(1, 131)))
        receipts.note_attempt(writer.con, [1, 2, 3])
        assert receipts.attempts_of(writer.con, [1, 4]) == {1: (2, 3), 4: (1, 130)}
        receipts.forget_attempt(writer.con, [1, 2, 3])
        assert receipts.attempts_of(writer.con, [1, 4]) == {1: (1, 130), 4: (1, 130)}
        receipts.forget_attempt(writer.con, list(range(1, 131)))
        assert receipts.attempts_of(writer.con, list(range(1, 131))) == {}
