"""The nightly flow: discover, archive, collect, read and validate, load, publish, summarise.

Each step is a Prefect task so that it shows in the Prefect UI when a server is
configured; without one, Prefect runs the flow on a temporary local server.
DuckDB connections never cross a task boundary: each task opens the warehouse
it needs by path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl
from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows import datadocs, steps
from flows.settings import Settings
from schemas import load_registry
from transforms.findings import empty_findings
from warehouse.archive import Archive
from warehouse.layout import WarehouseFiles
from warehouse.lock import WriterLock
from warehouse.store import Decision, Warehouse
from warehouse.uploads import UploadLedger


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
        return steps.take(discovery, warehouse, Archive(files.archive_dir), steps.now_utc(), UploadLedger(files.uploads_db))


@task(name="collect", cache_policy=NO_CACHE, **_TRANSIENT)
def collect(files: WarehouseFiles) -> steps.Pending:
    with Warehouse.open(files, load_registry()) as warehouse:
        return steps.collect_pending(warehouse)


# One chunk of the new files, read and validated as one frame; runs on a Dask worker when
# fanned out. Made from a plain function of `steps`, which workers import by reference.
read_and_validate = task(steps.prepare_chunk_on_worker, name="read-and-validate", cache_policy=NO_CACHE)


@task(name="begin-batch", cache_policy=NO_CACHE, **_TRANSIENT)
def begin_batch(batch: steps.Pending, files: WarehouseFiles) -> None:
    with Warehouse.open(files, load_registry()) as warehouse:
        steps.begin_batch(warehouse, batch)


@task(name="load", cache_policy=NO_CACHE, **_TRANSIENT)
def load(prepared: steps.Prepared, files: WarehouseFiles):
    with Warehouse.open(files, load_registry()) as warehouse:
        return steps.load_isolated(warehouse, prepared)


@task(name="publish", cache_policy=NO_CACHE, **_TRANSIENT)
def publish(files: WarehouseFiles) -> int:
    with Warehouse.open(files, load_registry()) as warehouse:
        return warehouse.publish_analyst_file(steps.now_utc())


OUTCOMES_ARTIFACT = "ctip-submission-outcomes"


@task(name="summarise", cache_policy=NO_CACHE)
def summarise(
    decisions: list[Decision], findings: list[pl.DataFrame], discovery: steps.Discovery, taken: steps.Taken,
    docs: Path | None = None,
) -> steps.RunSummary:
    """The run's summary, also published as a Prefect table artifact (one row per submission)."""
    summary = steps.summarise(decisions, pl.concat([empty_findings(), *findings], how="vertical_relaxed"), discovery,
                              taken, docs)
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
    inbox: str, warehouse: str, timezone: str = "Asia/Phnom_Penh", lock_timeout_seconds: float = 600.0,
    chunks: int = 1, show_progress: bool = False,
) -> steps.RunSummary:
    """Every new file in the inbox archived, validated, loaded; comparison tables brought up to date.

    The new files go in batches of consecutive receipts of about `chunks` x
    `steps.CHUNK_BYTES`, so memory stays bounded whatever the inbox holds: each batch
    is read and validated, then loaded in one transaction; analysts see the run
    when it is published, once, at the end. With `chunks` > 1 a batch is read and
    validated in that many parts, in parallel on the flow's task runner (Dask
    workers with `--workers` or a scheduler address); loading stays in this
    process, the one writer.
    """
    files = WarehouseFiles(Path(warehouse))
    started = steps.now_utc()
    registry = load_registry()
    _progress["body_started"] = True
    with WriterLock(files.lock_file, lock_timeout_seconds, purpose="ctip nightly run"):
        discovery = discover_inbox(Path(inbox))
        taken = archive_new_files(discovery, files)
        pending = collect(files)
        decisions, findings, validations = list(pending.settled), [pending.settled_findings], []
        batches = pending.batches(chunks)
        with steps.progress_bar(show_progress) as progress:
            originals = sum(1 for b in batches for r in b.receipts if b.is_original(r))
            reading = progress.add_task("reading and validating", total=originals)
            loading = progress.add_task("loading", total=sum(len(b.receipts) for b in batches))
            for batch in batches:
                batch.learn(decisions)
                begin_batch(batch, files)
                pieces = batch.original_chunks(chunks)
                futures = [
                    read_and_validate.submit(batch, piece, steps.read_contents(files, piece, registry), timezone)
                    for piece in pieces
                ]
                parts = []
                for piece, future in zip(pieces, futures):
                    parts.append(future.result())
                    progress.advance(reading, len(piece))
                prepared = steps.merge_prepared(batch, parts, load_registry())
                findings.append(load(prepared, files))
                progress.advance(loading, len(batch.receipts))
                decisions += prepared.decisions
                validations.append(datadocs.validation(prepared, findings[-1]))
        publish(files)
        docs = datadocs.write_site(files.docs_dir, started, validations)
        return summarise(decisions, findings, discovery, taken, docs)

@flow(name="ctip-nightly", log_prints=True)
def served_nightly() -> steps.RunSummary:
    """The nightly flow as `ctip serve` schedules it, with no parameters: the inbox, warehouse, zone
    and lock timeout are ctip's own settings (those `ctip serve` was started with, which its flow
    runs inherit), so whoever can reach the orchestrator cannot point a run at other paths."""
    from flows.settings import from_environment

    settings = from_environment()
    return nightly.fn(
        inbox=str(settings.inbox), warehouse=str(settings.warehouse), timezone=settings.timezone,
        lock_timeout_seconds=settings.lock_timeout_seconds,
    )


_ORCHESTRATOR_PACKAGES = {
    "prefect", "prefect_dask", "dask", "distributed", "httpx", "httpcore", "sqlalchemy", "sqlite3", "uvicorn",
    "alembic", "anyio",
}
# Whether the flow's own body began; a plain dict (not a threading.Event, which holds a
# lock) because the flow's function is pickled with its globals when tasks go to Dask.
_progress = {"body_started": False}


def _orchestrator_failed(problem: BaseException) -> bool:
    """True when the orchestrator, not the run's own work, failed."""
    if not _progress["body_started"]:
        return True  # the flow never began: the orchestrator could not start it
    return type(problem).__module__.split(".")[0] in _ORCHESTRATOR_PACKAGES


def _with_task_runner(workers: int | None, scheduler: str | None):
    """The nightly flow, fanned out on Dask when asked: a local cluster of `workers`, or a scheduler address."""
    if not workers and not scheduler:
        return nightly
    from prefect_dask import DaskTaskRunner

    runner = (
        DaskTaskRunner(address=scheduler)
        if scheduler
        else DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True})
    )
    return nightly.with_options(task_runner=runner)


def _die_with_parent() -> None:
    """In a child before it starts: the kernel sends it SIGTERM when the process that started it ends, however."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextmanager
def temporary_server() -> Iterator[None]:
    """The run's own Prefect server on 127.0.0.1, unless PREFECT_API_URL names one: the one Prefect would
    start for the run, but it ends with the run even when the run is killed or aborts."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, temporary_settings

    if PREFECT_API_URL.value():
        yield
        return
    import prefect

    from flows.local_server import free_port, is_healthy

    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--app-dir", str(Path(prefect.__file__).parent.parent), "--factory",
         "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "error", "--lifespan", "on"],
        env={**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"},
        preexec_fn=_die_with_parent,
    )
    try:
        deadline = time.monotonic() + PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
        while not is_healthy(api_url):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the run's temporary Prefect server did not start (exit status {server.poll()})")
            time.sleep(0.1)
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            yield
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


class Terminated(SystemExit):
    """SIGTERM arrived: the run stops where it is (the open transaction rolls back), exit status 143."""


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """SIGTERM ends the run as an exception would, so that its clean-up (transaction, server) runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _stop(signum, frame):
        raise Terminated(128 + signum)

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_nightly(settings: Settings, on_fallback=None, workers: int | None = None,
                scheduler: str | None = None, show_progress: bool = False) -> steps.RunSummary:
    """The nightly flow; if the orchestrator itself fails (its state left broken by a killed run, say),
    the same steps run without it, so a broken orchestrator never stops the night's work.

    The steps are idempotent and each load is one transaction, so running them after a
    partial flow run is safe.
    """
    _progress["body_started"] = False
    with stop_on_sigterm():
        try:
            with temporary_server():
                return _with_task_runner(workers, scheduler)(
                    inbox=str(settings.inbox), warehouse=str(settings.warehouse), timezone=settings.timezone,
                    lock_timeout_seconds=settings.lock_timeout_seconds,
                    chunks=max(1, workers or (4 if scheduler else 1)), show_progress=show_progress,
                )
        except Exception as problem:
            return _without_orchestrator(problem, settings, on_fallback)


def _without_orchestrator(problem: Exception, settings: Settings, on_fallback) -> steps.RunSummary:
    """The same steps without the orchestrator when it, not the run's own work, failed; else the failure."""
    if not _orchestrator_failed(problem):
        raise problem
    if on_fallback is not None:
        on_fallback(problem)
    return steps.run_once(
        settings.inbox, settings.warehouse, load_registry(), settings.zone, steps.now_utc(),
        settings.lock_timeout_seconds,
    )
