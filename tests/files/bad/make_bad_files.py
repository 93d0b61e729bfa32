"""(Re)create the corpus of hostile and broken submissions in this folder.

Every file here is rejected by the contract; its name says what is wrong with it,
and tests/flows/test_bad_files.py lists what ctip must report for each. The output
is deterministic (fixed seeds and fixed zip timestamps), so running this again
changes nothing unless the script changed:

    .venv/bin/python tests/files/bad/make_bad_files.py

The tests read the files kept in the repository; they do not run this script.
Only the standard library is used.
"""

from __future__ import annotations

import csv
import io
import json
import random
import struct
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent

COLUMNS = [
    "reporter", "period", "indicator", "area", "sex", "age", "citizenship", "referral", "offence", "country",
    "value", "status", "comment",
]
WITH_ACTION = [*COLUMNS[:-1], "action", "comment"]
BASE = {
    "reporter": "NCCT", "period": "2019-S1", "indicator": "cases", "area": "KH",
    "sex": "_T", "age": "_T", "citizenship": "_T", "referral": "_T", "offence": "_T", "country": "_T",
    "value": "78", "status": "A", "action": "I", "comment": "",
}
MAX_VALUE = 9_223_372_036_854_775_807
ZIP_TIME = (2019, 7, 1, 0, 0, 0)
BOMB_BYTES = 2**30          # the sheet of zip_bomb.xlsx inflates to 1 GiB
LYING_BOMB_BYTES = 64 * 2**20  # the sheet of zip_bomb_declared_small.xlsx, which claims 1,000 bytes
SHARED_STRINGS_BYTES = 128 * 2**20  # shared_strings_bomb.xlsx: within the inflated limit of 256 MiB
CHUNK = 2**20
# JSON numbers that are no whole numbers as written, though a float would round them to one.
JSON_VALUE_FORMS = ("0.99999999999999999", "1e3", "4503599627370497.5", "1.0", "-0", "78E0")
MANY_BAD = 2_500  # many_bad_values.csv: rows with a bad value, more than twice the findings listed of one rule
INDICATORS = ("cases", "victims_rescued", "victims_repatriated", "suspects_arrested", "suspects_to_court",
              "persons_convicted", "marriage_applications")


# ------------------------------------------------------------------ builders
def row(**changes: object) -> dict[str, str]:
    return {**BASE, **{k: str(v) for k, v in changes.items()}}


def csv_bytes(rows: list[dict[str, str]], columns: list[str] = COLUMNS) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for item in rows:
        writer.writerow([item.get(c, "") for c in columns])
    return buffer.getvalue().encode("utf-8")


def json_bytes(document: object) -> bytes:
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    # The compression level of an entry opened for writing by ZipInfo (3.11 and 3.12 name it
    # _compresslevel, later versions compress_level).
    for attribute in ("compress_level", "_compresslevel"):
        try:
            setattr(info, attribute, 9)
        except AttributeError:
            pass
    return info


MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<Relationships xmlns="{PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<Relationships xmlns="{PKG_REL_NS}">'
    f'<Relationship Id="rId1" Type="{REL_NS}/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)
SHEET_PATH = "xl/worksheets/sheet1.xml"


def _workbook(sheet_name: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
        f'<sheets><sheet name="{escape(sheet_name)}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _cell(reference: str, value: object) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'<c r="{reference}"><v>{value!r}</v></c>'
    return f'<c r="{reference}" t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>'


def sheet_xml(rows: list[list[object]], first_row: int = 1, tail: str = "") -> str:
    """A worksheet of inline strings and numbers; an empty cell ("" or None) is left out."""
    lines = []
    for number, cells in enumerate(rows, start=first_row):
        filled = "".join(
            _cell(f"{_column_letters(i)}{number}", v) for i, v in enumerate(cells) if v not in ("", None)
        )
        lines.append(f'<row r="{number}">{filled}</row>')
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{MAIN_NS}"><sheetData>{"".join(lines)}{tail}</sheetData></worksheet>'
    )


def _package(archive: zipfile.ZipFile, sheet_name: str) -> None:
    for name, text in [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", PACKAGE_RELS),
        ("xl/workbook.xml", _workbook(sheet_name)),
        ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
    ]:
        archive.writestr(_zip_info(name), text.encode("utf-8"))


def xlsx_bytes(sheet: str | bytes, sheet_name: str = "data") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        _package(archive, sheet_name)
        archive.writestr(_zip_info(SHEET_PATH), sheet.encode("utf-8") if isinstance(sheet, str) else sheet)
    return buffer.getvalue()


def ods_bytes() -> bytes:
    """An OpenDocument spreadsheet (as LibreOffice saves it) whose sheet `data` holds the header and one row."""
    cells = "".join(
        f'<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>'
        for text in ("reporter", "period", "indicator", "value")
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content'
        ' xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"'
        ' xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"'
        ' xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="data"><table:table-row>{cells}</table:table-row>'
        f"<table:table-row>{cells.replace('reporter', 'NCCT').replace('period', '2019-S1')}</table:table-row>"
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(_zip_info("mimetype"), b"application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr(_zip_info("content.xml"), content.encode("utf-8"))
    return buffer.getvalue()


def table(rows: list[dict[str, str]], columns: list[str] = COLUMNS) -> list[list[object]]:
    return [list(columns), *[[item.get(c, "") for c in columns] for item in rows]]


def valid_xlsx() -> bytes:
    return xlsx_bytes(sheet_xml(table([row(), row(period="2018-S1", value="62")])))


SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<worksheet xmlns="{MAIN_NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
).encode("utf-8")
SHEET_TAIL = b"reporter</t></is></c></row></sheetData></worksheet>"


def _stream_spaces(archive: zipfile.ZipFile, total: int, force_zip64: bool) -> None:
    """A sheet entry of `total` bytes, mostly spaces (XML white space), written in chunks."""
    with archive.open(_zip_info(SHEET_PATH), "w", force_zip64=force_zip64) as entry:
        entry.write(SHEET_HEAD)
        remaining = total - len(SHEET_HEAD) - len(SHEET_TAIL)
        chunk = b" " * CHUNK
        while remaining > 0:
            piece = chunk if remaining >= CHUNK else chunk[:remaining]
            entry.write(piece)
            remaining -= len(piece)
        entry.write(SHEET_TAIL)


def zip_bomb(path: Path) -> None:
    """A workbook whose sheet inflates to 1 GiB: a few hundred times its size on disk."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        _package(archive, "data")
        _stream_spaces(archive, BOMB_BYTES, force_zip64=True)


def lying_zip_bomb(path: Path) -> None:
    """A workbook whose sheet claims (in both zip headers) 1,000 bytes but inflates to 64 MiB."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        _package(archive, "data")
        _stream_spaces(archive, LYING_BOMB_BYTES, force_zip64=False)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        local = archive.getinfo(SHEET_PATH).header_offset
    assert data[local:local + 4] == b"PK\x03\x04"
    struct.pack_into("<I", data, local + 22, 1_000)  # uncompressed size, local header
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if bytes(data[central + 46:central + 46 + name_length]) == SHEET_PATH.encode():
            struct.pack_into("<I", data, central + 24, 1_000)  # uncompressed size, central directory
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))


def grid_bombs() -> dict[str, bytes]:
    """Tiny workbooks with a cell in the last column (XFD) of the last row (1048576): read as a dense
    grid from A1, that is 16,384 x 1,048,576 cells. The same far cell, written in the ways XML and the
    sheet format allow."""
    table_xml = sheet_xml(table([row()]))
    text = '<is><t>x</t></is>'

    def with_rows(rows: str) -> bytes:
        return xlsx_bytes(table_xml.replace("</sheetData>", rows + "</sheetData>"))

    bombs = {
        "grid_bomb_far_cell.xlsx": with_rows(f'<row r="1048576"><c r="XFD1048576" t="inlineStr">{text}</c></row>'),
        "grid_bomb_single_quoted_reference.xlsx": with_rows(
            f"<row r='1048576'><c r='XFD1048576' t='inlineStr'>{text}</c></row>"
        ),
        "grid_bomb_spaces_around_equals.xlsx": with_rows(
            f'<row r="1048576"><c r = "XFD1048576" t="inlineStr">{text}</c></row>'
        ),
        "grid_bomb_lower_case_reference.xlsx": with_rows(
            f'<row r="1048576"><c r="xfd1048576" t="inlineStr">{text}</c></row>'
        ),
        # The last column named by one cell of row 2, the last row by a cell without a reference.
        "grid_bomb_cell_without_reference.xlsx": with_rows(
            f'<row r="2"><c r="XFD2" t="inlineStr">{text}</c></row><row r="1048576"><c t="inlineStr">{text}</c></row>'
        ),
    }
    # The far cell's tag starts 100 bytes before the sheet's first MiB ends, and its reference comes
    # after 200 spaces (white space inside a tag is allowed), so the two lie in different MiBs.
    start = table_xml.split("</sheetData>")[0].encode("utf-8") + b'<row r="1048576">'
    at = 2**20 - 100
    sheet = (
        start + b"<!--" + b" " * (at - len(start) - 7) + b"-->"
        + b"<c" + b" " * 200 + f'r="XFD1048576" t="inlineStr">{text}</c></row></sheetData></worksheet>'.encode()
    )
    assert sheet.index(b"<c" + b" " * 200) == at
    bombs["grid_bomb_tag_across_a_mib_boundary.xlsx"] = xlsx_bytes(sheet)
    return bombs


def shared_strings_bomb(path: Path) -> None:
    """A valid one-row workbook whose shared strings table holds 26 million empty strings (128 MiB of
    `<si/>`): within the limit on inflated bytes, but each entry costs far more once read."""
    content_types = CONTENT_TYPES.replace(
        "</Types>",
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )
    relations = WORKBOOK_RELS.replace(
        "</Relationships>",
        f'<Relationship Id="rId2" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in [
            ("[Content_Types].xml", content_types),
            ("_rels/.rels", PACKAGE_RELS),
            ("xl/workbook.xml", _workbook("data")),
            ("xl/_rels/workbook.xml.rels", relations),
            (SHEET_PATH, sheet_xml(table([row()]))),
        ]:
            archive.writestr(_zip_info(name), text.encode("utf-8"))
        with archive.open(_zip_info("xl/sharedStrings.xml"), "w") as entry:
            entry.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN_NS}">'.encode())
            chunk = b"<si/>" * (CHUNK // 5)
            written = 0
            while written < SHARED_STRINGS_BYTES:
                entry.write(chunk)
                written += len(chunk)
            entry.write(b"</sst>")


LONG_SHARED_TEXT = 20 * 2**20  # shared_string_long.xlsx: one shared text of 20 MiB
REPEATED_TEXT = 30_000  # shared_string_repeated.xlsx: a text within the limit of one cell ...
REPEATED_CELLS = 10_000  # ... that this many cells point at: 300 million characters once read


def _shared_strings_workbook(text_xml: bytes, cells: int) -> bytes:
    """A valid workbook whose sheet's cells (column A, rows 2 on, under a header) all point at shared text 0."""
    content_types = CONTENT_TYPES.replace(
        "</Types>",
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.sharedStrings+xml"/></Types>',
    )
    relations = WORKBOOK_RELS.replace(
        "</Relationships>",
        f'<Relationship Id="rId2" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
    )
    rows = "".join(f'<row r="{n}"><c r="A{n}" t="s"><v>0</v></c></row>' for n in range(2, cells + 2))
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{MAIN_NS}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>comment</t></is></c></row>'
        f"{rows}</sheetData></worksheet>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in [
            ("[Content_Types].xml", content_types.encode()),
            ("_rels/.rels", PACKAGE_RELS.encode()),
            ("xl/workbook.xml", _workbook("data").encode()),
            ("xl/_rels/workbook.xml.rels", relations.encode()),
            (SHEET_PATH, sheet.encode()),
            ("xl/sharedStrings.xml",
             f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN_NS}"><si><t>'.encode()
             + text_xml + b"</t></si></sst>"),
        ]:
            archive.writestr(_zip_info(name), text)
    return buffer.getvalue()


def prefixed_grid_bomb() -> bytes:
    """The far cell XFD1048576 in a sheet whose elements carry a namespace prefix with a hyphen (`x-y:`)."""
    cells = "".join(
        f'<x-y:c r="{_column_letters(i)}1" t="inlineStr"><x-y:is><x-y:t>{name}</x-y:t></x-y:is></x-y:c>'
        for i, name in enumerate(COLUMNS)
    )
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<x-y:worksheet xmlns:x-y="{MAIN_NS}"><x-y:sheetData><x-y:row r="1">{cells}</x-y:row>'
        '<x-y:row r="1048576"><x-y:c r="XFD1048576" t="inlineStr"><x-y:is><x-y:t>x</x-y:t></x-y:is></x-y:c></x-y:row>'
        "</x-y:sheetData></x-y:worksheet>"
    )
    return xlsx_bytes(sheet)


def json_text(text: str) -> bytes:
    """JSON written by hand, so that it may hold what json.dumps would not write (repeated keys, lone surrogates)."""
    return text.encode("utf-8")


# -------------------------------------------------------------------- corpus
def corpus() -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    valid_csv = csv_bytes([row(), row(period="2018-S1", value="62")])

    # ------------------------------------------------ unreadable as the format says
    files["empty.csv"] = b""
    files["header_only.csv"] = csv_bytes([])
    files["header_and_blank_rows.csv"] = csv_bytes([]) + b"\n,,,,\n   \n\n"
    noise = bytearray(random.Random(20191).randbytes(2048))
    noise[100] = noise[777] = 0
    files["binary.csv"] = bytes(noise)
    files["utf16.csv"] = valid_csv.decode("utf-8").encode("utf-16")
    files["latin1.csv"] = csv_bytes([row(comment="café")]).decode("utf-8").encode("latin-1")
    files["xlsx_named_csv.csv"] = valid_xlsx()
    files["csv_named_xlsx.xlsx"] = valid_csv
    whole = valid_xlsx()
    files["truncated.xlsx"] = whole[: len(whole) // 2]
    files["corrupt.xlsx"] = xlsx_bytes(b"<worksheet><sheetData><row r=\"1\"><c r=\"A1\" t=\"s\"><v>\x01\xff\xfe garbage <<<")
    files["no_data_sheet.xlsx"] = xlsx_bytes(sheet_xml(table([row()])), sheet_name="Sheet1")
    files["xlsx_empty_sheet.xlsx"] = xlsx_bytes(sheet_xml([]))
    files["xlsx_header_only.xlsx"] = xlsx_bytes(sheet_xml(table([])))
    files.update(grid_bombs())
    files["ragged_row.csv"] = csv_bytes([row()]) + b"NCCT,2018-S1,cases,KH,_T,_T,_T,_T,_T,_T,62,A,,surplus\n"
    files["broken_quote.csv"] = csv_bytes([]) + b'NCCT,2019-S1,cases,KH,_T,_T,_T,_T,_T,_T,78,A,"quoted"text\n'
    files["repeated_column.csv"] = (
        b"reporter,period,indicator,value,Value\nNCCT,2019-S1,cases,78,79\n"
    )
    files["semicolon_separated.csv"] = valid_csv.replace(b",", b";")
    files["excel_separator_line.csv"] = b"sep=;\n" + valid_csv.replace(b",", b";")
    files["semicolons_and_a_comma_in_a_cell.csv"] = (
        b"reporter;period;indicator;value;comment\nMOI;2019-S1;suspects_to_court;12;police, court\n"
    )
    files["ods_named_xlsx.xlsx"] = ods_bytes()
    files["missing_value_column.csv"] = csv_bytes([row()], [c for c in COLUMNS if c != "value"])
    # A column the contract does not know, named like the reader's own row number column.
    files["row_number_column.csv"] = csv_bytes(
        [{**row(), "row_number": "99"}, {**row(period="2018-S1", value="x"), "row_number": "100"}],
        [*COLUMNS, "row_number"],
    )

    # ------------------------------------------------------------- JSON
    files["deeply_nested.json"] = b'{"reporter": "NCCT", "observations": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    seed_like = json_bytes(
        {"reporter": "NCCT", "observations": [
            {"period": "2019-S1", "indicator": "cases", "value": 78},
            {"period": "2018-S1", "indicator": "cases", "value": 62},
        ]}
    )
    files["truncated.json"] = seed_like[: len(seed_like) // 2]
    files["json_not_object.json"] = json_bytes([{"reporter": "NCCT", "period": "2019-S1", "indicator": "cases", "value": 78}])
    files["json_no_observations.json"] = json_bytes({"reporter": "NCCT", "observations": []})
    files["json_observation_not_object.json"] = json_bytes(
        {"reporter": "NCCT", "observations": [{"period": "2019-S1", "indicator": "cases", "value": 78}, 42]}
    )
    files["json_value_fractional.json"] = json_bytes(
        {"reporter": "NCCT", "observations": [
            {"period": "2019-S1", "indicator": "cases", "value": 78},
            {"period": "2018-S1", "indicator": "cases", "value": 62.5},
        ]}
    )
    files["json_bad_value_after_blank_observation.json"] = json_bytes(
        {"reporter": "NCCT", "observations": [
            {},
            {"period": "2019-S1", "indicator": "cases", "value": 78},
            {"period": "2018-S1", "indicator": "cases", "value": "x"},
        ]}
    )
    files["json_bad_value_in_third_observation.json"] = json_bytes(
        {"reporter": "NCCT", "observations": [
            {"period": "2019-S1", "indicator": "cases", "value": 78},
            {"period": "2019-S1", "indicator": "marriage_applications", "value": 1009},
            {"period": "2018-S1", "indicator": "cases", "value": "x"},
        ]}
    )
    files["json_value_huge_integer.json"] = (
        b'{"reporter": "NCCT", "observations": [{"period": "2019-S1", "indicator": "cases", "value": '
        + b"9" * 5000 + b"}]}\n"
    )
    files["json_two_reporters.json"] = json_bytes(
        {"reporter": "NCCT", "observations": [
            {"period": "2019-S1", "indicator": "cases", "value": 78},
            {"period": "2019-S1", "indicator": "cases", "value": 61, "reporter": "MOI"},
        ]}
    )
    files["json_reporter_at_top_differs.json"] = json_bytes(
        {"reporter": "MOSVY", "observations": [
            {"period": "2019-Q1", "indicator": "victims_rescued", "value": 3, "reporter": "MOI"},
            {"period": "2019-Q2", "indicator": "victims_rescued", "value": 4, "reporter": " moi"},
        ]}
    )
    files["json_row_number_key.json"] = json_bytes(
        {"reporter": "NCCT", "observations": [
            {"period": "2019-S1", "indicator": "cases", "value": 78, "row_number": 7},
            {"period": "2018-S1", "indicator": "cases", "value": "x", "row_number": 8},
        ]}
    )

    # Poison pills and exact reading of JSON (contract 1.1).
    observation = '"period": "2019-S1", "indicator": "cases"'
    files["json_lone_surrogate_in_value.json"] = json_text(
        '{"reporter": "NCCT", "observations": [{' + observation + ', "value": 78, "comment": "\\ud800"}]}\n'
    )
    files["json_lone_surrogate_in_key.json"] = json_text(
        '{"reporter": "NCCT", "observations": [{' + observation + ', "value": 78, "\\udc00x": "1"}]}\n'
    )
    files["json_repeated_key.json"] = json_text(
        '{"reporter": "NCCT", "observations": [{' + observation + ', "value": 78, "value": 5}]}\n'
    )
    files["json_repeated_key_any_case.json"] = json_text(
        '{"reporter": "NCCT", "observations": [{' + observation + ', "value": 78}, '
        '{"period": "2018-S1", "indicator": "cases", "value": 62, "VALUE": 6}]}\n'
    )
    files["json_repeated_reporter.json"] = json_text(
        '{"reporter": "NCCT", "reporter": "MOI", "observations": [{' + observation + ', "value": 78}]}\n'
    )
    files["json_value_forms.json"] = json_text(
        '{"reporter": "NCCT", "observations": ['
        + ", ".join(
            f'{{"period": "{year}-S1", "indicator": "cases", "value": {written}}}'
            for year, written in zip(range(2019, 2013, -1), JSON_VALUE_FORMS)
        )
        + "]}\n"
    )
    files["xlsx_prefixed_grid_bomb.xlsx"] = prefixed_grid_bomb()
    files["shared_string_repeated.xlsx"] = _shared_strings_workbook(b"x" * REPEATED_TEXT, REPEATED_CELLS)
    files["too_many_columns.csv"] = (
        ",".join([*COLUMNS, *(f"extra_{i}" for i in range(5_000))]).encode() + b"\n" + csv_bytes([row()]).split(b"\n")[1]
        + b"\n"
    )
    files["text_too_long.csv"] = csv_bytes([row(), row(period="2018-S1", comment="x" * 40_000)])
    periods = [
        *(str(y) for y in range(2000, 2020)), *(f"{y}-S{h}" for y in range(2000, 2020) for h in (1, 2)),
        *(f"{y}-Q{q}" for y in range(2000, 2020) for q in range(1, 5)),
        *(f"{y}-{m:02d}" for y in range(2000, 2020) for m in range(1, 13)),
    ]
    keys = [(period, indicator) for indicator in INDICATORS for period in periods][:MANY_BAD]
    files["many_bad_values.csv"] = csv_bytes([row(period=period, indicator=indicator, value="x") for period, indicator in keys])

    # ------------------------------------------------------------ values
    files["value_fractional.csv"] = csv_bytes([row(value="78.5")])
    files["value_negative.csv"] = csv_bytes([row(value="-5")])
    files["value_text.csv"] = csv_bytes([row(value="seventy-eight")])
    files["value_thousands_separator.csv"] = csv_bytes([row(indicator="marriage_applications", value="1,009")])
    files["value_beyond_64_bits.csv"] = csv_bytes([row(value=str(MAX_VALUE + 1))])
    files["value_other_forms.csv"] = csv_bytes(
        [
            row(period="2019-S1", value="+78"),
            row(period="2018-S1", value="6.2e1"),
            row(period="2017-S1", value="\u0667\u0668"),  # Arabic-Indic digits 78
            row(period="2016-S1", value="1 009"),
        ]
    )
    files["multiline_comment_then_bad_value.csv"] = csv_bytes(
        [row(comment="first line\nsecond line\nthird line"), row(period="2018-S1", value="x")]
    )
    # Row 3's value is a formula whose result is an error, as Excel saves it (t="e").
    earlier = row(period="2018-S1")
    error_row = "".join(
        f'<c r="{_column_letters(i)}3" t="e"><f>1/0</f><v>#DIV/0!</v></c>' if column == "value"
        else _cell(f"{_column_letters(i)}3", earlier[column])
        for i, column in enumerate(COLUMNS)
        if earlier[column]
    )
    files["xlsx_formula_error_value.xlsx"] = xlsx_bytes(
        sheet_xml(table([row()]), tail=f'<row r="3">{error_row}</row>')
    )
    files["xlsx_bad_value.xlsx"] = xlsx_bytes(
        sheet_xml(table([row(value=78), row(period="2018-S1", value="seventy")]), first_row=2)
    )

    # ------------------------------------------------------------- codes
    files["unknown_reporter.csv"] = csv_bytes([row(reporter="NCCTX")])
    files["unknown_indicator.csv"] = csv_bytes([row(indicator="trafficking")])
    files["unknown_area.csv"] = csv_bytes([row(area="KH-26")])
    files["unknown_sex.csv"] = csv_bytes([row(indicator="victims_rescued", sex="X")])
    files["unknown_age.csv"] = csv_bytes([row(indicator="victims_rescued", age="Y_LT10")])
    files["unknown_citizenship.csv"] = csv_bytes([row(indicator="suspects_to_court", citizenship="ZZ")])
    files["unknown_referral.csv"] = csv_bytes([row(indicator="victims_rescued", referral="POLICE")])
    files["unknown_offence.csv"] = csv_bytes([row(offence="_U")])  # offences have no unknown code
    files["unknown_country.csv"] = csv_bytes([row(indicator="victims_repatriated", country="XX")])
    files["unknown_status.csv"] = csv_bytes([row(status="Z")])
    files["unknown_action.csv"] = csv_bytes([row(action="U")], WITH_ACTION)
    files["blank_reporter_and_indicator.csv"] = csv_bytes([row(reporter=" ", indicator="")])
    files["area_before_it_existed.csv"] = csv_bytes([row(period="2013", area="KH-25")])
    files["period_does_not_exist.csv"] = csv_bytes([row(period="2019-S3"), row(period="2019-13")])
    files["period_not_begun.csv"] = csv_bytes([row(period="2099")])
    files["not_allowed_indicator.csv"] = csv_bytes([row(reporter="MOJ", indicator="cases")])
    files["not_allowed_cut.csv"] = csv_bytes([row(indicator="marriage_applications", sex="F", value="5")])

    # ------------------------------------------------- rows of one file together
    files["two_reporters.csv"] = csv_bytes([row(), row(reporter="MOI", value="61")])
    files["duplicate_key.csv"] = csv_bytes([row(), row(value="80")])
    files["blank_codes.csv"] = csv_bytes(  # a blank code is no code; a row that gives nothing is not reported
        [row(area=""), row(period="2018-S1", sex=" "), row(period="2017-S1", status=""),
         row(period="2016-S1", sex="", value="")]
    )
    files["duplicate_key_after_folding.csv"] = csv_bytes(
        [row(), {**{c: "_t" for c in COLUMNS}, "reporter": " ncct ", "period": "2019s1", "indicator": "CASES",
                 "area": "kh", "value": "80", "status": "a", "comment": ""}]
    )
    rescued = dict(indicator="victims_rescued")
    files["parts_above_total.csv"] = csv_bytes(
        [row(**rescued, value=263), row(**rescued, referral="FAMILY", value=191),
         row(**rescued, referral="SOCIAL_AFFAIRS", value=100)]
    )
    files["incomplete_sum.csv"] = csv_bytes(
        [row(**rescued, value=263), row(**rescued, age="Y_LT15", value=70),
         row(**rescued, age="Y15T17", value=31), row(**rescued, age="Y_GE18", value=100)]
    )
    court = dict(indicator="suspects_to_court")
    files["cross_cut_above_total.csv"] = csv_bytes(
        [row(**court, value=97), row(**court, offence="HT", value=40), row(**court, offence="HT", sex="F", value=45)]
    )
    files["aggregate_above_its_codes.csv"] = csv_bytes(
        [row(**court, value=97), row(**court, citizenship="FOREIGN", value=14),
         row(**court, citizenship="CN", value=12), row(**court, citizenship="US", value=5)]
    )
    files["parts_sum_beyond_64_bits.csv"] = csv_bytes(
        [row(**rescued, value=MAX_VALUE), row(**rescued, referral="FAMILY", value=MAX_VALUE),
         row(**rescued, referral="SOCIAL_AFFAIRS", value=MAX_VALUE)]
    )
    return files


def main() -> None:
    for name, content in corpus().items():
        (HERE / name).write_bytes(content)
    zip_bomb(HERE / "zip_bomb.xlsx")
    lying_zip_bomb(HERE / "zip_bomb_declared_small.xlsx")
    shared_strings_bomb(HERE / "shared_strings_bomb.xlsx")
    (HERE / "shared_string_long.xlsx").write_bytes(_shared_strings_workbook(b"x" * LONG_SHARED_TEXT, 1_000))


if __name__ == "__main__":
    main()
