"""`ctip report --lang km`: the page in Khmer, figures and codes as they are, drawn with a Khmer font."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from schemas.texts import text
from tests.conftest import KHMER_FONT, SEED_INBOX
from tests.flows.conftest import run, write_inbox
from tests.flows.test_portal_browser import CHROMIUM, TIMEOUT_MS, browser, platform_fonts  # noqa: F401 (a fixture)
from tests.flows.test_report import MOI, Page

runner = CliRunner()
KHMER = re.compile(r"[\u1780-\u17FF]")
# The screenshot is written under the test's own folder; `make docs-images` sets CTIP_DOCS_IMAGES to the project's
# docs/ folder, and the test then copies it there as report-km.png (the picture the docs show).
DOCS_IMAGES = os.environ.get("CTIP_DOCS_IMAGES")


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    """The same period's report in English and in Khmer."""
    root = tmp_path_factory.mktemp("report-km")
    inbox, warehouse = root / "inbox", root / "warehouse" / "ctip.duckdb"
    write_inbox(inbox, SEED_INBOX | {"moi_2019-S1.csv": MOI})
    summary = run(inbox, warehouse)
    assert [s["status"] for s in summary.submissions] == ["loaded", "loaded"], summary.findings
    written = {}
    for lang in ("en", "km"):
        out = root / "out" / f"report-{lang}.html"
        result = runner.invoke(
            app, ["report", "2019-S1", "--out", str(out), "--warehouse", str(warehouse), "--lang", lang]
        )
        assert result.exit_code == 0, result.output
        written[lang] = out
    return written


def test_the_khmer_page_says_in_khmer_what_the_english_one_says(reports, registry):
    english = Page(reports["en"].read_text(encoding="utf-8"))
    khmer = Page(reports["km"].read_text(encoding="utf-8"))
    assert dict(khmer.tags)["html"]["lang"] == "km" and dict(english.tags)["html"]["lang"] == "en"
    words = khmer.words
    assert text("report", "heading", "km", period="2019-S1", base="2018-S1") in words
    cases = registry.label("indicator", "cases", "km")
    assert f"{cases} 78 ធៀបនឹង 62, +25.8%" in words  # "78 cases against 62, +25.8%"
    assert "78 cases against 62, +25.8%" in english.words and KHMER.search(english.words) is None
    assert "78 cases" not in words and "Headline figures" not in words
    for row_id in ("headline-NCCT-cases", "headline-NCCT-victims_rescued", "headline-MOI-cases"):
        assert khmer.row(id=row_id)[1:5] == english.row(id=row_id)[1:5]  # the figures as they are
    under_15 = khmer.row(**{"data-reporter": "NCCT", "data-code": "Y_LT15"})
    assert under_15[3:6:2] == [f"Y_LT15 ({registry.label('code:age', 'Y_LT15', 'km')})", "70"]
    assert khmer.count("svg") == english.count("svg") == 6 and khmer.count("script") == 0


def test_the_khmer_page_names_a_khmer_font_stack(reports):
    html = reports["km"].read_text(encoding="utf-8")
    assert '<html lang="km">' in html
    assert '"Khmer OS", "Khmer OS System", "Noto Sans Khmer"' in html


@pytest.mark.slow
@pytest.mark.skipif(
    not DOCS_IMAGES and not Path(CHROMIUM).exists(), reason="no Chromium at /usr/bin/chromium (Debian's chromium)"
)
@pytest.mark.skipif(not DOCS_IMAGES and not KHMER_FONT, reason="no Khmer font (Debian's fonts-khmeros)")
def test_the_khmer_report_is_drawn_with_a_khmer_font(reports, browser, tmp_path):  # noqa: F811 (the fixture)
    page = browser.new_page(viewport={"width": 1200, "height": 1400})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(reports["km"].resolve().as_uri())
    screenshot = tmp_path / "report-km.png"
    shot = page.screenshot(path=str(screenshot))
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 20_000
    for selector in ("h1", "#headline-NCCT .sentence"):
        used = platform_fonts(page, selector)
        khmer = {family: glyphs for family, glyphs in used.items() if "khmer" in family.lower()}
        assert khmer and sum(khmer.values()) >= 10, (selector, used)  # shaped by a Khmer font, not boxes
    if DOCS_IMAGES:  # drawn as it should be: the docs show it
        shutil.copyfile(screenshot, Path(DOCS_IMAGES) / "report-km.png")


def test_every_period_type_has_its_khmer_name():
    from transforms.periods import PERIOD_TYPES
    from transforms.report import period_type_name

    for period_type in PERIOD_TYPES:
        assert KHMER.search(period_type_name(period_type, "km")), period_type
    assert period_type_name("half", "km") == "ឆមាស" and period_type_name("half") == "half-year"
