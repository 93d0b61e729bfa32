"""The interval audit: no suppressed count can be narrowed below K by solving the published relations together.

`feasible_intervals` is an auditor written apart from transforms/audit.py: it takes the
additive groups of tests/transforms/test_disclosure.py (its own enumeration, not the
export code's), keeps each as far as it holds in the true counts (equal, or parts
short of their total), and solves one small LP per bound of each suppressed count
with scipy's `linprog`, over the unknowns linked to that count by relations. A table is
protected when every interval is at least K wide and contains 0 or a value of at least K.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from tests.transforms.test_disclosure import (
    PERIODS_OR_PROVINCES,
    PROPERTY,
    REGISTRY,
    _groups,
    derivations,
    figure,
    figures_of,
    frame,
    tables,
)
from transforms.audit import Auditor, relations_that_hold
from transforms.disclosure import SLICE, UnprotectedTable, confidentiality
from transforms.disclosure import _groups as disclosure_groups

KEY = (*SLICE, *REGISTRY.dimension_names)


# ------------------------------------------------------------------ the independent auditor
def feasible_intervals(figures: dict, wanted=None) -> dict[tuple, tuple[float, float]]:
    """{suppressed key: (smallest, largest)} given the published counts and every relation that holds; of the
    suppressed keys in `wanted` only, when given.

    The LPs of one count involve only the unknowns linked to it through relations (a block): unknowns of other
    blocks share no constraint with it, so leaving them out changes no bound."""
    hidden = sorted(k for k, (_, published) in figures.items() if not published)
    index = {key: i for i, key in enumerate(hidden)}
    relations = []  # (unknowns with their coefficients, right-hand side, equal)
    for _, total, parts in _groups(figures):
        if not parts:
            continue
        balance = figures[total][0] - sum(figures[part][0] for part in parts)
        if balance < 0:
            continue  # does not hold in the data: an attacker cannot use it
        terms, rhs = {}, 0.0
        for key, coef in [(total, -1.0), *((part, 1.0) for part in parts)]:
            count, published = figures[key]
            if published:
                rhs -= coef * count
            else:
                terms[index[key]] = terms.get(index[key], 0.0) + coef
        terms = {i: coef for i, coef in terms.items() if coef}
        if terms:
            relations.append((terms, rhs, balance == 0))
    block = list(range(len(hidden)))  # union-find: the block of each unknown

    def root(i: int) -> int:
        while block[i] != i:
            block[i] = block[block[i]]
            i = block[i]
        return i

    for terms, _, _ in relations:
        first, *others = terms
        for other in others:
            block[root(other)] = root(first)
    members: dict[int, list[int]] = {}
    for i in range(len(hidden)):
        members.setdefault(root(i), []).append(i)
    relations_of: dict[int, list] = {}
    for relation in relations:
        relations_of.setdefault(root(next(iter(relation[0]))), []).append(relation)
    wanted_indices = [index[key] for key in hidden if wanted is None or key in wanted]
    out = {}
    for i in wanted_indices:
        unknowns = members[root(i)]
        column = {unknown: c for c, unknown in enumerate(unknowns)}
        equal_rows, equal_rhs, upper_rows, upper_rhs = [], [], [], []
        for terms, rhs, equal in relations_of.get(root(i), []):
            row = np.zeros(len(unknowns))
            for unknown, coef in terms.items():
                row[column[unknown]] = coef
            (equal_rows if equal else upper_rows).append(row)
            (equal_rhs if equal else upper_rhs).append(rhs)
        cost = np.zeros(len(unknowns))
        cost[column[i]] = 1.0
        bounds = []
        for sense in (1.0, -1.0):
            solved = linprog(
                sense * cost,
                A_ub=np.array(upper_rows) if upper_rows else None,
                b_ub=upper_rhs or None,
                A_eq=np.array(equal_rows) if equal_rows else None,
                b_eq=equal_rhs or None,
                bounds=(0, None),
                method="highs",
            )
            if solved.status == 3:  # unbounded
                bounds.append(math.inf)
                continue
            assert solved.status == 0, solved.message
            bounds.append(sense * solved.fun)
        low, high = bounds
        out[hidden[i]] = (math.ceil(low - 1e-6), high if math.isinf(high) else math.floor(high + 1e-6))
    return out


def narrow(figures: dict, min_cell: int, small_only: bool = False) -> dict[tuple, tuple[float, float]]:
    """The suppressed counts whose interval is under K wide or holds neither 0 nor a value of at least K
    (with `small_only`, of the counts from 1 to K-1 only: the sensitive ones)."""
    wanted = {key for key, (count, _) in figures.items() if 1 <= count < min_cell} if small_only else None
    return {
        key: (low, high)
        for key, (low, high) in feasible_intervals(figures, wanted).items()
        if high - low < min_cell or (low > 0 and high < min_cell)
    }


def assert_audited(figures: dict, min_cell: int) -> None:
    small = [k for k, (count, published) in figures.items() if published and 1 <= count < min_cell]
    assert not small, f"published counts below {min_cell}: {small}"
    assert not narrow(figures, min_cell, small_only=True), f"small counts narrowed below {min_cell}"


def with_pattern(table: pl.DataFrame, hidden: set[int]) -> dict:
    """{key: (count, published)} with the rows numbered in `hidden` suppressed."""
    return figures_of(
        table.with_row_index("_i").with_columns(
            pl.when(pl.col("_i").is_in(sorted(hidden))).then(pl.lit("C")).otherwise(pl.lit("F")).alias("conf")
        )
    )


def ctip_audit(table: pl.DataFrame, hidden: set[int], min_cell: int) -> pl.DataFrame:
    """transforms/audit.py on the same table and pattern: the intervals it finds."""
    cells = table.select(*KEY, "value").with_row_index("_cell").with_columns(pl.col("_cell").cast(pl.Int64))
    values = cells["value"].to_numpy()
    auditor = Auditor(relations_that_hold(disclosure_groups(cells, REGISTRY), values), values, min_cell)
    suppressed = np.zeros(table.height, dtype=bool)
    suppressed[sorted(hidden)] = True
    return auditor.audit(suppressed).intervals.sort("_cell")


def caught_and_fixed(table: pl.DataFrame, hidden: set[int], min_cell: int) -> dict:
    """A pattern that the one-suppressed-per-group rule accepts but that pins a count; ctip's audit fixes it."""
    pattern = with_pattern(table, hidden)
    assert not derivations(pattern), "the pattern should pass the rule of one suppressed member per group"
    pinned = narrow(pattern, min_cell)
    assert pinned, "the pattern should leave a count narrowed below K"
    found = ctip_audit(table, hidden, min_cell)
    assert not found["protected"].all()
    assert_agrees_with_the_independent_auditor(found, table, hidden, min_cell)
    out = confidentiality(table, REGISTRY, min_cell)
    assert out["protected"].drop_nulls().all()
    assert_audited(figures_of(out), min_cell)
    return pinned


# ------------------------------------------------------------------ hand-built tables
def table_of(*cells: tuple) -> pl.DataFrame:
    """Rows from (offence, sex, age, area, period, count); `_T` where a dimension is not cut."""
    return frame(
        *(
            figure(count, period=period, area=area, offence=offence, sex=sex, age=age)
            for offence, sex, age, area, period, count in cells
        )
    )


def offence_by_sex():
    """Victims by offence (HT, SE) and sex (F, M, unknown), with every total: 12 figures of 2019-S1."""
    by_sex = {"HT": (8, 8, 30, 46), "SE": (1, 5, 15, 21), "_T": (9, 13, 45, 67)}  # F, M, _U, _T
    return table_of(
        *(
            (offence, sex, "_T", "KH", "2019-S1", value)
            for offence, values in by_sex.items()
            for sex, value in zip(("F", "M", "_U", "_T"), values, strict=True)
        )
    )


def test_the_classic_2x2_rectangle_is_caught_and_fixed():
    """offence x sex: HT,F HT,M SE,F SE,M suppressed with the sex totals F and M; every group holds two.

    Together, SE,F + SE,M = 21 - 15 (SE less its unknown) and F + M = 67 - 45 bound SE,F and SE,M to 0..6.
    """
    table = offence_by_sex()
    pinned = caught_and_fixed(table, {0, 1, 4, 5, 8, 9}, 10)
    assert pinned[("NCCT", "KH", "victims_rescued", "2019-S1", "F", "_T", "_T", "_T", "SE", "_T")] == (0, 6)


def test_the_3x3_sex_by_age_table_is_caught_and_fixed():
    """sex (F, M, unknown) x age (three bands, unknown, and the aggregate under 18)."""
    counts = {
        "F": (20, 30, 1, 8),
        "M": (30, 8, 15, 5),
        "_U": (15, 12, 15, 3),
    }
    cells = []
    for sex, (under_15, from_15, adults, unknown) in [
        *counts.items(),
        ("_T", tuple(map(sum, zip(*counts.values(), strict=True)))),
    ]:
        for age, count in (
            ("Y_LT15", under_15),
            ("Y15T17", from_15),
            ("Y_GE18", adults),
            ("_U", unknown),
            ("Y_LT18", under_15 + from_15),
            ("_T", under_15 + from_15 + adults + unknown),
        ):
            cells.append(("_T", sex, age, "KH", "2019-S1", count))
    table = table_of(*cells)
    pinned = caught_and_fixed(table, {2, 3, 6, 7, 8, 9, 12, 13, 14, 15}, 10)
    assert pinned[("NCCT", "KH", "victims_rescued", "2019-S1", "F", "Y_GE18", "_T", "_T", "_T", "_T")] == (0, 9)


def test_an_area_sum_beside_a_period_tiling_is_caught_and_fixed():
    """Two provinces and the country, two months and the year to date, by offence: three kinds of group at once.

    Each province's months add up to its year to date, the provinces add up to the country, the offences to
    the total; no group has one suppressed member, yet KH-1's HT in January (3) is bounded to 3..11.
    """
    grid = {  # (area, month): (HT, SE)
        ("KH-1", "2019-01"): (3, 8),
        ("KH-1", "2019-02"): (8, 0),
        ("KH-2", "2019-01"): (0, 20),
        ("KH-2", "2019-02"): (20, 0),
    }
    cells = []
    for area in ("KH-1", "KH-2", "KH"):
        for period in ("2019-01", "2019-02", "2019-01/2019-02"):
            parts = [v for (a, m), v in grid.items() if area in ("KH", a) and period in (m, "2019-01/2019-02")]
            ht, se = (sum(p[i] for p in parts) for i in (0, 1))
            cells += [
                ("HT", "_T", "_T", area, period, ht),
                ("SE", "_T", "_T", area, period, se),
                ("_T", "_T", "_T", area, period, ht + se),
            ]
    table = table_of(*cells)
    hidden = {0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 14, 15, 16, 18, 19, 21, 22}
    pinned = caught_and_fixed(table, hidden, 10)
    assert pinned[("NCCT", "KH-1", "victims_rescued", "2019-01", "_T", "_T", "_T", "_T", "HT", "_T")] == (3, 11)


# ------------------------------------------------------------------ properties
@PROPERTY
@given(rows=tables(), min_cell=st.integers(2, 25))
def test_property_every_suppressed_count_is_at_least_k_wide(rows, min_cell):
    assume(rows)  # a table with no figure has nothing to protect
    out = confidentiality(frame(*rows), REGISTRY, min_cell)
    assert out["protected"].drop_nulls().all()
    assert_audited(figures_of(out), min_cell)


@PROPERTY
@given(rows=PERIODS_OR_PROVINCES, min_cell=st.integers(2, 25))
def test_property_periods_and_provinces_pass_the_audit(rows, min_cell):
    assume(rows)  # a table with no figure has nothing to protect
    assert_audited(figures_of(confidentiality(frame(*rows), REGISTRY, min_cell)), min_cell)


def test_points_seen_in_one_audit_serve_the_next_only_while_the_suppression_grows():
    """One Auditor, successive patterns: its verdicts are those of the independent auditor on each pattern, whether
    the suppression grows (the points seen stay feasible) or shrinks (they may not: it starts afresh)."""
    table = offence_by_sex()
    cells = table.select(*KEY, "value").with_row_index("_cell").with_columns(pl.col("_cell").cast(pl.Int64))
    values = cells["value"].to_numpy()
    auditor = Auditor(relations_that_hold(disclosure_groups(cells, REGISTRY), values), values, 10)
    keys = [tuple(row) for row in table.select(KEY).iter_rows()]
    patterns = [{0, 1, 4, 5, 8, 9, 6, 7}, set(range(12)), {0, 1, 4, 5, 8, 9}]  # growing, then a smaller pattern
    verdicts = []
    for hidden in patterns:
        suppressed = np.zeros(table.height, dtype=bool)
        suppressed[sorted(hidden)] = True
        found = auditor.audit(suppressed).intervals
        pinned = narrow(with_pattern(table, hidden), 10)
        theirs = feasible_intervals(with_pattern(table, hidden))
        for cell, low, high, protected in found.select("_cell", "lower", "upper", "protected").iter_rows():
            true_low, true_high = theirs[keys[cell]]
            assert true_low <= low <= (math.inf if high is None else high) <= true_high, keys[cell]
            assert protected == (keys[cell] not in pinned), (hidden, keys[cell])
        verdicts.append(found["protected"].all())
    assert verdicts[1:] == [True, False]


# ------------------------------------------------------------------ bound propagation before the LPs
def propagated(table: pl.DataFrame, hidden: set[int], min_cell: int) -> dict[tuple, set[int]]:
    """{key: groups} of the suppressed counts that transforms/audit.py's bound propagation proves pinned."""
    cells = table.select(*KEY, "value").with_row_index("_cell").with_columns(pl.col("_cell").cast(pl.Int64))
    values = cells["value"].to_numpy()
    auditor = Auditor(relations_that_hold(disclosure_groups(cells, REGISTRY), values), values, min_cell)
    suppressed = np.zeros(table.height, dtype=bool)
    suppressed[sorted(hidden)] = True
    keys = [tuple(row) for row in table.select(KEY).iter_rows()]
    return {keys[cell]: groups for cell, groups in auditor.propagated_pins(suppressed, suppressed).items()}


def test_a_month_between_two_years_to_date_is_pinned_without_a_linear_programme():
    """January, February and March suppressed, the years to date to February (17) and to March (19) published:
    every relation of the months with their sums holds two or three suppressed counts, yet March is 19 - 17."""
    table = table_of(
        ("_T", "_T", "_T", "KH", "2019-01", 9),
        ("_T", "_T", "_T", "KH", "2019-02", 8),
        ("_T", "_T", "_T", "KH", "2019-03", 2),
        ("_T", "_T", "_T", "KH", "2019-01/2019-02", 17),
        ("_T", "_T", "_T", "KH", "2019-01/2019-03", 19),
    )
    pinned = propagated(table, {0, 1, 2}, 10)
    march = ("NCCT", "KH", "victims_rescued", "2019-03", "_T", "_T", "_T", "_T", "_T", "_T")
    assert march in pinned and pinned[march]
    assert narrow(with_pattern(table, {0, 1, 2}), 10)[march] == (2, 2)
    out = confidentiality(table, REGISTRY, 10)  # the year to date to February gives way
    assert_audited(figures_of(out), 10)


@PROPERTY
@given(
    data=st.data(),
    rows=tables() | tables(parts=(("2019-S1", "KH"), ("2019-S2", "KH")), whole=("2019", "KH")),
    min_cell=st.integers(2, 25),
)
def test_property_bound_propagation_pins_only_what_the_independent_auditor_pins(data, rows, min_cell):
    """Propagation bounds lie outside the feasible interval: a count it calls pinned is pinned."""
    assume(rows)  # a table with no figure has nothing to protect
    table = frame(*rows)
    hidden = data.draw(st.sets(st.integers(0, table.height - 1), max_size=table.height))
    if not hidden:
        return
    pinned = propagated(table, hidden, min_cell)
    truly = narrow(with_pattern(table, hidden), min_cell)
    assert set(pinned) <= set(truly)
    assert all(pinned.values())


# ------------------------------------------------------------------ components solved at once
def audited_with(table: pl.DataFrame, hidden: set[int], min_cell: int, **options) -> pl.DataFrame:
    """transforms/audit.py's intervals of a pattern, with the Auditor's `options` (workers)."""
    cells = table.select(*KEY, "value").with_row_index("_cell").with_columns(pl.col("_cell").cast(pl.Int64))
    values = cells["value"].to_numpy()
    auditor = Auditor(relations_that_hold(disclosure_groups(cells, REGISTRY), values), values, min_cell, **options)
    suppressed = np.zeros(table.height, dtype=bool)
    suppressed[sorted(hidden)] = True
    return auditor.audit(suppressed).intervals.sort("_cell")


def assert_agrees_with_the_independent_auditor(found: pl.DataFrame, table: pl.DataFrame, hidden, min_cell) -> None:
    """An exact interval is the independent LP's, any other lies inside it, and a count is called protected
    exactly when the independent auditor finds it so."""
    pattern = with_pattern(table, hidden)
    theirs = feasible_intervals(pattern)
    pinned = narrow(pattern, min_cell)
    keys = [tuple(row) for row in table.select(KEY).iter_rows()]
    for cell, low, high, exact, protected in found.select("_cell", "lower", "upper", "exact", "protected").iter_rows():
        true_low, true_high = theirs[keys[cell]]
        high = math.inf if high is None else high
        if exact:
            assert (low, high) == (true_low, true_high), keys[cell]
        else:
            assert true_low <= low <= high <= true_high, keys[cell]
        assert protected == (keys[cell] not in pinned), keys[cell]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), rows=tables() | PERIODS_OR_PROVINCES, min_cell=st.integers(2, 25))
def test_property_components_solved_at_once_agree_with_the_independent_auditor(data, rows, min_cell):
    """Two components at a time, each by its own solver in a thread: an exact interval is the independent LP's,
    any other lies inside it, and a count is called protected exactly when the independent auditor finds it so."""
    assume(rows)  # a table with no figure has nothing to protect
    table = frame(*rows)
    hidden = data.draw(st.sets(st.integers(0, table.height - 1), min_size=1, max_size=table.height))
    found = audited_with(table, hidden, min_cell, workers=2)
    assert found.height == len(hidden)
    assert_agrees_with_the_independent_auditor(found, table, hidden, min_cell)


def test_components_solved_at_once_give_the_table_they_give_one_by_one():
    """Three tables that share no relation (two indicators, another reporter): one solver per component in threads
    gives the same suppression and intervals as one component after another."""
    base = offence_by_sex()
    table = pl.concat(
        [
            base,
            base.with_columns(pl.lit("suspects_to_court").alias("indicator")),
            base.with_columns(pl.lit("MOI").alias("reporter"), pl.col("value") * 2),
        ]
    )
    one_by_one = confidentiality(table, REGISTRY, 10)
    at_once = confidentiality(table, REGISTRY, 10, workers=2)
    assert at_once.equals(one_by_one)
    assert (one_by_one["conf"] == "D").sum() > 0 and one_by_one["protected"].drop_nulls().all()


# ------------------------------------------------------------------ relations the cycles imply, left out of the LPs
MONTHS = ("2019-01", "2019-02", "2019-03", "2019-04")


@st.composite
def years_to_date(draw):
    """Months of one series with every year to date from February on (whose short tilings the cycles imply), by
    offence; now and then a year to date off by some counts, so that its relations no longer hold."""
    rows = []
    for offence in ("HT", "SE"):
        months = draw(st.lists(st.integers(0, 15), min_size=len(MONTHS), max_size=len(MONTHS)))
        rows += [figure(count, period=month, offence=offence) for month, count in zip(MONTHS, months, strict=True)]
        for end in range(2, len(MONTHS) + 1):
            off = draw(st.sampled_from((0, 0, 0, 0, 3, -2)))
            rows.append(
                figure(max(0, sum(months[:end]) + off), period=f"{MONTHS[0]}/{MONTHS[end - 1]}", offence=offence)
            )
    totals: dict[str, int] = {}
    for row in rows:
        totals[row["period"]] = totals.get(row["period"], 0) + row["value"]
    rows += [figure(count, period=period) for period, count in totals.items()]
    return rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), rows=years_to_date(), min_cell=st.integers(2, 15))
def test_property_leaving_out_the_relations_the_cycles_imply_changes_no_interval(data, rows, min_cell):
    """The LPs leave out a year to date as an earlier one and the months after it where the cycles of its series
    hold: the intervals are those of the independent auditor (every tiling) and of the audit with every row."""
    table = frame(*rows)
    hidden = data.draw(st.sets(st.integers(0, table.height - 1), min_size=1, max_size=table.height))
    cells = table.select(*KEY, "value").with_row_index("_cell").with_columns(pl.col("_cell").cast(pl.Int64))
    values = cells["value"].to_numpy()
    relations = relations_that_hold(disclosure_groups(cells, REGISTRY), values)
    suppressed = np.zeros(table.height, dtype=bool)
    suppressed[sorted(hidden)] = True
    found = Auditor(relations, values, min_cell).audit(suppressed).intervals.sort("_cell")
    every_row = Auditor(dataclasses.replace(relations, implied=None), values, min_cell).audit(suppressed).intervals
    assert found["protected"].to_list() == every_row.sort("_cell")["protected"].to_list()
    assert_agrees_with_the_independent_auditor(found, table, hidden, min_cell)


def test_a_year_to_date_as_an_earlier_one_and_a_month_is_left_out_only_where_its_cycles_hold():
    months = [figure(count, period=month) for month, count in zip(MONTHS, (4, 6, 3, 5), strict=True)]
    ytd = [figure(sum((4, 6, 3, 5)[:end]), period=f"{MONTHS[0]}/{MONTHS[end - 1]}") for end in range(2, 5)]
    cells = (
        frame(*months, *ytd).select(*KEY, "value").with_row_index("_cell").with_columns(pl.col("_cell").cast(pl.Int64))
    )
    members = disclosure_groups(cells, REGISTRY)
    holding = relations_that_hold(members, cells["value"].to_numpy())
    assert holding.implied.any() and not holding.implied.all()
    broken = cells.with_columns(pl.when(pl.col("_cell") == 5).then(pl.col("value") + 1).otherwise(pl.col("value")))
    assert not relations_that_hold(members, broken["value"].to_numpy()).implied.any()


# ------------------------------------------------------------------ counts anywhere in int64
LARGEST = 2**63 - 1  # the largest count the contract allows (int64)


def sexes(total: int, female: int, male: int, period: str = "2019-S1") -> pl.DataFrame:
    return table_of(
        ("_T", "_T", "_T", "KH", period, total),
        ("_T", "F", "_T", "KH", period, female),
        ("_T", "M", "_T", "KH", period, male),
    )


def test_whether_a_relation_holds_is_exact_for_counts_near_the_largest_int64():
    """5 + 9223372036854775801 falls 1 short of 9223372036854775807; as floats, all three are 2**63 and the
    relation would seem to hold exactly. It holds as an inequality with a slack of 1."""
    table = sexes(LARGEST, 5, LARGEST - 6)
    cells = table.select(*KEY, "value").with_row_index("_cell").with_columns(pl.col("_cell").cast(pl.Int64))
    relations = relations_that_hold(disclosure_groups(cells, REGISTRY), cells["value"].to_numpy())
    assert relations.equal.tolist() == [False] and relations.slack.tolist() == [1]
    exact = relations_that_hold(disclosure_groups(cells, REGISTRY), sexes(LARGEST, 5, LARGEST - 5)["value"].to_numpy())
    assert exact.equal.tolist() == [True] and exact.slack.tolist() == [0]


def test_a_small_count_beside_counts_near_the_largest_int64_is_protected_with_exact_bounds():
    """9223372036854775807 suspects, 5 women and 9223372036854775802 men: the 5 is suppressed, and the men
    to protect it; the bounds are whole counts within int64, the men's upper one 9223372036854775807 exactly
    (5 women seen at 0), and each pair of bounds adds up to the total."""
    out = confidentiality(sexes(LARGEST, 5, LARGEST - 5), REGISTRY, 10)
    rows = {r["sex"]: r for r in out.iter_rows(named=True)}
    assert [rows[s]["conf"] for s in ("_T", "F", "M")] == ["F", "C", "D"]
    women, men = rows["F"], rows["M"]
    assert women["protected"] and women["lower"] <= 5 <= women["upper"] and women["upper"] - women["lower"] >= 10
    assert men["lower"] <= LARGEST - 5 <= men["upper"] == LARGEST
    assert men["lower"] + women["upper"] == LARGEST and out["upper"].drop_nulls().max() <= LARGEST
    # Women and men suppressed, the total published, K as large as the total (no two points short of the bounds
    # settle them): both solved to their exact bounds, 0 to the total.
    found = ctip_audit(sexes(LARGEST, 5, LARGEST - 5), {1, 2}, LARGEST)
    assert found.select("lower", "upper", "exact").rows() == [(0, LARGEST, True), (0, LARGEST, True)]


def test_a_small_count_that_floats_would_call_protected_is_pinned_in_integers():
    """Total 9223372036854774277 and men 9223372036854774271, both public (an earlier release): the 5 women lie
    between 0 and 6. As floats the total and the men are 2**63 - 1024 and 2**63 - 2048, which would leave the
    women 0 to 1024 and pass them; in integers they cannot be protected."""
    total, men = 2**63 - 1531, 2**63 - 1537
    table = sexes(total, 5, men)
    with pytest.raises(UnprotectedTable) as refused:
        confidentiality(table, REGISTRY, 10, known=table.filter(pl.col("sex") != "F"))
    assert refused.value.figures.select("sex", "value", "lower", "upper").rows() == [("F", 5, 0, 6)]
    assert sorted(refused.value.public["value"].to_list()) == [men, total]


def test_periods_near_the_largest_int64_are_protected():
    """A year to February of 9223372036854775790 as January's 9223372036854775783 and February's 7."""
    table = table_of(
        ("_T", "_T", "_T", "KH", "2019-01", LARGEST - 24),
        ("_T", "_T", "_T", "KH", "2019-02", 7),
        ("_T", "_T", "_T", "KH", "2019-01/2019-02", LARGEST - 17),
    )
    out = confidentiality(table, REGISTRY, 10)
    assert out.filter(pl.col("value") == 7)["conf"].to_list() == ["C"]
    assert (out["conf"] != "F").sum() >= 2 and out["protected"].drop_nulls().all()
    for row in out.filter(pl.col("conf") != "F").iter_rows(named=True):
        assert 0 <= row["lower"] <= row["value"] <= row["upper"] <= LARGEST, row


@PROPERTY
@given(
    data=st.data(),
    rows=tables() | tables(parts=(("2019-S1", "KH"), ("2019-S2", "KH")), whole=("2019", "KH")),
    min_cell=st.integers(2, 25),
)
def test_property_the_audit_in_integers_agrees_with_the_audit_in_floats(data, rows, min_cell):
    """Where floats are exact (small counts), the integer path taken for counts near the largest int64 gives the
    same propagated bounds and the same intervals."""
    assume(rows)
    table = frame(*rows)
    hidden = data.draw(st.sets(st.integers(0, table.height - 1), min_size=1, max_size=table.height))
    cells = table.select(*KEY, "value").with_row_index("_cell").with_columns(pl.col("_cell").cast(pl.Int64))
    values = cells["value"].to_numpy()
    suppressed = np.zeros(table.height, dtype=bool)
    suppressed[sorted(hidden)] = True
    relations = relations_that_hold(disclosure_groups(cells, REGISTRY), values)
    floats, integers = Auditor(relations, values, min_cell), Auditor(relations, values, min_cell)
    integers.exact = True
    low, high, _ = floats.outer_bounds(suppressed)
    least, most, _ = integers.outer_bounds(suppressed)
    assert np.array_equal(low, least) and np.array_equal(high, most)
    assert floats.audit(suppressed).intervals.equals(integers.audit(suppressed).intervals)
