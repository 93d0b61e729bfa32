"""Loading: the decisions of consecutive receipts, their rows and findings, in one transaction.

Write, audit, then commit: the submissions of a batch (or of a backfill) go in inside
one transaction (their versions computed for every key at once, in receipt order,
then judged against the warehouse as known at each receipt, then their outcomes
recorded), then the result is audited (`warehouse/invariants.py`: codes against the
registry, one current version per key); only then is it committed. Publishing it to
the analyst file comes after (`warehouse/publication.py`). A process killed before the commit
leaves the warehouse as it was before the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace

import duckdb
import polars as pl

from schemas.findings import cap_findings, stands_for
from schemas.shapes import LOADED, REJECTED, Decision, Rewind
from warehouse import invariants, notifications, replay
from warehouse.database import Writer, insert_frame
from warehouse.judgement import judge_approvals, judge_run, repeated_keys_sql, versions_sql
from warehouse.receipts import UPLOAD_TYPES
from warehouse.reference import refresh_reference

# The load's temporary table of the keys with more than one event in the run (`write_versions`), which the
# judgements read too
RUN_REPEATED = "run_repeated"

FINDING_COLUMNS = ["submission_id", "file_name", "severity", "rule", "row_number", "column_name", "message"]


def load_batch(
    writer: Writer,
    decisions: list[Decision],
    observations: pl.DataFrame,
    findings: pl.DataFrame,
    periods: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Load every decision in order, in one transaction of its own; see `load_transaction` and `load_decisions`.

    Returns every finding recorded, the load-time warnings included.
    """
    if not decisions:
        return findings
    with load_transaction(writer):
        recorded = load_decisions(writer, decisions, observations, findings, periods)
        # their notices are due from now on, whatever happens to the run after its commit
        refused = recorded.filter(pl.col("severity") == "error")["submission_id"].to_list()
        notifications.note_due(
            writer.con, [*(d.receipt.submission_id for d in decisions if d.status == REJECTED), *refused]
        )
        return recorded


@contextmanager
def load_transaction(writer: Writer, rewind: Rewind | None = None) -> Iterator[None]:
    """One transaction for a batch or a backfill; its decisions go in with `load_decisions`, in receipt order.

    `rewind`, given by a backfill, first undoes what the replayed submissions did.
    Nothing is committed unless everything loaded in it passed its audit.
    """
    con = writer.con
    con.execute("begin transaction")
    try:
        if rewind is not None:
            replay.rewind(con, rewind)
        refresh_reference(con, writer.registry)
        yield
        con.execute("commit")
    except BaseException:
        # the failure is what counts: a transaction DuckDB has already ended (a full disk fails the commit and
        # aborts it) cannot be rolled back, and that second error must not pass for the file's fault
        with suppress(duckdb.Error):
            con.execute("rollback")
        raise


def load_decisions(
    writer: Writer,
    decisions: list[Decision],
    observations: pl.DataFrame | str,
    findings: pl.DataFrame,
    periods: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Load the decisions of consecutive receipts, inside `load_transaction`: versions, warnings, outcomes, audit.

    `observations` holds the rows of the submissions to load (key, period_type,
    value, status, comment, action, row_number, submission_id): a frame, or the
    name of a table they were staged in (`replay.stage_rows`); `findings` the
    validation findings of every submission; `periods` which periods each
    submission names (kept so a backfill finds what touches a range). Returns every
    finding recorded, the load-time warnings included.
    """
    con, registry = writer.con, writer.registry
    loaded = [d.receipt for d in decisions if d.status == "loaded"]
    order = pl.DataFrame(
        {
            "submission_id": [r.submission_id for r in loaded],
            "sequence": [r.sequence for r in loaded],
            "received_at": [r.received_at for r in loaded],
            "arrived_at": [r.uploaded_at or r.received_at for r in loaded],  # what an approval is judged against
        },
        schema={
            "submission_id": pl.String,
            "sequence": pl.Int64,
            "received_at": pl.Datetime("us", "UTC"),
            "arrived_at": pl.Datetime("us", "UTC"),
        },
    )
    # Each step is one statement over all the rows: DuckDB holds the appends of an open
    # transaction in memory, so many small statements would cost more than a few large ones.
    if isinstance(observations, str):
        con.execute(f"create or replace temp view incoming_all as select * from {observations}")
    else:
        con.register("incoming_all", observations)
    con.register("run_order", order)
    try:
        if periods is not None and periods.height:
            insert_frame(con, "pipeline.submission_periods", periods, or_ignore=True)
        all_findings = findings
        rows = con.execute("select count(*) from incoming_all").fetchall()[0][0]
        if rows:
            # one table that every step below reads (a view would join the frame and the order again in each)
            con.execute(
                "create or replace temp table run_rows as select i.*, o.sequence, o.received_at, o.arrived_at "
                "from incoming_all as i join run_order as o using (submission_id)"
            )
            refused = judge_approvals(con, registry)
            if refused.height:  # rejected whole: their rows leave run_rows, they are recorded as rejected
                findings = pl.concat([findings, refused], how="vertical_relaxed")
                all_findings = findings
                decisions = _rejected(decisions, set(refused["submission_id"]))
                con.execute(
                    "delete from run_rows where submission_id in (select unnest($refused))",
                    {"refused": refused["submission_id"].unique().to_list()},
                )
            con.execute(
                "insert or ignore into core.periods select distinct period, period_type, period_start, "
                "period_end, base_period from run_rows"
            )
            write_versions(writer)
            cap = registry.limits.max_findings_per_rule
            sequences = {r.submission_id: r.sequence for r in loaded}
            warnings = judge_run(con, registry, sequences, cap=cap, repeated=RUN_REPEATED)
            all_findings = cap_findings(pl.concat([findings, warnings], how="vertical_relaxed"), cap)
        _record_outcomes(con, decisions, all_findings)
        if rows:
            invariants.audit_load(con, registry, "run_rows")
            for made in ("run_rows", RUN_REPEATED, "pipeline.run_versions"):
                con.execute(f"drop table {made}")
    except BaseException:
        with suppress(duckdb.Error):  # the transaction is failing: its rollback takes these away
            _forget_incoming(con, observations)
        raise
    _forget_incoming(con, observations)
    return all_findings


def _rejected(decisions: list[Decision], refused: set[str]) -> list[Decision]:
    """The decisions with the originals of `refused` rejected: an error found at load (period_approved) rejects
    a submission as any error does (`transforms.decisions.after_load` tells the run the same from the findings)."""
    return [
        replace(d, status=REJECTED) if d.status == LOADED and d.receipt.submission_id in refused else d
        for d in decisions
    ]


def _forget_incoming(con: duckdb.DuckDBPyConnection, observations: pl.DataFrame | str) -> None:
    if isinstance(observations, str):
        con.execute("drop view incoming_all")
    else:
        con.unregister("incoming_all")
    con.unregister("run_order")


def write_versions(writer: Writer) -> None:
    """Close the versions the load replaces and add the ones it starts, all keys at once.

    The keys with more than one event (a version held, or more than one row in the run) are worked out first
    (the table RUN_REPEATED, which the judgements read too); their versions go through a table, which the
    closing reads, and those of every other key (a new key with one row: most of a new period's) straight into
    the history."""
    con, registry = writer.con, writer.registry
    keys, history = registry.key_columns, "core.observation_history"
    con.execute(f"create or replace temp table {RUN_REPEATED} as {repeated_keys_sql(registry, history)}")
    # a table of the database, not a temporary one: DuckDB can write a large one to disk as it goes
    repeated = versions_sql(registry, history, repeated=RUN_REPEATED, part="repeated")
    con.execute(f"create or replace table pipeline.run_versions as {repeated}")
    matched = " and ".join(f"h.{c} = v.{c}" for c in keys)
    con.execute(
        f"""update {history} as h set valid_to = v.ends
            from pipeline.run_versions as v
            where v.sequence = 0 and v.ends is not null and h.valid_to is null and {matched}"""
    )
    columns = ", ".join((*keys, "period_type", "value", "status", "comment", "submission_id", "row_number"))
    single = versions_sql(registry, history, repeated=RUN_REPEATED, part="single")
    for started in ("pipeline.run_versions where sequence > 0 and present", f"({single})"):
        con.execute(
            f"insert into {history} ({columns}, valid_from, valid_to) select {columns}, received_at, ends from {started}"
        )


def _record_outcomes(con: duckdb.DuckDBPyConnection, decisions: list[Decision], findings: pl.DataFrame) -> None:
    """Each decision's row in audit.submissions, the findings in audit.findings, set-aside receipts noted,
    and the attempts at these receipts forgotten (they have a final status now)."""
    counts = {
        (sid, severity): n
        for sid, severity, n in findings.group_by("submission_id", "severity").agg(stands_for().sum()).iter_rows()
    }
    observations = dict(con.execute("select submission_id, count(*) from incoming_all group by all").fetchall())
    submissions = pl.DataFrame(
        [
            {
                "submission_id": d.receipt.submission_id,
                "file_name": d.receipt.file_name,
                "format": d.receipt.format,
                "reporter": d.reporter,
                "sequence": d.receipt.sequence,
                "received_at": d.receipt.received_at,
                "status": d.status,
                "errors": 0 if d.status == "duplicate" else counts.get((d.receipt.submission_id, "error"), 0),
                "warnings": 0 if d.status == "duplicate" else counts.get((d.receipt.submission_id, "warning"), 0),
                "observations": observations.get(d.receipt.submission_id, 0) if d.status == "loaded" else 0,
                "size_bytes": d.receipt.size_bytes,
                "uploaded_by": d.receipt.uploaded_by,
                "uploaded_at": d.receipt.uploaded_at,
            }
            for d in decisions
        ],
        schema_overrides={"reporter": pl.String, **UPLOAD_TYPES},
    )
    names = {d.receipt.submission_id: d.receipt.file_name for d in decisions if d.status != "duplicate"}
    named_findings = findings.with_columns(
        pl.col("submission_id").replace_strict(names, default=None).alias("file_name")
    ).select(FINDING_COLUMNS)
    insert_frame(con, "audit.submissions", submissions)
    insert_frame(con, "audit.findings", named_findings)
    set_aside = [(d.receipt.sequence, d.receipt.submission_id) for d in decisions if d.set_aside]
    if set_aside:
        insert_frame(
            con,
            "pipeline.set_aside",
            pl.DataFrame(set_aside, schema=["sequence", "submission_id"], orient="row"),
            or_ignore=True,
        )
    con.execute(
        "delete from pipeline.attempts where sequence in (select unnest($s))",
        {"s": [d.receipt.sequence for d in decisions]},
    )
