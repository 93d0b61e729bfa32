"""The one place that reads the environment. Every other function takes its settings."""

from __future__ import annotations

import math
import os
import re
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_INBOX = PROJECT_DIR / "data" / "inbox"
DEFAULT_WAREHOUSE = PROJECT_DIR / "warehouse" / "ctip.duckdb"
DEFAULT_TIMEZONE = "Asia/Phnom_Penh"
DEFAULT_SCHEDULE = "0 2 * * *"
DEFAULT_REMIND_SCHEDULE = "0 8 * * *"  # `ctip serve` sends reminders and overdue notices daily at 08:00
DEFAULT_LOCK_TIMEOUT_SECONDS = 600.0
DEFAULT_SERVE_PORT = 4200  # the port of the Prefect server (API and UI) that `ctip serve` starts


@dataclass(frozen=True)
class Settings:
    inbox: Path
    warehouse: Path
    timezone: str = DEFAULT_TIMEZONE
    schedule: str = DEFAULT_SCHEDULE  # cron, in `timezone`
    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS  # how long a writer waits for another
    # Where the inbox and the warehouse were named (the default, CTIP_INBOX or --inbox, ...), for messages:
    # not part of the settings themselves, so two equal settings named in two ways are equal.
    inbox_origin: str = field(default="the default", compare=False)
    warehouse_origin: str = field(default="the default", compare=False)
    serve_port: int = DEFAULT_SERVE_PORT  # where `ctip serve` starts its Prefect server, on 127.0.0.1
    validation_pages: bool = True  # whether a run writes its validation pages (`<warehouse>.ctip/docs/`)
    mail: MailSettings | None = None  # where notices go (CTIP_SMTP_URL, CTIP_MAIL_FROM); None: to no one
    remind_schedule: str = DEFAULT_REMIND_SCHEDULE  # cron, in `timezone`: when `ctip serve` runs `remind`

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_overrides(
        self, inbox: Path | None = None, warehouse: Path | None = None, serve_port: int | None = None
    ) -> Settings:
        return replace(
            self,
            inbox=(inbox or self.inbox).resolve(),
            warehouse=(warehouse or self.warehouse).resolve(),
            inbox_origin="--inbox" if inbox else self.inbox_origin,
            warehouse_origin="--warehouse" if warehouse else self.warehouse_origin,
            serve_port=serve_port or self.serve_port,
        )


class SettingsError(ValueError):
    """A setting of the environment that ctip cannot use; the message names the variable and says why."""


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system has one), at least 1."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores or 1


def quiet_orchestrator_defaults(environ: dict[str, str] | None = None) -> None:
    """Prefect settings ctip wants unless the operator chose otherwise: no telemetry."""
    env = os.environ if environ is None else environ
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def from_environment(environ: dict[str, str] | None = None) -> Settings:
    """Defaults of the contract, overridden by CTIP_INBOX, CTIP_WAREHOUSE, CTIP_TIMEZONE, CTIP_SCHEDULE
    CTIP_LOCK_TIMEOUT (seconds a writer waits for another), CTIP_SERVE_PORT, CTIP_VALIDATION_PAGES
    (whether a run writes its validation pages: on unless set to 0, false, no or off) and CTIP_SMTP_URL with
    CTIP_MAIL_FROM (the mail server and sender of notices) and CTIP_REMIND_SCHEDULE (when `ctip serve` sends reminders).

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
        serve_port=_port(env.get("CTIP_SERVE_PORT") or str(DEFAULT_SERVE_PORT)),
        validation_pages=validation_pages_wanted(env),
        mail=mail_settings(env),
        remind_schedule=_schedule(env.get("CTIP_REMIND_SCHEDULE") or DEFAULT_REMIND_SCHEDULE, "CTIP_REMIND_SCHEDULE"),
    )


_ON, _OFF = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def validation_pages_wanted(environ: dict[str, str] | None = None) -> bool:
    """Whether a run writes its validation pages: CTIP_VALIDATION_PAGES, on when unset.

    Raises SettingsError for a value that is neither on nor off.
    """
    env = os.environ if environ is None else environ
    text = (env.get("CTIP_VALIDATION_PAGES") or "on").strip().lower()
    if text not in _ON + _OFF:
        raise SettingsError(
            f"CTIP_VALIDATION_PAGES is '{env.get('CTIP_VALIDATION_PAGES')}', which is neither on nor off; "
            f"use 1 or 0 (also true/false, yes/no, on/off)"
        )
    return text in _ON


@dataclass(frozen=True)
class MailSettings:
    """Where ctip sends its notices: an SMTP server (CTIP_SMTP_URL) and the sender's address (CTIP_MAIL_FROM)."""

    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False  # smtps://: TLS from the start; smtp://: STARTTLS when the server offers it and a user is given


def mail_settings(environ: dict[str, str] | None = None) -> MailSettings | None:
    """The mail server of CTIP_SMTP_URL (`smtp://[user[:password]@]host:port`, or `smtps://` for TLS) and the
    sender CTIP_MAIL_FROM; None when neither is set (ctip then writes to no one).

    Raises SettingsError naming the variable when one is set without the other or cannot be used.
    """
    from urllib.parse import unquote, urlsplit

    env = os.environ if environ is None else environ
    url, sender = (env.get("CTIP_SMTP_URL") or "").strip(), (env.get("CTIP_MAIL_FROM") or "").strip()
    if not url and not sender:
        return None
    if not url:
        raise SettingsError("CTIP_MAIL_FROM is set but CTIP_SMTP_URL is not; set both to send notices, or neither")
    if not sender:
        raise SettingsError("CTIP_SMTP_URL is set but CTIP_MAIL_FROM is not; set both to send notices, or neither")
    shown = re.sub(r"//[^@/]*@", "//***@", url)  # never print a password
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SettingsError(
            f"CTIP_SMTP_URL is '{shown}', which is not a mail server such as smtp://mail.example.org:587 "
            "(or smtps://user:password@host:465)"
        )
    if not re.match(r"^[^@\s<>]+@[^@\s<>]+$", sender):
        raise SettingsError(f"CTIP_MAIL_FROM is '{sender}', which is not an e-mail address")
    return MailSettings(
        host=parts.hostname,
        port=port or (465 if parts.scheme == "smtps" else 25),
        sender=sender,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=parts.scheme == "smtps",
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


def _schedule(cron: str, name: str = "CTIP_SCHEDULE") -> str:
    fields = cron.split()
    if len(fields) != 5 or not all(_CRON_FIELD.match(field) for field in fields):
        raise SettingsError(
            f"{name} is '{cron}', which is not a cron schedule of five fields "
            f"(minute hour day month weekday), such as '{DEFAULT_SCHEDULE}'"
        )
    return cron


def cron_schedule(cron: str, name: str) -> str:
    """A cron schedule of five fields, or SettingsError naming where it came from (`name`)."""
    return _schedule(cron, name)


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise SettingsError(f"CTIP_LOCK_TIMEOUT is '{text}', which is not a number of seconds (0 or more)")
    return seconds


def _port(text: str) -> int:
    if not text.strip().isdigit() or not 1 <= int(text) <= 65535:
        raise SettingsError(f"CTIP_SERVE_PORT is '{text}', which is not a port number (1 to 65535)")
    return int(text)


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
        "CTIP_VALIDATION_PAGES": "1" if settings.validation_pages else "0",
        "CTIP_REMIND_SCHEDULE": settings.remind_schedule,
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


def prefect_api(environ: dict[str, str] | None = None) -> tuple[str | None, str | None]:
    """The operator's own Prefect server, if named: PREFECT_API_URL and its key, PREFECT_API_AUTH_STRING."""
    env = os.environ if environ is None else environ
    return env.get("PREFECT_API_URL") or None, env.get("PREFECT_API_AUTH_STRING") or None


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
