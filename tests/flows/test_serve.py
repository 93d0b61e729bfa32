"""`ctip serve` against a real Prefect server it starts on 127.0.0.1 for this module and stops at its end.

The server listens at the port given, its UI points at its own API, its home is
beside the warehouse, its API refuses requests without the key, a run of the
deployment loads the inbox and shows in the UI (headless Chromium), and a run
created with other paths as parameters touches none of them.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import time
import tomllib
from pathlib import Path

import duckdb
import httpx
import pytest

from flows.local_server import free_port
from flows.serve import KEY_FILE, is_healthy
from flows.settings import from_environment, orchestrator
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, CTIP, SEED, ctip_run_command, needs_chromium, run_ctip
from warehouse.layout import WarehouseFiles

pytestmark = pytest.mark.slow  # a real Prefect server and Chromium

FINAL_STATES = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _loaded(warehouse: Path) -> list[tuple]:
    if not warehouse.exists():
        return []
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.sql("select file_name, status from audit.submissions order by sequence").fetchall()
    except duckdb.Error:
        return []


class Served:
    def __init__(self, root: Path, port: int):
        self.root, self.port = root, port
        self.inbox, self.warehouse = root / "inbox", root / "w" / "ctip.duckdb"
        self.home = root / "w" / "ctip.duckdb.ctip" / "prefect"
        self.origin = f"http://127.0.0.1:{port}"
        self.api = f"{self.origin}/api"
        self.log = root / "serve.log"
        self.key = ""

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def client(self, key: str | None = None) -> httpx.Client:
        chosen = self.key if key is None else key
        auth = tuple(chosen.split(":", 1)) if chosen else None
        return httpx.Client(base_url=self.api, auth=auth, timeout=30, transport=_RetryingTransport())


class _RetryingTransport(httpx.HTTPTransport):
    """Retries what Prefect's own client retries: 429, 502 and 503 (the server answers 503 while its
    SQLite database is busy, which a loaded machine makes likely)."""

    RETRIED = {429, 502, 503}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        for pause in (0.5, 1, 2, 4, 8, 16):
            if response.status_code not in self.RETRIED:
                break
            response.read()
            response.close()
            time.sleep(pause)
            response = super().handle_request(request)
        return response


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("served")
    instance = Served(root, free_port())
    instance.inbox.mkdir()
    shutil.copy(SEED / "ncct_2019-S1.csv", instance.inbox)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CTIP_"))}
    with instance.log.open("w") as log:
        process = subprocess.Popen(
            [
                CTIP,
                "serve",
                "--interval",
                "86400",
                "--port",
                str(instance.port),
                "--inbox",
                str(instance.inbox),
                "--warehouse",
                str(instance.warehouse),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=root,
        )
    try:
        deadline = time.monotonic() + 360
        while "being served" not in instance.output() or not is_healthy(instance.api):
            assert process.poll() is None, instance.output()
            assert time.monotonic() < deadline, instance.output()
            time.sleep(1)
        instance.key = (instance.home / KEY_FILE).read_text().strip()
        yield instance
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(process.pid, signal.SIGKILL)  # whatever of the group is left: flow runs, the server
        except ProcessLookupError:
            pass
        process.wait()
    assert not is_healthy(instance.api)  # the server ctip started is stopped with it
    assert not WarehouseFiles(instance.warehouse).prefect_profile.exists()  # and runs no longer look for it


def _wait_for_run(served: Served, flow_run_id: str, timeout: float = 480) -> dict:
    deadline = time.monotonic() + timeout
    with served.client() as client:
        while True:
            run = client.get(f"/flow_runs/{flow_run_id}").json()
            if run["state_type"] in FINAL_STATES:
                return run
            assert time.monotonic() < deadline, (run["state_type"], served.output()[-3000:])
            time.sleep(2)


def test_the_ui_is_at_the_port_given_and_its_settings_name_that_api(served):
    assert f"Prefect UI at {served.origin} " in served.output()
    settings = httpx.get(f"{served.origin}/ui-settings", timeout=30).json()
    assert settings["api_url"] == served.api
    assert settings["auth"] == "BASIC"


def test_prefect_home_is_beside_the_warehouse_and_private(served):
    assert (served.home / "prefect.db").exists()
    assert stat.S_IMODE(served.home.stat().st_mode) == 0o700
    assert stat.S_IMODE((served.home / KEY_FILE).stat().st_mode) == 0o600


def test_the_api_refuses_requests_without_the_key(served):
    for key in ("", "ctip:wrong"):
        with served.client(key) as client:
            assert client.post("/deployments/filter", json={}).status_code == 401
            assert client.post("/flow_runs/filter", json={}).status_code == 401
    with served.client() as client:
        assert client.post("/deployments/filter", json={}).status_code == 200


def _start_run(served: Served, parameters: dict, name: str = "nightly") -> httpx.Response:
    with served.client() as client:
        deployments = {d["name"]: d for d in client.post("/deployments/filter", json={}).json()}
        assert set(deployments) == {"nightly", "remind"}
        deployment = deployments[name]
        return client.post(f"/deployments/{deployment['id']}/create_flow_run", json={"parameters": parameters})


@needs_chromium
def test_a_run_of_the_deployment_loads_the_inbox_and_the_ui_shows_it(served):
    from playwright.sync_api import sync_playwright

    started = _start_run(served, {})
    assert started.status_code < 300, started.text
    finished = _wait_for_run(served, started.json()["id"])
    assert finished["state_type"] == "COMPLETED", served.output()[-3000:]
    assert _loaded(served.warehouse) == [("ncct_2019-S1.csv", "loaded")]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{served.origin}/deployments")
            page.get_by_placeholder("admin:pass").fill(served.key)  # the UI's login asks for the key
            page.get_by_role("button", name="Login").click()
            page.get_by_text("ctip-nightly").first.wait_for(timeout=60_000)
            page.get_by_text("ctip-remind").first.wait_for(timeout=60_000)
            deployments = page.inner_text("body")
            assert "nightly" in deployments and "remind" in deployments and "2 Deployments" in deployments
            page.goto(f"{served.origin}/runs")
            page.get_by_text(finished["name"]).first.wait_for(timeout=60_000)
            assert "Can't connect to Server API" not in page.inner_text("body")
        finally:
            browser.close()


def test_remind_is_scheduled_daily_beside_the_nightly_run_and_runs(served):
    assert "remind: cron '0 8 * * *' in Asia/Phnom_Penh" in served.output()
    with served.client() as client:
        deployments = {d["name"]: d for d in client.post("/deployments/filter", json={}).json()}
    schedule = deployments["remind"]["schedules"][0]["schedule"]
    assert (schedule["cron"], schedule["timezone"]) == ("0 8 * * *", "Asia/Phnom_Penh")
    assert deployments["nightly"]["schedules"][0]["schedule"]["interval"] == 86400
    started = _start_run(served, {}, "remind")
    assert started.status_code < 300, started.text
    finished = _wait_for_run(served, started.json()["id"])
    assert finished["state_type"] == "COMPLETED", served.output()[-3000:]


def test_a_run_cannot_be_pointed_at_other_paths(served):
    other_inbox, other_warehouse = served.root / "other-inbox", served.root / "other" / "ctip.duckdb"
    other_inbox.mkdir()
    shutil.copy(SEED / "ncct_2019-S1.csv", other_inbox / "planted.csv")
    response = _start_run(served, {"inbox": str(other_inbox), "warehouse": str(other_warehouse)})
    if response.status_code < 300:  # created: it must then fail or run on ctip's own paths alone
        _wait_for_run(served, response.json()["id"])
    else:
        assert response.status_code in (400, 409, 422)
    assert not other_warehouse.exists() and not other_warehouse.parent.exists()
    assert "planted.csv" not in {name for name, _ in _loaded(served.warehouse)}


def test_a_run_started_by_hand_reports_to_the_served_server_without_any_setting(served):
    profile = WarehouseFiles(served.warehouse).prefect_profile
    assert stat.S_IMODE(profile.stat().st_mode) == 0o600  # it holds the key
    assert tomllib.loads(profile.read_text())["profiles"]["ctip"]["PREFECT_API_URL"] == served.api
    (served.inbox / "moi.csv").write_text("reporter,period,indicator,value\nMOI,2019-S1,cases,75\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CTIP_"))}
    command = ctip_run_command(served.inbox, served.warehouse)

    something = run_ctip(command, env)
    assert something.returncode == 0, something.stdout + something.stderr
    assert f"Reported to the Prefect server at {served.api}." in something.stdout
    assert ("moi.csv", "loaded") in _loaded(served.warehouse)
    assert "great_expectations" not in something.stdout + something.stderr  # the validator's own notes: not news
    nothing = run_ctip(command, env)
    assert nothing.returncode == 0, nothing.stdout + nothing.stderr
    assert f"Recorded on the Prefect server at {served.api}" in nothing.stdout

    with served.client() as client:
        runs = client.post("/flow_runs/filter", json={"sort": "START_TIME_DESC"}).json()
        tasks = client.post("/task_runs/filter", json={}).json()
    by_hand = [r for r in runs if "steps-only" not in r["tags"] and r["parameters"].get("inbox") == str(served.inbox)]
    assert any(t["flow_run_id"] == r["id"] and t["name"].startswith("load") for r in by_hand for t in tasks)
    [recorded] = [r for r in runs if "steps-only" in r["tags"]]
    assert recorded["state_type"] == "COMPLETED" and "already done 2" in recorded["state"]["message"]


def test_orchestrator_home_and_key_follow_the_environment(tmp_path):
    settings = from_environment({"CTIP_WAREHOUSE": str(tmp_path / "ctip.duckdb"), "CTIP_SERVE_PORT": "4321"})
    home = tmp_path / "ctip.duckdb.ctip" / "prefect"
    served = orchestrator(settings, home, {})
    assert (served.api_url, served.ui_url, served.home) == ("http://127.0.0.1:4321/api", "http://127.0.0.1:4321", home)
    assert served.environ["PREFECT_HOME"] == str(home)
    assert served.environ["PREFECT_UI_API_URL"] == "http://127.0.0.1:4321/api"
    assert re.fullmatch(r"ctip:\S{20,}", served.auth_string)
    assert served.environ["PREFECT_API_AUTH_STRING"] == served.environ["PREFECT_SERVER_API_AUTH_STRING"]
    assert orchestrator(settings, home, {}).auth_string != served.auth_string  # a new key each start
    assert from_environment(served.environ) == settings  # flow runs started by the server see the same settings

    chosen = orchestrator(
        settings, home, {"PREFECT_HOME": str(tmp_path / "mine"), "PREFECT_SERVER_API_AUTH_STRING": "admin:secret"}
    )
    assert (chosen.home, chosen.auth_string) == (tmp_path / "mine", "admin:secret")

    own = orchestrator(settings, home, {"PREFECT_API_URL": "http://10.0.0.5:4200/api"})
    assert (own.api_url, own.starts_server, own.home) == ("http://10.0.0.5:4200/api", False, None)
    assert "PREFECT_HOME" not in own.environ
