"""Where a run reports: the Prefect server that answers for its warehouse, found without importing Prefect.

A `ctip run` looks for a server in this order: PREFECT_API_URL (with
PREFECT_API_AUTH_STRING, the operator's own server); the warehouse's own Prefect
profile, `<warehouse>.ctip/prefect-profile.toml`, which `ctip serve` writes while it
serves (so a run started by hand or by cron reports to it without any setting);
and, in a process that has already imported Prefect, Prefect's own setting. A
server counts only when it answers its health check within a second.

Without a server that answers, the run does its steps itself: a temporary Prefect
server would cost tens of seconds of start-up (its database migrated, its server
imported) to record a run in a database no one looks at, and nothing else in the
run needs it. A run with nothing to do reports to the server too, but without the
flow engine: it records one completed flow run, with the run's counts, through
Prefect's REST API, so that a no-op run costs about a second in all.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from flows.local_server import Server, is_healthy
from flows.settings import Settings, prefect_api
from warehouse.durable import atomic_path
from warehouse.layout import WarehouseFiles

PROFILE = "ctip"  # the profile's name in the profile file
HEALTH_TIMEOUT_SECONDS = 1.0
FLOW_NAME = "ctip-nightly"  # the nightly flow's name in Prefect (flows/nightly.py)


def write_profile(files: WarehouseFiles, api_url: str, auth_string: str | None) -> Path:
    """The warehouse's own Prefect profile (Prefect's profiles format, readable by ctip's user alone), naming
    the server `ctip serve` serves on, so that runs started by hand or by cron report to it."""
    lines = ["# Written by `ctip serve` while it serves; removed when it stops.", f'active = "{PROFILE}"', ""]
    lines += [f"[profiles.{PROFILE}]", f"PREFECT_API_URL = {_toml_string(api_url)}"]
    if auth_string:
        lines.append(f"PREFECT_API_AUTH_STRING = {_toml_string(auth_string)}")
    files.home.mkdir(parents=True, exist_ok=True)
    with atomic_path(files.prefect_profile) as temporary:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
    return files.prefect_profile


def remove_profile(files: WarehouseFiles, api_url: str) -> None:
    """Remove the profile when it still names `api_url` (another `ctip serve` may have written its own since)."""
    profile = _profile_server(files)
    if profile is not None and profile.api_url == api_url:
        files.prefect_profile.unlink(missing_ok=True)


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _profile_server(files: WarehouseFiles) -> Server | None:
    try:
        document = tomllib.loads(files.prefect_profile.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    values = document.get("profiles", {}).get(document.get("active", PROFILE), {})
    if not isinstance(values, dict) or not isinstance(values.get("PREFECT_API_URL"), str):
        return None
    auth = values.get("PREFECT_API_AUTH_STRING")
    return Server(values["PREFECT_API_URL"], auth if isinstance(auth, str) else None, str(files.prefect_profile))


def _loaded_prefect_server() -> Server | None:
    """Prefect's own setting, in a process that has imported Prefect already (a test harness, `ctip serve`)."""
    if "prefect.settings" not in sys.modules:
        return None
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL

    url = PREFECT_API_URL.value()
    return Server(url, PREFECT_API_AUTH_STRING.value(), "Prefect's settings") if url else None


def configured_server(files: WarehouseFiles) -> Server | None:
    """The server named for this run, answering or not: PREFECT_API_URL, the warehouse's profile, Prefect's setting."""
    api_url, auth_string = prefect_api()
    if api_url:
        return Server(api_url, auth_string, "PREFECT_API_URL")
    return _profile_server(files) or _loaded_prefect_server()


def report_run(server: Server, summary, settings: Settings, started: datetime) -> str:
    """Record a run made without the flow engine as one completed run of the nightly flow on `server`, its
    message the run's counts; says what it did. A server that fails to take it never fails the run."""
    import httpx

    counts = (
        f"loaded {summary.count('loaded')}, rejected {summary.count('rejected')}, "
        f"duplicates {summary.count('duplicate')}, already done {summary.already_received}"
    )
    try:
        with httpx.Client(base_url=server.api_url + "/", headers=server.headers(), timeout=10.0) as client:
            flow = client.post("flows/", json={"name": FLOW_NAME})
            flow.raise_for_status()
            created = client.post(
                "flow_runs/",
                json={
                    "flow_id": flow.json()["id"],
                    "name": f"ctip-run-{started.astimezone(UTC):%Y%m%dT%H%M%SZ}",
                    "parameters": {"inbox": str(settings.inbox), "warehouse": str(settings.warehouse)},
                    "tags": ["ctip-run", "steps-only"],
                    "state": {"type": "COMPLETED", "name": "Completed", "message": f"Run without tasks: {counts}"},
                },
            )
            created.raise_for_status()
    except (httpx.HTTPError, KeyError, ValueError) as problem:
        return f"The run was not recorded on the Prefect server at {server.api_url}: {type(problem).__name__}"
    return f"Recorded on the Prefect server at {server.api_url} ({counts})."


class Terminated(SystemExit):
    """SIGTERM arrived: the run stops where it is (the open transaction rolls back), exit status 143."""


@contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """SIGTERM ends the run as an exception would, so that its clean-up (transaction, server) runs.

    A library that calls back into Python may catch that exception and raise its own instead (DuckDB reading
    a frame through Arrow raises `InvalidInputException`): once SIGTERM has arrived, whatever ends the run
    ends it as `Terminated`, so the exit status says the run was stopped, not that it failed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def _stop(signum, frame):
        received.append(signum)
        raise Terminated(128 + signum)

    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        yield
    except Terminated:
        raise
    except BaseException as problem:
        if received:
            raise Terminated(128 + received[0]) from problem
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(
    settings: Settings,
    on_fallback=None,
    workers: int | None = None,
    scheduler: str | None = None,
    show_progress: bool = False,
):
    """`ctip run`: the nightly flow on the server that answers for the warehouse when there is something to
    do (or a fan-out on Dask, which needs a server: a temporary one without); else the same steps without the
    flow engine, recorded on that server when there is one. The summary's `orchestration` says which."""
    from flows import steps
    from schemas import load_registry

    files = WarehouseFiles(settings.warehouse)
    with stop_on_sigterm():
        server, answering = _servers(files)
        if scheduler and (silent := scheduler_silent(scheduler)) is not None:  # the cluster failed: one process
            if on_fallback is not None:
                on_fallback(silent)
            scheduler = None
        if workers or scheduler or (answering is not None and steps.anything_new(settings.inbox, files)):
            from flows.nightly import run_nightly

            summary = run_nightly(settings, answering, on_fallback, workers, scheduler, show_progress)
            if answering is not None and summary.orchestration is None:  # None: it did not fall back
                summary.orchestration = f"Reported to the Prefect server at {answering.api_url}."
            return summary
        started = steps.now_utc()
        summary = steps.run_once(
            settings.inbox,
            settings.warehouse,
            load_registry(),
            settings.zone,
            started,
            settings.lock_timeout_seconds,
            validation_pages=settings.validation_pages,
            show_progress=show_progress,
        )
        if answering is not None:
            summary.orchestration = report_run(answering, summary, settings, started)
        elif server is not None:
            summary.orchestration = _not_answering(server, "run")
        return summary


# How long a Dask scheduler has to answer before the run goes on in one process instead.
SCHEDULER_TIMEOUT_SECONDS = 5.0


class SchedulerSilent(OSError):
    """The Dask scheduler named for a run did not answer: the run goes on in one process."""


def scheduler_silent(address: str) -> SchedulerSilent | None:
    """None when something listens at the Dask scheduler's address (tcp://host:port, or host:port), else why
    not, as the error the run then goes on without it for."""
    import socket
    from urllib.parse import urlsplit

    where = urlsplit(address if "://" in address else f"tcp://{address}")
    try:
        with socket.create_connection((where.hostname or "", where.port or 8786), SCHEDULER_TIMEOUT_SECONDS):
            return None
    except (OSError, ValueError) as problem:
        return SchedulerSilent(f"the Dask scheduler at {address} did not answer ({problem})")


def _servers(files: WarehouseFiles) -> tuple[Server | None, Server | None]:
    """The server named for the warehouse, and the same when it answers (else None)."""
    server = configured_server(files)
    if server is not None and is_healthy(server.api_url, server.headers(), HEALTH_TIMEOUT_SECONDS):
        return server, server
    return server, None


def _not_answering(server: Server, job: str) -> str:
    return f"The Prefect server at {server.api_url} (named by {server.origin}) did not answer; the {job}'s steps ran without it."


def backfill(
    warehouse: Path,
    first_period: str,
    last_period: str,
    reporter: str | None,
    timezone: str,
    lock_timeout_seconds: float,
    show_progress: bool,
):
    """`ctip backfill`: the backfill flow, its shards child flow runs, on the server that answers for the
    warehouse; without one, the same steps as plain functions (no temporary server). Returns the summary
    and a line saying where it was reported (or None)."""
    from flows.backfill import backfill as backfill_flow

    files = WarehouseFiles(warehouse)
    server, answering = _servers(files)
    arguments = dict(
        first_period=first_period,
        last_period=last_period,
        warehouse=str(warehouse),
        reporter=reporter,
        timezone=timezone,
        lock_timeout_seconds=lock_timeout_seconds,
        show_progress=show_progress,
    )
    with stop_on_sigterm():
        if answering is None:
            summary = backfill_flow.fn(**arguments, shards_as_flows=False)
            return summary, None if server is None else _not_answering(server, "backfill")
        from flows.nightly import reporting_to

        with reporting_to(answering):
            return backfill_flow(**arguments), f"Reported to the Prefect server at {answering.api_url}."
