"""`ctip serve`: the nightly flow and `remind` as Prefect deployments with schedules, served until stopped.

A schedule needs a running Prefect server. With PREFECT_API_URL set, that server
is used; without it, `prefect server start` is started on 127.0.0.1 at a fixed port
(CTIP_SERVE_PORT or `--port`, 4200 by default), its UI pointed at its own API, its
home (database, logs) beside the warehouse, its API closed to anyone without the
key; it is waited for until healthy and stopped on exit.

While it serves, the warehouse's own Prefect profile (`<warehouse>.ctip/prefect-profile.toml`)
names the server and its key, so that a `ctip run` started by hand or by cron reports to it.

The served deployment takes no parameters: each run reads the inbox, warehouse,
zone and lock timeout from ctip's settings as `ctip serve` was started, so nobody
who reaches the API can point a run at other paths.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from flows.local_server import is_healthy
from flows.orchestrator import remove_profile, write_profile
from flows.settings import Orchestrator, Settings, orchestrator
from warehouse.layout import WarehouseFiles

SERVER_START_TIMEOUT_SECONDS = 300.0  # a first start on an empty home migrates its database: minutes on a busy machine
DEPLOYMENT = "nightly"
REMIND_DEPLOYMENT = "remind"  # `ctip remind`, daily on CTIP_REMIND_SCHEDULE
KEY_FILE = "ui-key"  # in the served PREFECT_HOME: the key the UI asks for, readable by ctip's user alone


class ServerDidNotStart(RuntimeError):
    pass


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _private_folder(folder: Path) -> None:
    """Make `folder` (and any missing parent) and leave it to ctip's user alone."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)


def write_key(home: Path, auth_string: str) -> Path:
    """Keep the key where the operator (and no one else) can read it, for the UI's login."""
    _private_folder(home)
    key_file = home / KEY_FILE
    key_file.unlink(missing_ok=True)
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(auth_string + "\n")
    return key_file


@contextmanager
def prefect_server(served: Orchestrator, port: int) -> Iterator[str]:
    """The API URL of a Prefect server: the configured one, or one started here for as long as needed."""
    if not served.starts_server:
        yield served.api_url
        return
    if not _port_is_free(port):
        raise ServerDidNotStart(f"port {port} on 127.0.0.1 is in use; choose another with --port or CTIP_SERVE_PORT")
    _private_folder(served.home)
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env={**served.environ, "PREFECT_API_URL": ""},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
        while not is_healthy(served.api_url):
            if server.poll() is not None:
                raise ServerDidNotStart(f"`prefect server start` exited with status {server.returncode}")
            if time.monotonic() > deadline:
                raise ServerDidNotStart(
                    f"no healthy Prefect server at {served.api_url} after {SERVER_START_TIMEOUT_SECONDS:g} s"
                )
            time.sleep(0.5)
        yield served.api_url
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
    """Register the nightly deployment (cron in the configured time zone, or an interval) and the daily
    `remind` deployment (CTIP_REMIND_SCHEDULE), and serve both."""
    served = orchestrator(settings, WarehouseFiles(settings.warehouse).prefect_home)
    # This process, its flow runs and the server all read Prefect's settings from here; set before
    # Prefect is imported, which reads them once.
    os.environ.update(served.environ)
    with prefect_server(served, settings.serve_port) as api_url:
        from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

        updates = {PREFECT_API_URL: api_url}
        if served.auth_string:
            updates[PREFECT_API_AUTH_STRING] = served.auth_string
        with temporary_settings(updates=updates):
            from prefect import serve as serve_deployments
            from prefect.schedules import Cron, Interval

            from flows.nightly import served_nightly, served_remind

            schedule = (
                Interval(timedelta(seconds=interval_seconds))
                if interval_seconds
                else Cron(settings.schedule, timezone=settings.timezone)
            )
            if served.starts_server:
                key_file = write_key(served.home, served.auth_string)
                print(
                    f"ctip serve: Prefect UI at {served.ui_url} (API {api_url}); it asks for the key in {key_file}",
                    flush=True,
                )
            else:
                print(f"ctip serve: Prefect API at {api_url}", flush=True)
            print(
                f"ctip serve: {settings.inbox} -> {settings.warehouse}; schedule {_describe(settings, interval_seconds)}; "
                f"remind: cron '{settings.remind_schedule}' in {settings.timezone}",
                flush=True,
            )
            files = WarehouseFiles(settings.warehouse)
            write_profile(files, api_url, served.auth_string)  # `ctip run` by hand or by cron reports here
            try:
                serve_deployments(
                    served_nightly.to_deployment(name=DEPLOYMENT, schedules=[schedule]),
                    served_remind.to_deployment(
                        name=REMIND_DEPLOYMENT, schedules=[Cron(settings.remind_schedule, timezone=settings.timezone)]
                    ),
                    pause_on_shutdown=False,
                    print_starting_message=True,
                    limit=1,  # one run at a time: runs and reminders never compete for the writer lock
                )
            finally:
                remove_profile(files, api_url)


def _describe(settings: Settings, interval_seconds: float | None) -> str:
    if interval_seconds:
        return f"every {interval_seconds:g} s"
    return f"cron '{settings.schedule}' in {settings.timezone}"
