"""Cell suppression: no published count below K, and no suppressed count recoverable from published ones.

`derivations` is an auditor written apart from transforms/disclosure.py: for every
group of figures that add up to a total (along each dimension, each aggregate, the
country against its provinces, and periods that tile a longer one), whenever all
members but one are published it works the one out by subtraction. The suppression
is right when it finds none.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from schemas import load_registry
from schemas.registry import TOTAL, UNKNOWN
from transforms.disclosure import PUBLIC_COLUMNS, UnprotectedTable, confidentiality, protect_comparison
from transforms.periods import parse_period

REGISTRY = load_registry()
DIMS = REGISTRY.dimension_names
SLICE = ("reporter", "area", "indicator", "period")
KEY = (*SLICE, *DIMS)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ the auditor
@dataclass(frozen=True)
class Derivation:
    group: str
    cell: tuple
    derived: int
    actual: int

    @property
    def exact(self) -> bool:
        return self.derived == self.actual


def figures_of(table: pl.DataFrame, value: str = "value", conf: str = "conf", original: str | None = None) -> dict:
    """{key: (count, published)} from rows with the key columns, a count and its status."""
    out = {}
    for row in table.iter_rows(named=True):
        count = row[original or value]
        if count is None:
            continue
        key = tuple(row[c] for c in KEY)
        out[key] = (count, row[conf] == "F")
    return out


def _groups(figures: dict):
    """(name, total key, part keys) for every additive group held in `figures`."""
    for index, name in enumerate(DIMS):
        position = len(SLICE) + index
        dimension = REGISTRY.dimensions[name]
        by_other: dict[tuple, dict[str, tuple]] = defaultdict(dict)
        for key in figures:
            by_other[key[:position] + ("*",) + key[position + 1 :]][key[position]] = key
        for held in by_other.values():
            total = held.get(TOTAL)
            leaves = [held[c] for c in (*dimension.leaves, UNKNOWN) if c in held]
            for aggregate, members in dimension.aggregates.items():
                if aggregate in held:
                    yield f"{name}:{aggregate}", held[aggregate], [held[c] for c in members if c in held]
            if total is None:
                continue
            shadowed = {c for a, members in dimension.aggregates.items() if a in held for c in members}
            substituted = [held[a] for a in dimension.aggregates if a in held]
            substituted += [k for k in leaves if k[position] not in shadowed]
            yield f"{name}:total", total, substituted
            yield f"{name}:total-by-leaves", total, leaves
    provinces: dict[tuple, dict[str, tuple]] = defaultdict(dict)
    for key in figures:
        provinces[key[:1] + key[2:]][key[1]] = key
    for held in provinces.values():
        for country in {a.split("-")[0] for a in held if "-" in a}:
            if country in held:
                yield f"area:{country}", held[country], [k for a, k in held.items() if a.startswith(country + "-")]
    series: dict[tuple, dict[str, tuple]] = defaultdict(dict)
    for key in figures:
        series[key[:3] + key[4:]][key[3]] = key
    for held in series.values():
        spans = {}
        for code in held:
            period = parse_period(code)
            spans[code] = (period.start.year * 12 + period.start.month, period.end.year * 12 + period.end.month)
        for total, (start, end) in spans.items():
            inside = [c for c, (s, e) in spans.items() if c != total and s >= start and e <= end]
            for size in range(1, len(inside) + 1):
                for chosen in itertools.combinations(inside, size):
                    covered = sorted(spans[c] for c in chosen)
                    if (
                        covered[0][0] == start
                        and covered[-1][1] == end
                        and all(a[1] == b[0] for a, b in zip(covered, covered[1:], strict=False))
                    ):
                        yield f"period:{total}", held[total], [held[c] for c in chosen]


def derivations(figures: dict) -> list[Derivation]:
    """Every suppressed count worked out from a group whose other members are all published."""
    found = []
    for name, total, parts in _groups(figures):
        if not parts:
            continue
        members = [total, *parts]
        hidden = [k for k in members if not figures[k][1]]
        if len(hidden) != 1:
            continue
        cell = hidden[0]
        if cell == total:
            derived = sum(figures[k][0] for k in parts)
        else:
            derived = figures[total][0] - sum(figures[k][0] for k in parts if k != cell)
        found.append(Derivation(name, cell, derived, figures[cell][0]))
    return found


def assert_protected(figures: dict, min_cell: int) -> None:
    small = [k for k, (count, published) in figures.items() if published and 1 <= count < min_cell]
    assert not small, f"published counts below {min_cell}: {small}"
    found = derivations(figures)
    assert not [d for d in found if d.exact], f"suppressed counts recovered exactly: {found}"
    assert not found, f"suppressed counts bounded by a total and its other published parts: {found}"


# ------------------------------------------------------------------ building tables
def figure(value, period="2019-S1", indicator="victims_rescued", area="KH", **cut) -> dict:
    row = {"reporter": "NCCT", "area": area, "indicator": indicator, "period": period}
    row.update({d: TOTAL for d in DIMS})
    row.update(cut)
    row["value"] = value
    return row


def frame(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={**{c: pl.String for c in KEY}, "value": pl.Int64})


def statuses(table: pl.DataFrame) -> dict:
    out = {}
    for row in table.iter_rows(named=True):
        cut = tuple(f"{d}={row[d]}" for d in DIMS if row[d] != TOTAL)
        out[(row["period"], *cut)] = row["conf"]
    return out


# ------------------------------------------------------------------ examples
def test_a_small_foreign_count_is_protected_against_the_aggregate():
    table = frame(
        figure(97, indicator="suspects_to_court"),
        figure(14, indicator="suspects_to_court", citizenship="FOREIGN"),
        figure(12, indicator="suspects_to_court", citizenship="CN"),
        figure(2, indicator="suspects_to_court", citizenship="US"),
    )
    out = confidentiality(table, REGISTRY, 10)
    assert out["conf"].to_list() == ["F", "F", "D", "C"]
    assert_protected(figures_of(out), 10)


def test_zero_is_published_and_k_of_one_suppresses_nothing():
    table = frame(figure(5), figure(0, sex="F"), figure(5, sex="M"))
    assert confidentiality(table, REGISTRY, 10)["conf"].to_list() == ["C", "F", "C"]
    assert confidentiality(table, REGISTRY, 1)["conf"].to_list() == ["F", "F", "F"]


def test_a_zero_is_not_the_first_choice_to_protect_a_small_count():
    table = frame(figure(40), figure(3, sex="F"), figure(0, sex="M"), figure(37, sex=UNKNOWN))
    out = confidentiality(table, REGISTRY, 10)
    assert out["conf"].to_list() == ["F", "C", "F", "D"]


def test_the_total_goes_when_it_has_no_other_part():
    table = frame(figure(50), figure(3, sex="F"))
    assert confidentiality(table, REGISTRY, 10)["conf"].to_list() == ["D", "C"]


def test_cross_cuts_are_protected_along_both_dimensions():
    rows = [figure(60)]
    counts = {("HT", "F"): 4, ("HT", "M"): 21, ("SE", "F"): 15, ("SE", "M"): 20}
    for offence in ("HT", "SE"):
        rows.append(figure(sum(v for (o, _), v in counts.items() if o == offence), offence=offence))
    for sex in ("F", "M"):
        rows.append(figure(sum(v for (_, s), v in counts.items() if s == sex), sex=sex))
    rows += [figure(v, offence=o, sex=s) for (o, s), v in counts.items()]
    out = confidentiality(frame(*rows), REGISTRY, 10)
    got = statuses(out)
    assert got[("2019-S1", "sex=F", "offence=HT")] == "C"
    assert sum(s != "F" for s in got.values()) >= 4  # a rectangle at least
    assert_protected(figures_of(out), 10)


def test_age_aggregate_and_its_bands():
    table = frame(
        figure(100),
        figure(30, age="Y_LT18"),
        figure(7, age="Y_LT15"),
        figure(23, age="Y15T17"),
        figure(60, age="Y_GE18"),
        figure(10, age=UNKNOWN),
    )
    out = confidentiality(table, REGISTRY, 10)
    got = statuses(out)
    assert got[("2019-S1", "age=Y_LT15")] == "C" and got[("2019-S1", "age=Y15T17")] == "D"
    assert_protected(figures_of(out), 10)


def test_periods_that_add_up_are_protected():
    table = frame(
        figure(4, period="2019-S1"),
        figure(30, period="2019-S2"),
        figure(34, period="2019"),
        figure(12, period="2018"),
    )
    out = confidentiality(table, REGISTRY, 10)
    assert out["conf"].to_list() == ["C", "D", "F", "F"]
    assert_protected(figures_of(out), 10)


def test_months_quarters_and_years_to_date_are_protected():
    months = {"2019-01": 4, "2019-02": 20, "2019-03": 15, "2019-04": 30, "2019-05": 11, "2019-06": 2}
    rows = [figure(v, period=p) for p, v in months.items()]
    rows += [figure(39, period="2019-Q1"), figure(43, period="2019-Q2"), figure(82, period="2019-S1")]
    rows += [figure(24, period="2019-01/2019-02"), figure(39, period="2019-01/2019-03")]
    out = confidentiality(frame(*rows), REGISTRY, 10)
    got = dict(zip(out["period"], out["conf"], strict=True))
    assert got["2019-01"] == got["2019-06"] == "C"
    assert_protected(figures_of(out), 10)


def test_a_small_province_is_protected_against_the_country():
    table = frame(figure(50), figure(3, area="KH-1"), figure(47, area="KH-2"), figure(60, period="2019-S2"))
    assert confidentiality(table, REGISTRY, 10)["conf"].to_list() == ["F", "C", "D", "F"]


def test_two_figures_with_one_key_are_refused():
    with pytest.raises(ValueError, match="share a key"):
        confidentiality(frame(figure(5), figure(6)), REGISTRY, 10)


def comparison_of(current: list[dict], base: list[dict]) -> pl.DataFrame:
    """A comparison table as the mart builds it: every figure as a row, beside the year before."""
    figures = frame(*current, *base).with_columns(
        pl.col("period").map_elements(lambda p: parse_period(p).type, return_dtype=pl.String).alias("period_type"),
        pl.col("period").map_elements(lambda p: parse_period(p).base.code, return_dtype=pl.String).alias("base_period"),
    )
    before = figures.select(
        *(c for c in KEY if c != "period"), pl.col("period").alias("base_period"), pl.col("value").alias("base_value")
    )
    joined = figures.join(before, on=[*(c for c in KEY if c != "period"), "base_period"], how="left")
    return joined.with_columns(
        (pl.col("value") - pl.col("base_value")).alias("change"),
        pl.when(pl.col("base_value").is_null() | (pl.col("base_value") == 0))
        .then(None)
        .otherwise(100.0 * (pl.col("value") - pl.col("base_value")) / pl.col("base_value"))
        .alias("change_pct"),
        pl.lit("A").alias("status"),
    )


def published_figures(original: pl.DataFrame, published: pl.DataFrame) -> dict:
    """{key: (true count, published)} over both the value and the base_value columns."""
    joined = published.join(
        original.select(*KEY, pl.col("value").alias("_value"), pl.col("base_value").alias("_base")), on=list(KEY)
    )
    figures = figures_of(joined, conf="value_conf", original="_value")
    base = joined.drop("period").rename({"base_period": "period"})
    for key, (count, shown) in figures_of(base, conf="base_value_conf", original="_base").items():
        assert figures.get(key, (count, shown)) == (count, shown), "a figure has two statuses"
        figures[key] = (count, shown)
    return figures


def test_change_is_null_when_either_count_is_suppressed():
    current = [
        figure(50),
        figure(3, sex="F"),
        figure(22, sex="M"),
        figure(25, sex=UNKNOWN),
        figure(0, offence="HT"),
        figure(50, offence="SE"),
    ]
    base = [
        figure(40, period="2018-S1"),
        figure(25, sex="F", period="2018-S1"),
        figure(5, sex="M", period="2018-S1"),
        figure(10, sex=UNKNOWN, period="2018-S1"),
        figure(9, offence="HT", period="2018-S1"),
        figure(31, offence="SE", period="2018-S1"),
    ]
    original = comparison_of(current, base)
    out = protect_comparison(original, REGISTRY, 10, ("status",)).table
    assert out.columns == [*PUBLIC_COLUMNS, "value_conf", "base_value_conf", "status"]
    assert out.schema["value"] == pl.Int64 and out.schema["change_pct"] == pl.Float64
    rows = {(r["period"], r["sex"], r["offence"]): r for r in out.iter_rows(named=True)}
    female, male, ht = rows[("2019-S1", "F", "_T")], rows[("2019-S1", "M", "_T")], rows[("2019-S1", "_T", "HT")]
    assert (female["value_conf"], female["base_value_conf"]) == ("C", "F")
    assert (female["value"], female["base_value"], female["change"], female["change_pct"]) == (None, 25, None, None)
    # one public status for every suppressed count: a secondary suppression reads C too
    assert (male["value_conf"], male["base_value_conf"], male["base_value"], male["change"]) == ("C", "C", None, None)
    assert (ht["value"], ht["value_conf"], ht["base_value_conf"], ht["change"]) == (0, "F", "C", None)
    headline = rows[("2019-S1", "_T", "_T")]
    assert (headline["value"], headline["base_value"], headline["change"], headline["change_pct"]) == (50, 40, 10, 25.0)
    suppressed = pl.col("value_conf").is_in(["C", "D"]) | pl.col("base_value_conf").is_in(["C", "D"])
    assert out.filter(suppressed & (pl.col("change").is_not_null() | pl.col("change_pct").is_not_null())).height == 0
    assert rows[("2018-S1", "M", "_T")]["value_conf"] == "C"  # the same figure, the same status in both columns
    assert_protected(published_figures(original, out), 10)


# ------------------------------------------------------------------ properties
CUTS = {
    "sex": (["F", "M", UNKNOWN], {}),
    "age": (["Y_LT15", "Y15T17", "Y_GE18", UNKNOWN], {"Y_LT18": {"Y_LT15", "Y15T17"}}),
    "citizenship": (["KH", "CN", "US", UNKNOWN], {"FOREIGN": {"CN", "US"}}),
    "offence": (["HT", "SE"], {}),
}


def _codes(name: str) -> list[tuple[str, set[str]]]:
    leaves, aggregates = CUTS[name]
    return [(c, {c}) for c in leaves] + list(aggregates.items()) + [(TOTAL, set(leaves))]


@st.composite
def tables(draw, parts=(("2019-S1", "KH"),), whole=None):
    """Figures of one indicator that add up: leaf counts, then every total, aggregate and cross-cut; some dropped.

    `parts` are (period, area) pairs; `whole`, when given, is the (period, area) they add up to.
    """
    dims = draw(st.lists(st.sampled_from(sorted(CUTS)), min_size=1, max_size=2, unique=True))
    small = st.integers(0, 12) | st.integers(0, 60)
    rows = []
    sums: dict[tuple, int] = defaultdict(int)
    for period, area in parts:
        leaves = list(itertools.product(*(CUTS[d][0] for d in dims)))
        counts = dict(zip(leaves, draw(st.lists(small, min_size=len(leaves), max_size=len(leaves))), strict=True))
        for combo in itertools.product(*(_codes(d) for d in dims)):
            covered = (v for leaf, v in counts.items() if all(leaf[i] in c for i, (_, c) in enumerate(combo)))
            value = sum(covered)
            cut = {d: code for d, (code, _) in zip(dims, combo, strict=True)}
            sums[tuple(cut.items())] += value
            rows.append(figure(value, period=period, area=area, **cut))
    if whole:
        rows += [figure(value, period=whole[0], area=whole[1], **dict(cut)) for cut, value in sums.items()]
    keep = draw(st.lists(st.booleans() | st.just(True), min_size=len(rows), max_size=len(rows)))
    return [row for row, kept in zip(rows, keep, strict=True) if kept]


@PROPERTY
@given(rows=tables(), min_cell=st.integers(1, 25))
def test_property_random_tables_are_protected(rows, min_cell):
    assume(rows)  # a table with no figure has nothing to protect
    out = confidentiality(frame(*rows), REGISTRY, min_cell)
    assert out["conf"].is_in(["F", "C", "D"]).all()
    assert out.filter(pl.col("value").is_between(1, min_cell - 1))["conf"].eq("C").all()
    assert out.filter(pl.col("conf") == "C")["value"].is_between(1, min_cell - 1).all()
    assert_protected(figures_of(out), min_cell)


# Halves with their year, or provinces with the country.
PERIODS_OR_PROVINCES = tables(parts=(("2019-S1", "KH"), ("2019-S2", "KH")), whole=("2019", "KH")) | tables(
    parts=(("2019-S1", "KH-1"), ("2019-S1", "KH-2"), ("2019-S1", "KH-3")), whole=("2019-S1", "KH")
)


@PROPERTY
@given(rows=PERIODS_OR_PROVINCES, min_cell=st.integers(2, 25))
def test_property_periods_and_provinces_are_protected(rows, min_cell):
    assume(rows)  # a table with no figure has nothing to protect
    assert_protected(figures_of(confidentiality(frame(*rows), REGISTRY, min_cell)), min_cell)


@PROPERTY
@given(current=tables(), base=tables(parts=(("2018-S1", "KH"),)), min_cell=st.integers(2, 25))
def test_property_comparisons_are_protected_in_both_columns(current, base, min_cell):
    if not current:
        return
    original = comparison_of(current, base)
    out = protect_comparison(original, REGISTRY, min_cell).table
    assert out.schema["value"] == pl.Int64 and out.schema["base_value"] == pl.Int64
    for column in ("value", "base_value"):
        assert not out[column].is_between(1, min_cell - 1).any()
    hidden = pl.col("value_conf").is_in(["C", "D"]) | pl.col("base_value_conf").is_in(["C", "D"])
    assert out.filter(hidden)["change"].is_null().all() and out.filter(hidden)["change_pct"].is_null().all()
    assert_protected(published_figures(original, out), min_cell)


# ------------------------------------------------------------------ the same table, the same suppression
def status_by_key(out: pl.DataFrame) -> dict:
    return {tuple(row[c] for c in KEY): (row["conf"], row["lower"], row["upper"]) for row in out.iter_rows(named=True)}


def test_the_same_table_gets_the_same_suppression_whatever_the_order_of_its_rows():
    """Counts that tie (two parts of 5, two of 20) leave the choice of a secondary suppression open: it must not
    depend on the order the rows come in, nor change from one run to the next."""
    rows = []
    for area in ("KH-1", "KH-2", "KH"):
        scale = 2 if area == "KH" else 1
        counts = {("HT", "F"): 5, ("HT", "M"): 5, ("SE", "F"): 20, ("SE", "M"): 20}
        for period in ("2019-01", "2019-02", "2019-01/2019-02"):
            months = 2 if "/" in period else 1
            for (offence, sex), count in counts.items():
                rows.append(figure(count * scale * months, period=period, area=area, offence=offence, sex=sex))
            for position, dimension in enumerate(("offence", "sex")):  # each code's total over the other dimension
                for code in sorted({cut[position] for cut in counts}):
                    total = sum(v for cut, v in counts.items() if cut[position] == code) * scale * months
                    rows.append(figure(total, period=period, area=area, **{dimension: code}))
            rows.append(figure(sum(counts.values()) * scale * months, period=period, area=area))
    table = frame(*rows)
    first = status_by_key(confidentiality(table, REGISTRY, 10))
    assert first == status_by_key(confidentiality(table, REGISTRY, 10))
    for seed in range(4):
        assert (
            status_by_key(confidentiality(table.sample(fraction=1.0, shuffle=True, seed=seed), REGISTRY, 10)) == first
        )
    assert sum(conf == "D" for conf, _, _ in first.values()) > 0


@PROPERTY
@given(
    rows=tables(parts=(("2019-S1", "KH-1"), ("2019-S1", "KH-2")), whole=("2019-S1", "KH")),
    min_cell=st.integers(2, 25),
    seed=st.integers(0, 2**16),
)
def test_property_the_order_of_the_rows_changes_nothing(rows, min_cell, seed):
    assume(rows)  # a table with no figure has nothing to protect
    table = frame(*rows)
    shuffled = table.sample(fraction=1.0, shuffle=True, seed=seed)
    assert status_by_key(confidentiality(shuffled, REGISTRY, min_cell)) == status_by_key(
        confidentiality(table, REGISTRY, min_cell)
    )


def test_a_figure_an_earlier_release_published_is_never_suppressed_to_protect_another():
    """Release 1 published the first half (SE 40); the second half's SE of 5 is small. Suppressing the first
    half's 40 to protect it would hide nothing from a reader of release 1: the year's SE (45) would then give
    the 5 away. Known figures stay published, and others are suppressed instead."""
    first = [figure(100, "2019-S1"), figure(60, "2019-S1", offence="HT"), figure(40, "2019-S1", offence="SE")]
    later = [
        figure(50, "2019-S2"),
        figure(45, "2019-S2", offence="HT"),
        figure(5, "2019-S2", offence="SE"),
        figure(150, "2019"),
        figure(105, "2019", offence="HT"),
        figure(45, "2019", offence="SE"),
    ]
    alone = statuses(confidentiality(frame(*first, *later), REGISTRY, 10))
    assert alone[("2019-S1", "offence=SE")] == "D"  # protected on its own, the table would hide a public figure
    out = confidentiality(frame(*first, *later), REGISTRY, 10, known=frame(*first))
    found = statuses(out)
    assert [found[("2019-S1", *cut)] for cut in ((), ("offence=HT",), ("offence=SE",))] == ["F", "F", "F"]
    assert found[("2019-S2", "offence=SE")] == "C" and found[("2019", "offence=SE")] == "D"
    assert_protected(figures_of(out), 10)
    # A figure public with another value than it holds now is not known: it may be suppressed.
    revised = confidentiality(frame(*first, *later), REGISTRY, 10, known=frame(figure(41, "2019-S1", offence="SE")))
    assert statuses(revised) == alone


def test_a_small_count_that_public_figures_pin_is_named_with_them():
    """100 in all and 92 under 15 are public (an earlier release); 8 aged 15 to 17 and 0 adults are new. Whatever
    is suppressed, 100 - 92 leaves 8 for the two: the 8 cannot be protected, and the refusal names it, the bounds
    what is published leaves it, and the public figures that pin it."""
    public = [figure(100), figure(92, age="Y_LT15")]
    table = frame(*public, figure(8, age="Y15T17"), figure(0, age="Y_GE18"))
    with pytest.raises(UnprotectedTable) as refused:
        confidentiality(table, REGISTRY, 10, known=frame(*public))
    assert str(refused.value) == "1 small count cannot be protected: figures already public pin them"
    (small,) = refused.value.figures.iter_rows(named=True)
    assert (small["small"], small["age"], small["value"], small["lower"], small["upper"]) == (1, "Y15T17", 8, 0, 8)
    pinning = refused.value.public
    assert sorted(pinning.select("small", "age", "value").rows()) == [(1, "Y_LT15", 92), (1, "_T", 100)]
    # Not public, the 100 or the 92 is suppressed instead, and the table passes.
    assert_protected(figures_of(confidentiality(table, REGISTRY, 10, known=frame(public[1]))), 10)
