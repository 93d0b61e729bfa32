"""The nightly flow: the run loop (`flows/runloop.py`) with Prefect tasks for its steps.

Discover, archive, collect, then batch by batch read and validate, load; then
publish and summarise. Each step is a Prefect task so that it shows in the Prefect
UI of the server the run reports to (`flows/orchestrator.py` says which, and when a
run does its steps without the flow); a fan-out on Dask without a server starts a
temporary one of its own.
DuckDB connections never cross a task boundary: each task opens the warehouse
it needs by path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl
from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows import runloop, steps
from flows.batches import Pending, Prepared
from flows.local_server import Server
from flows.settings import Settings, validation_pages_wanted
from schemas import load_registry
from schemas.shapes import Decision, Receipt
from warehouse import database
from warehouse.archive import Archive
from warehouse.layout import WarehouseFiles
from warehouse.lock import WriterLock
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
def archive_new_files(
    discovery: steps.Discovery, files: WarehouseFiles, archive: Archive, timezone: str
) -> steps.Received:
    with database.open_writer(files, load_registry()) as writer:
        database.publish_analyst_file(
            writer, steps.now_utc(), zone=timezone
        )  # mends a run killed after loading, before publishing
        return steps.receive(discovery, writer, archive, steps.now_utc(), UploadLedger(files.uploads_db))


@task(name="collect", cache_policy=NO_CACHE, **_TRANSIENT)
def collect(files: WarehouseFiles) -> Pending:
    with database.open_writer(files, load_registry()) as writer:
        return steps.collect_pending(writer)


# One shard of a batch's originals, read and validated as one frame; runs on a Dask worker when
# fanned out. Made from a plain function of `steps`, which workers import by reference.
read_and_validate = task(steps.prepare_shard_in_any_process, name="read-and-validate", cache_policy=NO_CACHE)


@task(name="begin-batch", cache_policy=NO_CACHE, **_TRANSIENT)
def begin_batch(batch: Pending, files: WarehouseFiles) -> None:
    with database.open_writer(files, load_registry()) as writer:
        steps.begin_batch(writer, batch)


def forget_attempt(batch: Pending, files: WarehouseFiles) -> None:
    """Not a task: the run is being stopped."""
    with database.open_writer(files, load_registry()) as writer:
        steps.forget_attempt(writer, batch)


@task(name="load", cache_policy=NO_CACHE, **_TRANSIENT)
def load(prepared: Prepared, files: WarehouseFiles) -> pl.DataFrame:
    with database.open_writer(files, load_registry()) as writer:
        return steps.load_isolated(writer, prepared)


@task(name="publish", cache_policy=NO_CACHE, **_TRANSIENT)
def publish(files: WarehouseFiles, timezone: str) -> int:
    with database.open_writer(files, load_registry()) as writer:
        return database.publish_analyst_file(writer, steps.now_utc(), zone=timezone)


@task(name="notify", cache_policy=NO_CACHE)
def notify(files: WarehouseFiles, timezone: str) -> str:
    """Notices by e-mail of the submissions the run rejected, and those that failed before; never fails the run."""
    try:
        with database.open_writer(files, load_registry()) as writer:
            line = steps.notify(writer, timezone)
    except Exception as problem:
        line = f"Notices by e-mail were not sent: {type(problem).__name__}: {problem}"
    print(line)
    return line


OUTCOMES_ARTIFACT = "ctip-submission-outcomes"


@task(name="summarise", cache_policy=NO_CACHE)
def summarise(
    decisions: list[Decision],
    findings: pl.DataFrame,
    discovery: steps.Discovery,
    received: steps.Received,
    docs: Path | None = None,
) -> steps.RunSummary:
    """The run's summary, also published as a Prefect table artifact (one row per submission)."""
    summary = steps.summarise(decisions, findings, discovery, received, docs)
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
    inbox: str,
    warehouse: str,
    timezone: str = "Asia/Phnom_Penh",
    lock_timeout_seconds: float = 600.0,
    shards: int = 1,
    show_progress: bool = False,
    validation_pages: bool | None = None,
) -> steps.RunSummary:
    """Every new file in the inbox archived, validated, loaded; comparison tables brought up to date.

    The new files go in batches of consecutive receipts of about `shards` x
    `flows.batches.BATCH_BYTES`, so memory stays bounded whatever the inbox holds:
    each batch is read and validated, then loaded in one transaction; analysts see
    the run when it is published, once, at the end. With `shards` > 1 a batch's
    originals are read and validated in that many shards, in parallel on the flow's
    task runner (Dask workers with `--workers` or a scheduler address); loading
    stays in this process, the one writer. `validation_pages` says whether the run
    writes its validation pages; by default, as the settings say (CTIP_VALIDATION_PAGES).
    """
    files = WarehouseFiles(Path(warehouse))
    archive = Archive(files.archive_dir)  # one for the run: it remembers the small files it takes in
    started = steps.now_utc()
    registry = load_registry()
    if validation_pages is None:
        validation_pages = validation_pages_wanted()
    _progress["body_started"] = True

    def prepare_shards(batch: Pending, batch_shards: list[list[Receipt]]) -> Iterator[Prepared]:
        futures = [
            read_and_validate.submit(batch, shard, steps.read_contents(archive, shard, registry), timezone)
            for shard in batch_shards
        ]
        for future in futures:
            yield future.result()

    run_steps = runloop.RunSteps(
        discover=lambda: discover_inbox(Path(inbox)),
        receive=lambda discovery: archive_new_files(discovery, files, archive, timezone),
        # one shard: the files are read and validated in this process, which imports the validator while it reads
        collect=lambda: steps.import_validator_ahead(collect(files)) if shards == 1 else collect(files),
        begin_batch=lambda batch: begin_batch(batch, files),
        forget_attempt=lambda batch: forget_attempt(batch, files),
        prepare_shards=prepare_shards,
        load=lambda prepared: load(prepared, files),
        publish=lambda: publish(files, timezone),
        summarise=summarise,
        notify=lambda: notify(files, timezone),
    )
    with WriterLock(files.lock_file, lock_timeout_seconds, purpose="ctip nightly run"):
        with steps.progress_bar(show_progress) as progress:
            return runloop.run_batches(
                run_steps, shards, started, files.docs_dir if validation_pages else None, progress
            )


@flow(name="ctip-nightly", log_prints=True)
def served_nightly() -> steps.RunSummary:
    """The nightly flow as `ctip serve` schedules it, with no parameters: the inbox, warehouse, zone
    and lock timeout are ctip's own settings (those `ctip serve` was started with, which its flow
    runs inherit), so whoever can reach the orchestrator cannot point a run at other paths."""
    from flows.settings import from_environment

    settings = from_environment()
    return nightly.fn(
        inbox=str(settings.inbox),
        warehouse=str(settings.warehouse),
        timezone=settings.timezone,
        lock_timeout_seconds=settings.lock_timeout_seconds,
        validation_pages=settings.validation_pages,
    )


@flow(name="ctip-remind", log_prints=True)
def served_remind() -> str:
    """`ctip remind` as `ctip serve` schedules it (CTIP_REMIND_SCHEDULE, daily): as of now, with the default
    --days-before, on ctip's own settings; the deployment takes no parameters."""
    from flows.remind import remind_now
    from flows.settings import from_environment

    settings = from_environment()
    line, count = remind_now(WarehouseFiles(settings.warehouse), settings, steps.now_utc())
    print(f"Reminders and overdue notices: {count} due. {line}")
    return line


_ORCHESTRATOR_PACKAGES = {
    "prefect",
    "prefect_dask",
    "dask",
    "distributed",
    "httpx",
    "httpcore",
    "sqlalchemy",
    "sqlite3",
    "uvicorn",
    "alembic",
    "anyio",
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

    if scheduler:
        return nightly.with_options(task_runner=DaskTaskRunner(address=scheduler))
    _fork_local_workers()
    runner = DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True})
    return nightly.with_options(task_runner=runner)


# What a shard's work imports, the validator above all (3 to 5 s of processor time on its own)
LOCAL_WORKER_PRELOAD = ("distributed", "transforms.validator", "flows.nightly")


def _fork_local_workers() -> None:
    """The workers of a local cluster forked from one process that has imported `LOCAL_WORKER_PRELOAD`, so that
    starting N workers costs one import of it, not N (each a process of its own, as a fresh one would be)."""
    import dask
    from distributed.utils import get_mp_context

    dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"})
    get_mp_context().set_forkserver_preload(list(LOCAL_WORKER_PRELOAD))  # after distributed's own list


def _die_with_parent() -> None:
    """In a child before it starts: the kernel sends it SIGTERM when the process that started it ends, however."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


# Measured on two cores: 9 s to answer in a Prefect home used before, 21 s in a new one (its database's
# migrations); a machine busy with other work takes longer.
TEMPORARY_SERVER_START_SECONDS = 180


@contextmanager
def reporting_to(server: Server | None) -> Iterator[None]:
    """Prefect's settings pointed at `server`; without one, the run's own temporary Prefect server on 127.0.0.1,
    which ends with the run even when the run is killed or aborts (a fan-out on Dask needs a server)."""
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

    if server is not None:
        updates = {PREFECT_API_URL: server.api_url}
        if server.auth_string:
            updates[PREFECT_API_AUTH_STRING] = server.auth_string
        with temporary_settings(updates=updates):
            yield
        return
    with temporary_server() as api_url, temporary_settings(updates={PREFECT_API_URL: api_url}):
        yield


@contextmanager
def temporary_server() -> Iterator[str]:
    """A Prefect server on 127.0.0.1 for as long as the block runs, and its API URL; it is waited for at least
    `TEMPORARY_SERVER_START_SECONDS` (Prefect's own 20 s for its ephemeral server is less than the first start
    in a new Prefect home takes on two cores: its database is made then)."""
    import prefect
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    from flows.local_server import free_port, is_healthy

    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(Path(prefect.__file__).parent.parent),
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ],
        env={**os.environ, "PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"},
        preexec_fn=_die_with_parent,
    )
    try:
        waited = max(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value(), TEMPORARY_SERVER_START_SECONDS)
        deadline = time.monotonic() + waited
        while not is_healthy(api_url):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the run's temporary Prefect server did not start (exit status {server.poll()})")
            time.sleep(0.1)
        yield api_url
        _deliver_queued_logs_and_events()  # else Prefect prints "Error logging to API" under the run's summary
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _deliver_queued_logs_and_events() -> None:
    """Send what Prefect still holds for its server (the run's last log lines and events, sent in the background),
    waiting at most 5 s for each."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=5)
    EventsWorker.drain_all(timeout=5)


def run_nightly(
    settings: Settings,
    server: Server | None,
    on_fallback=None,
    workers: int | None = None,
    scheduler: str | None = None,
    show_progress: bool = False,
) -> steps.RunSummary:
    """The nightly flow, reporting to `server` (or, without one, to a temporary server of its own); if the
    orchestrator itself fails (its state left broken by a killed run, say), the same steps run without it,
    so a broken orchestrator never stops the night's work.

    The steps are idempotent and each load is one transaction, so running them after a
    partial flow run is safe.
    """
    _progress["body_started"] = False
    try:
        with reporting_to(server):
            return _with_task_runner(workers, scheduler)(
                inbox=str(settings.inbox),
                warehouse=str(settings.warehouse),
                timezone=settings.timezone,
                lock_timeout_seconds=settings.lock_timeout_seconds,
                shards=max(1, workers or (4 if scheduler else 1)),
                show_progress=show_progress,
                validation_pages=settings.validation_pages,
            )
    except Exception as problem:
        return _without_orchestrator(problem, settings, on_fallback, show_progress)


def _without_orchestrator(problem: Exception, settings: Settings, on_fallback, show_progress: bool) -> steps.RunSummary:
    """The same steps without the orchestrator when it, not the run's own work, failed; else the failure."""
    if not _orchestrator_failed(problem):
        raise problem
    if on_fallback is not None:
        on_fallback(problem)
    summary = steps.run_once(
        settings.inbox,
        settings.warehouse,
        load_registry(),
        settings.zone,
        steps.now_utc(),
        settings.lock_timeout_seconds,
        validation_pages=settings.validation_pages,
        show_progress=show_progress,
    )
    summary.orchestration = "The orchestrator failed: the run's steps ran without it, and it was not reported."
    return summary
