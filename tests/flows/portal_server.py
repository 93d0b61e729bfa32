"""A real portal on 127.0.0.1 for the tests: started in a thread, stopped at the end of the test."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from flows.local_server import free_port
from flows.portal.app import create_app
from flows.settings import Settings
from schemas.registry import Registry
from warehouse.accounts import AccountStore
from warehouse.layout import WarehouseFiles


@dataclass
class Portal:
    url: str
    settings: Settings
    accounts: AccountStore
    app: object = None

    def add(self, user: str, reporter: str, role: str = "sender") -> tuple[str, str]:
        return user, self.accounts.add(user, reporter, role)

    def upload(self, credentials, name: str, content: bytes) -> httpx.Response:
        return httpx.post(
            f"{self.url}/api/v1/submissions", auth=credentials, files={"file": (name, content)}, timeout=60
        )


@contextmanager
def running_portal(inbox: Path, warehouse: Path, registry: Registry, separate_judge: bool = False):
    settings = Settings(inbox=inbox, warehouse=warehouse)
    port = free_port()
    app = create_app(settings, registry, separate_judge=separate_judge)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the portal did not start")
        time.sleep(0.05)
    try:
        yield Portal(f"http://127.0.0.1:{port}", settings, AccountStore(WarehouseFiles(warehouse).accounts_db), app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
