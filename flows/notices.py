"""Notices by e-mail: rejections after a run, reminders and overdue notices (`ctip remind`).

Each notice is sent once (`audit.notifications`, `warehouse/notifications.py`). A notice the mail
server did not take stays `failed` and is tried again by the next run or `ctip remind`; an
unreachable server never fails a run. Without CTIP_SMTP_URL and CTIP_MAIL_FROM ctip writes to no
one and says so once per run. Every notice is in its recipient's language: the account's for
senders, the registry's `contact_lang` for a reporter's contact.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from zoneinfo import ZoneInfo

from flows.settings import MailSettings
from schemas.registry import Registry
from schemas.texts import text
from warehouse import notifications
from warehouse.accounts import AccountStore
from warehouse.database import Writer
from warehouse.marts import completeness_sql
from warehouse.notifications import Notice

MAIL_OFF = "Notices by e-mail are off (set CTIP_SMTP_URL and CTIP_MAIL_FROM to send them): ctip wrote to no one."
SMTP_TIMEOUT_SECONDS = 20
DEFAULT_DAYS_BEFORE = 7


@dataclass(frozen=True)
class Delivered:
    """What one round of notices did: how many were sent and failed, in one line for people."""

    sent: int
    failed: int
    line: str


# ------------------------------------------------------------------ who and in which language
def _accounts(writer: Writer) -> list:
    return AccountStore(writer.files.accounts_db).list()


def reporter_recipients(reporter: str, registry: Registry, accounts: list) -> list[str]:
    """A reporter's senders (enabled accounts with an address) and its contact in the registry, each once."""
    found = [a.email for a in accounts if a.reporter == reporter and a.role == "sender" and a.enabled and a.email]
    calendar = registry.reporters[reporter].calendar if reporter in registry.reporters else None
    if calendar:
        found.append(calendar.contact)
    return list({address.lower(): address for address in found}.values())


def rejection_recipient(found: dict, registry: Registry, accounts: list) -> str | None:
    """The uploader of a rejected submission, or for a file of the inbox folder its reporter's contact."""
    if found["uploaded_by"]:
        account = next((a for a in accounts if a.user == found["uploaded_by"]), None)
        if account is not None and account.email:
            return account.email
    reporter = registry.reporters.get(found["reporter"] or "")
    return reporter.calendar.contact if reporter and reporter.calendar else None


def language_of(recipient: str, reporter: str | None, registry: Registry, accounts: list) -> str:
    """The recipient's language: its account's, else the contact's in the registry, else English."""
    mine = [a for a in accounts if a.email and a.email.lower() == recipient.lower()]
    account = next((a for a in mine if a.reporter == reporter), mine[0] if mine else None)
    if account is not None:
        return account.lang
    for code, spec in registry.reporters.items():
        if spec.calendar and spec.calendar.contact.lower() == recipient.lower() and (reporter in (None, code)):
            return spec.calendar.contact_lang
    return "en"


# ------------------------------------------------------------------ what each notice says
def due_day(registry: Registry, reporter: str, period: str):
    """The last day a reporter-period may arrive on (its due time is the end of that day)."""
    from transforms.periods import parse_period

    return parse_period(period).end + timedelta(days=registry.reporters[reporter].calendar.due_days - 1)


def compose(notice: Notice, lang: str, writer: Writer, zone: str, translate: Callable | None = None) -> EmailMessage:
    """The message of a notice in `lang`."""
    registry = writer.registry
    reporter_name = registry.label("reporter", notice.reporter, lang) if notice.reporter else ""
    lines: list[str] = []
    if notice.kind == "rejection":
        found = notifications.submission(writer.con, notice.submission_id)
        subject = text("mail", "rejection_subject", lang, file=found["file_name"])
        received = found["received_at"].astimezone(ZoneInfo(zone))
        lines.append(
            text(
                "mail",
                "rejection_intro",
                lang,
                file=found["file_name"],
                reporter_name=reporter_name or "-",
                received=f"{received:%Y-%m-%d %H:%M} ({zone})",
            )
        )
        lines += ["", text("mail", "errors_heading", lang)]
        stored = notifications.rejected_errors(writer.con, notice.submission_id)
        shown = translate(notice.submission_id, found, stored, lang) if translate and lang != "en" else stored
        none = text("mail", "not_one", lang)
        for error in shown:
            lines.append(
                "- "
                + text(
                    "mail",
                    "error_line",
                    lang,
                    row=str(error["row_number"]) if error["row_number"] is not None else none,
                    column=error["column_name"] or none,
                    rule=error["rule"],
                    message=error["message"],
                )
            )
    else:
        day = due_day(registry, notice.reporter, notice.period)
        values = dict(
            reporter=notice.reporter, reporter_name=reporter_name, period=notice.period, due_day=f"{day}", zone=zone
        )
        subject = text("mail", f"{notice.kind}_subject", lang, **values)
        lines.append(text("mail", f"{notice.kind}_body", lang, **values))
        if notice.kind == "overdue" and _rejected_only(writer, notice, zone):
            lines += ["", text("mail", "rejected_only", lang)]
    lines += ["", "-- ", text("mail", "signature", lang)]
    message = EmailMessage()
    message["Subject"] = subject
    message["To"] = notice.recipient
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="ctip.local")
    message["Content-Language"] = lang
    message.set_content("\n".join(lines) + "\n", charset="utf-8")
    return message


def _rejected_only(writer: Writer, notice: Notice, zone: str) -> bool:
    """Whether the reporter-period of this overdue notice is `rejected_only` now (the completeness, asked where
    it is decided)."""
    return bool(
        writer.con.execute(
            f"select count(*) from ({completeness_sql(zone, submission_periods='pipeline.submission_periods')}) "
            "where reporter = $reporter and period = $period and status = 'rejected_only'",
            {"reporter": notice.reporter, "period": notice.period},
        ).fetchall()[0][0]
    )


# ------------------------------------------------------------------ sending
class _Server:
    """One SMTP connection, opened when first needed and again after a failure; once the server cannot be
    reached, the remaining notices of the round fail at once with the same error instead of each waiting."""

    def __init__(self, mail: MailSettings):
        self.mail, self.smtp, self.unreachable = mail, None, None

    def send(self, message: EmailMessage) -> None:
        if self.unreachable is not None:
            raise self.unreachable
        if self.smtp is None:
            try:
                self.smtp = self._open()
            except (smtplib.SMTPException, OSError) as problem:
                self.unreachable = problem
                raise
        try:
            self.smtp.send_message(message)
        except (smtplib.SMTPException, OSError):
            self.close()
            raise

    def _open(self) -> smtplib.SMTP:
        mail = self.mail
        if mail.tls:
            smtp = smtplib.SMTP_SSL(
                mail.host, mail.port, timeout=SMTP_TIMEOUT_SECONDS, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(mail.host, mail.port, timeout=SMTP_TIMEOUT_SECONDS)
            smtp.ehlo()
            if mail.user and smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
        if mail.user:
            smtp.login(mail.user, mail.password or "")
        return smtp

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None


def deliver(
    writer: Writer, notices: list[Notice], mail: MailSettings | None, zone: str, translate: Callable | None = None
) -> Delivered:
    """Send each of `notices` not sent before, and every notice that failed before; record each try.

    `translate(submission_id, found, errors, lang)` gives a rejection's errors in another language
    (`flows.steps.errors_in_language`). Never raises for the mail server: a notice it did not take
    is kept `failed` with the error.
    """
    if mail is None:
        return Delivered(0, 0, MAIL_OFF)
    already = notifications.sent_ids(writer.con, notices)
    todo = {n.notification_id: n for n in notices if n.notification_id not in already}
    for notice in notifications.failed(writer.con):
        todo.setdefault(notice.notification_id, notice)
    accounts = _accounts(writer)
    server, sent, failed, last_error = _Server(mail), 0, 0, None
    try:
        for notice in todo.values():
            error = None
            try:
                lang = language_of(notice.recipient, notice.reporter, writer.registry, accounts)
                message = compose(notice, lang, writer, zone, translate)
                message["From"] = mail.sender
                server.send(message)
            except (smtplib.SMTPException, OSError) as problem:
                error = f"{type(problem).__name__}: {problem}".strip()
                last_error = error
            notifications.record(writer.con, notice, datetime.now(ZoneInfo("UTC")), error)
            sent, failed = (sent + 1, failed) if error is None else (sent, failed + 1)
    finally:
        server.close()
    line = f"Notices by e-mail: {sent} sent, {failed} failed"
    if failed:
        line += f" (kept, and tried again by the next run or `ctip remind`; last error: {last_error})"
    return Delivered(sent, failed, line + ".")


def rejection_notices(writer: Writer, submission_ids: list[str]) -> list[Notice]:
    """One notice per rejected submission, to its uploader or its reporter's contact."""
    accounts = _accounts(writer)
    notices = []
    for submission_id in dict.fromkeys(submission_ids):
        found = notifications.submission(writer.con, submission_id)
        if found is None or found["status"] != "rejected":
            continue
        recipient = rejection_recipient(found, writer.registry, accounts)
        if recipient:
            notices.append(Notice("rejection", recipient, found["reporter"], None, submission_id))
    return notices


def after_run(writer: Writer, mail: MailSettings | None, zone: str, translate: Callable | None = None) -> str:
    """The notices of a run: one per submission whose rejection's notice is due (the run's, noted by its loads,
    and any an earlier run that died after its commit did not give), and every failed one again. Never raises."""
    try:
        due = notifications.due(writer.con)
        line = deliver(writer, rejection_notices(writer, due), mail, zone, translate).line
        notifications.given(writer.con, due)
        return line
    except Exception as problem:  # nothing about notices may fail a run; those due stay due
        return f"Notices by e-mail were not sent: {type(problem).__name__}: {problem}"


def due_notices(writer: Writer, zone: str, as_of: datetime, days_before: int) -> list[Notice]:
    """A reminder per reporter-period due within `days_before` days and not received, an overdue notice per
    reporter-period missing or rejected only, to each of the reporter's senders and its contact."""
    from warehouse.reference import refresh_reference

    refresh_reference(writer.con, writer.registry)  # the calendar as the registry says now
    horizon = as_of + timedelta(days=days_before)
    rows = writer.con.sql(  # a period may fall due within the horizon before it ends (due days fewer than N)
        completeness_sql(zone, as_of="$as_of", submission_periods="pipeline.submission_periods", ended_by="$horizon"),
        params={"as_of": as_of, "horizon": horizon},
    ).pl()
    accounts = _accounts(writer)
    notices = []
    for row in rows.iter_rows(named=True):
        if row["status"] == "not_due" and row["due_at"] <= horizon:
            kind = "reminder"
        elif row["status"] in ("missing", "rejected_only"):
            kind = "overdue"
        else:
            continue
        for recipient in reporter_recipients(row["reporter"], writer.registry, accounts):
            notices.append(Notice(kind, recipient, row["reporter"], row["period"]))
    return notices
