"""The nightly flow: discover, archive, read and validate, load, publish, summarise.

Each step is a Prefect task so that it shows in the Prefect UI when a server is
configured; without one, Prefect runs the flow on a temporary local server.
DuckDB connections never cross a task boundary: each task opens the warehouse
it needs by path.
"""

from __future__ import annotations

import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows import steps
from flows.settings import Settings
from schemas import load_registry
from warehouse.archive import Archive
from warehouse.layout import WarehouseFiles
from warehouse.lock import WriterLock
from warehouse.store import Warehouse


@task(name="discover", cache_policy=NO_CACHE)
def discover_inbox(inbox: Path) -> steps.Discovery:
    return steps.discover(inbox)


def _briefly_locked(task, task_run, state) -> bool:
    """Retry only when the database file was briefly held by another process; nothing else heals by waiting."""
    try:
        state.result()
    except duckdb.IOException as problem:
        return "lock" in str(problem).lower()
    except Exception:
        return False
    return False


_TRANSIENT = {"retries": 3, "retry_delay_seconds": [2, 10, 30], "retry_condition_fn": _briefly_locked}


@task(name="archive", cache_policy=NO_CACHE, **_TRANSIENT)
def archive_new_files(discovery: steps.Discovery, files: WarehouseFiles) -> steps.Taken:
    with Warehouse.open(files, load_registry()) as warehouse:
        warehouse.publish_analyst_file(steps.now_utc())  # mends a run killed after loading, before publishing
        return steps.take(discovery, warehouse, Archive(files.archive_dir), steps.now_utc())


@task(name="read-and-validate", cache_policy=NO_CACHE, **_TRANSIENT)
def read_and_validate(files: WarehouseFiles, timezone: str) -> steps.Prepared:
    with Warehouse.open(files, load_registry()) as warehouse:
        return steps.prepare_pending(warehouse, load_registry(), ZoneInfo(timezone))


@task(name="load", cache_policy=NO_CACHE, **_TRANSIENT)
def load(prepared: steps.Prepared, files: WarehouseFiles):
    with Warehouse.open(files, load_registry()) as warehouse:
        return warehouse.apply(prepared.decisions, prepared.observations, prepared.findings, prepared.periods)


@task(name="publish", cache_policy=NO_CACHE, **_TRANSIENT)
def publish(files: WarehouseFiles) -> int:
    with Warehouse.open(files, load_registry()) as warehouse:
        return warehouse.publish_analyst_file(steps.now_utc())


OUTCOMES_ARTIFACT = "ctip-submission-outcomes"


@task(name="summarise", cache_policy=NO_CACHE)
def summarise(prepared: steps.Prepared, findings, discovery: steps.Discovery, taken: steps.Taken) -> steps.RunSummary:
    """The run's summary, also published as a Prefect table artifact (one row per submission)."""
    summary = steps.summarise(prepared.decisions, findings, discovery, taken)
    create_table_artifact(
        key=OUTCOMES_ARTIFACT,
        table=steps.outcome_rows(summary),
        description=(
            f"Loaded {summary.count('loaded')}, rejected {summary.count('rejected')}, "
            f"duplicates {summary.count('duplicate')}, warnings {summary.warnings}"
        ),
    )
    return summary


@flow(name="ctip-nightly", log_prints=True)
def nightly(
    inbox: str, warehouse: str, timezone: str = "Asia/Phnom_Penh", lock_timeout_seconds: float = 600.0
) -> steps.RunSummary:
    """Every new file in the inbox archived, validated, loaded; comparison tables brought up to date."""
    files = WarehouseFiles(Path(warehouse))
    _body_started.set()
    with WriterLock(files.lock_file, lock_timeout_seconds, purpose="ctip nightly run"):
        discovery = discover_inbox(Path(inbox))
        taken = archive_new_files(discovery, files)
        prepared = read_and_validate(files, timezone)
        findings = load(prepared, files)
        publish(files)
        return summarise(prepared, findings, discovery, taken)


_ORCHESTRATOR_PACKAGES = {"prefect", "httpx", "httpcore", "sqlalchemy", "sqlite3", "uvicorn", "alembic", "anyio"}
_body_started = threading.Event()


def _orchestrator_failed(problem: BaseException) -> bool:
    """True when the orchestrator, not the run's own work, failed."""
    if not _body_started.is_set():
        return True  # the flow never began: the orchestrator could not start it
    return type(problem).__module__.split(".")[0] in _ORCHESTRATOR_PACKAGES


def run_nightly(settings: Settings, on_fallback=None) -> steps.RunSummary:
    """The nightly flow; if the orchestrator itself fails (its state left broken by a killed run, say),
    the same steps run without it, so a broken orchestrator never stops the night's work.

    The steps are idempotent and each load is one transaction, so running them after a
    partial flow run is safe.
    """
    _body_started.clear()
    try:
        return nightly(
            inbox=str(settings.inbox), warehouse=str(settings.warehouse), timezone=settings.timezone,
            lock_timeout_seconds=settings.lock_timeout_seconds,
        )
    except Exception as problem:
        if not _orchestrator_failed(problem):
            raise
        if on_fallback is not None:
            on_fallback(problem)
        return steps.run_once(
            settings.inbox, settings.warehouse, load_registry(), settings.zone, steps.now_utc(),
            settings.lock_timeout_seconds,
        )
