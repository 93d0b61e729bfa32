"""Readers: the bytes of one submission in, a frame of text cells out.

Every cell stays text (or null when empty) so that nothing is guessed here; the
normaliser decides what a cell means. Each row carries `row_number` as a person
sees it: the spreadsheet row (CSV header = row 1), or the position in the JSON
`observations` list. A file that cannot be read gives an `unreadable` or `empty`
finding instead of a frame; nothing raises.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import json
import math
import operator
import re
import xml.etree.ElementTree as ElementTree
import zipfile
import zlib
from array import array
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import compress

import polars as pl

from schemas.registry import Limits
from schemas.texts import message
from transforms import collector
from transforms.findings import Finding

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".json": "json"}
XLSX_SHEET = "data"
ROW_NUMBER = "row_number"
FILE_ROW_NUMBER = message("common", "file_row_number")
# The reporter a JSON file names at its top, on each of its rows beside the reporter the row gives (its own, or
# that one when it gives none): validation finds a row whose own reporter differs (`mixed_reporters`)
FILE_REPORTER = "reporter (at the top of the file)"
_DTYPE = {ROW_NUMBER: pl.Int64}  # of a column read; any other is text
_QUOTE = rb"""["']"""
# An element's name with any namespace prefix (`x:c`, `x-y.z:c`): a prefix is any XML name.
_PREFIX = rb"""(?:[^\s<>/=:"'!?]+:)?"""
XLSX_CELL = re.compile(rb"<" + _PREFIX + rb"c\b[^>]*?\br\s*=\s*" + _QUOTE + rb"([A-Za-z]{1,3})([0-9]{1,7})" + _QUOTE)
XLSX_ROW = re.compile(rb"<" + _PREFIX + rb"row\b[^>]*?\br\s*=\s*" + _QUOTE + rb"([0-9]{1,7})" + _QUOTE)
XLSX_CELL_TAG = re.compile(rb"<" + _PREFIX + rb"c[\s>/]")
XLSX_ERROR_CELL = re.compile(
    rb"(<" + _PREFIX + rb"c\b[^>]*?\bt\s*=\s*" + _QUOTE + rb"e" + _QUOTE + rb"[^>]*>)(.*?)</" + _PREFIX + rb"c>",
    re.DOTALL,
)
XLSX_VALUE = re.compile(rb"<" + _PREFIX + rb"v>([^<]*)<")
# A cell that is not self-closing, with what it holds; among them those whose formula has no stored result
XLSX_FULL_CELL = re.compile(rb"(<" + _PREFIX + rb"c\b[^>]*?[^/>]>)(.*?)</" + _PREFIX + rb"c>", re.DOTALL)
XLSX_FORMULA = re.compile(rb"<" + _PREFIX + rb"f\b[^>]*>([^<]*)</" + _PREFIX + rb"f>")
XLSX_TEXT_RESULT = re.compile(rb"\bt\s*=\s*" + _QUOTE + rb"str" + _QUOTE)
_TYPE_E = tuple(first + b"e" + last for first in (b'"', b"'") for last in (b'"', b"'"))  # as XLSX_ERROR_CELL quotes it
# The starts of a shared text's element, with or without a prefix; a few in other places only count too many.
_SHARED_STRING_TAGS = tuple(
    start + b"si" + end for start in (b"<", b":") for end in (b" ", b">", b"/", b"\t", b"\n", b"\r")
)
XLSX_ERROR_TEXT = "{error} (a formula error in the workbook)"
# A formula saved without its result (a workbook written by a program, never opened in Excel): its reader gives
# '' ("not reported"), so the cell shows the formula instead, and a value found that way is no whole number
XLSX_UNCALCULATED_TEXT = "={formula} (a formula without a result: open the file in Excel or LibreOffice and save it)"
# What Python's str.strip() takes away, every character of which str.isspace() is true: a cell of only
# these is blank.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
# The byte order marks that begin UTF-16 text (little-endian, as Excel saves "Unicode Text" and "CSV UTF-16", or
# big-endian): such a file is told to be saved as UTF-8, not that it holds binary content
UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")
# Characters that show nothing: the zero-width space that Khmer typing puts between words, the joiners, the word
# joiner, and the byte order mark that a file copied into another (or saved twice) leaves inside it. They are
# trimmed with the spaces around a code, a period, a whole number and a column's name (TRIMMED, `trimmed`), kept
# inside free text (a comment, and a cell, which is blank only when it is empty or WHITESPACE), and shown as
# <U+200B> where a message quotes a text that still holds one (`visible`).
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
TRIMMED = WHITESPACE + INVISIBLE
_INVISIBLE_CHARACTER = re.compile(f"[{INVISIBLE}]")
_CARRY_LIMIT = 1 << 20
# A CSV text of this many characters or more, without quotes, is split by Polars (`_read_csv`); below it the `csv`
# module is faster (a thousand rows of 50 characters take both about 3 ms).
SPLIT_BY_POLARS_FROM = 64 * 1024


class EmptySheet(Exception):
    """The workbook's sheet `data` holds nothing at all: not even a header."""


class Unreadable(Exception):
    """The bytes are not a readable file of the format the name promises. Why, as the key of a text of
    `[messages.unreadable]` in schemas/texts.toml and the values it fills in: `detail` says it in a language, `str()`
    in English (for logs). The row and column it names, if any, fill in the text's `{row}` and `{column}`."""

    def __init__(self, key: str, row_number: int | None = None, column_name: str | None = None, **values):
        super().__init__(key)
        self.key = key
        self.values = values
        self.row_number = row_number
        self.column_name = column_name

    def detail(self, lang: str = "en") -> str:
        """Why the file cannot be read, in `lang` (a column named as a message in `lang` shows it, and so is a
        value that is a text of `[messages.common]`, `Words`; a text `visible`)."""
        named = {"row": self.row_number}
        if self.column_name is not None:
            named["column"] = visible(column_shown(self.column_name, lang))
        values = {
            name: message("common", value, lang) if isinstance(value, Words) else visible(value)
            for name, value in self.values.items()
            if isinstance(value, str)
        }
        return message("unreadable", self.key, lang, **named, **{**self.values, **values})

    def __str__(self) -> str:
        return self.detail()


class Words(str):
    """A value of an `Unreadable` that is the key of a text of `[messages.common]`, such as the name of a
    separator: the message says it in its own language."""


# Each separator a spreadsheet may use instead of commas, and its name in `common` of the messages.
SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical_bars"}


@dataclass
class RawSubmission:
    """What a reader makes of a file: text cells by column, or the findings why not."""

    format: str
    frame: pl.DataFrame | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def readable(self) -> bool:
        return self.frame is not None


def trimmed(text: str) -> str:
    """The text without the spaces and INVISIBLE characters around it (a code, a period, a column's name)."""
    return text.strip(TRIMMED)


def visible(text: str) -> str:
    """The text as a message quotes it: each INVISIBLE character written as its number (`<U+200B>`), so that a
    value that looks right is seen to hold one."""
    return _INVISIBLE_CHARACTER.sub(lambda found: f"<U+{ord(found[0]):04X}>", text)


def format_of(file_name: str) -> str | None:
    """`csv`, `xlsx` or `json` for a file the inbox takes, None for one it ignores."""
    if file_name.startswith("."):
        return None
    suffix = "." + file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    return FORMATS.get(suffix)


def read_submission(content: bytes, file_format: str, limits: Limits, lang: str = "en") -> RawSubmission:
    """Parse one file's bytes; never raises for bad content. Findings speak `lang`."""
    columns, findings = read_columns(content, file_format, limits, lang)
    return RawSubmission(file_format, None if columns is None else frame_of(columns), findings)


def read_columns(
    content: bytes, file_format: str, limits: Limits, lang: str = "en"
) -> tuple[dict[str, list | pl.Series] | None, list[Finding]]:
    """What `read_submission` reads, as the columns of the cells as read (Python lists, or Polars series for a CSV
    file split by Polars; `row_number` first, no blank row) before they become a frame (`frame_of`), so that files
    with the same header can be stacked into one frame; or None and the findings why not. Never raises for bad
    content."""
    if not content.strip():  # nothing at all, or only blank lines and spaces
        return None, [Finding("empty", "error", message("empty", "no_header", lang))]
    try:
        if len(content) > limits.max_file_bytes:
            raise Unreadable("too_big", size=len(content), limit=limits.max_file_bytes)
        reader = {"csv": _read_csv, "xlsx": _read_xlsx, "json": _read_json}[file_format]
        with collector.paused():  # a file's rows are many objects, none of them garbage while it is read
            columns = _to_columns(*reader(content, limits), limits)  # the rows read are let go as they become columns
    except EmptySheet:  # a blank sheet is an empty file, as a blank CSV file is
        return None, [Finding("empty", "error", message("empty", "empty_sheet", lang, sheet=XLSX_SHEET))]
    except Unreadable as problem:
        return None, [unreadable_finding(problem, file_format, lang)]
    if len(columns[ROW_NUMBER]) == 0:
        return None, [Finding("empty", "error", message("empty", "no_rows", lang))]
    return columns, []


def unreadable_finding(problem: Unreadable, file_format: str, lang: str = "en") -> Finding:
    """The `unreadable` finding of a file that cannot be read as `file_format`, saying why in `lang`."""
    text = message("unreadable", "cannot_read", lang, format=file_format.upper(), detail=problem.detail(lang))
    return Finding("unreadable", "error", text, problem.row_number, problem.column_name)


def unnamed_column(position: int, lang: str = "en") -> str:
    """The name of a column whose header cell is blank but not all its cells, by its position from 1: in English
    the column's name (the same in every language), in `lang` as a message shows it."""
    return message("common", "unnamed_column", lang, position=position)


# The English names `unnamed_column` gives: its text around the position, the position the one group
_UNNAMED_COLUMN = re.compile(
    "([0-9]+)".join(map(re.escape, message("common", "unnamed_column", position="\0").split("\0")))
)


def column_shown(name: str, lang: str = "en") -> str:
    """A column's name as a message in `lang` shows it: a name ctip gives (FILE_ROW_NUMBER, `unnamed_column`) in
    the words of `lang`, any other as the file gives it."""
    if name == FILE_ROW_NUMBER:
        return message("common", "file_row_number", lang)
    unnamed = _UNNAMED_COLUMN.fullmatch(name)
    return unnamed_column(int(unnamed[1]), lang) if unnamed else name


def frame_of(columns: dict[str, list | pl.Series]) -> pl.DataFrame:
    """Columns read (`read_columns`), of one file or of files with the same header one after another, as a frame:
    `row_number` a whole number, every other column text, a blank cell (empty or only WHITESPACE) null; a
    comment is kept exactly as sent, only an empty one is none (`kept_as_sent`).

    Blank cells are found by Polars on the whole frame, a column at a time, not one Python call per cell."""
    frame = pl.DataFrame(
        [pl.Series(name, values, dtype=_DTYPE.get(name, pl.String)) for name, values in columns.items()]
    )
    return frame.with_columns(
        pl.when(pl.col(name) != "" if kept_as_sent(name) else filled_text(pl.col(name))).then(pl.col(name))
        for name in columns
        if name != ROW_NUMBER
    )


def kept_as_sent(name: str) -> bool:
    """Whether the column of this header name is the comment, whose cells are kept exactly as sent, spaces
    included: only an empty comment is no comment (a column's name as the conformed header spells it)."""
    return trimmed(name).lower() == "comment"


def one_after_another(files: list[dict[str, list | pl.Series]]) -> dict[str, list | pl.Series]:
    """The columns read (`read_columns`) of files with the same header, the rows of each after those of the one
    before (one file's as they are): Python lists, or Polars series when any file's column is one."""
    if len(files) == 1:
        return files[0]
    if any(isinstance(values, pl.Series) for columns in files for values in columns.values()):
        return {
            name: pl.concat([pl.Series(name, columns[name], dtype=_DTYPE.get(name, pl.String)) for columns in files])
            for name in files[0]
        }
    return {name: list(itertools.chain.from_iterable(columns[name] for columns in files)) for name in files[0]}


@dataclass
class Columns:
    """Rows given as columns (the rows of JSON observations, of a CSV file split by Polars): `cells[position]`
    holds the cells of the header's column at that position, one for each row number of `numbers`; Python lists,
    or Polars series (the CSV file's)."""

    numbers: list[int] | pl.Series
    cells: list[list] | list[pl.Series]


# What a reader gives: the header, the rows that are not blank (number and cells) or their columns, and a length no
# cell is longer than when the reader knows one (else None: every cell is measured).
Read = tuple[list[str], list[tuple[int, list[str | None]]] | Columns, int | None]


def _to_columns(
    header: list[str], rows: list[tuple[int, list[str | None]]] | Columns, longest: int | None, limits: Limits
) -> dict[str, list | pl.Series]:
    """Columns named by the header (trimmed, lower case), `row_number` first, of rows that are not blank; a blank
    cell may still be a text of spaces (`frame_of` makes it null). Cells are measured against the text limit
    unless the reader knows that none is longer than `longest`, within the limit.

    The rows are turned into columns a column at a time (`operator.itemgetter`), so no step goes through the
    cells one Python call at a time; the rows' own lists are let go once their cells are in the columns.
    """
    names = [trimmed(name).lower() for name in header]
    names = [FILE_ROW_NUMBER if name == ROW_NUMBER else name for name in names]  # the file's own, not ours
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise Unreadable("column_twice", 1, name)
        seen.add(name)
    width = len(names)
    if isinstance(rows, Columns):
        numbers, given = rows.numbers, rows.cells
    else:
        numbers = list(map(_FIRST, rows))
        cells = list(map(_SECOND, rows))
        rows.clear()  # the reader's list, emptied: each row's cells go once they are in the columns
        if cells and min(map(len, cells)) < width:  # a row shorter than the header: its last cells are blank
            cells = [row if len(row) >= width else [*row, *([None] * (width - len(row)))] for row in cells]
        given = [list(map(operator.itemgetter(position), cells)) for position in range(width)]
        del cells
    if len(numbers) > limits.max_rows:
        raise Unreadable("too_many_rows", rows=len(numbers), limit=limits.max_rows)
    columns: dict[str, list | pl.Series] = {ROW_NUMBER: numbers}  # the last column of a name wins
    for position, name in enumerate(names):
        values = given[position]
        if not name:
            if _any_filled(values):
                name = unnamed_column(position + 1)
            else:
                continue
        columns[name] = values
    _check_text_lengths(columns, names, limits, longest)
    return columns


def filled_text(text: pl.Expr | pl.Series, also: str = "") -> pl.Expr | pl.Series:
    """Whether each text (an expression or a series) holds a character other than WHITESPACE and `also`: a filled
    cell (null stays null). One regular expression: a third of stripping the spaces and comparing what is left."""
    besides = "".join(f"\\x{{{ord(c):X}}}" for c in WHITESPACE + also)  # each character by its number
    return text.str.contains(f"[^{besides}]")


def _any_filled(values: list | pl.Series) -> bool:
    """Whether any cell is filled: not null, not empty and not only spaces."""
    if isinstance(values, pl.Series):
        return bool(filled_text(values).any())
    return any(value and not value.isspace() for value in values)


def _check_text_lengths(
    columns: dict[str, list | pl.Series], names: list[str], limits: Limits, longest: int | None = None
) -> None:
    """Unreadable when a column name or a cell is longer than the limit, naming the first such cell (a blank
    cell, which becomes null, is never too long; a comment of spaces is kept, and measured).

    Measured on the cells as read (Python texts), before any frame is built: a file costs no frame operation
    per column; none at all when the reader knows no cell is longer than `longest`, within the limit."""
    limit = limits.max_text_chars
    for name in names:
        if len(name) > limit:
            raise Unreadable("long_column_name", 1, length=len(name), limit=limit)
    if longest is not None and longest <= limit:
        return
    for name, values in columns.items():
        if name == ROW_NUMBER or max(map(len, filter(None, values)), default=0) <= limit:
            continue
        kept = kept_as_sent(name)
        at = next(
            (i for i, value in enumerate(values) if value and len(value) > limit and (kept or not value.isspace())),
            None,
        )
        if at is None:
            continue
        number = columns[ROW_NUMBER][at]
        raise Unreadable("long_text", number, name, length=len(values[at]), limit=limit)


# --------------------------------------------------------------------- CSV
def _read_csv(content: bytes, limits: Limits) -> Read:
    """A CSV file: UTF-8 text (a byte order mark is left out), the header its first record.

    A large file without a quote and without a line ending of a lone carriage return, as most are, holds a record
    on each line and a cell between each two commas: it is split by Polars, a column at a time (`_read_plain_csv`:
    a fixed 2 ms, then about a quarter of the `csv` module's time per row). Any other file is read by Python's
    `csv` module, record by record (`_read_csv_records`). Both give the same header, rows, cells and findings for
    a file both can read (tests/transforms/test_read_csv_paths.py)."""
    if content.startswith(UTF16_MARKS):
        raise Unreadable("utf16_csv")
    if b"\x00" in content:
        raise Unreadable("binary")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        line = content[: problem.start].count(b"\n") + 1
        raise Unreadable("not_utf8_csv", byte=problem.start + 1, line=line) from None
    separator_line = _SEPARATOR_LINE.match(text)
    if separator_line:
        raise Unreadable("separator_line", 1, line=separator_line[1])
    if len(text) >= SPLIT_BY_POLARS_FROM and '"' not in text and text.count("\r") == text.count("\r\n"):
        return _read_plain_csv(text.replace("\r\n", "\n") if "\r" in text else text, limits)
    return _read_csv_records(text, limits)


def _csv_header(header: list[str] | None, limits: Limits) -> list[str]:
    if header is None or not any(map(trimmed, header)):
        raise Unreadable("no_header", 1)
    if len(header) > limits.max_columns:
        raise Unreadable("too_many_columns", 1, columns=len(header), limit=limits.max_columns)
    return header


def _too_many_rows(limits: Limits) -> Unreadable:
    return Unreadable("more_rows_than_the_limit", limit=limits.max_rows)


# The line `sep=;` (any separator) with which a CSV file may begin to tell Excel its separator
_SEPARATOR_LINE = re.compile(r"(sep=.?)\r?(?:\n|\Z)", re.IGNORECASE)


def _too_many_cells(index: int, cells: int, header: list[str]) -> Unreadable:
    """A row with more cells than the header names columns. When the header is one column that holds another
    separator (a CSV saved by a spreadsheet set for another region, a comma inside one of its cells) the file is
    said to be separated by it, as `normalise` says of such a header."""
    if len(header) == 1:
        for separator, name in SEPARATORS.items():
            if separator in header[0]:
                return Unreadable("separated_by", index, separator=Words(name), header=header[0][:80], cells=cells)
        return Unreadable("title_above", index, cells=cells, header=header[0][:80])  # a title typed above the table
    return Unreadable("too_many_cells", index, cells=cells, width=len(header))


def _read_csv_records(text: str, limits: Limits) -> Read:
    """Any CSV text, read by Python's `csv` module a record at a time (quoted cells, line breaks in cells)."""
    records = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = _csv_header(next(records, None), limits)
        rows = []
        filled = 0
        width = len(header)
        index = 1
        for index, record in enumerate(records, start=2):
            # a cell is blank when it is empty or only spaces (`frame_of` makes it null, a column at a time); a row
            # of blank cells is left out
            first = record[0] if record else ""
            if not (first and not first.isspace()) and not any(cell and not cell.isspace() for cell in record):
                continue
            filled += 1
            if filled > limits.max_rows:
                raise _too_many_rows(limits)
            if len(record) > width:
                if any(cell and not cell.isspace() for cell in record[width:]):
                    raise _too_many_cells(index, len(record), header)
                record = record[:width]
            rows.append((index, record))
    except csv.Error as problem:
        raise Unreadable("broken_csv", records.line_num, line=records.line_num, problem=problem) from None
    longest = len(text)  # no cell is longer than the file
    if longest > limits.max_text_chars and records.line_num == index:  # every record on a line of its own
        longest = max(map(len, text.split("\n")))  # no cell is longer than its line
    return header, rows, longest


def _read_plain_csv(text: str, limits: Limits) -> Read:
    """CSV text without a quote, its lines ended by line feeds: record k is line k, its cells what lies between
    its commas. Split by Polars a column at a time, with the findings `_read_csv_records` gives, in its order (a
    row past the limit of rows, or a row with more cells than the header, whichever comes first)."""
    lines = pl.Series([text]).str.split("\n").explode()
    header = _csv_header(lines[0].split(","), limits)
    width = len(header)
    body = lines.slice(1)
    numbers = pl.int_range(2, len(body) + 2, eager=True, dtype=pl.Int64)
    filled = filled_text(body, also=",")  # a row not blank
    body, numbers = body.filter(filled), numbers.filter(filled)
    cells = body.str.split(",")
    counts = cells.list.len()
    wide = counts > width
    if wide.any():  # cells past the header's columns: none may be filled
        past = filled_text(cells.filter(wide).list.slice(width).list.join(""))
        if past.any():
            at = wide.arg_true()[past.arg_true()[0]]  # the first such row, its place among the rows not blank
            if at < limits.max_rows:  # before the first row past the limit
                raise _too_many_cells(numbers[at], counts[at], header)
    if len(numbers) > limits.max_rows:
        raise _too_many_rows(limits)
    columns = [cells.list.get(position, null_on_oob=True) for position in range(width)]
    return header, Columns(numbers, columns), (lines.str.len_chars().max() or 0)


# -------------------------------------------------------------------- XLSX
def _read_xlsx(content: bytes, limits: Limits) -> Read:
    from python_calamine import CalamineError, CalamineWorkbook

    if content.startswith(_COMPOUND_FILE):
        raise Unreadable("older_workbook")
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))  # opened once for every measure below
    except (zipfile.BadZipFile, OSError, ValueError):
        raise Unreadable("not_a_workbook") from None
    with archive:
        _check_office_open_xml(archive)
        scan = _measure_workbook(archive, limits)
    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(content))
        sheet_names = {name.strip().lower(): name for name in workbook.sheet_names}
        if not sheet_names:
            raise Unreadable("no_sheet", sheet=XLSX_SHEET)
        if XLSX_SHEET not in sheet_names:
            raise Unreadable("no_data_sheet", sheet=XLSX_SHEET, sheets=", ".join(map(repr, workbook.sheet_names)))
        if scan.sheet_part is None:  # the sheet was not measured: it is never read unmeasured
            raise Unreadable("sheet_not_located", sheet=XLSX_SHEET)
        grid = workbook.get_sheet_by_name(sheet_names[XLSX_SHEET]).to_python(skip_empty_area=False)
    except Unreadable:
        raise
    except (CalamineError, Exception) as problem:  # calamine raises several types for corrupt parts
        raise Unreadable("damaged", kind=type(problem).__name__, problem=problem) from None
    shown_instead = {
        **{cell: XLSX_UNCALCULATED_TEXT.format(formula=formula) for cell, formula in scan.uncalculated_cells.items()},
        **{cell: XLSX_ERROR_TEXT.format(error=error) for cell, error in scan.error_cells.items()},
    }
    for (row, column), text in shown_instead.items():  # the reader gives '' for them: "not reported"
        if row <= len(grid) and column <= len(grid[row - 1]):
            grid[row - 1][column - 1] = text
    numbered = [(index, [_xlsx_cell(c) for c in cells]) for index, cells in enumerate(grid, start=1)]
    filled = [(number, cells) for number, cells in numbered if any(c and not c.isspace() for c in cells)]
    if not filled:
        raise EmptySheet
    header_number, header_cells = filled[0]
    header = [c or "" for c in header_cells]
    return header, [(number, cells) for number, cells in filled if number > header_number], None


# The first bytes of a compound file, the container of an Excel 97-2003 workbook (.xls) and of a workbook
# protected by a password (Excel encrypts the whole package into one)
_COMPOUND_FILE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Where the reader finds a workbook's sheets, and the parts by which it would take a zip for a workbook of
# another kind when the workbook's own parts fail it: a zip holding either is not read as an .xlsx file
WORKBOOK_PART = "xl/workbook.xml"
_OTHER_FORMAT_PARTS = {"mimetype": "opendocument", "xl/workbook.bin": "binary_workbook"}


def _check_office_open_xml(archive: zipfile.ZipFile) -> None:
    """Unreadable unless the zip is an Office Open XML workbook, the only kind a `.xlsx` file may be: the reader
    also reads an OpenDocument spreadsheet (.ods) or a binary workbook (.xlsb) given as bytes, guessing their
    kind, and none of the limits measured here would hold for them (a few hundred bytes of .ods can repeat a
    cell twenty million times)."""
    names = set(archive.namelist())
    for part, why in _OTHER_FORMAT_PARTS.items():
        if part in names:
            raise Unreadable(why)
    if WORKBOOK_PART not in names:
        raise Unreadable("zip_not_a_workbook", part=WORKBOOK_PART)


def _measure_workbook(archive: zipfile.ZipFile, limits: Limits) -> _WorkbookScan:
    """The workbook against the limits before any reader builds it (Unreadable past one): its inflated size,
    the cells and columns of its sheet `data`, its shared texts; its scan."""
    inflated = sum(member.file_size for member in archive.infolist())
    if inflated > limits.max_xlsx_uncompressed_bytes:
        raise Unreadable("inflates", size=inflated, limit=limits.max_xlsx_uncompressed_bytes)
    scan = _scan_workbook(archive)
    if scan.cells > limits.max_xlsx_cells:
        raise Unreadable("sheet_cells", sheet=XLSX_SHEET, cells=scan.cells, limit=limits.max_xlsx_cells)
    if scan.columns > limits.max_columns:
        raise Unreadable("sheet_columns", sheet=XLSX_SHEET, columns=scan.columns, limit=limits.max_columns)
    if scan.shared_strings > limits.max_xlsx_cells:
        raise Unreadable("shared_texts", entries=scan.shared_strings, limit=limits.max_xlsx_cells)
    _measure_shared_texts(archive, scan, limits)
    return scan


@dataclass
class _WorkbookScan:
    cells: int = 0  # the grid a reader would allocate for the sheet, A1 to its farthest cell
    columns: int = 0  # the farthest column named
    shared_strings: int = 0
    shared_strings_part: str | None = None
    shared_strings_bytes: int = 0  # the inflated bytes of the table of texts
    shared_strings_declares: bool = False  # whether it holds a declaration (`<!`: a DTD, a comment, CDATA)
    sheet_part: str | None = None
    error_cells: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column) -> Excel's error text
    uncalculated_cells: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column) -> its formula


def _stream(archive: zipfile.ZipFile, path: str):
    """The part's bytes in windows that never cut a tag: each window starts where the last one's last tag began."""
    tail = b""
    with archive.open(path) as stream:
        while chunk := stream.read(1 << 20):
            window = tail + chunk
            cut = window.rfind(b"<")
            tail = window[cut:] if cut >= 0 and len(window) - cut <= _CARRY_LIMIT else b""
            yield window, chunk


def _scan_workbook(archive: zipfile.ZipFile) -> _WorkbookScan:
    """What reading the sheet `data` would cost, and where its formula errors are, found without building it.

    A workbook of a few kilobytes can name a cell at XFD1048576 (readers size their
    grid from A1 to the last cell) or hold millions of shared strings; this streams
    the XML (already known to inflate within the limit) and measures both.
    A workbook without a sheet named `data` scans without one (the reader then says so); a part that cannot
    be read is unreadable, never a scan that found nothing.
    """
    scan = _WorkbookScan()
    try:
        names = set(archive.namelist())
        for name in names:
            if name.lower().endswith("sharedstrings.xml"):
                for window, chunk in _stream(archive, name):
                    scan.shared_strings += _count_shared_strings(chunk)
                    scan.shared_strings_bytes += len(chunk)
                    scan.shared_strings_declares |= b"<!" in window
                scan.shared_strings_part = name
        path = _sheet_path(archive, names)
        if path is None:
            return scan
        scan.sheet_part = path
        last_row = last_column = tags = 0
        for window, chunk in _stream(archive, path):
            cells = XLSX_CELL.findall(window)
            if cells:  # the farthest row and column; a column's letters made a number once
                letters, digits = zip(*cells, strict=True)
                last_row = max(last_row, max(map(int, digits)))
                last_column = max(last_column, max(map(_column_number, {name.upper() for name in set(letters)})))
            last_row = max(last_row, max(map(int, XLSX_ROW.findall(window)), default=0))
            tags += len(XLSX_CELL_TAG.findall(chunk))
            if any(quoted in window for quoted in _TYPE_E):  # a cell of type e (a formula's error) may be here
                for tag, inner in XLSX_ERROR_CELL.findall(window):
                    reference = XLSX_CELL.match(tag)
                    if reference:
                        shown = XLSX_VALUE.search(inner)
                        text = shown[1].decode("utf-8", "replace") if shown else "#ERROR"
                        scan.error_cells[(int(reference[2]), _column_number(reference[1].upper()))] = text
            if b"f>" in window:  # a formula may be here: one saved without its result shows as itself
                for tag, inner in XLSX_FULL_CELL.findall(window):
                    formula, reference = XLSX_FORMULA.search(inner), XLSX_CELL.match(tag)
                    if formula is None or reference is None:
                        continue
                    shown = XLSX_VALUE.search(inner)  # an empty text a formula gave is of type str: a result
                    if shown is None or (not shown[1] and not XLSX_TEXT_RESULT.search(tag)):
                        place = (int(reference[2]), _column_number(reference[1].upper()))
                        scan.uncalculated_cells[place] = formula[1].decode("utf-8", "replace")
        scan.cells = max(last_row * max(last_column, 1), tags)
        scan.columns = last_column
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, zlib.error, ElementTree.ParseError) as problem:
        raise Unreadable("damaged", kind=type(problem).__name__, problem=problem) from None
    return scan


def _local_name(tag: str) -> str:
    return tag.rsplit(":", 1)[-1]


def _parse_part(archive: zipfile.ZipFile, path: str, start, end=None, text=None) -> None:
    """Stream one XML part through expat with these handlers; a part that declares a DTD is refused
    (its entities could expand without bound)."""
    from xml.parsers import expat

    parser = expat.ParserCreate()
    parser.buffer_text = True

    def no_dtd(*_):
        raise Unreadable("dtd", part=path)

    parser.StartDoctypeDeclHandler = no_dtd
    parser.StartElementHandler = start
    if end is not None:
        parser.EndElementHandler = end
    if text is not None:
        parser.CharacterDataHandler = text
    try:
        with archive.open(path) as stream:
            while chunk := stream.read(1 << 20):
                parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as problem:
        raise Unreadable("damaged_part", part=path, problem=problem) from None


def _measure_shared_texts(archive: zipfile.ZipFile, scan: _WorkbookScan, limits: Limits) -> None:
    """Unreadable when a shared text is longer than a cell may be, or when the cells that point at the
    shared texts would repeat them past the limit of inflated bytes (a few kilobytes of cells pointing at
    one long text are gigabytes once read)."""
    if scan.shared_strings_part is None:
        return
    # A text has no more characters than its table has bytes: a table no larger than the longest text allowed,
    # without a declaration (`<!`: a DTD, whose entities could expand), holds no text too long, and when even
    # that many characters in every cell of the sheet stay within the limit, no text is repeated past it
    most = scan.shared_strings_bytes
    if not scan.shared_strings_declares and most <= limits.max_text_chars and _repeated_within(most, scan, limits):
        return
    try:
        _measure(archive, scan, limits)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, zlib.error) as problem:
        raise Unreadable("damaged", kind=type(problem).__name__, problem=problem) from None


def _repeated_within(longest: int, scan: _WorkbookScan, limits: Limits) -> bool:
    """Whether the sheet's cells stay within the limit of inflated bytes even if every cell pointed at a text of
    `longest` characters (or there is no sheet)."""
    return scan.sheet_part is None or longest * scan.cells <= limits.max_xlsx_uncompressed_bytes


def _measure(archive: zipfile.ZipFile, scan: _WorkbookScan, limits: Limits) -> None:
    lengths = array("q")
    inside = [False]

    def start_text(tag, attributes):
        if _local_name(tag) == "si":
            lengths.append(0)
            inside[0] = True

    def end_text(tag):
        if _local_name(tag) == "si":
            inside[0] = False

    def text(data):
        if inside[0]:
            lengths[-1] += len(data)

    _parse_part(archive, scan.shared_strings_part, start_text, end_text, text)
    longest = max(lengths, default=0)
    if longest > limits.max_text_chars:
        raise Unreadable("long_shared_text", length=longest, limit=limits.max_text_chars)
    if _repeated_within(longest, scan, limits):
        return
    budget = limits.max_xlsx_uncompressed_bytes
    total = [0]
    cell = {"shared": False, "value": None}

    def start_cell(tag, attributes):
        name = _local_name(tag)
        if name == "c":
            cell["shared"] = attributes.get("t") == "s"
        elif name == "v" and cell["shared"]:
            cell["value"] = []

    def end_cell(tag):
        name = _local_name(tag)
        if name == "v" and cell["value"] is not None:
            index = "".join(cell["value"]).strip()
            if index.isdigit() and int(index) < len(lengths):
                total[0] += lengths[int(index)]
            cell["value"] = None
            if total[0] > budget:
                raise Unreadable("repeated_shared_texts", sheet=XLSX_SHEET, budget=budget)
        elif name == "c":
            cell["shared"] = False

    def cell_text(data):
        if cell["value"] is not None:
            cell["value"].append(data)

    _parse_part(archive, scan.sheet_part, start_cell, end_cell, cell_text)


def _count_shared_strings(chunk: bytes) -> int:
    """How many shared texts begin in this chunk (at memory speed: a table can hold millions)."""
    return sum(chunk.count(tag) for tag in _SHARED_STRING_TAGS)


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (letter - 64)
    return number


def _sheet_path(archive: zipfile.ZipFile, names: set[str]) -> str | None:
    """The zip path of the worksheet named `data` (any case), from the workbook and its relations; None when the
    workbook has no sheet of that name. Unreadable when it has one whose part cannot be told or is not in the zip
    (`names`): a sheet the reader finds is never read without being measured."""
    parts = archive.read(WORKBOOK_PART), archive.read("xl/_rels/workbook.xml.rels")
    if sum(map(len, parts)) <= _REMEMBERED_PARTS_BYTES:
        path = _remembered_sheet_target(*parts)
    else:
        path = _sheet_target(*parts)
    if path is not None and path not in names:
        raise Unreadable("sheet_not_located", sheet=XLSX_SHEET)
    return path


def _without_namespace(name: str) -> str:
    """An element's or attribute's name without its namespace, as ElementTree gives it: `{...}sheet` is `sheet`."""
    return name.rsplit("}", 1)[-1]


def _sheet_target(workbook_part: bytes, relations_part: bytes) -> str | None:
    """The part of the sheet `data`, found as the reader finds it: the sheet's attribute `id`, its relationship's
    target below `xl/` (or from the top of the zip when it starts with `/`).

    Elements and attributes are known by their names without namespace, as the reader knows them: a workbook
    saved as Transitional (Excel's default, `schemas.openxmlformats.org`) and one saved as Strict Open XML
    (`purl.oclc.org/ooxml`) are found alike. Unreadable when the workbook does not say plainly which part it is
    (two sheets named `data`, a sheet that gives two different ids, an id without a relationship): the reader
    could then read another part than the one measured."""
    named = [
        sheet
        for sheet in ElementTree.fromstring(workbook_part).iter()
        if _without_namespace(sheet.tag) == "sheet" and (sheet.get("name") or "").strip().lower() == XLSX_SHEET
    ]
    if not named:
        return None
    ids = {value for key, value in named[0].attrib.items() if _without_namespace(key) == "id"}
    if len(named) > 1 or len(ids) != 1:
        raise Unreadable("sheet_not_located", sheet=XLSX_SHEET)
    [target_id] = ids
    for relation in ElementTree.fromstring(relations_part).iter():
        if _without_namespace(relation.tag) == "Relationship" and relation.get("Id") == target_id:
            target = relation.get("Target") or ""
            return target[1:] if target.startswith("/") else "xl/" + target
    raise Unreadable("sheet_not_located", sheet=XLSX_SHEET)


# The answers of `_sheet_target` for the last workbooks whose two parts are this small (those of one sender's
# template are mostly the same bytes); a larger pair is worked out each time, never kept
_REMEMBERED_PARTS_BYTES = 64 * 1024
_remembered_sheet_target = functools.lru_cache(maxsize=64)(_sheet_target)


def _xlsx_cell(value: object) -> str | None:
    """A cell as the text a person would type: 78.0 is '78', a date is its month (a cell of spaces stays one:
    `frame_of` makes it blank, but for a comment)."""
    if type(value) is str:  # most cells: their text, or nothing when it is empty
        return value or None
    if value is None:
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return f"{value.year:04d}-{value.month:02d}" if value.time() == time() and value.day == 1 else value.isoformat()
    if isinstance(value, date):
        return f"{value.year:04d}-{value.month:02d}" if value.day == 1 else value.isoformat()
    if isinstance(value, (time, timedelta)):
        return str(value)
    return str(value) or None


# -------------------------------------------------------------------- JSON
_SURROGATE = re.compile("[\ud800-\udfff]")


class _JsonNumber(str):
    """A JSON number as the file writes it; the normaliser judges it by the rules of a CSV cell."""


class _JsonObject(dict):
    """A JSON object whose keys were checked: `repeated` names a key given twice (any case), else None."""

    repeated: tuple[str, str] | None = None  # the key as first written, and as written again


def _json_object(pairs: list[tuple[str, object]]) -> _JsonObject:
    found = _JsonObject(pairs)
    repeated = _repeated_key(tuple(map(_FIRST, pairs)))
    if repeated is not None:
        found.repeated = repeated
    return found


@functools.lru_cache(maxsize=1024)  # the observations of a file mostly give the same keys
def _repeated_key(keys: tuple[str, ...]) -> tuple[str, str] | None:
    """The first key given twice (compared without regard to case): as first written, and as written again."""
    seen: dict[str, str] = {}
    for key in keys:
        folded = trimmed(key).lower()
        if folded in seen:
            return seen[folded], key
        seen[folded] = key
    return None


_FIRST = operator.itemgetter(0)
_SECOND = operator.itemgetter(1)


def _json_objects_within(limits: Limits):
    """The parser's hook for objects, which stops it as soon as the file holds more objects than rows
    allowed, or an object more keys than columns allowed: the limits apply before the file is read whole."""
    objects = [0]

    def hook(pairs: list[tuple[str, object]]) -> _JsonObject:
        objects[0] += 1
        if objects[0] > limits.max_rows + 1:  # the observations, and the file's own object
            raise Unreadable("more_observations_than_the_limit", limit=limits.max_rows)
        if len(pairs) > limits.max_columns:
            raise Unreadable("too_many_keys", keys=len(pairs), limit=limits.max_columns)
        return _json_object(pairs)

    return hook


def _read_json(content: bytes, limits: Limits) -> Read:
    if content.startswith(UTF16_MARKS):
        raise Unreadable("utf16_json")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as problem:
        raise Unreadable("not_utf8_json", byte=problem.start + 1) from None
    try:
        # numbers stay as written, however long, so that 1e3 or 0.99999999999999999 is judged, not rounded
        document = json.loads(
            text,
            parse_int=_JsonNumber,
            parse_float=_JsonNumber,
            parse_constant=_JsonNumber,
            object_pairs_hook=_json_objects_within(limits),
        )
    except json.JSONDecodeError as problem:
        raise Unreadable("not_json_at", line=problem.lineno, character=problem.colno, problem=problem.msg) from None
    except RecursionError:
        raise Unreadable("nested_too_deeply") from None
    except ValueError as problem:
        raise Unreadable("not_json", problem=problem) from None
    if not isinstance(document, dict) or not isinstance(document.get("observations"), list):
        raise Unreadable("no_observations")
    _check_json_keys(document, None, skip="observations")
    file_reporter = _json_cell(document.get("reporter"), None, "reporter", limits)
    plain = None if _SURROGATE_ESCAPE.search(text) else _plain_observations(document["observations"], limits)
    if plain is not None:
        return (*_filled_with(file_reporter, *plain), limits.max_text_chars)  # each text measured as read
    header: list[str] = []
    positions: dict[str, int] = {}
    records: list[tuple[int, dict[str, str | None]]] = []
    for number, observation in enumerate(document["observations"], start=1):
        if not isinstance(observation, dict):
            raise Unreadable("observation_not_an_object", number)
        _check_json_keys(observation, number)
        cells = {}
        for key, value in observation.items():
            name = trimmed(_json_text(str(key), number, None, limits)).lower()
            if name not in positions:
                if len(header) >= limits.max_columns:
                    raise Unreadable("keys_past_the_limit", number, limit=limits.max_columns)
                positions[name] = len(header)
                header.append(name)
            cells[name] = _json_cell(value, number, name, limits)
        records.append((number, cells))
        if number > limits.max_rows:
            raise Unreadable("more_observations_than_the_limit", limit=limits.max_rows)
    if file_reporter is not None:
        for name in ("reporter", FILE_REPORTER):
            if name not in positions:
                positions[name] = len(header)
                header.append(name)
    rows = []
    for number, cells in records:
        if all(value is None for value in cells.values()):
            continue  # a blank observation is left out
        if file_reporter is not None:
            if cells.get("reporter") is None:
                cells["reporter"] = file_reporter
            cells[FILE_REPORTER] = file_reporter
        rows.append((number, [cells.get(name) for name in header]))
    return header, rows, limits.max_text_chars  # each text was measured as it was read (`_json_text`)


# Where a text may hold half of a character: only a \\u escape of a surrogate can put one in a JSON text.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_PLAIN_TYPES = (str, _JsonNumber, bool, type(None))


def _plain_observations(observations: list, limits: Limits) -> tuple[list[str], list[list], list[int]] | None:
    """The header, columns and numbers of the observations that are not blank, when all are plain (objects of
    texts, numbers, true, false and null, no key given twice, within the limits), read a column at a time; None
    when any is not, for the reader that judges them one by one and names the first problem (the result is the
    same)."""
    if len(observations) > limits.max_rows:
        return None
    header: list[str] = []
    positions: dict[str, int] = {}
    layouts: dict[tuple[str, ...], list[int]] = {}  # the keys of an observation -> their columns
    placed = []
    for observation in observations:
        if type(observation) is not _JsonObject or observation.repeated is not None:
            return None
        keys = tuple(observation)
        layout = layouts.get(keys)
        if layout is None:
            layout = []
            for key in keys:
                if len(key) > limits.max_text_chars:
                    return None
                name = trimmed(key).lower()
                if name not in positions:
                    if len(header) >= limits.max_columns:
                        return None
                    positions[name] = len(header)
                    header.append(name)
                layout.append(positions[name])
            layouts[keys] = layout
        placed.append((layout, observation))
    width = len(header)
    whole = list(range(width))
    rows = []
    for layout, observation in placed:
        if layout == whole:
            rows.append(list(observation.values()))
        else:
            cells = [None] * width
            for position, value in zip(layout, observation.values(), strict=True):
                cells[position] = value
            rows.append(cells)
    columns = [list(map(operator.itemgetter(position), rows)) for position in whole]
    for position, column in enumerate(columns):
        kinds = set(map(type, column))
        if not kinds <= set(_PLAIN_TYPES):
            return None  # an object or a list: the reader names it
        if bool in kinds:
            column = columns[position] = [
                ("true" if value else "false") if type(value) is bool else value for value in column
            ]
        if max(map(len, filter(None, column)), default=0) > limits.max_text_chars:
            return None
    given = list(map(_any_given, rows))
    del rows
    numbers = range(1, len(given) + 1)
    if all(given):
        return header, columns, list(numbers)
    return header, [list(compress(column, given)) for column in columns], list(compress(numbers, given))


def _any_given(cells: list) -> bool:
    """Whether a plain observation gives anything: a value not null, not empty and not only spaces."""
    for value in cells:
        if value is True or value is False or (value and not value.isspace()):
            return True
    return False


def _filled_with(
    file_reporter: str | None, header: list[str], columns: list[list], numbers: list[int]
) -> tuple[list[str], Columns]:
    """The columns of plain observations that are not blank, the file's reporter given to each that gives none
    and, as FILE_REPORTER, to every one."""
    if file_reporter is not None:
        if "reporter" not in header:
            header, columns = [*header, "reporter"], [*columns, [None] * len(numbers)]
        position = header.index("reporter")
        columns[position] = [file_reporter if not value or value.isspace() else value for value in columns[position]]
        if FILE_REPORTER in header:  # a key of that name is the file's own: ours wins, as the last of a name
            position = header.index(FILE_REPORTER)
            header, columns = header[:position] + header[position + 1 :], columns[:position] + columns[position + 1 :]
        header, columns = [*header, FILE_REPORTER], [*columns, [file_reporter] * len(numbers)]
    return header, Columns(numbers, columns)


def _check_json_keys(found: object, number: int | None, skip: str | None = None) -> None:
    """Unreadable when this object, or one inside it, repeats a key: which one counts is not ours to guess.

    `skip` names a member not to descend into (the observations, checked one by one with their numbers).
    """
    if isinstance(found, _JsonObject) and found.repeated is not None:
        first, second = found.repeated
        if number is None:
            why = "top_key_twice" if first == second else "top_keys_alike"
        else:
            why = "key_twice" if first == second else "keys_alike"
        raise Unreadable(why, number, trimmed(first).lower(), first=first, second=second)
    children = found.items() if isinstance(found, dict) else enumerate(found) if isinstance(found, list) else ()
    for key, value in children:
        if key != skip and isinstance(value, (dict, list)):
            _check_json_keys(value, number)


def _json_text(text: str, number: int | None, column: str | None, limits: Limits) -> str:
    """Text of the file as UTF-8 can hold it: a lone surrogate (a half of a character, `\\ud800`) is unreadable."""
    surrogate = _SURROGATE.search(text)
    if surrogate:
        if number is None:
            why = "half_character_in_top_value" if column else "half_character_in_top_key"
        else:
            why = "half_character_in_value" if column else "half_character_in_key"
        raise Unreadable(why, number, column, code=ord(surrogate[0]))
    if len(text) > limits.max_text_chars:
        why = "long_json_text" if number is not None else "long_json_text_at_top"
        raise Unreadable(why, number, column, length=len(text), limit=limits.max_text_chars)
    return text


def _json_cell(value: object, number: int | None, column: str | None, limits: Limits) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, _JsonNumber):
        return _json_text(str(value), number, column, limits)
    if isinstance(value, str):
        return _json_text(value, number, column, limits) if value.strip() else None
    return _json_text(json.dumps(value, ensure_ascii=False), number, column, limits)
