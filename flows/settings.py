"""The one place that reads the environment. Every other function takes its settings."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    inbox_origin: str = "the default"  # where the inbox was named: the default, CTIP_INBOX or --inbox
    warehouse_origin: str = "the default"  # the same for the warehouse: the default, CTIP_WAREHOUSE or --warehouse

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_overrides(self, inbox: Path | None = None, warehouse: Path | None = None) -> Settings:
        return replace(
            self,
            inbox=(inbox or self.inbox).resolve(),
            warehouse=(warehouse or self.warehouse).resolve(),
            inbox_origin="--inbox" if inbox else self.inbox_origin,
            warehouse_origin="--warehouse" if warehouse else self.warehouse_origin,
        )


class SettingsError(ValueError):
    """A setting of the environment that ctip cannot use; the message names the variable and says why."""


def quiet_orchestrator_defaults(environ: dict[str, str] | None = None) -> None:
    """Prefect settings ctip wants unless the operator chose otherwise: no telemetry."""
    env = os.environ if environ is None else environ
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def from_environment(environ: dict[str, str] | None = None) -> Settings:
    """Defaults of the contract, overridden by CTIP_INBOX, CTIP_WAREHOUSE, CTIP_TIMEZONE, CTIP_SCHEDULE
    and CTIP_LOCK_TIMEOUT (seconds a writer waits for another).

    Raises SettingsError for a value that cannot be used, before anything reads or writes a file.
    """
    env = os.environ if environ is None else environ
    return Settings(
        inbox=Path(env.get("CTIP_INBOX") or DEFAULT_INBOX).resolve(),
        warehouse=Path(env.get("CTIP_WAREHOUSE") or DEFAULT_WAREHOUSE).resolve(),
        timezone=_timezone(env.get("CTIP_TIMEZONE") or DEFAULT_TIMEZONE),
        schedule=_schedule(env.get("CTIP_SCHEDULE") or DEFAULT_SCHEDULE),
        lock_timeout_seconds=_seconds(env.get("CTIP_LOCK_TIMEOUT") or str(DEFAULT_LOCK_TIMEOUT_SECONDS)),
        inbox_origin="CTIP_INBOX" if env.get("CTIP_INBOX") else "the default",
        warehouse_origin="CTIP_WAREHOUSE" if env.get("CTIP_WAREHOUSE") else "the default",
    )


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"CTIP_TIMEZONE is '{name}', which is not a time zone; use a name of the tz database such as "
            f"{DEFAULT_TIMEZONE} or UTC"
        ) from None
    return name


_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,?LW#-]+$")


def _schedule(cron: str) -> str:
    fields = cron.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(field) for field in fields):
        raise SettingsError(
            f"CTIP_SCHEDULE is '{cron}', which is not a cron schedule of five fields "
            f"(minute hour day month weekday), such as '{DEFAULT_SCHEDULE}'"
        )
    return cron


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise SettingsError(f"CTIP_LOCK_TIMEOUT is '{text}', which is not a number of seconds (0 or more)")
    return seconds
