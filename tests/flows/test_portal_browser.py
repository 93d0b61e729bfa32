"""A clerk's round in Chromium: sign in, send the rejected sample, read the finding, send the fix, see it loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, KHMER_FONT
from tests.flows.conftest import run
from tests.flows.portal_server import running_portal

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "inbox"

TIMEOUT_MS = 120_000  # a judgement on a busy two-core machine may take a while; a broken page still fails

pytestmark = [
    pytest.mark.slow,  # Chromium
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no Chromium at /usr/bin/chromium (Debian's chromium)"),
]


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def sign_in(page, url, user, password):
    page.goto(f"{url}/")
    assert page.url.endswith("/signin")
    page.fill("#user", user)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/")


def send(page, path: Path):
    page.set_input_files("#file", str(path))
    page.click("form.drop button[type=submit]")
    page.wait_for_selector(".verdict-line")


def test_a_clerk_sends_a_rejected_file_then_its_fix_and_another_ministry_sees_neither(tmp_path, registry, browser):
    draft = SAMPLE / "mosvy_2019-Q2_draft.csv"
    fixed = tmp_path / "mosvy_2019-Q2.csv"
    fixed.write_bytes(draft.read_bytes().replace(b"Y_GE18,95,", b"Y_GE18,97,"))
    with running_portal(tmp_path / "inbox", tmp_path / "warehouse" / "ctip.duckdb", registry) as portal:
        clerk, other = portal.add("sokha", "MOSVY"), portal.add("dara", "MOI")
        page = browser.new_page(viewport={"width": 1000, "height": 800})
        page.set_default_timeout(TIMEOUT_MS)
        sign_in(page, portal.url, *clerk)

        send(page, draft)
        verdict = page.locator(".verdict-line")
        finding = page.locator("table.findings tbody tr").first
        shot = page.screenshot(path=str(tmp_path / "answer.png"))
        assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 10_000
        assert verdict.is_visible() and verdict.inner_text().startswith("Not valid: 1 error.")
        assert verdict.bounding_box()["y"] < 800  # in the screenshot, not below it
        cells = [c.inner_text() for c in finding.locator("td").all()]
        assert cells[:4] == ["2", "value", "parts_differ_from_total", "error"]
        assert "add up to 141" in cells[4] and "their total is 143" in cells[4]

        page.click('main p a[href="/"]')
        send(page, fixed)
        assert page.locator(".verdict-line").inner_text().startswith("Valid")
        assert page.locator(".facts .state").inner_text() == "waiting"

        run(portal.settings.inbox, portal.settings.warehouse)
        page.reload()
        assert page.locator(".facts .state").inner_text() == "loaded"
        page.goto(f"{portal.url}/")
        states = dict(
            zip(page.locator("td.name").all_inner_texts(), page.locator("td .state").all_inner_texts(), strict=True)
        )
        assert states == {"mosvy_2019-Q2.csv": "loaded", "mosvy_2019-Q2_draft.csv": "rejected"}
        answer_url = page.locator("td.name a").first.get_attribute("href")

        elsewhere = browser.new_context().new_page()
        elsewhere.set_default_timeout(TIMEOUT_MS)
        sign_in(elsewhere, portal.url, *other)
        assert elsewhere.locator("td.name").count() == 0
        assert "Nothing sent yet" in elsewhere.locator("main").inner_text()
        response = elsewhere.goto(f"{portal.url}{answer_url}")
        assert response.status == 404
        assert "mosvy" not in elsewhere.content().lower()

        reviewer = browser.new_context().new_page()  # an NCCT reviewer approves the loaded quarter
        reviewer.set_default_timeout(TIMEOUT_MS)
        sign_in(reviewer, portal.url, *portal.add("chan", "NCCT", "reviewer"))
        reviewer.click('header a[href="/approvals"]')
        row = reviewer.locator('tr[data-reporter="MOSVY"][data-period="2019-Q2"]')
        row.locator("input[name=note]").fill("checked")
        row.locator("button[type=submit]").click()
        reviewer.wait_for_selector(".done")
        assert reviewer.locator(".done").inner_text() == "Approved MOSVY 2019-Q2."
        assert row.get_attribute("data-approved") == "yes" and "chan" in row.inner_text()


def platform_fonts(page, selector: str) -> dict[str, int]:
    """The fonts Chromium really used to draw an element's text, with how many glyphs each drew."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return {font["familyName"]: font["glyphCount"] for font in fonts}


@pytest.mark.skipif(not KHMER_FONT, reason="no Khmer font (Debian's fonts-khmeros)")
def test_a_khmer_account_reads_the_portal_in_khmer_drawn_with_a_khmer_font(tmp_path, registry, browser):
    with running_portal(tmp_path / "inbox", tmp_path / "warehouse" / "ctip.duckdb", registry) as portal:
        user, password = portal.add("sokha", "MOSVY")
        portal.accounts.set_language(user, "km")
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{portal.url}/signin?lang=km")
        assert page.locator("html").get_attribute("lang") == "km"
        assert page.locator("h1").inner_text() == "ចូលប្រើ"
        sign_in(page, portal.url, user, password)
        send(page, SAMPLE / "mosvy_2019-Q2_draft.csv")
        verdict = page.locator(".verdict-line").inner_text()
        assert verdict.startswith("មិនត្រឹមត្រូវ៖ កំហុស 1")
        page.screenshot(path=str(tmp_path / "khmer.png"))
        used = platform_fonts(page, ".verdict-line")
        khmer = {family: glyphs for family, glyphs in used.items() if "khmer" in family.lower()}
        assert khmer and sum(khmer.values()) >= 20, used  # shaped by a Khmer font, not boxes
        page.click("header button[lang=en]")  # the switch on every page
        page.wait_for_url(f"{portal.url}/")
        assert page.locator("h1").inner_text() == "Send a file"
        assert portal.accounts.get(user).lang == "en"
