"""Loading: receipts, revisions and audit rows, in the writer's DuckDB database.

Write-audit-publish: the submissions of a run (or of one batch of it) are applied
inside one transaction (their versions computed for every key at once, in receipt
order, then judged against the warehouse as known at each receipt, then their
outcomes recorded), then the result is audited (codes against the registry, one
current version per key); only then is it committed, and then published to the
analyst file (`warehouse/publication.py`). A process killed part way leaves the
warehouse as it was before the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import duckdb
import polars as pl

from schemas.findings import cap_findings
from schemas.registry import Registry
from warehouse import publication
from warehouse.judgement import judge_run, versions_sql
from warehouse.layout import WarehouseFiles
from warehouse.sqlfiles import SQL_DIR, sql_text

ONE_TICK = timedelta(microseconds=1)
# The writer's DuckDB keeps at most this much in memory and spills the rest to disk beside
# the database, so a load or a backfill of any size fits in 2 GB with Python's share.
MEMORY_LIMIT = "1GB"
STAGED_ROWS = "pipeline.staged_rows"
RECEIPT_COLUMNS = (
    "r.sequence, r.submission_id, r.file_name, r.format, r.size_bytes, r.modified_at, r.received_at, "
    "r.uploaded_by, r.uploaded_at"
)
UPLOAD_TYPES = {"uploaded_by": pl.String, "uploaded_at": pl.Datetime("us", "UTC")}
FINDING_COLUMNS = ["submission_id", "file_name", "severity", "rule", "row_number", "column_name", "message"]


@dataclass(frozen=True)
class Receipt:
    """A file taken from the inbox: its place in the order and when it was taken."""

    sequence: int
    submission_id: str
    file_name: str
    format: str
    size_bytes: int
    modified_at: datetime
    received_at: datetime
    uploaded_by: str | None = None  # the portal account that sent it; None for a file put in the inbox folder
    uploaded_at: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """What becomes of one receipt: `loaded`, `rejected` or `duplicate`."""

    receipt: Receipt
    status: str
    reporter: str | None
    set_aside: bool = False  # rejected because ctip failed on it, not because of its content: received again, it is tried again


@dataclass(frozen=True)
class Rewind:
    """What a backfill undoes before replaying: every effect from `since` on (of `reporter`, if given)."""

    since: datetime
    reporter: str | None
    sequences: tuple[int, ...]  # the receipts replayed


class PublishAuditFailed(RuntimeError):
    """The staged result broke an invariant; nothing was published."""


class Warehouse:
    def __init__(self, con: duckdb.DuckDBPyConnection, registry: Registry, files: WarehouseFiles):
        self.con = con
        self.registry = registry
        self.files = files

    @classmethod
    @contextmanager
    def open(cls, files: WarehouseFiles, registry: Registry) -> Iterator[Warehouse]:
        """The writer's database of the warehouse whose analyst file is `files.analyst_file`."""
        files.home.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(files.state_db))
        try:
            con.execute("set TimeZone = 'UTC'")
            con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
            warehouse = cls(con, registry, files)
            warehouse.ensure_schema()
            yield warehouse
        finally:
            con.close()

    def publish_analyst_file(self, now: datetime, force_full: bool = False) -> int:
        """Make the analyst file show everything committed; see `warehouse/publication.py`."""
        return publication.publish(self.con, self.files, self.registry.key_columns, now, force_full)

    def ensure_schema(self) -> None:
        """Tables and views, from warehouse/sql/ddl/ in order, then the views of marts/."""
        for ddl in sorted((SQL_DIR / "ddl").glob("*.sql")):
            self.con.execute(ddl.read_text(encoding="utf-8"))
        self.con.execute(sql_text("marts", "reporter_disagreements.sql"))

    # -------------------------------------------------------------- receipts
    def received(self) -> set[tuple[str, str]]:
        """(file name, submission id) of every file already taken."""
        return set(self.con.sql("select file_name, submission_id from pipeline.receipts").fetchall())

    def record_receipts(self, files: list[dict], now: datetime) -> list[Receipt]:
        """Give each archived file its sequence and receipt time, in one transaction.

        `files` are dicts with submission_id, file_name, format, size_bytes and
        modified_at, already in the order they are to be applied.
        """
        if not files:
            return []
        last_sequence, last_received = self.con.sql(
            "select coalesce(max(sequence), 0), max(received_at) from pipeline.receipts"
        ).fetchall()[0]
        receipts = []
        received_at = now.astimezone(UTC)
        for offset, item in enumerate(files, start=1):
            if last_received is not None and received_at <= last_received:
                received_at = last_received + ONE_TICK
            receipts.append(Receipt(sequence=last_sequence + offset, received_at=received_at, **item))
            last_received = received_at
        self._insert("pipeline.receipts", pl.DataFrame([r.__dict__ for r in receipts], schema_overrides=UPLOAD_TYPES),
                     transaction=True)
        return receipts

    def pending_receipts(self) -> list[Receipt]:
        """Receipts without a final status, in the order they were taken."""
        rows = self.con.sql(
            f"""select {RECEIPT_COLUMNS}
               from pipeline.receipts r anti join audit.submissions s using (sequence)
               order by r.sequence"""
        ).fetchall()
        return [Receipt(*row) for row in rows]

    def periods_of(self, submission_ids: list[str]) -> dict[str, list[str]]:
        """The periods each submission names, as recorded when it was received."""
        rows = self.con.sql(
            "select submission_id, list(period order by period) from pipeline.submission_periods "
            "where submission_id in (select unnest($ids)) group by all",
            params={"ids": submission_ids},
        ).fetchall()
        return dict(rows)

    def first_receipts(self) -> dict[str, int]:
        """The sequence under which each distinct content was first taken (receipts set aside do not count)."""
        return dict(self.con.sql(
            "select submission_id, min(sequence) from pipeline.receipts "
            "where sequence not in (select sequence from pipeline.set_aside) group by all"
        ).fetchall())

    def note_attempt(self, sequences: list[int]) -> None:
        """Count one more run that began handling these receipts (kept until they have a final status)."""
        if sequences:
            self.con.execute(
                "insert into pipeline.attempts select unnest($s), 1 "
                "on conflict (sequence) do update set attempts = attempts + 1",
                {"s": sequences},
            )

    def attempts_of(self, sequences: list[int]) -> dict[int, int]:
        rows = self.con.sql(
            "select sequence, attempts from pipeline.attempts where sequence in (select unnest($s))",
            params={"s": sequences},
        ).fetchall()
        return dict(rows)

    def reporters_of(self, submission_ids: list[str]) -> dict[str, str | None]:
        rows = self.con.sql(
            "select submission_id, any_value(reporter) from audit.submissions "
            "where submission_id in (select unnest($ids)) and status <> 'duplicate' group by all",
            params={"ids": submission_ids},
        ).fetchall()
        return dict(rows)

    # ------------------------------------------------------------ publishing
    def apply(
        self, decisions: list[Decision], observations: pl.DataFrame, findings: pl.DataFrame,
        periods: pl.DataFrame | None = None, rewind: Rewind | None = None,
    ) -> pl.DataFrame:
        """Apply every decision in order, in one transaction; see `loading` and `load_part`.

        Returns every finding recorded, the load-time warnings included.
        """
        if not decisions:
            return findings
        with self.loading(rewind):
            return self.load_part(decisions, observations, findings, periods)

    @contextmanager
    def loading(self, rewind: Rewind | None = None) -> Iterator[None]:
        """One transaction for a run or a backfill; its parts go in with `load_part`, in receipt order.

        `rewind`, given by a backfill, first undoes what the replayed submissions did.
        Nothing is committed unless every part went in and passed its audit.
        """
        self.con.execute("begin transaction")
        try:
            if rewind is not None:
                self._rewind(rewind)
            self._refresh_reference()
            yield
            self.con.execute("commit")
        except BaseException:
            self.con.execute("rollback")
            raise

    def load_part(
        self, decisions: list[Decision], observations: pl.DataFrame | str, findings: pl.DataFrame,
        periods: pl.DataFrame | None = None,
    ) -> pl.DataFrame:
        """Apply the decisions of consecutive receipts, inside `loading`: versions, warnings, outcomes, audit.

        `observations` holds the rows of the submissions to load (key, period_type,
        value, status, comment, action, row_number, submission_id): a frame, or the
        name of a table they were staged in (`stage`); `findings` the validation
        findings of every submission; `periods` which periods each submission names
        (kept so a backfill finds what touches a range). Returns every finding
        recorded, the load-time warnings included.
        """
        con = self.con
        loaded = [d.receipt for d in decisions if d.status == "loaded"]
        order = pl.DataFrame(
            {"submission_id": [r.submission_id for r in loaded], "sequence": [r.sequence for r in loaded],
             "received_at": [r.received_at for r in loaded]},
            schema={"submission_id": pl.String, "sequence": pl.Int64, "received_at": pl.Datetime("us", "UTC")},
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
                self._insert("pipeline.submission_periods", periods, or_ignore=True)
            all_findings = findings
            rows = con.sql("select count(*) from incoming_all").fetchall()[0][0]
            if rows:
                con.execute(
                    "insert or ignore into core.periods select distinct period, period_type, period_start, "
                    "period_end, base_period from incoming_all"
                )
                con.execute(
                    "create or replace temp view run_rows as select i.*, o.sequence, o.received_at "
                    "from incoming_all as i join run_order as o using (submission_id)"
                )
                self._write_versions()
                warnings = judge_run(con, self.registry, {r.submission_id: r.sequence for r in loaded})
                all_findings = cap_findings(
                    pl.concat([findings, warnings], how="vertical_relaxed"), self.registry.limits.max_findings_per_rule
                )
                con.execute("drop view run_rows")
                con.execute("drop table pipeline.run_versions")
            self._record_outcomes(decisions, all_findings)
            if rows:
                self._audit()
        except BaseException:
            with suppress(duckdb.Error):  # the transaction is failing: its rollback takes these away
                self._forget_incoming(observations)
            raise
        self._forget_incoming(observations)
        return all_findings

    def _forget_incoming(self, observations: pl.DataFrame | str) -> None:
        if isinstance(observations, str):
            self.con.execute("drop view incoming_all")
        else:
            self.con.unregister("incoming_all")
        self.con.unregister("run_order")

    def stage(self, observations: pl.DataFrame) -> None:
        """Keep rows to load later (a backfill's chunks) in `pipeline.staged_rows`, committed at once."""
        self._insert(STAGED_ROWS, observations)

    def clear_staged(self) -> None:
        self.con.execute(f"delete from {STAGED_ROWS}")

    def _write_versions(self) -> None:
        """Close the versions the run replaces and add the ones it starts, all keys at once."""
        con = self.con
        keys = self.registry.key_columns
        # a table of the database, not a temporary one: DuckDB can write a large one to disk as it goes
        versions = versions_sql(self.registry, "core.observation_history")
        con.execute(f"create or replace table pipeline.run_versions as {versions}")
        con.execute(
            f"""update core.observation_history as h set valid_to = v.ends
                from pipeline.run_versions as v
                where v.sequence = 0 and v.ends is not null and h.valid_to is null and {self._key_match("h", "v")}"""
        )
        columns = ", ".join((*keys, "period_type", "value", "status", "comment", "submission_id", "row_number"))
        con.execute(
            f"""insert into core.observation_history ({columns}, valid_from, valid_to)
                select {columns}, received_at, ends from pipeline.run_versions where sequence > 0 and present"""
        )

    def _insert(self, table: str, frame: pl.DataFrame, transaction: bool = False, or_ignore: bool = False) -> None:
        """Bulk insert of a frame by column name (through Arrow, never row by row)."""
        self.con.register("_rows", frame)
        try:
            if transaction:
                self.con.execute("begin transaction")
            self.con.execute(f"insert {'or ignore ' if or_ignore else ''}into {table} by name select * from _rows")
            if transaction:
                self.con.execute("commit")
        finally:
            self.con.unregister("_rows")

    def _rewind(self, rewind: Rewind) -> None:
        """Undo the history and audit rows of the submissions about to be replayed."""
        con = self.con
        only = "and reporter = $reporter" if rewind.reporter else ""
        params = {"since": rewind.since, **({"reporter": rewind.reporter} if rewind.reporter else {})}
        con.execute(f"delete from core.observation_history where valid_from >= $since {only}", params)
        con.execute(f"update core.observation_history set valid_to = null where valid_to >= $since {only}", params)
        sequences = {"sequences": list(rewind.sequences)}
        replayed = "select submission_id from audit.submissions where sequence in (select unnest($sequences))"
        con.execute(f"delete from audit.findings where submission_id in ({replayed}) ", sequences)
        con.execute("delete from audit.submissions where sequence in (select unnest($sequences))", sequences)
        con.execute("delete from pipeline.set_aside where sequence in (select unnest($sequences))", sequences)

    def backfill_receipts(self, first: date, last_end: date, reporter: str | None) -> tuple[datetime, list[Receipt]] | None:
        """The receipts a backfill replays, and the receipt time from which it rewrites history.

        The submissions touching the range (periods starting on or after `first` and
        ending on or before `last_end`) fix where history is rewritten from; every
        submission received from then on (of `reporter`, if given) is replayed.
        """
        touching = self.con.sql(
            """select min(s.sequence) from audit.submissions s
               join pipeline.submission_periods p using (submission_id)
               where s.status <> 'duplicate' and p.period_start >= $first and p.period_end <= $last_end
                 and ($reporter is null or s.reporter = $reporter)""",
            params={"first": first, "last_end": last_end, "reporter": reporter},
        ).fetchall()[0][0]
        if touching is None:
            return None
        rows = self.con.sql(
            f"""select {RECEIPT_COLUMNS}
               from pipeline.receipts r join audit.submissions s using (sequence)
               where s.status <> 'duplicate' and r.sequence >= $since
                 and ($reporter is null or s.reporter = $reporter)
               order by r.sequence""",
            params={"since": touching, "reporter": reporter},
        ).fetchall()
        receipts = [Receipt(*row) for row in rows]
        return receipts[0].received_at, receipts

    def _key_match(self, left: str, right: str) -> str:
        return " and ".join(f"{left}.{c} = {right}.{c}" for c in self.registry.key_columns)

    def _record_outcomes(self, decisions: list[Decision], findings: pl.DataFrame) -> None:
        counts = {
            (sid, severity): n
            for sid, severity, n in findings.group_by("submission_id", "severity").len().iter_rows()
        }
        keyed = dict(self.con.sql("select submission_id, count(*) from incoming_all group by all").fetchall())
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
                    "observations": keyed.get(d.receipt.submission_id, 0) if d.status == "loaded" else 0,
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
        self._insert("audit.submissions", submissions)
        self._insert("audit.findings", named_findings)
        set_aside = [(d.receipt.sequence, d.receipt.submission_id) for d in decisions if d.set_aside]
        if set_aside:
            self._insert("pipeline.set_aside", pl.DataFrame(set_aside, schema=["sequence", "submission_id"], orient="row"),
                         or_ignore=True)
        self.con.execute(
            "delete from pipeline.attempts where sequence in (select unnest($s))",
            {"s": [d.receipt.sequence for d in decisions]},
        )

    def _refresh_reference(self) -> None:
        """Copy the registry's code lists into the warehouse, where analysts and the audit read them."""
        registry = self.registry
        tables = {
            "core.reporters": pl.DataFrame(
                {
                    "reporter": list(registry.reporters),
                    "name": [r.name for r in registry.reporters.values()],
                    "consolidates": [r.consolidates for r in registry.reporters.values()],
                }
            ),
            "core.reporter_indicators": pl.DataFrame(
                sorted(registry.allowed_pairs()), schema=["reporter", "indicator"], orient="row"
            ),
            "core.indicators": pl.DataFrame(
                {
                    "indicator": list(registry.indicators),
                    "label": [i.label for i in registry.indicators.values()],
                    "unit": [i.unit for i in registry.indicators.values()],
                    "dimensions": [list(i.dimensions) for i in registry.indicators.values()],
                },
                schema_overrides={"dimensions": pl.List(pl.String)},
            ),
            "core.codes": pl.DataFrame(
                [
                    (name, code, dim.labels.get(code), code in dim.leaves, dim.aggregate_of().get(code))
                    for name, dim in registry.dimensions.items()
                    for code in dim.codes
                ],
                schema=["dimension", "code", "label", "is_leaf", "aggregate"],
                orient="row",
            ),
            "core.areas": pl.DataFrame(
                [(a.code, a.name, a.first_year, a.last_year) for a in registry.areas.values()],
                schema={"area": pl.String, "name": pl.String, "first_year": pl.Int32, "last_year": pl.Int32},
                orient="row",
            ),
        }
        for table, frame in tables.items():
            self.con.execute(f"delete from {table}")
            self._insert(table, frame)

    def _audit(self) -> None:
        """Invariants of the rows in `incoming_all`, checked before commit: a failure is a defect, nothing is published."""
        problems = []
        unknown = ["i.reporter not in (select reporter from core.reporters)",
                   "i.indicator not in (select indicator from core.indicators)",
                   "i.area not in (select area from core.areas)"]
        unknown += [
            f"i.{d} not in (select code from core.codes where dimension = '{d}')"
            for d in self.registry.dimension_names
        ]
        bad_codes = self.con.sql(f"select count(*) from incoming_all i where {' or '.join(unknown)}").fetchall()[0][0]
        if bad_codes:
            problems.append(f"{bad_codes} staged rows carry codes the registry does not know")
        # keys compared by their hash first (one number each, so ten million fit in little memory),
        # then exactly among the few hashes held more than once
        keys = ", ".join(self.registry.key_columns)
        doubled = self.con.sql(
            f"""with touched as (select distinct hash({keys}) as key_hash from incoming_all),
                current as (
                    select hash({keys}) as key_hash from core.observation_history
                    where valid_to is null and hash({keys}) in (select key_hash from touched)
                ),
                suspects as (select key_hash from current group by all having count(*) > 1)
                select count(*) from (
                    select {keys} from core.observation_history
                    where valid_to is null and hash({keys}) in (select key_hash from suspects)
                    group by all having count(*) > 1)"""
        ).fetchall()[0][0]
        if doubled:
            problems.append(f"{doubled} keys would have more than one current version")
        if problems:
            raise PublishAuditFailed("; ".join(problems))
