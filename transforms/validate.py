"""Row rules of the contract, judged for every submission of a run in one pass.

`validate` takes the normalised frame of all new submissions, derives the columns
the expectations need, runs the Great Expectations suites once per frame and turns
each failed row into a finding a ministry clerk can act on: the row, the column,
the value found and what was expected.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import polars as pl

from schemas.findings import FINDINGS_SCHEMA, rest_finding, where
from schemas.registry import TOTAL, Registry
from schemas.texts import message
from transforms.expectations import (
    CODES_COLUMN,
    KEY_NUMBER,
    PAIR_SEPARATOR,
    ROW_INDEX,
    Failure,
    SuiteRunner,
    coded_columns,
    codes_suite,
    judged_columns,
    key_columns_for_uniqueness,
    key_suite,
    parts_suite,
    row_suite,
)
from transforms.parts import ENGINE, parts_against_totals
from transforms.read import FILE_REPORTER, visible

if TYPE_CHECKING:  # pandas is imported when a validation runs, not with the module
    import pandas as pd

# Rows judged by Great Expectations at a time: each slice becomes Python objects (pandas) only while it is
# judged, so a file of the largest size admitted never has all its rows as objects at once. Each slice costs a
# validation of its own (about 0.3 s whatever its size): halves of the largest file cost 1 s less than quarters,
# for about 60 MB more at the peak.
SLICE_ROWS = 100_000


def validate(
    observations: pl.DataFrame,
    registry: Registry,
    runner: SuiteRunner | None = None,
    lang: str = "en",
    slice_rows: int = SLICE_ROWS,
) -> pl.DataFrame:
    """Error findings of the row rules (and `provisional` warnings) for every submission.

    `runner` carries the Great Expectations context (and where Data Docs go); by
    default a fresh one without Data Docs. `lang` is the language of the messages.
    The suites judge at most `slice_rows` rows at a time (`row_slices`); the findings
    are the same as those of one validation of every row.
    """
    if observations.height == 0:
        return pl.DataFrame(schema=FINDINGS_SCHEMA)
    runner = runner or SuiteRunner()
    # Polars' work first, Great Expectations' after: a run imports Great Expectations on a thread of its own
    # (flows.steps.import_validator_ahead), and until it is there these steps run beside the import
    rows = _judged_rows(observations, registry)
    codes = _coded_values(rows, registry)
    settable = observations.filter(pl.col("loadable") & (pl.col("action") == "I") & pl.col("value").is_not_null())
    checks = parts_against_totals(settable, registry).with_row_index(ROW_INDEX)
    parts = {complete: checks.filter(pl.col("complete") == complete) for complete in (True, False)}

    suites = _Suites.of(registry, runner)
    findings = []
    cap = _Cap(registry.limits.max_findings_per_rule)
    distinct = _distinct_rows(rows, suites.row_columns, only_missing=("value",))
    key_frames = (_as_objects(part.select(ROW_INDEX, *suites.key_columns)) for part in row_slices(rows, slice_rows))
    shown = {"duplicate_key": lambda failed: _keys_shown(rows, failed, registry)}
    failures = [
        *_code_failures(runner, rows, codes, registry, suites.codes),
        *_judge_distinct(runner, "rows", distinct, suites.rows, _as_objects, slice_rows),
        *runner.run_slices("keys", key_frames, suites.keys, shown),
    ]
    for failure in sorted(failures, key=lambda failure: _LISTED.index(failure.rule)):
        flagged = rows.filter(pl.col(ROW_INDEX).is_in(failure.rows))
        if failure.rule != "duplicate_key":  # its findings are fewer than its rows; capped with the others later
            flagged = cap.within(flagged, failure.rule)
        findings.extend(_row_findings(failure.rule, failure.column, flagged, rows, registry, lang))

    for complete, subset in parts.items():
        pairs = _distinct_rows(subset, ["parent_value", "parts_sum"])  # most totals repeat a few pairs of figures
        name = "complete_parts" if complete else "partial_parts"
        for failure in _judge_distinct(runner, name, pairs, suites.parts[complete], _parts_pandas, slice_rows):
            flagged = cap.within(subset.filter(pl.col(ROW_INDEX).is_in(failure.rows)), failure.rule)
            findings.extend(
                _parts_finding(failure.rule, check, registry, lang) for check in flagged.iter_rows(named=True)
            )
    findings.extend(_provisional_findings(observations, lang))
    findings.extend(
        rest_finding(submission_id, registry.rule(rule).severity, rule, rest, cap.limit, lang)
        for (submission_id, rule), rest in cap.skipped.items()
    )
    return pl.DataFrame(findings, schema=FINDINGS_SCHEMA, orient="row")


class _Suites:
    """The suites of one registry, built once per process (a suite is the same for every validation) with the
    columns of the judged rows that the row suite and the key suite read."""

    _built: dict[int, _Suites] = {}

    def __init__(self, registry: Registry):
        self.registry = registry
        self.rows, self.keys, self.codes = row_suite(registry), key_suite(registry), codes_suite(registry)
        self.parts = {complete: parts_suite(complete) for complete in (True, False)}
        self.row_columns, self.key_columns = judged_columns(self.rows), judged_columns(self.keys)

    @classmethod
    def of(cls, registry: Registry, runner: SuiteRunner) -> _Suites:
        """The suites of `registry`, built the first time in the context of `runner`, made current first."""
        runner.begin()
        built = cls._built.get(id(registry))
        if built is None or built.registry is not registry:
            built = cls._built[id(registry)] = cls(registry)
        return built


def warm_suites(registry: Registry) -> None:
    """Build and save the suites of `registry` before the first validation (a process that stays warm)."""
    runner = SuiteRunner()
    suites = _Suites.of(registry, runner)
    for suite in (suites.rows, suites.keys, suites.codes, *suites.parts.values()):
        runner.context.saved(suite)


# The order of a row's findings: its unknown codes first (the period and the area's years with them), then what
# its reporter may not report, then the other rules of its own values and of its key.
_LISTED = ("unknown_code", "not_allowed", "future_period", "duplicate_key", "mixed_reporters", "bad_value")

# Columns of the distinct rows the row and parts suites judge: how many rows each stands for, and which
WEIGHT, STANDS_FOR = "_rows_held", "_rows_stood_for"


def _distinct_rows(rows: pl.DataFrame, columns: list[str], only_missing: tuple[str, ...] = ()) -> pl.DataFrame:
    """The distinct rows of `rows` in `columns` (those a suite judges), in the order of their first rows, each with
    its ROW_INDEX, how many rows hold its values (WEIGHT) and those rows' ROW_INDEX (STANDS_FOR).

    A column of `only_missing` is judged only for being missing (the row suite's `value`): rows are told apart by
    whether they have one, and a distinct row holds the first value of its rows (what the validation page shows
    of a failed value)."""
    told_apart = [c for c in columns if c not in only_missing]
    return (
        rows.lazy()
        .group_by(*told_apart, *(pl.col(c).is_null().alias(f"_no_{c}") for c in only_missing), maintain_order=True)
        .agg(*(pl.col(c).first() for c in only_missing), pl.col(ROW_INDEX).alias(STANDS_FOR))
        .select(*columns, pl.col(STANDS_FOR).list.len().alias(WEIGHT), STANDS_FOR)
        .with_row_index(ROW_INDEX)
        .collect(engine=ENGINE)
    )


def _judge_distinct(
    runner: SuiteRunner, name: str, distinct: pl.DataFrame, suite, as_pandas, slice_rows: int
) -> list[Failure]:
    """The failures of `suite` on the distinct rows `distinct` (`_distinct_rows`), judged `slice_rows` at a time,
    each slice made for pandas by `as_pandas`: each failure names the rows its distinct rows stand for, and the
    checks count those rows."""
    frames = (
        as_pandas(distinct.slice(start, slice_rows).drop(STANDS_FOR)) for start in range(0, distinct.height, slice_rows)
    )
    return [
        Failure(failure.rule, failure.column, _stood_for(distinct, failure.rows))
        for failure in runner.run_slices(name, frames, suite, weight=WEIGHT)
    ]


def _stood_for(distinct: pl.DataFrame, failed: list[int]) -> list[int]:
    """The rows (their ROW_INDEX) that the distinct rows `failed` stand for."""
    return distinct.filter(pl.col(ROW_INDEX).is_in(failed))[STANDS_FOR].explode().sort().to_list()


def _coded_values(rows: pl.DataFrame, registry: Registry) -> pl.DataFrame:
    """The distinct values of each coded column, per rule (`coded_columns`): rule, column, value, ROW_INDEX."""
    judged = rows.lazy()
    return (
        pl.concat(
            [
                judged.select(
                    pl.lit(rule).alias("rule"),
                    pl.lit(column).alias("column"),
                    pl.col(column).cast(pl.String).alias("value"),
                )
                .drop_nulls("value")
                .unique(maintain_order=True)
                for rule, columns in coded_columns(registry).items()
                for column in columns
            ]
        )
        .with_row_index(ROW_INDEX)
        .collect(engine=ENGINE)
    )


def _code_failures(
    runner: SuiteRunner, rows: pl.DataFrame, values: pl.DataFrame, registry: Registry, suite
) -> list[Failure]:
    """The code-list rules, judged on the distinct `values` of each coded column (`_coded_values`), as failures
    of the rows that hold a value that failed (one per rule and column, in the order of `coded_columns`)."""
    coded = coded_columns(registry)
    written = pl.concat_str("column", pl.lit(PAIR_SEPARATOR), "value")
    frame = values.select(
        ROW_INDEX, *[pl.when(pl.col("rule") == rule).then(written).alias(name) for rule, name in CODES_COLUMN.items()]
    )
    failures = []
    for failure in runner.run("codes", _as_objects(frame), suite):
        failed = values.filter(pl.col(ROW_INDEX).is_in(failure.rows))
        for column, (named, _) in coded[failure.rule].items():
            found = failed.filter(pl.col("column") == column)["value"]
            if found.len():
                held = rows.filter(pl.col(column).cast(pl.String).is_in(found.implode()))[ROW_INDEX]
                failures.append(Failure(failure.rule, named, held.to_list()))
    return failures


def row_slices(rows: pl.DataFrame, slice_rows: int = SLICE_ROWS) -> Iterator[pl.DataFrame]:
    """The judged rows in slices of about `slice_rows` rows, each in the order of the rows, for the key suite.

    `duplicate_key` judges a row with the rows of the same key: the rows are dealt to the slices by
    their key's number (KEY_NUMBER), so that rows of one key are always judged together. Rows that
    fit one slice are judged whole.
    """
    count = -(-rows.height // max(1, slice_rows))
    if count <= 1:
        yield rows
        return
    dealt = rows[KEY_NUMBER] % count
    for number in range(count):
        part = rows.filter(dealt == number)
        if part.height:
            yield part


class _Cap:
    """Keeps at most `limit` flagged rows of one rule in one file, across the expectations of that rule,
    and counts the rest, so that messages are written only for the findings that are kept."""

    def __init__(self, limit: int):
        self.limit = limit
        self.kept: dict[tuple[str, str], int] = {}
        self.skipped: dict[tuple[str, str], int] = {}

    def within(self, flagged: pl.DataFrame, rule: str) -> pl.DataFrame:
        if flagged.height == 0:
            return flagged
        room = {}
        for submission_id, count in flagged.group_by("submission_id").len().iter_rows():
            key = (submission_id, rule)
            room[submission_id] = max(0, self.limit - self.kept.get(key, 0))
            taken = min(count, room[submission_id])
            self.kept[key] = self.kept.get(key, 0) + taken
            if count > taken:
                self.skipped[key] = self.skipped.get(key, 0) + count - taken
        position = pl.int_range(pl.len()).over("submission_id")
        return flagged.filter(position < pl.col("submission_id").replace_strict(room, return_dtype=pl.Int64))


def _judged_rows(observations: pl.DataFrame, registry: Registry) -> pl.DataFrame:
    """The observations with the derived columns the row suite judges."""
    areas = pl.DataFrame(
        {
            "area": list(registry.areas),
            "area_first_year": [a.first_year for a in registry.areas.values()],
            "area_last_year": [a.last_year for a in registry.areas.values()],
        },
        schema={"area": pl.String, "area_first_year": pl.Int64, "area_last_year": pl.Int64},
    )
    reporter_given = pl.when(pl.col("reporter") != "").then(pl.col("reporter"))
    named_at_top = pl.when(pl.col(FILE_REPORTER) != "").then(pl.col(FILE_REPORTER))
    reporter_known = pl.when(pl.col("reporter").is_in(list(registry.reporters))).then(pl.col("reporter"))
    indicator_known = pl.when(pl.col("indicator").is_in(list(registry.indicators))).then(pl.col("indicator"))
    return (
        observations.join(areas, on="area", how="left")
        .sort("submission_id", "row_number")
        .with_row_index(ROW_INDEX)
        .with_columns(
            reporter_given.alias("reporter_given"),
            # the reporter the file names at its top (JSON), else the first a row gives (and that row)
            pl.coalesce(named_at_top, reporter_given.drop_nulls().first().over("submission_id")).alias("file_reporter"),
            pl.when(named_at_top.is_null())
            .then(pl.col("row_number").filter(reporter_given.is_not_null()).first().over("submission_id"))
            .alias("file_reporter_row"),
            pl.concat_str(reporter_known, indicator_known, separator=PAIR_SEPARATOR).alias("reporter_indicator"),
            pl.coalesce("period", pl.col("period_text").fill_null("")).alias("period_key"),
            *[
                # a blank code is unknown_code alone, not also a cut the indicator does not have
                pl.when((pl.col(name) != TOTAL) & (pl.col(name) != ""))
                .then(indicator_known)
                .alias(f"indicator_cut_by_{name}")
                for name in registry.dimension_names
            ],
        )
        # a key's number: the first of its rows (a window over the key groups by hashing, where ranking the key's
        # columns as one struct sorted them: a third of the time)
        .with_columns(pl.col(ROW_INDEX).min().over(_key(registry)).alias(KEY_NUMBER))
    )


def _key(registry: Registry) -> list[str]:
    """The columns that tell a row's figure apart from the others of its file: `duplicate_key`'s key."""
    return ["submission_id", *key_columns_for_uniqueness(registry)]


def _keys_shown(rows: pl.DataFrame, failed: list[int], registry: Registry) -> list[str]:
    """The keys of the rows `failed` (values of ROW_INDEX), as `column=value, ...`, for the validation pages."""
    shown = rows.filter(pl.col(ROW_INDEX).is_in(failed)).select(key_columns_for_uniqueness(registry))
    return [
        ", ".join(f"{name}={value}" for name, value in key.items())
        for key in shown.unique(maintain_order=True).iter_rows(named=True)
    ]


def _as_objects(frame: pl.DataFrame) -> pd.DataFrame:
    """The frame for pandas, texts as Python objects (a missing one None), not pandas' Arrow-backed strings:
    Great Expectations filters the frame once per metric, and one block of objects is filtered in one step where
    each Arrow column is filtered alone. Other columns as Polars gives them to pandas. Made a column at a time
    (converting pandas' strings to objects afterwards cost five times as much for a small file)."""
    import pandas as pd

    return pd.DataFrame(
        {
            name: pd.Series(column.to_numpy(), dtype=object, copy=False)
            if column.dtype == pl.String
            else column.to_pandas()
            for name, column in frame.to_dict().items()
        }
    )


def _parts_pandas(pairs: pl.DataFrame) -> pd.DataFrame:
    """The distinct pairs of a total and its parts' sum (`_distinct_rows`), as Python integers (a sum of 64-bit
    parts may not fit 64 bits), with how many totals each stands for."""
    import pandas as pd

    return pd.DataFrame(
        {
            ROW_INDEX: pairs[ROW_INDEX].to_list(),
            "parent_value": pd.Series(pairs["parent_value"].to_list(), dtype=object),
            "parts_sum": pd.Series(pairs["parts_sum"].to_list(), dtype=object),
            WEIGHT: pairs[WEIGHT].to_list(),
        }
    )


# ------------------------------------------------------------------ messages
def _label(registry: Registry, column: str, code: str, lang: str = "en") -> str:
    dimension = registry.dimensions.get(column)
    label = dimension.labels.get(code) if dimension else None
    if label and lang != "en":
        label = registry.label(f"code:{column}", code, lang)
    return f"{code} ({label})" if label else code


def _codes_hint(codes: list[str], lang: str = "en", limit: int = 12) -> str:
    if len(codes) <= limit:
        return ", ".join(codes)
    return message("common", "more_codes", lang, shown=", ".join(codes[:limit]), count=len(codes))


def _row_findings(
    rule: str, column: str, flagged: pl.DataFrame, rows: pl.DataFrame, registry: Registry, lang: str = "en"
):
    severity = registry.rule(rule).severity
    if rule == "duplicate_key":
        yield from _duplicate_findings(flagged, registry, severity, lang)
        return
    for row in flagged.iter_rows(named=True):
        key, values = _describe(rule, column, row, registry, lang)
        text = message(rule, key, lang, row=row["row_number"], column=column, **values)
        yield (row["submission_id"], severity, rule, row["row_number"], column, text)


def _describe(rule: str, column: str, row: dict, registry: Registry, lang: str) -> tuple[str, dict]:
    """Which message of `rule` fits the row, and the values it names (a text found in the file `visible`)."""
    if rule == "unknown_code" and column == "period":
        text = row["period_text"]
        if not text:
            return "period_blank", {}
        return "period_bad", {"found": visible(text)}
    if rule == "unknown_code" and column == "area" and row["area"] in registry.areas:
        area = registry.areas[row["area"]]
        name = area.name if lang == "en" else registry.label("area", area.code, lang)
        named = {"area": area.code, "area_name": name, "period": row["period"]}
        if area.first_year and row["period_year"] < area.first_year:
            return "area_from", {**named, "first_year": area.first_year}
        return "area_until", {**named, "last_year": area.last_year}
    if rule == "unknown_code":
        found = row[column]
        if found == "":
            return "blank", {}
        codes = {
            "reporter": list(registry.reporters),
            "indicator": list(registry.indicators),
            "area": list(registry.areas),
            "status": list(registry.statuses),
            "action": list(registry.actions),
        }.get(column) or list(registry.dimensions[column].codes)
        return "unknown", {"found": visible(found), "codes": _codes_hint(codes, lang)}
    if rule == "not_allowed" and column == "indicator":
        allowed = sorted(registry.reporters[row["reporter"]].indicators)
        return "indicator", {"reporter": row["reporter"], "indicator": row["indicator"], "allowed": ", ".join(allowed)}
    if rule == "not_allowed":
        cuts = registry.indicators[row["indicator"]].dimensions
        return "dimension", {
            "indicator": row["indicator"],
            "total": TOTAL,
            "found": visible(row[column]),
            "cuts": ", ".join(cuts) or message("common", "no_dimension", lang),
        }
    if rule == "bad_value":
        text = row["value_text"] or ""
        if text.isascii() and text.isdigit():  # digits, but more than a count can hold
            largest = registry.limits.max_value
            return "too_large", {"found": text, "largest": _in_words(largest), "digits": len(str(largest))}
        return "not_whole", {"found": visible(text)}
    if rule == "future_period":
        return "not_begun", {"period": row["period"], "start": row["period_start"], "judged_on": row["judged_on"]}
    if rule == "mixed_reporters":
        if row["file_reporter_row"] is None:  # named at the top of a JSON file
            return "other_than_the_file", {"reporter": row["reporter"], "file_reporter": row["file_reporter"]}
        return "other_reporter", {
            "reporter": row["reporter"],
            "file_reporter": row["file_reporter"],
            "file_reporter_row": row["file_reporter_row"],
        }
    raise ValueError(f"no message for rule {rule} on {column}")


def _in_words(number: int) -> str:
    """A large number as people say it: 9223372036854775807 is "9.2 quintillion"."""
    names = (
        (10**18, "quintillion"),
        (10**15, "quadrillion"),
        (10**12, "trillion"),
        (10**9, "billion"),
        (10**6, "million"),
    )
    for size, name in names:
        if number >= size:
            return f"{number / size:.1f} {name}"
    return f"{number:,}"


def _duplicate_findings(flagged: pl.DataFrame, registry: Registry, severity: str, lang: str = "en"):
    key = _key(registry)
    for group in flagged.sort("row_number").group_by(key, maintain_order=True).agg("row_number").iter_rows(named=True):
        numbers = group["row_number"]
        for number in numbers[1:]:
            cut = ", ".join(f"{d}={group[d]}" for d in registry.dimension_names if group[d] != TOTAL)
            text = message(
                "duplicate_key",
                "repeated",
                lang,
                row=number,
                first_row=numbers[0],
                indicator=group["indicator"],
                period=group["period_key"],
                area=group["area"],
                cut=cut or message("common", "no_cut", lang),
            )
            yield (group["submission_id"], severity, "duplicate_key", number, None, text)


def _parts_finding(rule: str, check: dict, registry: Registry, lang: str = "en") -> tuple:
    dimension = registry.dimensions[check["dimension"]]
    parts = ", ".join(
        message("common", "part", lang, code=code, value=value, row=row)
        for code, value, row in zip(check["part_codes"], check["part_values"], check["part_rows"], strict=True)
    )
    if check["parent_code"] == TOTAL:
        parent = message("common", "total", lang)
    else:
        parent = _label(registry, dimension.name, check["parent_code"], lang)
    # a total within a cut (the sexes of the suspects of one offence) names that cut
    named = where(check["indicator"], check["period"], check["area"], check["fixed"], lang)
    parts_label = dimension.parts_label if lang == "en" else registry.label("dimension", dimension.name, lang)
    text = message(
        rule,
        "differ" if rule == "parts_differ_from_total" else "exceed",
        lang,
        row=check["parent_row"],
        parts_label=parts_label,
        where=named,
        parts_sum=check["parts_sum"],
        parts=parts,
        parent=parent,
        parent_value=check["parent_value"],
    )
    return (check["submission_id"], registry.rule(rule).severity, rule, check["parent_row"], "value", text)


def _provisional_findings(observations: pl.DataFrame, lang: str = "en"):
    """One warning per submission and period that has begun but not ended."""
    pending = (
        observations.filter(pl.col("provisional") & pl.col("loadable"))
        .group_by("submission_id", "period", maintain_order=True)
        .agg(pl.col("row_number").min(), pl.col("period_end").first(), pl.col("judged_on").first())
    )
    for row in pending.iter_rows(named=True):
        text = message(
            "provisional", "not_ended", lang, row=row["row_number"], period=row["period"], end=row["period_end"]
        )
        yield (row["submission_id"], "warning", "provisional", row["row_number"], "period", text)
