"""The reviewers' approvals page of the portal (REPORTING.md sections 2 and 5), against a real server on 127.0.0.1.

One warehouse for the module, built once from the seed report (NCCT 2018-S1 and 2019-S1 hold figures), and
one portal on it. Each test leaves the approvals as it found them or counts the acts it adds.
"""

from __future__ import annotations

import httpx
import pytest

import flows.portal.app as portal_app
from tests.conftest import SEED_INBOX
from tests.flows.conftest import query, run, write_inbox
from tests.flows.portal_server import running_portal
from tests.flows.test_portal import page_token, signed_in
from warehouse.layout import WarehouseFiles
from warehouse.lock import WriterLock


@pytest.fixture(scope="module")
def portal(tmp_path_factory, registry):
    root = tmp_path_factory.mktemp("approvals")
    inbox, warehouse = root / "inbox", root / "warehouse" / "ctip.duckdb"
    write_inbox(inbox, SEED_INBOX)
    run(inbox, warehouse)
    with running_portal(inbox, warehouse, registry) as running:
        yield running


@pytest.fixture(scope="module")
def reviewer(portal):
    client = signed_in(portal, *portal.add("chan", "NCCT", "reviewer"))
    yield client
    client.close()


@pytest.fixture(scope="module")
def sender(portal):
    client = signed_in(portal, *portal.add("sokha", "MOSVY"))
    yield client
    client.close()


def acts(portal) -> list[tuple]:
    return query(
        portal.settings.warehouse, 'select reporter, period, action, "by", note from audit.approvals order by "at"'
    )


def act(client: httpx.Client, action: str, period: str = "2019-S1", **fields) -> httpx.Response:
    form = {"csrf": approvals_token(client), "action": action, "reporter": "NCCT", "period": period, **fields}
    return client.post("/approvals", data=form)


def approvals_token(client: httpx.Client) -> str:
    return client.get("/approvals").text.split('name="csrf" value="')[1].split('"')[0]


def row_of(page: str, period: str) -> str:
    return page.split(f'data-reporter="NCCT" data-period="{period}"')[1].split("</tr>")[0]


def test_a_reviewer_approves_and_unapproves_and_the_acts_are_recorded_as_the_commands_record_them(portal, reviewer):
    before = acts(portal)
    page = reviewer.get("/approvals")
    assert page.status_code == 200 and 'href="/approvals"' in page.text
    assert 'data-approved="no"' in row_of(page.text, "2019-S1") and 'value="approve"' in row_of(page.text, "2019-S1")
    assert 'data-period="2018-S1"' in page.text

    approved = act(reviewer, "approve", note="signed off")
    assert approved.status_code == 303 and approved.headers["location"].startswith("/approvals?done=approve")
    shown = reviewer.get(approved.headers["location"]).text
    assert "Approved NCCT 2019-S1." in shown
    row = row_of(shown, "2019-S1")
    assert 'data-approved="yes"' in row and "chan" in row and "signed off" in row and 'value="unapprove"' in row

    blank = act(reviewer, "unapprove", reason="  ")
    twice = act(reviewer, "approve")
    assert (blank.status_code, twice.status_code) == (400, 409)
    assert "already approved" in twice.text
    unapproved = act(reviewer, "unapprove", reason="a corrected file is coming")
    assert unapproved.status_code == 303
    assert acts(portal)[len(before) :] == [
        ("NCCT", "2019-S1", "approve", "chan", "signed off"),
        ("NCCT", "2019-S1", "unapprove", "chan", "a corrected file is coming"),
    ]


def test_a_sender_gets_403_and_sees_no_reporter_period(portal, sender):
    before = acts(portal)
    page = sender.get("/approvals")
    assert page.status_code == 403 and "data-period" not in page.text and "2019-S1" not in page.text
    assert 'href="/approvals"' not in sender.get("/").text
    posted = sender.post(
        "/approvals", data={"csrf": page_token(sender), "action": "approve", "reporter": "NCCT", "period": "2019-S1"}
    )
    assert posted.status_code == 403 and acts(portal) == before


def test_forms_without_their_token_and_wrong_arguments_record_nothing(portal, reviewer):
    before = acts(portal)
    forged = reviewer.post("/approvals", data={"action": "approve", "reporter": "NCCT", "period": "2019-S1"})
    unknown = act(reviewer, "approve", period="2019-S9")
    anybody = httpx.post(f"{portal.url}/approvals", data={"action": "approve"}, follow_redirects=False)
    assert (forged.status_code, unknown.status_code, anybody.status_code) == (403, 400, 303)
    assert "is not a period" in unknown.text
    assert acts(portal) == before


def test_while_a_run_holds_the_writer_the_page_says_so_and_records_nothing(portal, reviewer, monkeypatch):
    monkeypatch.setattr(portal_app, "APPROVAL_WAIT_SECONDS", 0.2)
    before = acts(portal)
    files = WarehouseFiles(portal.settings.warehouse)
    with WriterLock(files.lock_file, 1, purpose="a long run"):
        busy = act(reviewer, "approve")
    assert busy.status_code == 503 and busy.headers["retry-after"] == "60"
    assert "nothing was recorded. Try again in a minute." in busy.text
    assert acts(portal) == before


def test_a_khmer_reviewer_reads_the_approvals_in_khmer(portal, reviewer):
    portal.accounts.set_language("chan", "km")
    try:
        page = reviewer.get("/approvals").text
    finally:
        portal.accounts.set_language("chan", "en")
    assert "<h1>ការអនុម័ត</h1>" in page and "អនុម័ត</button>" in page


def test_a_khmer_reviewer_reads_why_an_act_is_not_recorded_in_khmer(portal):
    client = signed_in(portal, "srey", portal.accounts.add("srey", "NCCT", "reviewer", None, "km"))
    try:
        before = acts(portal)
        refused = act(client, "unapprove", period="2018-S1", reason="typo")
        assert refused.status_code == 409 and "មិនទាន់ត្រូវបានអនុម័តទេ" in refused.text
        assert "is not approved" not in refused.text
        unknown = client.post(
            "/approvals",
            data={"csrf": approvals_token(client), "action": "approve", "reporter": "XYZ", "period": "2019-S1"},
        )
        assert unknown.status_code == 400 and "មិនមែនជាអ្នករាយការណ៍ទេ" in unknown.text
        assert acts(portal) == before
    finally:
        client.close()
