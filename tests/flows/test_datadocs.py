"""The validation pages a run writes: offline, named after the run and its submissions, and escaped."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from flows import steps
from schemas import load_registry
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, SEED_INBOX, needs_chromium
from tests.flows.conftest import NOW, ZONE, run, write_inbox

HEADER = "reporter,period,indicator,area,sex,age,citizenship,referral,offence,country,value,status,comment\n"
MARKUP = {
    "file name": "<b onmouseover=alert(2)>bold.csv",
    "indicator": "<img src=x onerror=alert(5)>",
    "reporter": "<script>alert(1)</script>",
    "comment": "<iframe src=javascript:alert(3)>",
    "value": "<svg onload=alert(4)>",
}
RAW_TAG = re.compile(r"<(b|img|script|iframe|svg)[\s>]", re.IGNORECASE)


@pytest.fixture(autouse=True)
def _validation_pages_on(monkeypatch):
    """The suite turns the pages off; these tests are about them."""
    monkeypatch.setenv("CTIP_VALIDATION_PAGES", "1")


def _docs(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".ctip") / "docs"


def test_a_run_asked_for_no_pages_writes_none(tmp_path, monkeypatch):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(inbox, SEED_INBOX)
    monkeypatch.setenv("CTIP_VALIDATION_PAGES", "off")
    summary = run(inbox, warehouse)
    assert summary.count("loaded") == 1 and summary.docs is None
    assert not _docs(warehouse).exists()
    write_inbox(
        inbox, {"moi.csv": "reporter,period,indicator,value\nMOI,2019-S1,cases,75\n"}, start_mtime=1_800_000_000
    )
    asked = steps.run_once(inbox, warehouse, load_registry(), ZONE, NOW, validation_pages=True)  # the parameter wins
    assert asked.docs == str(_docs(warehouse) / "index.html") and Path(asked.docs).is_file()


def test_the_pages_setting_is_on_unless_turned_off_and_a_bad_value_is_named():
    from flows.settings import SettingsError, as_environment, from_environment

    assert from_environment({}).validation_pages is True  # on for operators: the run's summary names the pages
    assert from_environment({"CTIP_VALIDATION_PAGES": " Off "}).validation_pages is False
    settings = from_environment({"CTIP_VALIDATION_PAGES": "0"})
    assert from_environment(as_environment(settings)) == settings  # a served flow run inherits it
    with pytest.raises(SettingsError, match="^CTIP_VALIDATION_PAGES is 'sometimes', which is neither on nor off"):
        from_environment({"CTIP_VALIDATION_PAGES": "sometimes"})


@needs_chromium
def test_the_site_opens_offline_and_lists_each_validation(tmp_path):
    from playwright.sync_api import sync_playwright

    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(inbox, SEED_INBOX | {"moi_bad.csv": HEADER + "MOI,2019-S1,cases,KH,_T,_T,_T,_T,_T,_T,x,A,\n"})
    summary = run(inbox, warehouse)
    index = _docs(warehouse) / "index.html"
    assert summary.docs == str(index)

    requested, blocked = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True)
            context.on("request", lambda request: requested.append(request.url))

            def only_files(route):
                if route.request.url.startswith("file://"):
                    route.continue_()
                else:
                    blocked.append(route.request.url)
                    route.abort()

            context.route("**/*", only_files)
            page = context.new_page()
            page.goto(index.as_uri())
            rows = page.locator("#validations tbody tr")
            assert rows.count() == 1
            listed = rows.first.inner_text()
            assert f"Run of {NOW:%Y-%m-%d %H:%M:%S} UTC" in listed and "receipts #1–#2" in listed
            assert "ncct_2019-S1.csv" in listed and "moi_bad.csv" in listed
            rows.first.locator("a").click()
            page.wait_for_load_state()
            submissions = page.locator("#submissions").inner_text()
            assert "ncct_2019-S1.csv" in submissions and "moi_bad.csv" in submissions and "rejected" in submissions
            body = page.inner_text("body")
            assert "is not a whole number" in body
            assert "__none__" not in body and "None" not in body
            checks = page.locator("#checks tbody tr")
            assert checks.count() > 10  # every expectation of the suites, each with its rows checked and failed
        finally:
            browser.close()
    assert blocked == [] and all(url.startswith("file://") for url in requested), requested


def test_markup_in_every_field_is_escaped(tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    rows = [
        f"NCCT,2019-S1,{MARKUP['indicator']},KH,_T,_T,_T,_T,_T,_T,5,A,{MARKUP['comment']}",
        f"{MARKUP['reporter']},2019-S1,cases,KH,_T,_T,_T,_T,_T,_T,5,A,",
        f"NCCT,2019-S1,cases,KH,_T,_T,_T,_T,_T,_T,{MARKUP['value']},A,",
    ]
    write_inbox(inbox, {MARKUP["file name"]: HEADER + "\n".join(rows) + "\n"})
    summary = run(inbox, warehouse)
    assert [s["status"] for s in summary.submissions] == ["rejected"]
    site = "\n".join(path.read_text() for path in _docs(warehouse).rglob("*.html"))
    assert not RAW_TAG.search(site), RAW_TAG.search(site)
    for field in ("file name", "indicator", "reporter", "value"):  # each shown, escaped
        assert html.escape(MARKUP[field]).lower() in site.lower(), field  # codes are read in capitals
    assert "javascript:" not in site.replace("&lt;iframe src=javascript:", "")


def test_a_later_run_adds_its_validation_and_keeps_the_earlier_one(tmp_path):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "w" / "ctip.duckdb"
    write_inbox(inbox, SEED_INBOX)
    run(inbox, warehouse)
    assert run(inbox, warehouse, NOW.replace(hour=4)).docs is None  # nothing new: nothing validated
    write_inbox(inbox, {"moi.csv": HEADER + "MOI,2019-S1,cases,KH,_T,_T,_T,_T,_T,_T,7,A,\n"}, start_mtime=1_800_000_000)
    run(inbox, warehouse, NOW.replace(hour=5))
    index = (_docs(warehouse) / "index.html").read_text()
    assert index.index("05:00:00 UTC") < index.index("03:00:00 UTC")  # newest first
    assert "04:00:00" not in index
    assert len(list((_docs(warehouse) / "validations").glob("*.html"))) == 2
