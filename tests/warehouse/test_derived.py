"""Figures never contradict themselves: every published figure, reported or derived, agrees with
every complete set of shorter figures of the same reporter that covers it, or a `derived_mismatch`
names both. Submissions are applied as in tests/warehouse/test_versions.py."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.warehouse.test_versions import _load
from transforms.periods import parse_period
from warehouse.database import open_writer
from warehouse.marts import period_comparison_sql

YEAR = "2018"
PERIODS = [
    YEAR,
    f"{YEAR}-S1",
    f"{YEAR}-S2",
    *(f"{YEAR}-Q{q}" for q in range(1, 5)),
    *(f"{YEAR}-{m:02d}" for m in range(1, 13)),
    *(f"{YEAR}-01/{YEAR}-{m:02d}" for m in (1, 3, 4, 6, 12)),
]
AGREE = -1  # stands for the number of months of the period: such figures agree with each other

figure = st.tuples(
    st.sampled_from(["I", "I", "I", "I", "D"]), st.sampled_from([AGREE, AGREE, AGREE, 0, 5, 7]), st.just("A")
)
submission = st.dictionaries(st.sampled_from(PERIODS), figure, min_size=1, max_size=10)


def _months(period: str) -> tuple[int, int]:
    """The months a period spans, [first, end) counted from 0."""
    parsed = parse_period(period)
    return parsed.start.month - 1, parsed.start.month - 1 + (parsed.end.year - parsed.start.year) * 12 + (
        parsed.end.month - parsed.start.month
    )


def _chains(first: int, end: int, figures: dict[str, int], leave_out: str) -> list[tuple[list[str], int]]:
    """Every chain of figures (other than `leave_out`) that makes up the months [first, end)."""
    if first == end:
        return [([], 0)]
    found = []
    for period, value in figures.items():
        start, stop = _months(period)
        if period != leave_out and start == first and stop <= end:
            found += [([period, *rest], value + total) for rest, total in _chains(stop, end, figures, leave_out)]
    return found


def _complete_sets(period: str, figures: dict[str, int]) -> list[tuple[list[str], int]]:
    """The complete sets of shorter figures covering `period` (for a year-to-date, also one figure of its months)."""
    first, end = _months(period)
    return [(parts, total) for parts, total in _chains(first, end, figures, period) if len(parts) > 1 or "/" in period]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(submission, min_size=1, max_size=4))
def test_every_published_figure_agrees_with_its_shorter_ones_or_is_named(registry, new_warehouse, submissions):
    runs = [
        [
            (
                number,
                "NCCT",
                {p: (a, _months(p)[1] - _months(p)[0] if v == AGREE else v, s) for p, (a, v, s) in rows.items()},
            )
        ]
        for number, rows in enumerate(submissions, start=1)
    ]
    with open_writer(new_warehouse(), registry) as warehouse:
        _load(warehouse, runs)
        reported = dict(warehouse.con.sql("select period, value from core.observations").fetchall())
        derived = dict(
            warehouse.con.sql(f"select period, value from ({period_comparison_sql()}) where is_derived").fetchall()
        )
        messages = [
            m
            for (m,) in warehouse.con.sql(
                "select message from audit.findings where rule = 'derived_mismatch'"
            ).fetchall()
        ]
    published = {**reported, **derived}
    for period, value in reported.items():
        for parts, total in _complete_sets(period, published):
            if total != value:
                named = [
                    m
                    for m in messages
                    if f"cases for {period} in KH is reported as {value:,}, but " in m and m.endswith(f" {total:,}")
                ]
                assert named, (period, value, parts, total, messages)
    for period, value in derived.items():
        assert period not in reported
        for parts, total in _complete_sets(period, reported):
            assert total == value, (period, value, parts, total)
