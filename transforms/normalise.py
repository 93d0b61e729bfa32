"""From the text cells of many submissions to one typed frame of observations.

`conform` fits one file's columns to the contract (missing and unknown columns);
`normalise` then works on the frame of every submission of a run at once: trims,
folds case, turns Khmer digits into ASCII, parses periods and values, applies
defaults, and derives the columns the validator judges.
"""

from __future__ import annotations

import polars as pl

from schemas.registry import Registry
from schemas.texts import message
from transforms.findings import Finding
from transforms.periods import ASCII_DIGITS, KHMER_DIGITS, periods_frame
from transforms.read import FILE_REPORTER, ROW_NUMBER, SEPARATORS, TRIMMED, column_shown, trimmed, visible

LOWER_CASE_CODES = ("indicator",)


def conform(
    raw: pl.DataFrame, registry: Registry, lang: str = "en", file_format: str = "csv"
) -> tuple[pl.DataFrame | None, list[Finding]]:
    """The contract's columns in the contract's order, and what was off (in `lang`).

    A column absent from the file is its default on every row (null where it has none); a blank cell of a column
    the file has stays null, and a blank code is then `unknown_code`. In JSON a code that an observation leaves
    out (no key, null or empty) is absent from it: its default. A missing required column makes every row
    meaningless, so the frame is then None.
    """
    known = registry.known_columns
    misplaced = _wrong_separator(raw, registry, lang) or _header_further_down(raw, registry, lang)
    if misplaced is not None:
        return None, [misplaced]
    findings = [
        Finding(
            "unknown_column",
            "warning",
            message("unknown_column", "ignored", lang, column=visible(column_shown(name, lang))),
            None,
            name,
        )
        for name in raw.columns
        if name not in (ROW_NUMBER, FILE_REPORTER) and name not in known
    ]
    missing = [name for name in registry.required_columns if name not in raw.columns]
    findings += [
        Finding("missing_column", "error", message("missing_column", "absent", lang, column=name), None, name)
        for name in missing
    ]
    if missing:
        return None, findings

    def given(name: str) -> pl.Expr:
        default = registry.default_of(name)
        if name not in raw.columns:
            return pl.lit(default, pl.String).alias(name)
        if file_format == "json" and default is not None:
            return pl.col(name).fill_null(pl.lit(default))
        return pl.col(name)

    columns = [pl.col(ROW_NUMBER)] + [given(name) for name in (*known, FILE_REPORTER)]
    return raw.select(columns), findings


def _wrong_separator(raw: pl.DataFrame, registry: Registry, lang: str = "en") -> Finding | None:
    """One finding that names the separator when the header is one column that another separator would split
    into the contract's columns (a CSV saved by a spreadsheet set for another region), instead of a missing
    column error for each of them."""
    header = [name for name in raw.columns if name != ROW_NUMBER]
    if len(header) != 1:
        return None
    for separator, name in SEPARATORS.items():
        columns = [trimmed(part).lower() for part in header[0].split(separator)]
        if len(columns) > 1 and set(registry.required_columns) <= set(columns):
            return Finding(
                "missing_column",
                "error",
                message(
                    "missing_column",
                    "separator",
                    lang,
                    separator=message("common", name, lang),
                    header=visible(header[0][:80]),
                ),
                1,
                None,
            )
    return None


# How far down a header is looked for under the rows above it (a title, a date, a blank line or two)
HEADER_LOOKED_FOR_IN = 20


def _header_further_down(raw: pl.DataFrame, registry: Registry, lang: str = "en") -> Finding | None:
    """One finding that names the row the header is on when required columns are missing from the first filled
    row and a row below it names them all (a title typed above the table), instead of a missing column error for
    each and an unknown column warning for each cell of the title."""
    required = set(registry.required_columns)
    if required <= set(raw.columns):
        return None
    cells = [c for c in raw.columns if c != ROW_NUMBER]
    for row in raw.head(HEADER_LOOKED_FOR_IN).iter_rows(named=True):
        names = {trimmed(str(row[c])).lower() for c in cells if row[c] is not None}
        if required <= names:
            return Finding(
                "missing_column",
                "error",
                message("missing_column", "header_below", lang, row=row[ROW_NUMBER]),
                row[ROW_NUMBER],
                None,
            )
    return None


def code_cell(name: str) -> pl.Expr:
    """A code cell trimmed (of spaces and INVISIBLE characters) and case-folded; a blank one '' (no code: `conform`
    gave an absent column its default, `normalise` gives one to a row that states nothing)."""
    text = pl.col(name).str.strip_chars(TRIMMED)
    text = text.str.to_lowercase() if name in LOWER_CASE_CODES else text.str.to_uppercase()
    return pl.when(text.is_null() | (text == "")).then(pl.lit("")).otherwise(text).alias(name)


def _codes(frame: pl.DataFrame, names: list[str]) -> list[pl.Expr]:
    """`code_cell` of each column of `names`, worked out once per distinct cell: a column of codes holds a few
    values in many rows, and trimming and case-folding each row cost three times as much for a large file."""
    distinct = frame.select(pl.col(names).unique().drop_nulls().implode()).row(0, named=True)
    made = []
    for name in names:
        cells = pl.Series(name, distinct[name], pl.String)
        # the missing cell's code made by `code_cell` too, after the others: the codes of null cells
        codes = pl.DataFrame({name: cells.extend_constant(None, 1)}).select(code_cell(name)).to_series()
        mapped = pl.col(name).replace_strict(cells, codes.head(cells.len()), return_dtype=pl.String)
        made.append(mapped.fill_null(codes[-1]).alias(name))
    return made


def _digits(name: str) -> pl.Expr:
    """A period or a value trimmed (of spaces and INVISIBLE characters), its Khmer digits made ASCII."""
    return pl.col(name).str.strip_chars(TRIMMED).str.replace_many(KHMER_DIGITS, ASCII_DIGITS)


def normalise(frame: pl.DataFrame, registry: Registry) -> pl.DataFrame:
    """Typed observations from conformed frames stacked with `submission_id` and `judged_on`.

    `judged_on` is the local date on which the submission is judged (its receipt),
    so periods that have not begun or not ended are told apart without a clock here.
    """
    codes = ["reporter", FILE_REPORTER, "indicator", "area", "status", "action", *registry.dimension_names]
    typed = frame.with_columns(
        *_codes(frame, codes),
        _digits("period").alias("period_text"),
        _digits("value").alias("value_text"),
        # an empty comment is no comment; any other, spaces only included, is kept exactly as sent
        pl.when(pl.col("comment") == "").then(None).otherwise(pl.col("comment")).alias("comment"),
    ).drop("period", "value")
    typed = typed.join(periods_frame(typed["period_text"]), on="period_text", how="left")
    value_given = pl.col("value_text").is_not_null() & (pl.col("value_text") != "")
    whole = pl.col("value_text").str.contains(r"^[0-9]+$")
    typed = typed.with_columns(
        value_given.alias("value_given"),
        pl.when(value_given & whole).then(pl.col("value_text").str.to_integer(strict=False)).alias("value"),
    )
    not_ended = pl.col("period_end") > pl.col("judged_on")
    # a figure given, or a withdrawal: the row states a version of its key and goes to the load
    loadable = value_given | (pl.col("action") == "D")
    typed = typed.with_columns(
        # a blank code is no code (unknown_code) on a row that states a figure; a row that states nothing (a
        # template's row left empty) takes the defaults, as a column absent from the file gives them
        pl.when(~loadable & (pl.col(name) == "")).then(pl.lit(default)).otherwise(pl.col(name)).alias(name)
        for name in codes
        if (default := registry.default_of(name)) is not None
    )
    return typed.with_columns(
        loadable.alias("loadable"),
        (not_ended & (pl.col("period_start") <= pl.col("judged_on"))).fill_null(False).alias("provisional"),
        pl.when(not_ended & (pl.col("status") == "A")).then(pl.lit("P")).otherwise(pl.col("status")).alias("status"),
        pl.col("period_start").dt.year().alias("period_year"),
    )
