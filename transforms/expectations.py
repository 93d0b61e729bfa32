"""The Great Expectations suites, derived from the registry, and how to run them.

Three frames are judged per run, each holding every new submission at once: the
rows themselves, the complete sets of parts beside their totals, and the
incomplete ones. Each expectation carries the rule id and the column it judges in
its `meta`, so a failure becomes findings without guessing.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pandas as pd

from schemas.registry import TOTAL, Registry

ROW_INDEX = "_row"


@dataclass(frozen=True)
class Failure:
    rule: str
    column: str
    rows: list[int]  # values of ROW_INDEX


def row_suite(registry: Registry):
    """Expectations on single rows and on rows of one file together."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    _context()
    suite = gx.ExpectationSuite(name="rows")

    def add(expectation, rule: str, column: str) -> None:
        expectation.meta = {"rule": rule, "column": column}
        suite.add_expectation(expectation)

    code_lists = {
        "reporter": list(registry.reporters),
        "indicator": list(registry.indicators),
        "area": list(registry.areas),
        "status": list(registry.statuses),
        "action": list(registry.actions),
        **{name: list(dim.codes) for name, dim in registry.dimensions.items()},
    }
    for column, codes in code_lists.items():
        add(gxe.ExpectColumnValuesToBeInSet(column=column, value_set=codes), "unknown_code", column)
    add(gxe.ExpectColumnValuesToNotBeNull(column="period"), "unknown_code", "period")
    add(
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="period_year", column_B="area_first_year", or_equal=True, ignore_row_if="either_value_is_missing"
        ),
        "unknown_code", "area",
    )
    add(
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="area_last_year", column_B="period_year", or_equal=True, ignore_row_if="either_value_is_missing"
        ),
        "unknown_code", "area",
    )
    add(
        gxe.ExpectColumnPairValuesToBeInSet(
            column_A="reporter_known", column_B="indicator_known",
            value_pairs_set=sorted(registry.allowed_pairs()), ignore_row_if="either_value_is_missing",
        ),
        "not_allowed", "indicator",
    )
    for name in registry.dimension_names:
        pairs = [(i, False) for i in registry.indicators] + [
            (code, True) for code, indicator in registry.indicators.items() if name in indicator.dimensions
        ]
        add(
            gxe.ExpectColumnPairValuesToBeInSet(
                column_A="indicator_known", column_B=f"{name}_cut", value_pairs_set=pairs,
                ignore_row_if="either_value_is_missing",
            ),
            "not_allowed", name,
        )
    add(
        gxe.ExpectColumnValuesToNotBeNull(column="value", row_condition="value_given==True", condition_parser="pandas"),
        "bad_value", "value",
    )
    add(
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="judged_on", column_B="period_start", or_equal=True, ignore_row_if="either_value_is_missing"
        ),
        "future_period", "period",
    )
    add(
        gxe.ExpectCompoundColumnsToBeUnique(
            column_list=["submission_id", *key_columns_for_uniqueness(registry)],
            row_condition="keyed==True", condition_parser="pandas",
        ),
        "duplicate_key", "",
    )
    add(
        gxe.ExpectColumnPairValuesToBeEqual(
            column_A="reporter_given", column_B="file_reporter", ignore_row_if="either_value_is_missing"
        ),
        "mixed_reporters", "reporter",
    )
    return suite


def key_columns_for_uniqueness(registry: Registry) -> list[str]:
    """The key, with the period as written where it names no period, so blanks still collide."""
    return [("period_key" if c == "period" else c) for c in registry.key_columns]


def parts_suite(complete: bool):
    """Totals against the sum of their parts: equal when complete, at least the sum otherwise."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    _context()
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


@functools.cache
def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _batch(name: str, frame: pd.DataFrame):
    context = _context()
    try:
        source = context.data_sources.get("ctip")
    except (KeyError, ValueError):
        source = context.data_sources.add_pandas("ctip")
    asset_names = {asset.name for asset in source.assets}
    asset = source.get_asset(name) if name in asset_names else source.add_dataframe_asset(name)
    definitions = {d.name for d in asset.batch_definitions}
    definition = (
        asset.get_batch_definition("whole") if "whole" in definitions else asset.add_batch_definition_whole_dataframe("whole")
    )
    return definition.get_batch(batch_parameters={"dataframe": frame})


def run_suite(name: str, frame: pd.DataFrame, suite) -> list[Failure]:
    """Validate `frame` (which has a ROW_INDEX column) and list each failed expectation's rows."""
    if frame.empty:
        return []
    result = _batch(name, frame).validate(
        suite, result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [ROW_INDEX]}
    )
    failures = []
    for outcome in result.results:
        exception = outcome.exception_info or {}
        if exception.get("raised_exception"):
            raise ExpectationError(
                f"{outcome.expectation_config.type} could not run: {exception.get('exception_message')}"
            )
        if outcome.success:
            continue
        meta = outcome.expectation_config.meta
        rows = [int(item[ROW_INDEX]) for item in outcome.result.get("unexpected_index_list") or []]
        failures.append(Failure(meta["rule"], meta["column"], rows))
    return failures


__all__ = ["Failure", "row_suite", "parts_suite", "run_suite", "ROW_INDEX", "TOTAL"]
