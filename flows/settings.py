"""The one place that reads the environment. Every other function takes its settings."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_INBOX = PROJECT_DIR / "data" / "inbox"
DEFAULT_WAREHOUSE = PROJECT_DIR / "warehouse" / "ctip.duckdb"
DEFAULT_TIMEZONE = "Asia/Phnom_Penh"
DEFAULT_SCHEDULE = "0 2 * * *"
DEFAULT_LOCK_TIMEOUT_SECONDS = 600.0


@dataclass(frozen=True)
class Settings:
    inbox: Path
    warehouse: Path
    timezone: str = DEFAULT_TIMEZONE
    schedule: str = DEFAULT_SCHEDULE  # cron, in `timezone`
    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS  # how long a writer waits for another

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_overrides(self, inbox: Path | None = None, warehouse: Path | None = None) -> Settings:
        return replace(
            self,
            inbox=(inbox or self.inbox).resolve(),
            warehouse=(warehouse or self.warehouse).resolve(),
        )


def quiet_orchestrator_defaults(environ: dict[str, str] | None = None) -> None:
    """Prefect settings ctip wants unless the operator chose otherwise: no telemetry."""
    env = os.environ if environ is None else environ
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def from_environment(environ: dict[str, str] | None = None) -> Settings:
    """Defaults of the contract, overridden by CTIP_INBOX, CTIP_WAREHOUSE, CTIP_TIMEZONE, CTIP_SCHEDULE
    and CTIP_LOCK_TIMEOUT (seconds a writer waits for another)."""
    env = os.environ if environ is None else environ
    return Settings(
        inbox=Path(env.get("CTIP_INBOX") or DEFAULT_INBOX).resolve(),
        warehouse=Path(env.get("CTIP_WAREHOUSE") or DEFAULT_WAREHOUSE).resolve(),
        timezone=env.get("CTIP_TIMEZONE") or DEFAULT_TIMEZONE,
        schedule=env.get("CTIP_SCHEDULE") or DEFAULT_SCHEDULE,
        lock_timeout_seconds=float(env.get("CTIP_LOCK_TIMEOUT") or DEFAULT_LOCK_TIMEOUT_SECONDS),
    )
