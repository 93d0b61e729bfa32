"""The one place that reads the environment. Every other function takes its settings."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_INBOX = PROJECT_DIR / "data" / "inbox"
DEFAULT_WAREHOUSE = PROJECT_DIR / "warehouse" / "ctip.duckdb"
DEFAULT_TIMEZONE = "Asia/Phnom_Penh"
DEFAULT_SCHEDULE = "0 2 * * *"
DEFAULT_LOCK_TIMEOUT_SECONDS = 600.0
DEFAULT_SERVE_PORT = 4200  # the port of the Prefect server (API and UI) that `ctip serve` starts


@dataclass(frozen=True)
class Settings:
    inbox: Path
    warehouse: Path
    timezone: str = DEFAULT_TIMEZONE
    schedule: str = DEFAULT_SCHEDULE  # cron, in `timezone`
    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS  # how long a writer waits for another
    serve_port: int = DEFAULT_SERVE_PORT  # where `ctip serve` starts its Prefect server, on 127.0.0.1

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_overrides(self, inbox: Path | None = None, warehouse: Path | None = None,
                       serve_port: int | None = None) -> Settings:
        return replace(
            self,
            inbox=(inbox or self.inbox).resolve(),
            warehouse=(warehouse or self.warehouse).resolve(),
            serve_port=serve_port or self.serve_port,
        )


def quiet_orchestrator_defaults(environ: dict[str, str] | None = None) -> None:
    """Prefect settings ctip wants unless the operator chose otherwise: no telemetry."""
    env = os.environ if environ is None else environ
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def from_environment(environ: dict[str, str] | None = None) -> Settings:
    """Defaults of the contract, overridden by CTIP_INBOX, CTIP_WAREHOUSE, CTIP_TIMEZONE, CTIP_SCHEDULE,
    CTIP_LOCK_TIMEOUT (seconds a writer waits for another) and CTIP_SERVE_PORT."""
    env = os.environ if environ is None else environ
    return Settings(
        inbox=Path(env.get("CTIP_INBOX") or DEFAULT_INBOX).resolve(),
        warehouse=Path(env.get("CTIP_WAREHOUSE") or DEFAULT_WAREHOUSE).resolve(),
        timezone=env.get("CTIP_TIMEZONE") or DEFAULT_TIMEZONE,
        schedule=env.get("CTIP_SCHEDULE") or DEFAULT_SCHEDULE,
        lock_timeout_seconds=float(env.get("CTIP_LOCK_TIMEOUT") or DEFAULT_LOCK_TIMEOUT_SECONDS),
        serve_port=int(env.get("CTIP_SERVE_PORT") or DEFAULT_SERVE_PORT),
    )


def as_environment(settings: Settings) -> dict[str, str]:
    """The variables that make `from_environment` give back `settings`: how a served flow run,
    started by Prefect in another process, learns ctip's own settings."""
    return {
        "CTIP_INBOX": str(settings.inbox),
        "CTIP_WAREHOUSE": str(settings.warehouse),
        "CTIP_TIMEZONE": settings.timezone,
        "CTIP_SCHEDULE": settings.schedule,
        "CTIP_LOCK_TIMEOUT": repr(settings.lock_timeout_seconds),
        "CTIP_SERVE_PORT": str(settings.serve_port),
    }


@dataclass(frozen=True)
class Orchestrator:
    """Where `ctip serve` finds its Prefect server: the operator's own (PREFECT_API_URL), or one it starts."""

    api_url: str  # the API the served flow reports to
    ui_url: str | None  # the UI of the server ctip starts; None for the operator's own server
    home: Path | None  # PREFECT_HOME of the server ctip starts; None for the operator's own server
    auth_string: str | None  # the key of the server ctip starts ("user:password", Prefect's basic auth)
    environ: dict[str, str]  # the environment of the serving process, its flow runs and its server

    @property
    def starts_server(self) -> bool:
        return self.ui_url is not None


def orchestrator(settings: Settings, home: Path, environ: dict[str, str] | None = None) -> Orchestrator:
    """The Prefect server `ctip serve` uses and the environment it runs with.

    Without PREFECT_API_URL, ctip starts a server on 127.0.0.1 at `settings.serve_port`;
    its home (database, logs) is `home` (beside the warehouse) unless PREFECT_HOME says
    otherwise, and its API requires a key: PREFECT_SERVER_API_AUTH_STRING if set, or else
    a new random one each start. Telemetry is off unless asked for.
    """
    env = {**(os.environ if environ is None else environ), **as_environment(settings)}
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    configured = env.get("PREFECT_API_URL")
    if configured:
        return Orchestrator(configured, None, None, env.get("PREFECT_API_AUTH_STRING") or None, env)
    chosen_home = env.get("PREFECT_HOME")
    prefect_home = Path(chosen_home).expanduser() if chosen_home else home
    origin = f"http://127.0.0.1:{settings.serve_port}"
    auth_string = env.get("PREFECT_SERVER_API_AUTH_STRING") or f"ctip:{secrets.token_urlsafe(24)}"
    env.update(
        PREFECT_HOME=str(prefect_home),
        PREFECT_SERVER_API_HOST="127.0.0.1",
        PREFECT_SERVER_API_PORT=str(settings.serve_port),
        PREFECT_UI_API_URL=f"{origin}/api",
        PREFECT_SERVER_API_AUTH_STRING=auth_string,
        PREFECT_API_AUTH_STRING=auth_string,
    )
    return Orchestrator(f"{origin}/api", origin, prefect_home, auth_string, env)
