"""What `ctip report` shows beyond the figures: a clickable table of contents, NCCT-vs-ministry
disagreements beside the figures, derived bars marked in the charts, the rejected submissions of
the period with their first errors, and file names that do not wrap; checked in headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, SEED_INBOX, needs_chromium
from tests.flows.conftest import run, write_inbox

pytestmark = needs_chromium  # every test reads the page as Chromium draws it

MOI = """reporter,period,indicator,value
MOI,2019-S1,cases,75
MOI,2018-S1,cases,60
"""
MOJ_QUARTERS = """reporter,period,indicator,value
MOJ,2019-Q1,persons_convicted,20
MOJ,2019-Q2,persons_convicted,22
MOJ,2018-S1,persons_convicted,30
"""
REJECTED_NAME = "moi_2019-S1_second_revision_with_a_long_name_from_the_ministry.csv"
REJECTED = """reporter,period,indicator,value
MOI,2019-S1,victims_rescued,x
"""
OTHER_PERIOD = """reporter,period,indicator,value
MOI,2018-S2,cases,x
"""
REJECTED_QUARTER = """reporter,period,indicator,value
MOI,2019-Q2,cases,y
"""
# loaded with a warning each (a column the contract does not know): of a quarter within the period, and of
# a period the report neither shows nor compares with
NOTED_QUARTER = """reporter,period,indicator,value,note_q
MOJ,2019-Q1,suspects_to_court,4,x
"""
NOTED_ELSEWHERE = """reporter,period,indicator,value,note_elsewhere
MOJ,2016-S1,suspects_to_court,4,x
"""
runner = CliRunner()


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    root = tmp_path_factory.mktemp("report-sections")
    inbox, warehouse, out = root / "inbox", root / "w" / "ctip.duckdb", root / "report.html"
    write_inbox(
        inbox,
        SEED_INBOX
        | {
            "moi.csv": MOI,
            "moj_quarters.csv": MOJ_QUARTERS,
            REJECTED_NAME: REJECTED,
            "moi_2018-S2.csv": OTHER_PERIOD,
            "moi_2019-Q2.csv": REJECTED_QUARTER,
            "moj_noted_quarter.csv": NOTED_QUARTER,
            "moj_noted_elsewhere.csv": NOTED_ELSEWHERE,
        },
    )
    statuses = {s["file_name"]: s["status"] for s in run(inbox, warehouse).submissions}
    assert statuses[REJECTED_NAME] == statuses["moi_2018-S2.csv"] == "rejected"
    result = runner.invoke(app, ["report", "2019-S1", "--out", str(out), "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            opened = browser.new_page(viewport={"width": 900, "height": 1200})  # narrow: long names would wrap
            opened.goto(Path(out).as_uri())
            yield opened
        finally:
            browser.close()


def test_the_table_of_contents_links_to_every_section(page):
    targets = page.eval_on_selector_all("#contents a", "links => links.map(a => a.getAttribute('href'))")
    for wanted in (
        "#headlines",
        "#headline-NCCT",
        "#headline-MOI",
        "#breakdowns",
        "#breakdown-age",
        "#charts",
        "#warnings",
        "#rejected",
    ):
        assert wanted in targets
    for target in targets:
        assert page.locator(target).count() == 1, target
    page.click("#contents a[href='#rejected']")
    assert page.evaluate("location.hash") == "#rejected"
    top = page.evaluate("document.querySelector('#rejected').getBoundingClientRect().top")
    assert page.evaluate("window.scrollY") > 0 and 0 <= top < page.evaluate("window.innerHeight")  # scrolled to it


def test_disagreements_are_flagged_beside_the_figures(page):
    moi = page.inner_text("#headline-MOI-cases")
    ncct = page.inner_text("#headline-NCCT-cases")
    assert "NCCT holds 78 (difference -3)" in moi
    assert "MOI holds 75" in ncct
    assert "holds" not in page.inner_text("#headline-NCCT-suspects_to_court")  # no ministry disagrees there


def test_derived_bars_are_marked_in_the_charts(page):
    chart = page.locator("#charts-MOJ figure[data-indicator='persons_convicted'] svg")
    assert chart.locator("rect.derived").count() == 1  # 2019-S1, added up from its quarters
    assert "derived" in chart.locator("rect.derived title").text_content()
    assert page.locator("#charts-NCCT rect.derived").count() == 0
    assert "derived" in page.inner_text("#charts p.note")


def test_the_rejected_submissions_of_the_period_with_their_first_errors(page):
    rejected = page.inner_text("#rejected table")
    assert REJECTED_NAME in rejected and "bad_value" in rejected and "'x' is not a whole number" in rejected
    assert "moi_2018-S2.csv" not in rejected  # rejected, but of another period
    assert "moi_2019-Q2.csv" in rejected and "'y' is not a whole number" in rejected  # a quarter within it


def test_the_report_says_its_counts_are_not_protected(page):
    said = page.inner_text("#not-protected")
    assert "none protected against disclosure" in said and "ctip release" in said


def test_the_warnings_are_those_of_the_files_of_the_period_and_its_base(page):
    warnings = page.inner_text("#warnings")
    assert "note_q" in warnings  # a quarter within 2019-S1
    assert "note_elsewhere" not in warnings  # 2016-S1: neither the period nor its base
    assert "2019-S1 or 2018-S1" in warnings


def test_file_names_do_not_wrap(page):
    lines = page.evaluate(
        """() => [...document.querySelectorAll('td.file')].map(cell => {
              const range = document.createRange(); range.selectNodeContents(cell);
              return [cell.textContent.trim(), new Set([...range.getClientRects()].map(r => Math.round(r.top))).size];
           })"""
    )
    assert REJECTED_NAME in [name for name, _ in lines]
    assert all(count == 1 for _, count in lines), lines
