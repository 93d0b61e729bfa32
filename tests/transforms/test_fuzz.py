"""Random submissions through the reader and the whole preparation of a run.

Whatever the bytes, a submission is loaded or rejected with findings of the contract's
rules, and nothing raises. Workbooks whose far cells make the sheet's grid too large to
build are refused before reading (tests/flows/test_bad_files.py); here cell references
stay within the first rows of columns A to Z, so that examples stay fast.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import polars as pl
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from flows.steps import prepare
from schemas import load_registry
from schemas.shapes import Receipt
from transforms.read import read_submission
from warehouse.archive import sha256_of

REGISTRY = load_registry()
RULES = set(REGISTRY.rules)
LIMITS = REGISTRY.limits
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Phnom_Penh")
FORMATS = ("csv", "json", "xlsx")

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Examples that reach the Great Expectations suites take a few tenths of a second each.
SLOW = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


# ------------------------------------------------------------------- judging
def prepared_verdicts(submissions: list[tuple[str, bytes]]):
    """Prepare the submissions as one run does (a receipt each) and check what becomes of each."""
    receipts, contents, first = [], {}, {}
    for sequence, (file_format, content) in enumerate(submissions, start=1):
        submission_id = sha256_of(content)
        contents[submission_id] = content
        first.setdefault(submission_id, sequence)
        receipts.append(
            Receipt(sequence, submission_id, f"fuzz-{sequence}.{file_format}", file_format, len(content), NOW, NOW)
        )
    prepared = prepare(receipts, contents, first, {}, REGISTRY, ZONE)

    findings = prepared.findings
    assert set(findings["rule"].to_list()) <= RULES
    for finding in findings.iter_rows(named=True):
        assert finding["severity"] == REGISTRY.rule(finding["rule"]).severity, finding
        assert finding["row_number"] is None or finding["row_number"] >= 1, finding
        assert finding["message"], finding
    rejected = set(findings.filter(pl.col("severity") == "error")["submission_id"].to_list())

    assert [d.receipt for d in prepared.decisions] == receipts
    for decision in prepared.decisions:
        submission_id = decision.receipt.submission_id
        if first[submission_id] < decision.receipt.sequence:
            assert decision.status == "duplicate"
        elif submission_id in rejected:
            assert decision.status == "rejected"
        else:
            assert decision.status == "loaded"

    for decision in prepared.decisions:
        event(f"status {decision.status}")
    for rule in set(findings["rule"].to_list()):
        event(f"rule {rule}")

    loaded = {d.receipt.submission_id for d in prepared.decisions if d.status == "loaded"}
    rows = prepared.observations
    assert set(rows["submission_id"].to_list()) <= loaded
    for row in rows.iter_rows(named=True):
        if row["action"] == "I":
            assert row["value"] is not None and 0 <= row["value"] <= LIMITS.max_value, row
        assert row["reporter"] in REGISTRY.reporters and row["indicator"] in REGISTRY.indicators, row
        assert row["period"] is not None, row
    return prepared


# ----------------------------------------------------------------- strategies
REQUIRED = list(REGISTRY.required_columns)
OPTIONAL = [c for c in REGISTRY.known_columns if c not in REQUIRED]
KNOWN = list(REGISTRY.known_columns)
DIMENSIONS = list(REGISTRY.dimension_names)


def weighted(*options: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """One of the strategies, each drawn in proportion to its weight."""
    return st.one_of(*[strategy for weight, strategy in options for _ in range(weight)])


ODD_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"), max_size=10
)


COLUMN_NAME = weighted(
    (3, st.sampled_from(KNOWN)),
    (1, st.sampled_from(KNOWN).map(lambda n: f" {n.upper()} ")),
    (1, st.sampled_from(["row_number", "submission_id", "_row", "value_text", "judged_on"])),
    (1, ODD_TEXT),
)

# Cells a clerk would type (valid after trimming and case folding) and cells that break a rule.
VALID = {
    "reporter": ["NCCT", "ncct", " NCCT "],
    "period": ["2019-S1", "2018-S1", "2019", "2019-Q2", "2019-01/2019-06", "2019-03", "2026-S2", "២០១៩-S1", "2019s1"],
    "indicator": [*REGISTRY.indicators, "CASES", " victims_rescued "],
    "area": ["KH", "KH-1", "kh-24", "KH-25"],
    "sex": ["F", "M", "_U"],
    "age": ["Y_LT15", "Y15T17", "Y_GE18", "Y_LT18", "_U"],
    "citizenship": ["KH", "CN", "US", "FOREIGN", "STLS", "_U"],
    "referral": ["FAMILY", "SOCIAL_AFFAIRS", "_O", "_U"],
    "offence": ["HT", "SE"],
    "country": ["TH", "MY", "_U"],
    "value": ["0", "1", "2", "5", "12", "78", "263", "៧៨", " 7 ", "", "9223372036854775807"],
    "status": ["A", "P", "E", "a", ""],
    "action": ["I", "i", "", "D"],
    "comment": ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "ករណីជួញដូរមនុស្ស", "a\nb", 'say "hi", then', ""],
}
INVALID = {
    "reporter": ["MOI", "MOJ", "MOSVY", "NCCTX", ""],
    "period": ["2099", "2019-S3", "2019-13", "2013", "", "19-S1"],
    "indicator": ["trafficking", ""],
    "area": ["KH-26", "KH-0", ""],
    "sex": ["X"],
    "age": ["Y_LT10"],
    "citizenship": ["ZZ", "KHM"],
    "referral": ["POLICE"],
    "offence": ["_U"],
    "country": ["XX"],
    "value": ["1,009", "-1", "78.5", "9223372036854775808", "seven", "+3", "1e3"],
    "status": ["Z"],
    "action": ["U", "X"],
    "comment": [],
}
ANY_CODE = sorted({code for codes in [*VALID.values(), *INVALID.values()] for code in codes})
ODD_CELLS = ['"', '""', "\n", "\r\n", "\r", ",", ";", " ", "\t", "\ufeff", "\u200b", "=1+1", "é", "ß", "İ", "\u17e0"]


def cell_for(column: str) -> st.SearchStrategy[str]:
    """A cell for a column: mostly one a clerk could mean, sometimes one that breaks a rule or is odd."""
    name = column.strip().lower()
    if name not in VALID:
        return st.one_of(st.sampled_from(ANY_CODE), st.sampled_from(ODD_CELLS), ODD_TEXT)
    valid = st.sampled_from(VALID[name])
    if name in DIMENSIONS:  # most rows are not cut by most dimensions
        valid = weighted((3, st.sampled_from(["_T", ""])), (1, valid))
    options = [(16, valid), (1, st.sampled_from(ODD_CELLS)), (1, ODD_TEXT)]
    if INVALID[name]:
        options.append((2, st.sampled_from(INVALID[name])))
    return weighted(*options)


@st.composite
def headers(draw) -> list[str]:
    if draw(st.integers(0, 4)):
        optional = draw(st.lists(st.sampled_from(OPTIONAL), unique=True, max_size=6))
        extra = draw(st.lists(COLUMN_NAME, max_size=1))
        return draw(st.permutations([*REQUIRED, *optional, *extra]))
    return draw(st.lists(COLUMN_NAME, min_size=1, max_size=6))


@st.composite
def random_tables(draw) -> tuple[list[str], list[list[str]]]:
    """Any header, and rows of mostly one cell per column (now and then one too many or too few)."""
    header = draw(headers())
    rows = []
    for _ in range(draw(st.integers(0, 5))):
        cells = [draw(cell_for(column)) for column in header]
        shape = draw(st.integers(0, 15))
        if shape == 0:
            cells.append(draw(cell_for("")))
        elif shape == 1:
            cells = cells[: draw(st.integers(0, len(cells)))]
        rows.append(cells)
    return header, rows


PART_CODES = {name: VALID[name] for name in REGISTRY.dimension_names}
ENDED_PERIODS = ["2019-S1", "2018-S1", "2019", "2019-Q2", "2019-01/2019-06", "2019-03", "2015", "2026-S2"]


@st.composite
def _split(draw, total: int, parts: int) -> list[int]:
    """`parts` whole numbers adding up to `total`."""
    cuts = sorted(draw(st.lists(st.integers(0, total), min_size=parts - 1, max_size=parts - 1)))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=False)]


@st.composite
def contract_tables(draw) -> tuple[list[str], list[list[str]]]:
    """Rows that keep the contract (one reporter, allowed indicators and cuts, parts beside their totals),
    then perhaps one cell spoiled or one row repeated."""
    reporter = draw(st.sampled_from(list(REGISTRY.reporters)))
    allowed = sorted(REGISTRY.reporters[reporter].indicators)
    records = []
    for _ in range(draw(st.integers(1, 3))):
        indicator = draw(st.sampled_from(allowed))
        key = {
            "indicator": indicator,
            "period": draw(st.sampled_from(ENDED_PERIODS)),
            "area": draw(st.sampled_from(["KH", "KH-1", "KH-25"])),
        }
        total = draw(st.integers(0, 300))
        records.append({**key, "value": total})
        cuts = REGISTRY.indicators[indicator].dimensions
        if cuts:
            dimension = draw(st.sampled_from(cuts))
            codes = draw(st.lists(st.sampled_from(PART_CODES[dimension]), unique=True, max_size=4))
            if codes and draw(st.booleans()):
                values = draw(_split(total, len(codes)))
            else:
                values = [draw(st.integers(0, max(total, 1))) for _ in codes]
            records += [{**key, dimension: code, "value": value} for code, value in zip(codes, values, strict=False)]
    used = {column for record in records for column in record}
    optional = draw(st.lists(st.sampled_from(["status", "comment", "action", "sex", "country"]), unique=True))
    header = draw(st.permutations(sorted({*REQUIRED, *used, *optional})))
    spelling = {"reporter": [reporter, reporter.lower(), f" {reporter} "]}
    rows = []
    for record in records:
        cells = []
        for column in header:
            if column == "reporter":
                cells.append(draw(st.sampled_from(spelling["reporter"])))
            elif column in record:
                cells.append(str(record[column]))
            elif column in ("status", "comment", "action"):
                cells.append(draw(st.sampled_from(VALID[column])))
            else:
                cells.append(draw(st.sampled_from(["", "_T"])))
        rows.append(cells)
    change = draw(st.integers(0, 5))
    if change == 0:
        rows.append(list(draw(st.sampled_from(rows))))
    elif change == 1:
        spoilt = draw(st.integers(0, len(rows) - 1))
        column = draw(st.integers(0, len(header) - 1))
        rows[spoilt][column] = draw(cell_for(header[column]))
    return list(header), rows


TABLES = weighted((2, contract_tables()), (1, random_tables()))


@st.composite
def csv_documents(draw) -> bytes:
    header, rows = draw(TABLES)
    if draw(st.integers(0, 5)):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"])))
        writer.writerow(header)
        writer.writerows(rows)
        text = buffer.getvalue()
    else:  # joined by hand: stray quotes and separators stay as they are
        text = "\n".join(",".join(cells) for cells in [header, *rows])
    return (draw(st.sampled_from(["", "", "\ufeff"])) + text).encode("utf-8")


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),  # more than 4,300 digits is a known crash
    st.floats(allow_nan=True, allow_infinity=True),
    ODD_TEXT,
    st.sampled_from(ANY_CODE),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(ODD_TEXT, children, max_size=3),
    max_leaves=12,
)


@st.composite
def json_cell(draw, column: str, text: str) -> object:
    """A table cell as a JSON value: numbers as numbers now and then, or something else entirely."""
    choice = draw(st.integers(0, 19))
    if choice == 0:
        return draw(JSON_VALUES)
    if choice == 1 and column.strip().lower() == "value":
        return draw(st.one_of(st.integers(-5, 2**64), st.floats(allow_nan=True, allow_infinity=True)))
    if choice < 10 and text.isdecimal() and text.isascii():
        return int(text) if draw(st.booleans()) else float(text)
    if choice == 10 and text == "":
        return None
    return text


@st.composite
def json_documents(draw) -> bytes:
    kind = draw(st.integers(0, 5))
    if kind == 0:
        document = draw(JSON_VALUES)
    else:
        header, rows = draw(TABLES)
        observations = [
            {column: draw(json_cell(column, text)) for column, text in zip(header, cells, strict=False)}
            for cells in rows
        ]
        if draw(st.integers(0, 9)) == 0:
            observations.insert(draw(st.integers(0, len(observations))), draw(JSON_VALUES))
        document = {"observations": observations}
        if "reporter" in header and draw(st.booleans()):  # the reporter once, for the whole file
            objects = [o for o in observations if isinstance(o, dict)]
            document["reporter"] = objects[0].pop("reporter", None) if objects else "NCCT"
            for observation in objects[1:]:
                if draw(st.integers(0, 3)):
                    observation.pop("reporter", None)
        if kind == 1:
            document.update(
                draw(st.dictionaries(ODD_TEXT.filter(lambda k: k != "observations"), JSON_VALUES, max_size=2))
            )
    text = json.dumps(document, ensure_ascii=draw(st.booleans()))
    return (draw(st.sampled_from(["", "", "\ufeff"])) + text).encode("utf-8")


# A workbook package like the real ones, with a sheet made from a table or from random bytes.
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
PACKAGE = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
        '"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
        'main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_NS}"><Relationship Id="rId1" '
        f'Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_NS}"><Relationship Id="rId1" '
        f'Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}
ZIP_TIME = (2019, 7, 1, 0, 0, 0)
RAW_NUMBERS = ["1e400", "NaN", "-0", "1E+20", "12abc", "78.0", "0x10"]


def _xml_safe(text: str) -> str:
    """The text without the characters XML 1.0 cannot hold."""
    return "".join(
        c for c in text if c in "\t\n\r" or (" " <= c <= "\ud7ff") or ("\ue000" <= c <= "\ufffd") or c >= "\U00010000"
    )


def _xml_cell(reference: str, value: object) -> str:
    if isinstance(value, str):
        return f'<c r="{reference}" t="inlineStr"><is><t xml:space="preserve">{escape(_xml_safe(value))}</t></is></c>'
    if isinstance(value, bool):
        return f'<c r="{reference}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, tuple):  # the raw <v> text of a numeric cell
        return f'<c r="{reference}"><v>{escape(value[0])}</v></c>'
    return f'<c r="{reference}"><v>{value!r}</v></c>'


@st.composite
def xlsx_cell(draw, text: str) -> object:
    choice = draw(st.integers(0, 29))
    if choice == 0:
        return (draw(st.sampled_from(RAW_NUMBERS)),)
    if choice == 1:
        return draw(st.one_of(st.booleans(), st.floats(allow_nan=False, allow_infinity=False)))
    if choice < 12 and text.isdecimal() and text.isascii():
        return int(text) if choice % 2 else float(text)
    return text


@st.composite
def xlsx_documents(draw) -> bytes:
    sheet_name = draw(st.sampled_from(["data"] * 6 + ["Data", " DATA ", "Sheet1"]))
    if draw(st.integers(0, 9)) == 0:
        sheet = draw(st.binary(max_size=300))
    else:
        header, rows = draw(TABLES)
        first = draw(st.integers(1, 3))
        lines = []
        for number, cells in enumerate([header, *rows], start=first):
            values = [draw(xlsx_cell(text)) if number > first else text for text in cells]
            filled = "".join(_xml_cell(f"{chr(ord('A') + i)}{number}", v) for i, v in enumerate(values[:26]) if v != "")
            lines.append(f'<row r="{number}">{filled}</row>')
        sheet = (
            f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN_NS}"><sheetData>'
            + "".join(lines)
            + "</sheetData></worksheet>"
        ).encode("utf-8")
    workbook = (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheets>'
        f'<sheet name="{sheet_name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in [*PACKAGE.items(), ("xl/workbook.xml", workbook)]:
            archive.writestr(zipfile.ZipInfo(name, date_time=ZIP_TIME), text)
        archive.writestr(zipfile.ZipInfo("xl/worksheets/sheet1.xml", date_time=ZIP_TIME), sheet)
    return buffer.getvalue()


# ------------------------------------------------------------------ properties
@FAST
@given(content=st.binary(max_size=600), file_format=st.sampled_from(FORMATS))
def test_random_bytes_are_read_or_refused(content, file_format):
    raw = read_submission(content, file_format, LIMITS)
    if raw.readable:
        assert raw.findings == [] and raw.frame.height >= 1
        assert raw.frame["row_number"].dtype == pl.Int64
    else:
        assert [f.rule for f in raw.findings] in (["unreadable"], ["empty"])
        assert raw.findings[0].severity == "error"


@FAST
@given(submissions=st.lists(st.tuples(st.sampled_from(FORMATS), st.binary(max_size=400)), min_size=1, max_size=4))
def test_random_bytes_through_prepare(submissions):
    prepared_verdicts(submissions)


@SLOW
@given(submissions=st.lists(csv_documents(), min_size=1, max_size=3))
def test_random_csv_through_prepare(submissions):
    prepared_verdicts([("csv", content) for content in submissions])


@SLOW
@given(submissions=st.lists(json_documents(), min_size=1, max_size=3))
def test_random_json_through_prepare(submissions):
    prepared_verdicts([("json", content) for content in submissions])


@SLOW
@given(submissions=st.lists(xlsx_documents(), min_size=1, max_size=3))
def test_random_workbooks_through_prepare(submissions):
    prepared_verdicts([("xlsx", content) for content in submissions])


@settings(SLOW, max_examples=10)
@given(
    submissions=st.lists(
        st.one_of(
            csv_documents().map(lambda c: ("csv", c)),
            json_documents().map(lambda c: ("json", c)),
            xlsx_documents().map(lambda c: ("xlsx", c)),
        ),
        min_size=2,
        max_size=4,
    )
)
def test_random_mixed_run_through_prepare(submissions):
    """Several formats judged in one frame, as a nightly run does, duplicates included."""
    prepared_verdicts([*submissions, submissions[0]])
