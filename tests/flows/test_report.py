"""ctip report: one self-contained HTML file of a period, read as HTML and rendered in headless Chromium."""

from __future__ import annotations

import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows import settings as settings_module
from flows.cli import app
from tests.conftest import SEED_INBOX
from tests.flows.conftest import run, write_inbox
from transforms.charts import bar_chart, nice_axis
from transforms.report import headline_sentence

CHROMIUM = Path("/usr/bin/chromium")
SCRIPT = "<script>alert(1)</script>"
MOI = f'''reporter,period,indicator,offence,value,comment
MOI,2019-S1,cases,_T,75,{SCRIPT}
MOI,2019-S1,cases,HT,50,
MOI,2019-S1,cases,SE,25,
MOI,2018-S1,cases,_T,60,
MOI,2019-S1,suspects_arrested,_T,120,"raids & ""sweeps"""
'''
runner = CliRunner()


class Page(HTMLParser):
    """The parts of a page the tests look at: tags, attributes, text, and table rows with their cells."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.rows: list[tuple[dict, list[str]]] = []
        self._row: tuple[dict, list[str]] | None = None
        self._cell: list[str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        if tag == "tr":
            self._row = (attributes, [])
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row[1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def words(self) -> str:
        return " ".join(" ".join(self.text).split())

    def row(self, **wanted: str) -> list[str]:
        found = [cells for attrs, cells in self.rows if all(attrs.get(k) == v for k, v in wanted.items())]
        assert len(found) == 1, (wanted, found)
        return found[0]

    def count(self, tag: str) -> int:
        return sum(1 for name, _ in self.tags if name == tag)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("report")
    inbox, warehouse = root / "inbox", root / "warehouse" / "ctip.duckdb"
    write_inbox(inbox, SEED_INBOX | {"moi_2019-S1.csv": MOI})
    summary = run(inbox, warehouse)
    assert [s["status"] for s in summary.submissions] == ["loaded", "loaded"], summary.findings
    return warehouse


@pytest.fixture(scope="module")
def report(warehouse) -> Path:
    out = warehouse.parent.parent / "out" / "report.html"
    result = runner.invoke(app, ["report", "2019s1", "--out", str(out), "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    return out


def test_the_file_refers_to_nothing_outside_itself(report):
    html = report.read_text(encoding="utf-8")
    page = Page(html)
    for tag, attributes in page.tags:
        assert tag not in ("script", "link", "img", "iframe", "object", "embed", "base"), tag
        for name, value in attributes.items():
            if name in ("src", "href", "xlink:href", "srcset", "action", "formaction", "poster", "data"):
                assert not value.strip().lower().startswith(("http:", "https:", "//")), (tag, name, value)
    assert "http:" not in html and "https:" not in html and "@import" not in html and "url(" not in html
    assert page.count("style") == 1 and "<html" in html and html.rstrip().endswith("</html>")


def test_headlines_as_the_news_report_puts_them(report):
    page = Page(report.read_text(encoding="utf-8"))
    assert "78 cases against 62, +25.8%" in page.words
    assert "263 victims rescued against 106, +148.1%" in page.words
    assert "97 suspects to court against 85, +14.1%" in page.words
    assert "1,009 marriage applications; no figure for 2018-S1" in page.words
    assert page.row(id="headline-NCCT-cases")[1:5] == ["62", "78", "+16", "+25.8%"]
    assert page.row(id="headline-NCCT-victims_rescued")[1:5] == ["106", "263", "+157", "+148.1%"]
    assert page.row(id="headline-NCCT-suspects_to_court")[1:5] == ["85", "97", "+12", "+14.1%"]
    assert page.row(id="headline-MOI-cases")[1:5] == ["60", "75", "+15", "+25.0%"]
    assert page.row(id="headline-MOI-suspects_arrested")[1:5] == ["—", "120", "—", "—"]
    sections = [a["data-reporter"] for t, a in page.tags if t == "section" and a.get("class") == "reporter"]
    assert sections == ["NCCT", "MOI"]  # the NCCT first, although MOI sorts before it


def test_breakdowns_with_code_labels(report):
    page = Page(report.read_text(encoding="utf-8"))
    ages = [page.row(**{"data-reporter": "NCCT", "data-code": code})[3:6:2] for code in ("Y_LT15", "Y15T17", "Y_GE18")]
    assert ages == [["Y_LT15 (under 15)", "70"], ["Y15T17 (15 to 17)", "31"], ["Y_GE18 (18 and over)", "162"]]
    assert page.row(**{"data-code": "FAMILY"})[3:6:2] == ["FAMILY (handed over to their families)", "191"]
    assert page.row(**{"data-code": "F"})[3:6:2] == ["F (female)", "22"]
    assert page.row(**{"data-code": "FOREIGN"})[3:6:2] == ["FOREIGN (foreigners)", "14"]
    assert page.row(**{"data-reporter": "MOI", "data-code": "HT"})[3:6] == [
        "HT (human trafficking)",
        "—",
        "50",
    ]  # the base period's figure first
    dimensions = [a["data-dimension"] for t, a in page.tags if t == "section" and "data-dimension" in a]
    assert dimensions == ["age", "referral", "sex", "citizenship", "offence", "country"]
    assert "No figure for 2019-S1 is cut by country found in." in page.words


def test_one_chart_per_headline_figure_with_its_numbers(report):
    html = report.read_text(encoding="utf-8")
    page = Page(html)
    headline_rows = [a for t, a in page.tags if t == "tr" and a.get("id", "").startswith("headline-")]
    assert page.count("svg") == len(headline_rows) == 6
    cases = html[html.index('<figure data-indicator="cases"') :]
    cases = cases[: cases.index("</figure>")]
    assert all(f">{text}</text>" in cases for text in ("62", "78", "2018-S1", "2019-S1", "half-year", "cases"))


def test_comments_and_everything_else_from_ministries_are_escaped(report):
    html = report.read_text(encoding="utf-8")
    page = Page(html)
    assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert page.count("script") == 0 and SCRIPT in page.words  # shown as text, never run
    assert "raids &amp; &#34;sweeps&#34;" in html or "raids &amp; &quot;sweeps&quot;" in html


def test_open_warnings_name_rule_file_and_row(report, warehouse, tmp_path):
    page = Page(report.read_text(encoding="utf-8"))
    warnings = [cells for attrs, cells in page.rows if attrs.get("data-rule")]
    assert [w[:3] for w in warnings] == [
        ["disagreement", "moi_2019-S1.csv", "2"],
        ["disagreement", "moi_2019-S1.csv", "5"],
    ]
    assert "75" in warnings[0][4] and "78" in warnings[0][4]
    out = tmp_path / "ncct.html"
    assert (
        runner.invoke(
            app, ["report", "2019-S1", "--reporter", "NCCT", "--out", str(out), "--warehouse", str(warehouse)]
        ).exit_code
        == 0
    )
    assert "No open warning." in Page(out.read_text(encoding="utf-8")).words  # MOI's warnings are MOI's


def test_exit_statuses_and_one_reporter(warehouse, tmp_path, monkeypatch):
    out = tmp_path / "moi.html"
    only = runner.invoke(
        app, ["report", "2019-S1", "--reporter", "moi", "--out", str(out), "--warehouse", str(warehouse)]
    )
    assert only.exit_code == 0, only.output
    page = Page(out.read_text(encoding="utf-8"))
    assert "75 cases against 60, +25.0%" in page.words and "78 cases" not in page.words
    assert page.count("svg") == 2
    other_base = runner.invoke(
        app,
        ["report", "2019-S1", "--base", "2017-S1", "--out", str(tmp_path / "b.html"), "--warehouse", str(warehouse)],
    )
    assert (
        other_base.exit_code == 0 and "78 cases; no figure for 2017-S1" in Page((tmp_path / "b.html").read_text()).words
    )
    usage = [
        ["report", "2019-S1"],
        ["report", "2019-S7", "--out", str(out)],
        ["report", "2019-S1", "--out", str(tmp_path / "report.duckdb")],
        ["report", "2019-S1", "--out", str(tmp_path)],
        ["report", "2019-S1", "--reporter", "XX", "--out", str(out)],
    ]
    for arguments in usage:
        assert runner.invoke(app, [*arguments, "--warehouse", str(warehouse)]).exit_code == 2, arguments
    nothing = tmp_path / "nothing.html"
    assert (
        runner.invoke(app, ["report", "2017-S1", "--out", str(nothing), "--warehouse", str(warehouse)]).exit_code == 1
    )
    assert (
        runner.invoke(
            app, ["report", "2019-S1", "--out", str(nothing), "--warehouse", str(tmp_path / "none.duckdb")]
        ).exit_code
        == 2
    )  # a --warehouse naming nothing is wrong usage
    no_default = runner.invoke(
        app, ["report", "2019-S1", "--out", str(nothing)], env={"CTIP_WAREHOUSE": str(tmp_path / "typo.duckdb")}
    )
    assert no_default.exit_code == 2  # CTIP_WAREHOUSE naming nothing is wrong usage, as the option is
    monkeypatch.delenv("CTIP_WAREHOUSE")
    monkeypatch.setattr(settings_module, "DEFAULT_WAREHOUSE", tmp_path / "default" / "ctip.duckdb")
    no_default = runner.invoke(app, ["report", "2019-S1", "--out", str(nothing)])
    assert no_default.exit_code == 1 and "run `ctip run` first" in no_default.output  # the default one, not made yet
    assert not nothing.exists()


def test_sentences_and_charts_as_plain_functions():
    assert headline_sentence("cases", 78, 62, 25.806, "2018-S1") == "78 cases against 62, +25.8%"
    assert headline_sentence("cases", 5, 0, None, "2018-S1") == "5 cases against 0"
    assert (
        headline_sentence("victims_rescued", 1009, None, None, "2018-S1")
        == "1,009 victims rescued; no figure for 2018-S1"
    )
    assert nice_axis(78) == (20, 80) and nice_axis(263) == (100, 300) and nice_axis(0) == (1, 1)
    svg = bar_chart([("<b>", 3), ("2019-S1", None)], title='A & "B"', x_label="x<", y_label="y>")
    assert svg.startswith("<svg") and "<b>" not in svg and "&lt;b&gt;" in svg and "A &amp; &quot;B&quot;" in svg
    assert "x&lt;" in svg and "y&gt;" in svg and "http" not in svg and "—" in svg


def test_the_page_renders_in_headless_chromium(report, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip("no Chromium at /usr/bin/chromium: install Debian's chromium package")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    url = report.resolve().as_uri()
    dom = subprocess.run([str(CHROMIUM), *flags, "--dump-dom", url], capture_output=True, text=True, timeout=90)
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = Page(dom.stdout)
    for figure in ("78", "62", "+25.8%", "263", "106", "+148.1%", "97", "85", "+14.1%"):
        assert figure in page.words.split(), figure
    assert page.row(id="headline-NCCT-cases")[1:5] == ["62", "78", "+16", "+25.8%"]
    assert page.row(id="headline-NCCT-victims_rescued")[1:5] == ["106", "263", "+157", "+148.1%"]
    assert page.row(id="headline-NCCT-suspects_to_court")[1:5] == ["85", "97", "+12", "+14.1%"]
    ages = [page.row(**{"data-reporter": "NCCT", "data-code": code})[5] for code in ("Y_LT15", "Y15T17", "Y_GE18")]
    assert ages == ["70", "31", "162"]
    assert page.count("svg") == 6 and page.count("script") == 0
    shot = tmp_path / "shot.png"
    rendered = subprocess.run(
        [str(CHROMIUM), *flags, f"--screenshot={shot}", "--window-size=1200,2000", url],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 20_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
