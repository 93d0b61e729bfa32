"""`ctip serve`: the nightly flow as a Prefect deployment with a schedule, served until stopped.

A schedule needs a running Prefect server. With PREFECT_API_URL set, that server
is used; without it, `prefect server start` is started on 127.0.0.1 (a free port,
its database in PREFECT_HOME), waited for until healthy, and stopped on exit.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import timedelta
from collections.abc import Iterator

import httpx

from flows.settings import Settings

SERVER_START_TIMEOUT_SECONDS = 90.0
DEPLOYMENT = "nightly"


class ServerDidNotStart(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def is_healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def prefect_server(environ: dict[str, str]) -> Iterator[str]:
    """The API URL of a Prefect server: the configured one, or one started here for as long as needed."""
    configured = environ.get("PREFECT_API_URL")
    if configured:
        yield configured
        return
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env={**environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_API_URL": ""},
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
        while not is_healthy(api_url):
            if server.poll() is not None:
                raise ServerDidNotStart(f"`prefect server start` exited with status {server.returncode}")
            if time.monotonic() > deadline:
                raise ServerDidNotStart(f"no healthy Prefect server at {api_url} after {SERVER_START_TIMEOUT_SECONDS:g} s")
            time.sleep(0.5)
        yield api_url
    finally:
        _stop_group(server)


def _stop_group(process: subprocess.Popen) -> None:
    """Stop the server and the worker processes it started (its whole process group)."""
    for sig, wait_seconds in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait_seconds)
            break
        except subprocess.TimeoutExpired:
            continue


def serve(settings: Settings, interval_seconds: float | None = None) -> None:
    """Register the nightly deployment (cron in the configured time zone, or an interval) and serve it."""
    with prefect_server(dict(os.environ)) as api_url:
        from prefect.settings import PREFECT_API_URL, temporary_settings

        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            from prefect.schedules import Cron, Interval

            from flows.nightly import nightly

            schedule = (
                Interval(timedelta(seconds=interval_seconds))
                if interval_seconds
                else Cron(settings.schedule, timezone=settings.timezone)
            )
            print(f"ctip serve: Prefect API at {api_url}; schedule {_describe(settings, interval_seconds)}", flush=True)
            nightly.serve(
                name=DEPLOYMENT,
                schedules=[schedule],
                parameters={
                    "inbox": str(settings.inbox),
                    "warehouse": str(settings.warehouse),
                    "timezone": settings.timezone,
                    "lock_timeout_seconds": settings.lock_timeout_seconds,
                },
                pause_on_shutdown=False,
                print_starting_message=True,
            )


def _describe(settings: Settings, interval_seconds: float | None) -> str:
    if interval_seconds:
        return f"every {interval_seconds:g} s"
    return f"cron '{settings.schedule}' in {settings.timezone}"
