"""The reporting cycle on one generated inbox: the calendar, marts.completeness and `ctip completeness`,
notices by e-mail through a real SMTP server on 127.0.0.1 (aiosmtpd), `ctip remind` and the retry of a
notice that failed when the server went down in the middle of a run.

One inbox is generated (NCCT and MFAIC, national totals, January to June 2019, MFAIC's March dated
late, NCCT's April and MFAIC's May invalid) and received in four rounds at chosen times, so every
status of the contract occurs: on_time, late, not_due, rejected_only, missing.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from flows import steps
from flows.cli import app
from flows.generate import write_inbox
from flows.local_server import free_port
from flows.remind import remind_now
from flows.settings import from_environment
from schemas import load_registry
from tests.flows.conftest import deliver_arrived
from warehouse.accounts import AccountStore
from warehouse.layout import WarehouseFiles

ZONE = "Asia/Phnom_Penh"
ROUNDS = [datetime(2019, m, 12, 3, 0, tzinfo=UTC) for m in (2, 3, 4, 6)]  # when the inbox was run
AS_OF = "2019-08-01T00:00:00+00:00"
REMIND_AS_OF = datetime(2019, 8, 10, 3, 0, tzinfo=UTC)
NCCT_CONTACT = "statistics@ncct.gov.kh"  # contact_lang km in registry.toml
MFAIC_CONTACT = "consular.statistics@mfaic.gov.kh"  # contact_lang en
CLERK = "dara@mfaic.gov.kh"  # an MFAIC sender who reads Khmer


class Mailbox:
    """What the SMTP server received. `stop_after`: once it has that many messages, the server stops: it closes
    its listening socket and the connection it answered on, as a server shut down mid-run would."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.stop_after: int | None = None
        self.controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        if self.stop_after is not None and len(self.messages) >= self.stop_after:
            asyncio.get_running_loop().call_soon(self._go_down, server)
        return "250 OK"

    def _go_down(self, server) -> None:
        self.controller.server.close()  # no new connection
        server.transport.close()  # and the open one ends

    def start(self, port: int) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    root = tmp_path_factory.mktemp("cycle")
    generated, inbox, warehouse = root / "generated", root / "inbox", root / "ctip.duckdb"
    inbox.mkdir()
    registry = load_registry()
    manifest = write_inbox(
        generated,
        [2019],
        registry=registry,
        seed=24,
        invalid_share=0.2,
        areas=["KH"],
        reporters=["NCCT", "MFAIC"],
        today=date(2019, 7, 1),
        late={("MFAIC", "2019-03")},
        late_days=5,
    )
    mailbox, port = Mailbox(), free_port()
    mailbox.start(port)
    AccountStore(WarehouseFiles(warehouse).accounts_db).add("dara", "MFAIC", email=CLERK, lang="km")
    summaries = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CTIP_SMTP_URL", f"smtp://127.0.0.1:{port}")
        patch.setenv("CTIP_MAIL_FROM", "ctip@ncct.gov.kh")
        patch.setenv("CTIP_TIMEZONE", ZONE)
        for number, at in enumerate(ROUNDS):
            deliver_arrived(manifest, generated, inbox, at)
            if number == len(ROUNDS) - 1:
                mailbox.stop_after = len(mailbox.messages) + 1  # the server goes down after one message
            summaries.append(steps.run_once(inbox, warehouse, registry, registry_zone(), at, validation_pages=False))
        before_retry = query(warehouse, "select recipient, kind, status, error from audit.notifications")
        mailbox.stop()
        mailbox.stop_after = None
        mailbox.start(port)  # the server is back
        settings = from_environment().with_overrides(warehouse=warehouse)
        reminded = remind_now(WarehouseFiles(warehouse), settings, REMIND_AS_OF, 7)
        reminded_again = remind_now(WarehouseFiles(warehouse), settings, REMIND_AS_OF, 7)
    mailbox.stop()
    yield {
        "warehouse": warehouse,
        "manifest": manifest,
        "mailbox": mailbox,
        "summaries": summaries,
        "before_retry": before_retry,
        "reminded": reminded,
        "reminded_again": reminded_again,
    }


def registry_zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo(ZONE)


def query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(sql).fetchall()


def cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"CTIP_TIMEZONE": ZONE})
    return result.exit_code, result.stdout, result.stderr


# ------------------------------------------------------------------ the calendar
def test_calendar_in_the_registry():
    registry = load_registry()
    kinds = {
        code: (r.calendar.period_type, r.calendar.due_days, r.calendar.first_period)
        for code, r in registry.reporters.items()
    }
    assert kinds == {
        "NCCT": ("half", 30, "2019-S1"),
        "MOI": ("half", 30, "2019-S1"),
        "MOJ": ("half", 30, "2019-S1"),
        "MOSVY": ("quarter", 30, "2019-Q1"),
        "MFAIC": ("month", 15, "2019-01"),
    }
    assert all(
        "@" in r.calendar.contact and r.calendar.contact_lang in ("en", "km") for r in registry.reporters.values()
    )


# MOI's calendar with one line replaced (by nothing: left out), and what the error names.
BAD_CALENDARS = {
    "reporters.MOI.due_days": ("due_days = 30", 'due_days = "soon"'),
    "reporters.MOI.period_type": ('period_type = "half"', 'period_type = "fortnight"'),
    "reporters.MOI.first_period": ('first_period = "2019-S1"', 'first_period = "2019-Q1"'),
    "reporters.MOI.contact_lang": ('contact_lang = "km"', 'contact_lang = "fr"'),
    "reporters.MOI.contact": ('contact = "antitrafficking.statistics@interior.gov.kh"', 'contact = "nobody"'),
    "reporters.MOI.due_days is missing": ("due_days = 30", ""),
}


@pytest.mark.parametrize(("named", "replaced"), BAD_CALENDARS.items(), ids=list(BAD_CALENDARS))
def test_a_bad_calendar_is_named_by_its_key(tmp_path, named, replaced):
    line, value = replaced
    import schemas.registry
    from schemas.registry import RegistryError

    folder = Path(schemas.registry.__file__).parent
    for name in ("areas.csv", "countries.csv"):
        shutil.copy(folder / name, tmp_path / name)
    text = (folder / "registry.toml").read_text(encoding="utf-8")
    start = text.index("[reporters.MOI]")
    block_end = text.index("\n\n", start)
    block = text[start:block_end].replace(line, value, 1)
    (tmp_path / "registry.toml").write_text(text[:start] + block + text[block_end:], encoding="utf-8")
    with pytest.raises(RegistryError, match=named.replace(".", r"\.")):
        load_registry.__wrapped__(tmp_path)


# ------------------------------------------------------------------ generate
def test_generate_dates_late_files_after_their_due_day(cycle):
    entries = {e["file"]: e for e in cycle["manifest"]["submissions"]}
    assert entries["mfaic_KH_2019-03.csv"]["arrives"].startswith("2019-04-20T09:00")  # due 15 April, 5 days later
    assert entries["mfaic_KH_2019-02.csv"]["arrives"].startswith("2019-03-10T09:00")  # on time
    assert {e["reporter"] for e in entries.values()} == {"NCCT", "MFAIC"}
    invalid = {(e["reporter"], e["period"]) for e in entries.values() if not e["valid"]}
    assert invalid == {("NCCT", "2019-04"), ("MFAIC", "2019-05")}
    assert cycle["manifest"]["late"] == ["MFAIC:2019-03"]


def test_generate_options_on_the_command_line(tmp_path):
    code, _, _ = cli(
        "generate",
        "--out",
        str(tmp_path / "g"),
        "--years",
        "2019",
        "--provinces",
        "none",
        "--leave-out",
        "MOI,MOJ,MOSVY,NCCT",
        "--late",
        "MFAIC:2019-Q1",
        "--late-days",
        "3",
        "--invalid-share",
        "0",
    )
    assert code == 0
    manifest = json.loads((tmp_path / "g" / ".manifest.json").read_text())
    assert {e["reporter"] for e in manifest["submissions"]} == {"MFAIC"}
    january = next(e for e in manifest["submissions"] if e["period"] == "2019-01")
    assert january["arrives"].startswith("2019-02-18T09:00")  # due on 15 February, dated 3 days after
    assert cli("generate", "--out", str(tmp_path / "h"), "--late", "XYZ")[0] == 2
    assert cli("generate", "--out", str(tmp_path / "h"), "--late", "MFAIC:someday")[0] == 2
    assert cli("generate", "--out", str(tmp_path / "h"), "--leave-out", "MOI,MOJ,MOSVY,NCCT,MFAIC")[0] == 2
    for option in ("--leave-out", "--reporters"):
        code, _, err = cli("generate", "--out", str(tmp_path / "h"), option, "moi,XYZ")
        assert code == 2 and "unknown reporter XYZ" in err and option in err
    assert not (tmp_path / "h").exists()


# ------------------------------------------------------------------ completeness
def _as_of(cycle, *extra) -> tuple[int, list[dict]]:
    code, out, _ = cli(
        "completeness", "--warehouse", str(cycle["warehouse"]), "--as-of", AS_OF, "--format", "json", *extra
    )
    return code, json.loads(out) if out.strip() else []


def test_every_status_as_the_contract_decides_it(cycle):
    code, rows = _as_of(cycle)
    assert code == 0
    assert set(rows[0]) == {"reporter", "period", "period_type", "due_at", "arrived_at", "status", "days_late"}
    found = {(r["reporter"], r["period"]): (r["status"], r["days_late"]) for r in rows}
    assert found[("MFAIC", "2019-01")] == ("on_time", None)
    assert found[("MFAIC", "2019-02")] == ("on_time", None)
    assert found[("MFAIC", "2019-03")] == ("late", 58)  # due 16 Apr 00:00 +07, received 12 June 03:00 UTC
    assert found[("MFAIC", "2019-04")] == ("late", 28)
    assert found[("MFAIC", "2019-05")] == ("rejected_only", 47)  # only an invalid file arrived
    assert found[("MFAIC", "2019-06")] == ("missing", 17)  # nothing arrived
    assert found[("MFAIC", "2019-07")] == ("not_due", None)  # ended, due on 15 August
    assert found[("NCCT", "2019-S1")] == ("missing", 2)  # due 30 July 17:00 UTC; its report arrives on 10 July,
    # after the last round, and its monthly files hold no figure of the half-year
    assert found[("MOJ", "2019-S1")] == ("missing", 2)  # left out
    assert found[("MOSVY", "2019-Q2")][0] == "missing"
    ncct = next(r for r in rows if r["reporter"] == "NCCT")
    assert ncct["due_at"] == "2019-07-31T00:00:00+07:00"  # the end of 30 July in Phnom Penh
    january = next(r for r in rows if r["period"] == "2019-01")
    assert january["arrived_at"].startswith("2019-02-12T10:00:00")  # received in the first round, in Phnom Penh time
    assert ("MFAIC", "2019-08") not in found  # has not ended


def test_the_analyst_file_holds_marts_completeness(cycle):
    rows = query(
        cycle["warehouse"], "select reporter, period, status from marts.completeness where period like '2019%'"
    )
    statuses = {(r, p): s for r, p, s in rows}
    assert statuses[("MFAIC", "2019-01")] == "on_time"
    assert statuses[("MFAIC", "2019-06")] == "missing"  # as of now, long overdue
    columns = [c for c, *_ in query(cycle["warehouse"], "describe marts.completeness")]
    assert columns == ["reporter", "period", "period_type", "due_at", "arrived_at", "status", "days_late"]


def test_period_reporter_and_exit_status(cycle):
    code, rows = _as_of(cycle, "2019-S1", "--reporter", "mfaic")
    assert code == 0
    assert [r["period"] for r in rows] == ["2019-01", "2019-02", "2019-03", "2019-04", "2019-05", "2019-06"]
    code, rows = _as_of(cycle, "2019-Q3", "--reporter", "MFAIC")  # July ended, not yet due
    assert code == 1 and [r["status"] for r in rows] == ["not_due"]
    code, out, err = cli("completeness", "--warehouse", str(cycle["warehouse"]), "--as-of", "2018-12-01")
    assert code == 1 and "No period is due" in err
    code, out, _ = cli(
        "completeness", "2019-S1", "--warehouse", str(cycle["warehouse"]), "--as-of", AS_OF, "--format", "csv"
    )
    assert code == 0 and out.splitlines()[0] == "reporter,period,period_type,due_at,arrived_at,status,days_late"
    code, out, _ = cli("completeness", "--warehouse", str(cycle["warehouse"]), "--as-of", AS_OF)
    assert code == 0 and "rejected_only" in out and "on_time" in out
    for wrong in (["--as-of", "yesterday"], ["--reporter", "XYZ"], ["2019-S9"], ["--format", "xml"]):
        assert cli("completeness", "--warehouse", str(cycle["warehouse"]), *wrong)[0] == 2, wrong


# ------------------------------------------------------------------ notices
def test_rejection_notices_name_every_error_in_the_recipients_language(cycle):
    mailbox = cycle["mailbox"]
    khmer = mailbox.to(NCCT_CONTACT)
    rejection = [m for m in khmer if "ncct_KH_2019-04" in m["Subject"]]
    assert len(rejection) == 1
    body = rejection[0].get_content()
    assert "ត្រូវបានបដិសេធ" in rejection[0]["Subject"] and "ជួរ" in body and "unknown_code" in body
    english = [m for m in mailbox.to(MFAIC_CONTACT) if "mfaic_KH_2019-05" in m["Subject"]]
    assert len(english) == 1  # refused in the run, sent by the retry
    body = english[0].get_content()
    assert "was rejected" in body and "rule parts_exceed_total" in body and "row " in body and "column " in body


def test_the_server_going_down_mid_run_fails_no_run_and_the_notice_is_retried(cycle):
    last = cycle["summaries"][-1]
    assert last.count("rejected") == 2 and "1 sent, 1 failed" in last.notices
    failed = [row for row in cycle["before_retry"] if row[2] == "failed"]
    assert failed and failed[0][:2] == (MFAIC_CONTACT, "rejection") and failed[0][3]  # why it failed
    rows = query(cycle["warehouse"], "select kind, status, error from audit.notifications where kind = 'rejection'")
    assert sorted(r[:2] for r in rows) == [("rejection", "sent"), ("rejection", "sent")] and all(
        r[2] is None for r in rows
    )


def test_remind_sends_reminders_and_overdue_notices_once(cycle):
    mailbox = cycle["mailbox"]
    reminders = [m for m in mailbox.messages if "2019-07" in m["Subject"] and "due by" in m["Subject"]]
    assert {m["To"] for m in reminders} == {MFAIC_CONTACT}
    khmer_reminder = [m for m in mailbox.to(CLERK) if "2019-07" in m["Subject"]]
    assert len(khmer_reminder) == 1 and "ត្រូវផ្ញើ" in khmer_reminder[0]["Subject"]
    overdue = [m for m in mailbox.to(MFAIC_CONTACT) if "overdue" in m["Subject"]]
    assert {m["Subject"].split(" for ")[1].split(" ")[0] for m in overdue} >= {"2019-05", "2019-06"}
    may = next(m for m in overdue if "2019-05" in m["Subject"])
    assert "was rejected" in may.get_content() or "rejected" in may.get_content()
    line_again, _ = cycle["reminded_again"]
    assert "0 sent, 0 failed" in line_again  # each notice once
    ids = query(cycle["warehouse"], "select count(*), count(distinct notification_id) from audit.notifications")[0]
    assert ids[0] == ids[1] == len(mailbox.messages)
    columns = [c for c, *_ in query(cycle["warehouse"], "describe audit.notifications")]
    assert columns == [
        "notification_id",
        "kind",
        "recipient",
        "reporter",
        "period",
        "submission_id",
        "created_at",
        "sent_at",
        "status",
        "error",
    ]


def test_without_mail_settings_a_run_writes_to_no_one_and_says_so_once(tmp_path, monkeypatch):
    monkeypatch.delenv("CTIP_SMTP_URL", raising=False)
    monkeypatch.delenv("CTIP_MAIL_FROM", raising=False)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "bad.csv").write_text("reporter,period,indicator,value\nMOI,2019-S1,cases,many\n")
    summary = steps.run_once(
        inbox, tmp_path / "w.duckdb", load_registry(), registry_zone(), ROUNDS[0], validation_pages=False
    )
    assert summary.count("rejected") == 1 and "wrote to no one" in summary.notices
    assert query(tmp_path / "w.duckdb", "select count(*) from audit.notifications") == [(0,)]


def test_mail_settings_are_checked(monkeypatch):
    from flows.settings import SettingsError, mail_settings

    assert mail_settings({}) is None
    mail = mail_settings({"CTIP_SMTP_URL": "smtp://user:pa%40ss@mail.example.org:587", "CTIP_MAIL_FROM": "a@b.kh"})
    assert (mail.host, mail.port, mail.user, mail.password, mail.tls) == (
        "mail.example.org",
        587,
        "user",
        "pa@ss",
        False,
    )
    for bad, named in (
        ({"CTIP_SMTP_URL": "smtp://h:25"}, "CTIP_MAIL_FROM"),
        ({"CTIP_MAIL_FROM": "a@b.kh"}, "CTIP_SMTP_URL"),
        ({"CTIP_SMTP_URL": "http://h", "CTIP_MAIL_FROM": "a@b.kh"}, "CTIP_SMTP_URL"),
        ({"CTIP_SMTP_URL": "smtp://h:25", "CTIP_MAIL_FROM": "nobody"}, "CTIP_MAIL_FROM"),
    ):
        with pytest.raises(SettingsError, match=named):
            mail_settings(bad)


# ------------------------------------------------------------------ the report
def test_the_report_has_a_completeness_section_in_english_and_khmer(cycle, tmp_path):
    import re

    pages = {}
    for lang in ("en", "km"):
        out = tmp_path / f"report-{lang}.html"
        code, _, _ = cli("report", "2019-Q1", "--out", str(out), "--warehouse", str(cycle["warehouse"]), "--lang", lang)
        assert code == 0
        pages[lang] = out.read_text(encoding="utf-8")
    section = pages["en"][pages["en"].index('<section id="completeness">') :]
    rows = re.findall(r'data-reporter="([^"]+)" data-period="([^"]+)" data-status="([^"]+)"', section)
    assert rows == [  # as of now: every reporter-period of the calendar within 2019-Q1
        ("MFAIC", "2019-01", "on_time"),
        ("MFAIC", "2019-02", "on_time"),
        ("MFAIC", "2019-03", "late"),
        ("MOSVY", "2019-Q1", "missing"),
    ]
    assert "6. Completeness and timeliness of 2019-Q1" in pages["en"] and ">on time<" in section
    khmer = pages["km"][pages["km"].index('<section id="completeness">') :]
    assert "ភាពពេញលេញ" in khmer and ">ទាន់ពេល<" in khmer and ">ខ្វះ<" in khmer


# ------------------------------------------------------------------ the portal's board
def test_the_board_shows_reviewers_every_reporter_and_senders_nothing(cycle):
    import re

    import httpx

    from tests.flows.portal_server import running_portal

    def signed_in(url: str, user: str, password: str) -> httpx.Client:
        client = httpx.Client(base_url=url, follow_redirects=False, timeout=60)
        token = client.get("/signin").text.split('name="csrf" value="')[1].split('"')[0]
        assert client.post("/signin", data={"user": user, "password": password, "csrf": token}).status_code == 303
        return client

    warehouse = cycle["warehouse"]
    with running_portal(warehouse.parent / "portal-inbox", warehouse, load_registry()) as portal:
        reviewer = portal.accounts.add("chan", "NCCT", "reviewer")
        khmer_reviewer = portal.accounts.add("sophea", "NCCT", "reviewer", lang="km")
        clerk = portal.accounts.add("sokha", "MFAIC", "sender")
        client = signed_in(portal.url, "chan", reviewer)
        assert 'href="/board"' in client.get("/").text
        board = client.get("/board")
        assert board.status_code == 200
        rows = re.findall(r'data-reporter="([^"]+)" data-period="([^"]+)" data-status="([^"]+)"', board.text)
        found = {(reporter, period): status for reporter, period, status in rows}
        assert {reporter for reporter, _ in found} == {"NCCT", "MOI", "MOJ", "MOSVY", "MFAIC"}
        assert found[("MFAIC", "2019-01")] == "on_time" and found[("MFAIC", "2019-03")] == "late"
        assert found[("MFAIC", "2019-05")] == "rejected_only" and found[("MOJ", "2019-S1")] == "missing"
        assert "Completeness board" in board.text and ">on time<" in board.text
        assert "ផ្ទាំងភាពពេញលេញ" in signed_in(portal.url, "sophea", khmer_reviewer).get("/board").text
        client = signed_in(portal.url, "sokha", clerk)
        assert 'href="/board"' not in client.get("/").text
        refused = client.get("/board")
        assert refused.status_code == 403 and "data-reporter" not in refused.text and "MOSVY" not in refused.text
        assert httpx.get(f"{portal.url}/board", follow_redirects=False).status_code == 303  # to the sign-in page


def test_remind_on_the_command_line(cycle, tmp_path):
    warehouse = str(cycle["warehouse"])
    code, _, err = cli("remind", "--warehouse", warehouse, "--as-of", "2019-08-10T03:00:00+00:00", "--days-before", "7")
    said = " ".join(err.split())
    assert code == 0 and "11 due" in said and "wrote to no one" in said  # the test's environment names no mail server
    for wrong in (["--days-before", "-1"], ["--as-of", "next week"]):
        assert cli("remind", "--warehouse", warehouse, *wrong)[0] == 2, wrong
    assert cli("remind", "--warehouse", str(tmp_path / "none.duckdb"))[0] == 2


def test_a_period_that_falls_due_within_the_days_before_it_ends_is_reminded(cycle, tmp_path):
    """MFAIC reports months due 15 days after they end: on 10 August 2019, with 40 days' notice, August (due 15
    September) is due within them though it has not ended, and July (due 15 August) as with 7 days."""
    from flows.notices import due_notices
    from warehouse import database

    copy = tmp_path / "ctip.duckdb"
    shutil.copy2(cycle["warehouse"], copy)
    shutil.copytree(WarehouseFiles(cycle["warehouse"]).home, WarehouseFiles(copy).home)
    with database.open_writer(WarehouseFiles(copy), load_registry()) as writer:
        reminded = {
            days: sorted(
                {(n.reporter, n.period) for n in due_notices(writer, ZONE, REMIND_AS_OF, days) if n.kind == "reminder"}
            )
            for days in (7, 40)
        }
    assert reminded == {7: [("MFAIC", "2019-07")], 40: [("MFAIC", "2019-07"), ("MFAIC", "2019-08")]}
