"""The Prefect servers a run talks to: where one is (its API and key), a free port for one ctip starts, and
whether one answers."""

from __future__ import annotations

import base64
import socket
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Server:
    """A Prefect API a run reports to, and where it was named (for messages)."""

    api_url: str
    auth_string: str | None
    origin: str  # "PREFECT_API_URL", the profile file, or "Prefect's settings"

    def headers(self) -> dict[str, str]:
        if not self.auth_string:
            return {}
        return {"Authorization": "Basic " + base64.b64encode(self.auth_string.encode("utf-8")).decode("ascii")}


def free_port() -> int:
    """A port of 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def is_healthy(api_url: str, headers: dict[str, str] | None = None, timeout: float = 2.0) -> bool:
    """Whether the Prefect API at `api_url` answers its health check within `timeout` seconds."""
    try:
        return httpx.get(f"{api_url}/health", headers=headers, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False
