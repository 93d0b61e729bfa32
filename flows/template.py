"""`ctip template`: a blank workbook for one reporter and period that a clerk fills in and sends.

Sheet `data` holds the rows a reporter may report (values empty) with a drop-down list on
every coded cell and a whole-number check on `value`; sheet `codes` explains every code in
English and Khmer; sheet `instructions` says what to do, in the chosen language.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from schemas.registry import Registry
from schemas.texts import text
from transforms.periods import parse_period
from transforms.read import XLSX_SHEET
from transforms.template import code_lists, label_kind, template_columns, template_rows
from warehouse.durable import atomic_path

CODES_SHEET = "codes"
INSTRUCTIONS_SHEET = "instructions"
KHMER_FONT = "Khmer OS System"  # installed with Windows' and Debian's Khmer fonts; Excel falls back otherwise


def begun(period: str, zone: ZoneInfo) -> bool:
    """Whether the period has begun today in `zone`: a template of one that has not would be filled in for a file
    the run rejects (`future_period`)."""
    return parse_period(period).start <= datetime.now(zone).date()


def template_name(reporter: str, period: str) -> str:
    """The workbook's file name: mosvy_2019-Q2.xlsx; a year to date 2019-01/2019-06 as 2019-01_2019-06."""
    return f"{reporter.lower()}_{period.replace('/', '_')}.xlsx"


def write_template(
    out: Path, registry: Registry, reporter: str, period: str, lang: str = "en", notes: Sequence[str] = ()
) -> int:
    """Write the workbook to `out`, `notes` (`warehouse_notes`) after its instructions; return the number of
    data rows."""
    rows = template_rows(registry, reporter, period)
    columns = template_columns(registry)
    lists = code_lists(registry, reporter)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as temporary:
        _write_workbook(temporary, registry, rows, columns, lists, reporter, period, lang, list(notes))
    return len(rows)


def warehouse_notes(con, reporter: str, period: str, zone: str, lang: str = "en") -> list[str]:
    """What the warehouse (`con`, its analyst file) already holds of the reporter-period, for the instructions:
    approved (a file that changes it is rejected), or figures that a file sent again restates."""
    from zoneinfo import ZoneInfo

    from warehouse.approvals import APPROVE, has_approvals, held_figures, latest_act

    act = latest_act(con, reporter, period) if has_approvals(con) else None
    if act is not None and act[0] == APPROVE:
        day = f"{act[2].astimezone(ZoneInfo(zone)):%Y-%m-%d}"
        return [text("template", "approved", lang, reporter=reporter, period=period, by=act[1], date=day)]
    held = held_figures(con, reporter, period)
    return [text("template", "held", lang, reporter=reporter, period=period, count=str(held))] if held else []


def _write_workbook(
    path: Path,
    registry: Registry,
    rows: list[dict[str, str]],
    columns: tuple[str, ...],
    lists: dict[str, list[str]],
    reporter: str,
    period: str,
    lang: str,
    notes: list[str],
) -> None:
    """The workbook's three sheets, written at `path`."""
    import xlsxwriter
    from xlsxwriter.utility import xl_col_to_name

    workbook = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    try:
        font = {"font_name": KHMER_FONT} if lang == "km" else {}
        header = workbook.add_format({"bold": True, "bg_color": "#EEF1F6", "border": 1, **font})
        plain = workbook.add_format({"num_format": "@", **font})  # text: codes stay as typed, 2019-01 no date
        value = workbook.add_format({"num_format": "0", "bg_color": "#FFF7D6", "border": 1})
        wrap = workbook.add_format({"text_wrap": True, "valign": "top", **font})
        title = workbook.add_format({"bold": True, "font_size": 14, **font})

        data = workbook.add_worksheet(XLSX_SHEET)
        codes = workbook.add_worksheet(CODES_SHEET)
        instructions = workbook.add_worksheet(INSTRUCTIONS_SHEET)

        # codes: one block of rows per coded column, so that each drop-down list is one range
        codes.write_row(0, 0, text("template", "codes_heading", lang), header)
        ranges: dict[str, str] = {}
        line = 1
        for column, values in lists.items():
            first = line
            for code in values:
                kind = label_kind(column, registry)
                codes.write_row(
                    line, 0, [column, code, registry.label(kind, code, "en"), registry.label(kind, code, "km")], plain
                )
                line += 1
            ranges[column] = f"={CODES_SHEET}!$B${first + 1}:$B${line}"
        codes.set_column(0, 1, 14)
        codes.set_column(2, 3, 48)
        codes.freeze_panes(1, 0)

        # data
        data.write_row(0, 0, columns, header)
        for number, row in enumerate(rows, start=1):
            for position, column in enumerate(columns):
                if column == "value":
                    data.write_blank(number, position, None, value)
                elif row[column]:
                    data.write_string(number, position, row[column], plain)
                else:
                    data.write_blank(number, position, None, plain)  # formatted as text, for what is typed in
        last = len(rows)
        for position, column in enumerate(columns):
            letter = xl_col_to_name(position)
            if column in ranges:
                data.data_validation(
                    1,
                    position,
                    last,
                    position,
                    {
                        "validate": "list",
                        "source": ranges[column],
                        "ignore_blank": True,
                        "error_title": column,
                        "error_message": text("template", "code_error", lang),
                    },
                )
            elif column == "value":
                data.data_validation(
                    1,
                    position,
                    last,
                    position,
                    {
                        "validate": "integer",
                        "criteria": ">=",
                        "value": 0,
                        "ignore_blank": True,
                        "input_title": "value",
                        "input_message": text("template", "value_prompt", lang),
                        "error_title": "value",
                        "error_message": text("template", "value_error", lang),
                    },
                )
            width = 24 if column in ("indicator", "comment") else 12
            data.set_column(f"{letter}:{letter}", width)
        data.freeze_panes(1, 0)
        data.autofilter(0, 0, last, len(columns) - 1)
        data.activate()

        # instructions
        reporter_name = registry.label("reporter", reporter, lang)
        instructions.write(0, 0, text("template", "title", lang, reporter_name=reporter_name, period=period), title)
        steps = text("template", "steps", lang)
        for number, step in enumerate(steps, start=1):
            instructions.write(number + 1, 0, f"{number}. {step}", wrap)
        for line, note in enumerate(notes, start=len(steps) + 3):  # after a blank line
            instructions.write(line, 0, note, wrap)
        instructions.set_column(0, 0, 110)
    finally:
        workbook.close()
