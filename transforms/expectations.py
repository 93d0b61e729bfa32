"""The Great Expectations suites, derived from the registry, and how to run them.

Five frames are judged per run, each holding every new submission at once: the
distinct rows (the values of a row that its rules read alone), the rows' keys,
the distinct values of the columns that must hold known codes, the complete sets
of parts beside their totals, and the incomplete ones. Each expectation carries
the rule id and the column it judges in its `meta`, so a failure becomes findings
without guessing.

Code lists are judged on distinct values, not rows: a value is known or not
wherever it stands, and Great Expectations' cost is mostly per expectation, so
the values of every coded column are checked together, one expectation per rule,
each written `column|value` against the set of `column|code` the contract allows
(`CODES_COLUMN`). A rule on a pair of columns that only a set of pairs can state
is checked on one column derived from the pair (`reporter_indicator`,
`indicator_cut_by_<dimension>`).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from schemas.registry import Registry
from transforms import collector

if TYPE_CHECKING:  # pandas comes with Great Expectations, when a validation runs
    import pandas as pd

ROW_INDEX = "_row"
# A row's key (its submission and `key_columns_for_uniqueness`) as one number, the same for the rows of one key
# (`transforms.validate` numbers them): `duplicate_key` is judged on it, as Great Expectations judges one column of
# numbers many times faster than eleven of texts, each a Python object
KEY_NUMBER = "key_number"
PAIR_SEPARATOR = "|"  # joins a reporter and an indicator code in `reporter_indicator`; no code holds it
CODES_COLUMN = {"unknown_code": "known", "not_allowed": "allowed"}  # the codes frame's column of each rule's values


@dataclass(frozen=True)
class Failure:
    rule: str
    column: str
    rows: list[int]  # values of ROW_INDEX


def row_suite(registry: Registry):
    """Expectations on a row alone, in the order of their findings. Each reads a few columns of a row, and
    many rows hold the same values there: they are judged on the distinct rows (`transforms.validate`), each
    standing for the rows that hold its values."""
    from transforms.validator import gx, gxe

    suite = gx.ExpectationSuite(name="rows")

    def add(expectation, rule: str, column: str) -> None:
        expectation.meta = {"rule": rule, "column": column}
        suite.add_expectation(expectation)

    add(gxe.ExpectColumnValuesToNotBeNull(column="period"), "unknown_code", "period")
    add(
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="period_year", column_B="area_first_year", or_equal=True, ignore_row_if="either_value_is_missing"
        ),
        "unknown_code",
        "area",
    )
    add(
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="area_last_year", column_B="period_year", or_equal=True, ignore_row_if="either_value_is_missing"
        ),
        "unknown_code",
        "area",
    )
    add(
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="judged_on", column_B="period_start", or_equal=True, ignore_row_if="either_value_is_missing"
        ),
        "future_period",
        "period",
    )
    add(
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="reporter_given", column_B="file_reporter", ignore_row_if="either_value_is_missing"
        ),
        "mixed_reporters",
        "reporter",
    )
    add(
        gxe.ExpectColumnValuesToNotBeNull(column="value", row_condition="value_given==True", condition_parser="pandas"),
        "bad_value",
        "value",
    )
    return suite


def key_suite(registry: Registry):
    """The rows of one file together: no key twice among the rows that state a figure."""
    from transforms.validator import gx, gxe

    suite = gx.ExpectationSuite(name="keys")
    duplicate = gxe.ExpectColumnValuesToBeUnique(
        column=KEY_NUMBER, row_condition="loadable==True", condition_parser="pandas"
    )
    duplicate.meta = {"rule": "duplicate_key", "column": "", "columns": key_columns_for_uniqueness(registry)}
    suite.add_expectation(duplicate)
    return suite


def judged_columns(suite) -> list[str]:
    """The columns a suite's expectations read, those they judge and those of their row conditions, in order:
    the frame a suite is run on needs no other (Great Expectations filters and copies every column it holds,
    once per metric)."""
    names: list[str] = []
    for expectation in suite.expectations:
        names += [
            getattr(expectation, key) for key in ("column", "column_A", "column_B") if getattr(expectation, key, None)
        ]
        names += list(getattr(expectation, "column_list", None) or [])
        condition = getattr(expectation, "row_condition", None)
        if condition:
            names += re.findall(r"[A-Za-z_]\w*(?=\s*==)", str(condition))
    return list(dict.fromkeys(names))


def coded_columns(registry: Registry) -> dict[str, dict[str, tuple[str, list[str]]]]:
    """Per rule of code lists, each column of the judged rows it checks: the column a finding names and the
    codes allowed, in the order findings of one row are listed."""
    known = {
        "reporter": list(registry.reporters),
        "indicator": list(registry.indicators),
        "area": list(registry.areas),
        "status": list(registry.statuses),
        "action": list(registry.actions),
        **{name: list(dim.codes) for name, dim in registry.dimensions.items()},
    }
    pairs = [pair_key(reporter, indicator) for reporter, indicator in sorted(registry.allowed_pairs())]
    allowed = {"reporter_indicator": ("indicator", pairs)}
    for name in registry.dimension_names:
        cut = [code for code, indicator in registry.indicators.items() if name in indicator.dimensions]
        allowed[f"indicator_cut_by_{name}"] = (name, cut)
    return {"unknown_code": {column: (column, codes) for column, codes in known.items()}, "not_allowed": allowed}


def codes_suite(registry: Registry):
    """The values of every coded column against the codes the contract allows there, one expectation per rule
    on the frame of distinct values (`column|value` in the rule's CODES_COLUMN)."""
    from transforms.validator import gx, gxe

    suite = gx.ExpectationSuite(name="codes")
    for rule, columns in coded_columns(registry).items():
        value_set = [f"{column}{PAIR_SEPARATOR}{code}" for column, (_, codes) in columns.items() for code in codes]
        expectation = gxe.ExpectColumnValuesToBeInSet(column=CODES_COLUMN[rule], value_set=value_set)
        expectation.meta = {"rule": rule, "column": ""}  # the column is in each value
        suite.add_expectation(expectation)
    return suite


def pair_key(reporter: str, indicator: str) -> str:
    """A known reporter and indicator as one value, the way `validate` derives `reporter_indicator`."""
    return f"{reporter}{PAIR_SEPARATOR}{indicator}"


def key_columns_for_uniqueness(registry: Registry) -> list[str]:
    """The key, with the period as written where it names no period, so blanks still collide."""
    return [("period_key" if c == "period" else c) for c in registry.key_columns]


def parts_suite(complete: bool):
    """Totals against the sum of their parts: equal when complete, at least the sum otherwise."""
    from transforms.validator import gx, gxe

    suite = gx.ExpectationSuite(name="complete_parts" if complete else "partial_parts")
    if complete:
        expectation = gxe.ExpectColumnPairValuesToBeEqual(column_A="parent_value", column_B="parts_sum")
        expectation.meta = {"rule": "parts_differ_from_total", "column": "value"}
    else:
        expectation = gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="parent_value", column_B="parts_sum", or_equal=True
        )
        expectation.meta = {"rule": "parts_exceed_total", "column": "value"}
    suite.add_expectation(expectation)
    return suite


class ExpectationError(RuntimeError):
    """An expectation could not be evaluated: a defect of ctip, never a verdict on data."""


# Every failed row, known by the frame's index: `_validate` makes ROW_INDEX the (unnamed) index, which Great
# Expectations lists as it is. Named by `unexpected_index_column_names` instead, each failed row would be read
# back one cell at a time (about 80 s of Python for an expectation that fails on 200,000 rows).
RESULT_FORMAT = {"result_format": "COMPLETE", "return_unexpected_index_query": False}
EXAMPLES = 5  # values that failed, kept per expectation for the validation pages


class _Context:
    """The process's one Great Expectations context, built on first use: a pandas source with one asset per
    frame name, and every suite it has been given, saved once under a name of its own.

    Building a context, saving a suite and the checkpoint's stores cost more than a small validation
    itself; a suite is validated by the same validator a checkpoint runs, so the results are the same.
    Great Expectations keeps its current context in a global, so one validation runs at a time (`lock`).
    """

    lock = threading.Lock()
    _built: _Context | None = None

    def __init__(self, gx):
        from great_expectations.data_context.types.base import ProgressBarsConfig

        # its notes on how it builds the context ("Created temporary directory ...") are not the run's news, but
        # a console set up for the flow engine's INFO lines prints them: its modules set their loggers to INFO
        for name, logger in list(logging.root.manager.loggerDict.items()):
            if name.split(".")[0] == "great_expectations" and isinstance(logger, logging.Logger):
                logger.setLevel(logging.WARNING)
        from great_expectations.execution_engine import pandas_execution_engine

        # a batch's "fingerprint" (an MD5 of every row, hashed by pandas) is only a note in the results, which ctip
        # never reads: frames smaller than this many bytes get one, so none does (0.3 s of a 200,000-row file)
        pandas_execution_engine.HASH_THRESHOLD = 0
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.source = self.context.data_sources.add_pandas("ctip")
        self.definitions: dict[str, object] = {}
        self.suites: dict[tuple[str, str], object] = {}
        self.seen: dict[int, tuple[object, object]] = {}  # id of a suite given -> (that suite, the saved one)

    @classmethod
    def current(cls) -> _Context:
        """The context, made Great Expectations' current one (suites are created in the current context)."""
        with cls.lock:
            if cls._built is None:
                from transforms import validator  # first: Great Expectations imported as every ctip process does

                with collector.paused():  # building the context: many objects at once, none of them garbage
                    cls._built = cls(validator.gx)
                collector.set_aside_what_is_alive()  # loaded for the life of the process: never walked again
            from great_expectations.data_context.data_context.context_factory import project_manager

            project_manager.set_project(cls._built.context)
            return cls._built

    def definition(self, name: str):
        if name not in self.definitions:
            self.definitions[name] = self.source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("whole")
        return self.definitions[name]

    def saved(self, suite):
        """The suite as saved in the context (its expectations then have ids), saved the first time it is seen.

        A suite object given again (the suites of a registry are built once) is known by its identity; another
        object is compared by its expectations' configurations."""
        seen = self.seen.get(id(suite))
        if seen is not None and seen[0] is suite:
            return seen[1]
        configurations = [expectation.configuration.to_json_dict() for expectation in suite.expectations]
        key = (suite.name, json.dumps(configurations, sort_keys=True, default=str))
        if key not in self.suites:
            suite.name = f"{suite.name}-{len(self.suites) + 1}"  # two registries may give two suites of one name
            self.suites[key] = self.context.suites.add(suite)
        self.seen[id(suite)] = (suite, self.suites[key])
        return self.suites[key]


# An expectation's configuration as first built, by the expectation's id, for the expectations of the suites
# saved in the context (a saved suite is never changed; Great Expectations builds new expectation objects from
# it at every validation, each with the id of the one saved).
_saved_configurations: dict[tuple[type, str], object] = {}


@contextmanager
def _configurations_kept() -> Iterator[None]:
    """Each expectation's configuration built once, not at every one of its many reads.

    Great Expectations rebuilds `Expectation.configuration` from the model (a deep copy of every field, the
    long code lists included) each time the metric graph asks for it, a hundred times per expectation: two
    fifths of a small validation. Nothing changes an expectation while a suite is validated (the suite is
    saved before, and validations run one at a time under `_Context.lock`), so the first configuration of
    each expectation is the one every read would build: for an expectation of a saved suite (it has an id),
    the one first built in any validation; for another, the one first built in this validation. The
    property is restored after it.
    """
    from great_expectations.expectations.expectation import Expectation

    built = Expectation.configuration
    kept: dict[int, tuple[object, object]] = {}

    def configuration(expectation):
        if expectation.id is not None:
            key = (type(expectation), expectation.id)
            held = _saved_configurations.get(key)
            if held is None:
                held = _saved_configurations[key] = built.fget(expectation)
            return held
        held = kept.get(id(expectation))
        if held is None or held[0] is not expectation:
            held = kept[id(expectation)] = (expectation, built.fget(expectation))
        return held[1]

    Expectation.configuration = property(configuration)
    try:
        yield
    finally:
        Expectation.configuration = built


_FLAG_CONDITION = re.compile(r"^\s*([A-Za-z_]\w*)\s*==\s*True\s*$")


@contextmanager
def _row_conditions_as_masks() -> Iterator[None]:
    """A row condition `flag==True` (those of `row_suite`) applied as a boolean mask, not through `DataFrame.query`.

    Great Expectations filters the frame by an expectation's row condition once per metric, and pandas'
    query parses the text and builds a resolver of every column each time: a tenth of a small validation.
    The mask keeps the same rows, in the same order, with the same index and columns; any other condition
    goes through Great Expectations as before. Restored after the validation.
    """
    from great_expectations.execution_engine.pandas_execution_engine import PandasExecutionEngine

    filtered = PandasExecutionEngine._apply_row_condition_filter

    def apply(engine, data, row_condition, domain_kwargs):
        flag = _flag_of(row_condition)
        if flag and domain_kwargs.get("condition_parser") == "pandas" and flag in data.columns:
            return data.loc[data[flag].eq(True)]
        return filtered(engine, data, row_condition, domain_kwargs)

    PandasExecutionEngine._apply_row_condition_filter = apply
    try:
        yield
    finally:
        PandasExecutionEngine._apply_row_condition_filter = filtered


def _flag_of(row_condition) -> str | None:
    """The column of a row condition `flag==True`, as Great Expectations hands it over; None for any other."""
    text = _condition_text(row_condition)
    flag = _FLAG_CONDITION.match(text) if text is not None else None
    return flag.group(1) if flag else None


def _condition_text(row_condition) -> str | None:
    """The pandas text of a row condition as Great Expectations hands it over: the text itself, or a
    pass-through condition (a dict once the suite is saved, or its object); None for any other condition."""
    if isinstance(row_condition, str):
        return row_condition
    if isinstance(row_condition, dict):
        return row_condition.get("pass_through_filter") if row_condition.get("type") == "pass_through" else None
    text = getattr(row_condition, "pass_through_filter", None)
    return text if isinstance(text, str) else None


@contextmanager
def _plain_values_as_json() -> Iterator[None]:
    """A metric's keys made JSON without a Python call per code of a code list.

    Every metric Great Expectations configures is named by a hash of its keywords made JSON
    (`IDDict.to_id`), the codes suite's lists of every allowed `column|code` included: a sixth of a small
    validation went into converting those lists one text at a time. Texts, whole numbers, truth values and
    lists, tuples and dicts of them are converted here as Great Expectations converts them (a list of the same
    texts, a dict with text keys); anything else goes through its own conversion. Restored after the
    validation.
    """
    from great_expectations.core import id_dict

    convert = id_dict.convert_to_json_serializable

    def plain(data):
        kind = type(data)
        if kind is str or kind is int or kind is bool or data is None:
            return data
        if kind is list or kind is tuple:
            if all(type(value) is str for value in data):
                return list(data)
            return [plain(value) for value in data]
        if kind is dict or kind is id_dict.IDDict:
            return {str(key): plain(value) for key, value in data.items()}
        return convert(data)

    id_dict.convert_to_json_serializable = plain
    try:
        yield
    finally:
        id_dict.convert_to_json_serializable = convert


class SuiteRunner:
    """Runs suites on frames in the process's Great Expectations context.

    The context is made current when the runner first needs it (`context`), so a runner
    can be made before Great Expectations is imported; suites must be created after that,
    while its context is current. Every expectation run is also kept in `checks` (suite,
    expectation, rule, columns, rows checked and failed, a few values that failed), for the
    validation pages a run writes.
    """

    def __init__(self):
        self._context: _Context | None = None
        self.checks: list[dict] = []

    @property
    def context(self) -> _Context:
        """The process's context, made current (the first time: once Great Expectations is imported)."""
        if self._context is None:
            self._context = _Context.current()
        return self._context

    def begin(self) -> SuiteRunner:
        """The runner, its context made current: suites are built after this."""
        _ = self.context
        return self

    def run(self, name: str, frame: pd.DataFrame, suite) -> list[Failure]:
        """Validate `frame` (which has a ROW_INDEX column) and list each failed expectation's rows,
        in the order of the suite (Great Expectations reports them grouped by column)."""
        return self.run_slices(name, [frame], suite)

    def run_slices(
        self,
        name: str,
        frames: Iterable[pd.DataFrame],
        suite,
        shown: dict[str, Callable[[list[int]], list[str]]] | None = None,
        weight: str | None = None,
    ) -> list[Failure]:
        """`run` on a frame given in slices, validated one after the other (each may be made only when its
        turn comes): an expectation fails with the rows that failed in every slice, and its check counts
        the rows of every slice. For expectations that judge a row alone, or with the rows of its slice
        when no rule needs rows of another slice, the failures are those of one validation of the whole.

        `shown` gives, for a rule whose expectation judges values no one reads (a number standing for a
        key), the values its check shows instead, from the rows that failed. `weight` names a column of
        the frames (never judged) holding how many rows each of their rows stands for, when they are
        distinct rows: the checks then count those rows."""
        merged: dict[int, tuple[dict, dict, list[int]]] = {}  # position in the suite -> meta, check, rows
        saved = None
        for frame in frames:
            if frame.empty:
                continue
            if saved is None:  # saved once, whatever the number of slices
                saved = self._saved(suite)
            for position, outcome in self._validate(name, frame.drop(columns=weight) if weight else frame, saved):
                meta = outcome.expectation_config.meta
                check = _check(name, outcome, meta)
                rows = [] if outcome.success else _failed_rows(outcome)
                if weight:
                    check = _counted_by_weight(check, outcome, frame, weight, rows)
                if position in merged:
                    _, held, held_rows = merged[position]
                    check = _merged_checks(held, check)
                    rows = held_rows + rows
                merged[position] = (meta, check, rows)
        failures = []
        for position in sorted(merged):
            meta, check, rows = merged[position]
            if rows and meta["rule"] in (shown or {}):
                check = {**check, "examples": shown[meta["rule"]](rows)[:EXAMPLES]}
            self.checks.append(check)
            if not check["success"]:
                failures.append(Failure(meta["rule"], meta["column"], rows))
        return failures

    def _saved(self, suite):
        from great_expectations.data_context.data_context.context_factory import project_manager

        with _Context.lock:
            project_manager.set_project(self.context.context)
            return self.context.saved(suite)

    def _validate(self, name: str, frame: pd.DataFrame, saved) -> list[tuple[int, object]]:
        """Each expectation's outcome on `frame` with its position in the suite `saved` (as `_saved` gives it),
        in the order of the suite; an expectation that could not be evaluated raises ExpectationError."""
        from great_expectations.data_context.data_context.context_factory import project_manager
        from great_expectations.validator.v1_validator import Validator

        with _Context.lock:
            project_manager.set_project(self.context.context)  # the validator finds the data through it
            validator = Validator(
                batch_definition=self.context.definition(name),
                batch_parameters={"dataframe": _indexed(frame)},
                result_format=RESULT_FORMAT,
            )
            with _configurations_kept(), _row_conditions_as_masks(), _plain_values_as_json():
                result = validator.validate_expectation_suite(saved)
        position = {expectation.id: index for index, expectation in enumerate(saved.expectations)}
        outcomes = sorted(
            ((position[outcome.expectation_config.id], outcome) for outcome in result.results), key=lambda p: p[0]
        )
        for _, outcome in outcomes:
            exception = outcome.exception_info or {}
            if exception.get("raised_exception"):
                raise ExpectationError(
                    f"{outcome.expectation_config.type} could not run: {exception.get('exception_message')}"
                )
        return outcomes


def _indexed(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its ROW_INDEX column as its unnamed index, the rows Great Expectations lists when they fail."""
    indexed = frame.drop(columns=ROW_INDEX)
    indexed.index = frame[ROW_INDEX].to_numpy()
    return indexed


def _failed_rows(outcome) -> list[int]:
    return [int(index) for index in outcome.result.get("unexpected_index_list") or []]


def _counted_by_weight(check: dict, outcome, frame: pd.DataFrame, weight: str, failed: list[int]) -> dict:
    """`check` counting the rows that the rows of `frame` stand for (its column `weight`): those its
    expectation looked at (all, or those of its row condition `flag==True`) and those of the rows that failed."""
    condition = outcome.expectation_config.kwargs.get("row_condition")
    looked_at = frame
    if condition:
        flag = _flag_of(condition)
        if flag is None:
            raise ExpectationError(f"rows counted by weight take a row condition `flag==True`, not {condition!r}")
        looked_at = frame.loc[frame[flag].eq(True)]
    weights = frame.set_index(ROW_INDEX)[weight]
    return {**check, "checked": int(looked_at[weight].sum()), "failed": int(weights.loc[failed].sum())}


def _merged_checks(first: dict, then: dict) -> dict:
    """The check of one expectation over two slices: it succeeds when both do, counts the rows of both."""
    return {
        **first,
        "success": first["success"] and then["success"],
        "checked": first["checked"] + then["checked"],
        "failed": first["failed"] + then["failed"],
        "examples": (first["examples"] + then["examples"])[:EXAMPLES],
    }


def _check(suite: str, outcome, meta: dict) -> dict:
    """One expectation's outcome as plain values: what was checked and how many rows failed."""
    config = outcome.expectation_config
    kwargs = config.kwargs
    columns = meta.get("columns") or [kwargs[k] for k in ("column", "column_A", "column_B") if kwargs.get(k)] + list(
        kwargs.get("column_list") or []
    )
    result = outcome.result or {}
    return {
        "suite": suite,
        "expectation": config.type,
        "rule": meta.get("rule", ""),
        "columns": [str(c) for c in columns if c != "submission_id"],
        "success": bool(outcome.success),
        "checked": int(result.get("element_count") or 0),
        "failed": int(result.get("unexpected_count") or 0),
        "examples": [_shown(value) for value in (result.get("partial_unexpected_list") or [])[:EXAMPLES]],
    }


def _shown(value) -> str:
    """A value that failed, as text; a missing one as "(empty)" rather than pandas' nan or None."""
    if value is None or (isinstance(value, float) and value != value):
        return "(empty)"
    return str(value)


__all__ = [
    "Failure",
    "SuiteRunner",
    "row_suite",
    "key_suite",
    "codes_suite",
    "parts_suite",
    "judged_columns",
    "ROW_INDEX",
]
