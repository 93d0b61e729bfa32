"""The interval audit of a protected table: how far each suppressed count can be pinned down.

An attacker who knows every published count and every additive relation that holds
in the data can solve them together. For every suppressed cell, linear programming
gives the smallest and largest value it can take (counts are at least 0; the
bounds are rounded inward to whole numbers, as the attacker may). A cell is
protected when that feasible interval is at least K wide and contains 0 or a value
of at least K, so that neither "zero" nor "small" can be concluded.

Relations come as groups of cells whose signed counts add up to 0 (`_group`,
`_cell`, `_total`, and `_coef` where a group has more than one negative member), as
transforms/disclosure.py builds them. A group enters the audit only as far as it
holds in the data: `sum(parts) = total` where the counts add up exactly,
`sum(parts) <= total` where a total's parts fall short (an incomplete group), and
not at all otherwise (the country and its provinces need not agree).

Before any linear programme, bound propagation (`outer_bounds`): each relation bounds
each of its suppressed cells by what the published members and the others' bounds
leave, repeated until nothing narrows. These bounds lie outside the feasible interval,
so a cell they show too narrow is pinned without an LP (`propagated_pins`); the others
become the solver's column bounds.

The linear programmes leave out the rows that other rows imply (`Relations.implied`:
a period relation that the cycles of its series add up to, where they all hold), which
changes no feasible set. The relations are then split into connected components over
the suppressed cells; each component is one HiGHS model, re-solved from its last basis
(dual simplex) as objective and bounds change. Components share no cell, so they are
solved apart, several at once in threads where `workers` allows (the solver releases
the interpreter while it runs), with the same outcome in any order. Every feasible point found is kept: the least and most
value each cell has been seen to take. Suppressing more only widens the feasible set
(a published count becomes free), so these points stay feasible from one audit to the
next, and a cell once proved protected is never solved again. A sensitive cell is
settled as cheaply as can be:

1. feasible points: every open cell as low as it can be and as high as it needs (K
   above its lowest value seen) and no higher, so that the slack of a relation is
   shared out, with shares drawn anew each round while a round settles cells (a cell's
   least sought by at most LOWERINGS of them); two points at least K apart prove a cell
   protected, and these are the `lower`, `upper` reported;
2. on the whole component: as high as it needs, then (unless it was seen at its least)
   as low as it can be; short of K apart these are its exact bounds, and the rows that
   bind pin it.

Past EXACT_BUDGET cells of one component per audit, an unsettled cell is taken as
pinned by every relation it is in: that costs suppression, never protection. A
component of one cell is read off its rows; a component whose cells did not change
since an earlier audit of the same table is not solved again.

Pure functions on arrays and Polars frames; no I/O.
"""

from __future__ import annotations

import math
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import highspy
import numpy as np
import polars as pl
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

EPSILON = 1e-6
BATCH_ROUNDS = 50  # at most, rounds of feasible points sought per component before cells are solved one by one
PROPAGATION_ROUNDS = 30  # at most, rounds of bound propagation before the LP audit
EXACT_BUDGET = 2000  # cells of one component solved on their own per audit; past it, an unproved cell is pinned
LOWERINGS = 2  # at most, shared-out points that seek a cell's least before its own solve does
UNBOUNDED = (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible)
# Floats hold every whole number up to 2**53 exactly. Below this sum of the counts (and slacks), every sum the audit
# forms is exact in floats; above it (counts anywhere in int64), the bounds it reports are worked out in integers.
EXACT_FLOATS = 2.0**40
INTERVAL_SCHEMA = {
    "_cell": pl.Int64,
    "lower": pl.Int64,
    "upper": pl.Int128,  # a count bounded by a sum of counts may be bounded beyond the largest int64
    "exact": pl.Boolean,
    "protected": pl.Boolean,
}


@dataclass(frozen=True)
class Relations:
    """The relations that hold in the data, as rows `sum(coef * cell) (= or <=) 0` over all cells.

    `row`, `cell` and `coef` list the members (coef +1 for a part, -1 for the total);
    `equal[r]` says whether row r is an equality; `group[r]` is the group it came from; `implied[r]` (when
    given) that row r is a linear combination of other rows that hold, which the linear programmes leave out;
    `slack[r]` (when given) how far the counts of row r fall short of it, `-sum(coef * count)`, as a Python
    integer (0 for an equality): exact whatever the counts, where a float sum of counts near 2**63 is not.
    """

    row: np.ndarray
    cell: np.ndarray
    coef: np.ndarray
    equal: np.ndarray
    group: np.ndarray
    implied: np.ndarray | None = None
    slack: np.ndarray | None = None


@dataclass
class Audit:
    """The outcome of one audit: the interval of every suppressed cell and, for unprotected ones, what pins it."""

    intervals: pl.DataFrame  # INTERVAL_SCHEMA, one row per suppressed cell
    pinning: dict[int, set[int]] = field(default_factory=dict)  # unprotected cell -> groups whose rows pin it
    solves: int = 0
    components: int = 0


def relations_that_hold(members: pl.DataFrame, values: np.ndarray) -> Relations:
    """The groups of `members` (`_group`, `_cell`, `_total`) as they hold in `values`.

    A group marked `_implied` (a period relation that the cycles of its `_series` add up to) is implied
    where every other period group of its series holds exactly: so is it then, and the LPs leave it out.
    """
    if members.height == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Relations(
            empty, empty, empty.astype(np.float64), np.zeros(0, dtype=bool), empty, slack=np.zeros(0, dtype=object)
        )
    coef = pl.when(pl.col("_total")).then(-1.0).otherwise(1.0)
    if "_coef" in members.columns:
        coef = pl.col("_coef").cast(pl.Float64).fill_null(coef)
    framed = members.select("_group", "_cell", coef.alias("_coef")).with_columns(
        pl.Series("_value", _counts(values)[members["_cell"].to_numpy()], dtype=pl.Int64),
    )
    # in 128-bit integers: whether a relation holds is exact for any int64 counts (a float sum is not past 2**53)
    balance = framed.group_by("_group").agg(
        (pl.col("_coef").cast(pl.Int128) * pl.col("_value").cast(pl.Int128)).sum().alias("_balance"),
        (pl.col("_coef") < 0).sum().alias("_totals"),
    )
    holding = (
        balance.filter((pl.col("_balance") == 0) | ((pl.col("_balance") < 0) & (pl.col("_totals") == 1)))
        .with_columns((pl.col("_balance") == 0).alias("_equal"))
        .join(_implied_groups(members, balance), on="_group", how="left")
        .with_columns(pl.col("_implied").fill_null(False))
        .sort("_group")
        .with_row_index("_row")
    )
    rows = framed.join(holding, on="_group", how="inner").sort("_row", "_cell")
    return Relations(
        row=rows["_row"].cast(pl.Int64).to_numpy(),
        cell=rows["_cell"].to_numpy(),
        coef=rows["_coef"].to_numpy(),
        equal=holding["_equal"].to_numpy(),
        group=holding["_group"].to_numpy(),
        implied=holding["_implied"].to_numpy(),
        slack=np.array([-balance for balance in holding["_balance"].to_list()], dtype=object),
    )


def _implied_groups(members: pl.DataFrame, balance: pl.DataFrame) -> pl.DataFrame:
    """`_group`, `_implied`: the groups marked `_implied` whose series' other groups all hold exactly (sum to 0);
    every relation among a series' periods is then a sum of those, and holds exactly too."""
    if "_implied" not in members.columns or "_series" not in members.columns:
        return pl.DataFrame(schema={"_group": pl.Int64, "_implied": pl.Boolean})
    marked = (
        members.filter(pl.col("_series").is_not_null())
        .group_by("_group")
        .agg(pl.col("_series").first(), pl.col("_implied").first())
        .join(balance.select("_group", "_balance"), on="_group", how="inner")
    )
    exact_series = (
        marked.filter(~pl.col("_implied")).group_by("_series").agg((pl.col("_balance") == 0).all().alias("_exact"))
    )
    return (
        marked.filter(pl.col("_implied"))
        .join(exact_series, on="_series", how="left")
        .select("_group", pl.col("_exact").fill_null(True).alias("_implied"))  # a series of no cycle: nothing to check
    )


def is_protected(lower: float, upper: float, min_cell: int) -> bool:
    """At least K wide, and containing 0 or a value of at least K."""
    return upper - lower >= min_cell and (lower <= 0 or upper >= min_cell)


def _counts(values) -> np.ndarray:
    """Counts as int64, exactly as given (whole floats are taken as the counts they are)."""
    array = np.asarray(values)
    return array.astype(np.int64) if array.dtype.kind in "iu" else np.rint(array).astype(np.int64)


def _near(found: float, bound: int) -> bool:
    """Whether a bound the solver found in floats is `bound` (a whole number), to the precision floats have
    at its size."""
    return abs(found - float(bound)) <= max(EPSILON, 64 * float(np.spacing(abs(float(bound)))))


def _as_floats(numbers, up: bool) -> np.ndarray:
    """Whole numbers (Python integers, or infinities) as floats, rounded up (or down) where a float cannot hold
    one exactly: a bound made a float this way never cuts into the range it bounds."""
    out = np.array(numbers, dtype=np.float64)
    for i in np.flatnonzero(np.isfinite(out) & (np.abs(out) >= 2.0**53)):
        exact, near = int(numbers[i]), float(out[i])
        if (int(near) < exact) if up else (int(near) > exact):
            out[i] = np.nextafter(near, np.inf if up else -np.inf)
    return out


class Auditor:
    """Audits one table's relations for successive sets of suppressed cells, remembering solved components.

    It works in deviations from the true counts, `d = x - count`: a relation that holds exactly is
    `sum(coef * d) = 0`, one whose parts fall short of their total `sum(coef * d) <= slack`, and a count at
    least 0 is `d >= -count`. The true counts are the point d = 0, and the bounds of a small count are small
    deviations, which floats hold exactly however large the counts around them; the intervals are reported as
    counts, `count + d`, in integers.
    """

    def __init__(
        self,
        relations: Relations,
        values: np.ndarray,
        min_cell: int,
        workers: int = 1,
    ):
        self.relations = relations
        self.counts = _counts(values)
        self.values = self.counts.astype(np.float64)
        self.min_cell = min_cell
        exact_counts = self.counts.astype(object)
        self._least = _as_floats(-exact_counts, up=False)  # d >= -count: every count is at least 0
        if relations.slack is None:
            members = np.zeros(relations.equal.size, dtype=object)
            np.add.at(
                members, relations.row, relations.coef.astype(np.int64).astype(object) * exact_counts[relations.cell]
            )
            slack = -members
        else:
            slack = relations.slack
        self._slack = np.asarray(slack, dtype=object)
        self._rhs = _as_floats(self._slack, up=True)  # the right-hand sides in deviations, for every pattern
        # counts past what float sums hold exactly: the reported bounds are then worked out in integers
        self.exact = float(np.abs(self.values).sum()) + float(np.abs(self._rhs).sum()) >= EXACT_FLOATS
        self.workers = max(1, workers)  # components solved at once, each by its own solver in a thread
        self._solved: dict[tuple, tuple[dict[int, tuple[float, float, bool]], dict[int, set[int]], int]] = {}
        # the least and most deviation of each cell seen at a feasible point: 0 (the true counts) until a solve
        # widens them. Suppressing more only widens the feasible set (a published count becomes free), so these
        # stay witnessed as long as no suppressed cell is published again.
        self._low = np.zeros(self.values.size)
        self._high = np.zeros(self.values.size)
        self._hidden = np.zeros(self.values.size, dtype=bool)
        self._propagated = None  # (pattern, bounds) of the last call of outer_bounds
        self._exact_bounds = None  # (pattern, lower, upper) in integers, of the last call of outer_bounds

    def audit(self, suppressed: np.ndarray, sensitive: np.ndarray | None = None) -> Audit:
        """The feasible interval of every cell where `suppressed` is true; those of the `sensitive` ones
        (the primary suppressions; all suppressed cells when not given) are proved protected or pinned.

        A secondary suppression only protects others: its interval is reported (a range the
        feasible interval contains, unless `exact`), and a narrow one pins nothing.
        """
        hidden = np.flatnonzero(suppressed)
        must = suppressed if sensitive is None else np.asarray(sensitive, dtype=bool) & suppressed
        if (self._hidden & ~suppressed).any():  # a cell published again: the points seen may be infeasible now
            self._low, self._high = np.zeros(self.values.size), np.zeros(self.values.size)
        self._hidden = np.array(suppressed, dtype=bool)
        if hidden.size == 0:
            return Audit(pl.DataFrame(schema=INTERVAL_SCHEMA))
        # bounds implied by the relations: the solver's column bounds (bound tightening before the LPs)
        self._outer_low, self._outer_high, _ = self.outer_bounds(np.asarray(suppressed, dtype=bool))
        rel = self.relations
        local = np.full(self.values.size, -1, dtype=np.int64)
        local[hidden] = np.arange(hidden.size)
        is_var = suppressed[rel.cell]
        n_rows = rel.equal.size
        rhs = self._rhs  # in deviations, a published member adds nothing: the slack of each row
        if rel.implied is not None:  # rows that others imply: the same feasible set without them
            is_var = is_var & ~rel.implied[rel.row]
        var_rows, var_cells, var_coef = rel.row[is_var], local[rel.cell[is_var]], rel.coef[is_var]
        live = np.zeros(n_rows, dtype=bool)
        live[var_rows] = True
        # components: cells and live rows as one bipartite graph
        graph = coo_matrix(
            (np.ones(var_rows.size), (var_cells, hidden.size + var_rows)), shape=(hidden.size + n_rows,) * 2
        )
        _, labels = connected_components(graph, directed=False)
        cell_label = labels[: hidden.size]
        order = np.argsort(cell_label, kind="stable")
        member_label = cell_label[var_cells]
        by_label = np.argsort(member_label, kind="stable")
        labels_sorted = member_label[by_label]
        cells_sorted = cell_label[order]
        starts = np.searchsorted(cells_sorted, np.unique(cells_sorted))
        ends = np.append(starts[1:], hidden.size)
        lower = np.zeros(hidden.size)
        upper = np.full(hidden.size, np.inf)
        exact = np.zeros(hidden.size, dtype=bool)
        pinning: dict[int, set[int]] = {}
        solves = 0
        keys, jobs = [], {}
        for start, end in zip(starts, ends, strict=True):
            members_local = order[start:end]
            label = cell_label[members_local[0]]
            lo, hi = np.searchsorted(labels_sorted, [label, label + 1])
            picked = by_label[lo:hi]
            component = np.sort(hidden[members_local])
            key = (component.tobytes(), must[component].tobytes())
            keys.append(key)
            if key not in self._solved and key not in jobs:
                jobs[key] = (
                    component,
                    hidden[var_cells[picked]],
                    var_rows[picked],
                    var_coef[picked],
                    rhs,
                    must[component],
                )
        # components share no cell, so they are solved apart and in any order: the same result every time
        biggest_first = sorted(jobs, key=lambda k: -jobs[k][0].size)
        if self.workers > 1 and len(jobs) > 1:
            _solver()  # the first solver of a process is made here, in one thread (its banner held back)
            with ThreadPoolExecutor(min(self.workers, len(jobs))) as pool:
                solved = list(pool.map(lambda k: self._solve_component(*jobs[k]), biggest_first))
        else:
            solved = [self._solve_component(*jobs[k]) for k in biggest_first]
        self._solved.update(zip(biggest_first, solved, strict=True))
        for key in keys:
            result, pins, count = self._solved[key]
            solves += count
            for cell, (low, high, is_exact) in result.items():
                lower[local[cell]], upper[local[cell]], exact[local[cell]] = low, high, is_exact
            pinning.update(pins)
        low_counts, high_counts, exact = self._as_counts(hidden, lower, upper, exact, suppressed)
        # proved for the sensitive cells; null for the others, which need no protection of their own
        protected = [
            is_protected(lo_, math.inf if hi_ is None else hi_, self.min_cell) if required else None
            for lo_, hi_, required in zip(low_counts, high_counts, must[hidden], strict=True)
        ]
        for cell, passed in zip(hidden.tolist(), protected, strict=True):
            if passed is False and cell not in pinning:  # never left unprotected without a relation to widen
                pinning[cell] = {int(g) for g in rel.group[np.unique(rel.row[rel.cell == cell])]}
        intervals = pl.DataFrame(
            {
                "_cell": hidden.astype(np.int64),
                "lower": low_counts,
                "upper": high_counts,
                "exact": exact,
                "protected": protected,
            },
            schema=INTERVAL_SCHEMA,
        )
        return Audit(intervals, {c: g for c, g in pinning.items()}, solves, len(starts))

    def _as_counts(self, hidden, lower, upper, exact, suppressed) -> tuple[list[int], list[int | None], np.ndarray]:
        """The deviations found for the `hidden` cells as counts, in integers: `count + d`, the upper one None when
        unbounded. Past what floats hold exactly, a bound the solver reached at the propagated one is that one,
        worked out in integers; another is kept inside it and is not exact."""
        counts = self.counts[hidden].astype(object)
        lows = [int(c) + int(d) for c, d in zip(counts, lower, strict=True)]
        highs = [None if math.isinf(d) else int(c) + int(d) for c, d in zip(counts, upper, strict=True)]
        exact = np.array(exact, dtype=bool)
        if not self.exact:
            return lows, highs, exact
        least, most = self._integer_bounds(np.asarray(suppressed, dtype=bool))
        for k, cell in enumerate(hidden.tolist()):
            count, floor, ceiling = int(counts[k]), least[cell], most[cell]
            if _near(lower[k], floor):  # the solver's least is the propagated bound, to a float's precision
                lows[k] = count + floor
            else:
                lows[k] = max(lows[k], count + floor)
                exact[k] = exact[k] and abs(lower[k]) < 2.0**53
            if math.isinf(upper[k]):
                highs[k] = None
            elif not math.isinf(ceiling) and _near(upper[k], ceiling):
                highs[k] = count + ceiling
            else:
                highs[k] = highs[k] if math.isinf(ceiling) else min(highs[k], count + ceiling)
                exact[k] = exact[k] and abs(upper[k]) < 2.0**53
            lows[k] = max(lows[k], 0)
        return lows, highs, exact

    def outer_bounds(self, suppressed: np.ndarray, rounds: int = PROPAGATION_ROUNDS):
        """Bounds of every cell's deviation that propagation along the relations gives (published cells: 0;
        suppressed ones: -count and infinity to begin with), with the suppressed members of the rows they came
        from.

        Each relation bounds each of its suppressed cells by what the published members and the others'
        bounds leave (rounded inward to whole counts, as an attacker may); repeated, these bounds close in on
        the feasible interval from outside and never cut into it. The bounds of the last pattern are kept (the
        audit asks again for the pattern whose pins it has just sought).
        """
        pattern = (np.asarray(suppressed, dtype=bool).tobytes(), rounds)
        if self._propagated is not None and self._propagated[0] == pattern:
            return self._propagated[1]
        bounds = self._propagate(np.asarray(suppressed, dtype=bool), rounds)
        self._propagated = (pattern, bounds)
        return bounds

    def _propagate(self, suppressed: np.ndarray, rounds: int):
        rel = self.relations
        n_rows = rel.equal.size
        is_var = suppressed[rel.cell]
        rhs = self._rhs
        rows, cols, coef = rel.row[is_var], rel.cell[is_var], rel.coef[is_var]
        equal = rel.equal[rows]
        positive = coef > 0
        if self.exact:  # in integers (a float sum of the others, as a row's sum less one, would round), then as
            least, most = self._integer_bounds(suppressed, rounds)  # floats that never cut into them
            return _as_floats(least, up=False), _as_floats(most, up=True), (rows, cols, coef, positive, equal, rhs)
        lower = np.where(suppressed, self._least, 0.0)
        upper = np.where(suppressed, np.inf, 0.0)
        for _ in range(rounds):
            up_candidate, low_candidate = _row_bounds(rows, cols, coef, positive, equal, rhs, lower, upper, n_rows)
            new_upper = upper.copy()
            new_lower = lower.copy()
            np.minimum.at(new_upper, cols, up_candidate)
            np.maximum.at(new_lower, cols, low_candidate)
            new_upper = np.floor(new_upper + EPSILON)
            new_lower = np.ceil(new_lower - EPSILON)
            changed = (new_upper < upper - 0.5).any() or (new_lower > lower + 0.5).any()
            lower, upper = new_lower, new_upper
            if not changed:
                break
        return lower, upper, (rows, cols, coef, positive, equal, rhs)

    def _integer_bounds(self, suppressed: np.ndarray, rounds: int = PROPAGATION_ROUNDS):
        """The bounds of `_propagate` (deviations), worked out in Python integers (infinity where unbounded): exact
        for counts anywhere in int64, where large sums of them are not exact in floats. Slower: taken only for such
        a table."""
        pattern = (suppressed.tobytes(), rounds)
        if self._exact_bounds is not None and self._exact_bounds[0] == pattern:
            return self._exact_bounds[1:]
        rel = self.relations
        is_var = suppressed[rel.cell]
        by_row: dict[int, list[tuple[int, int]]] = {}
        for row, cell, coef in zip(
            rel.row[is_var].tolist(), rel.cell[is_var].tolist(), rel.coef[is_var].tolist(), strict=True
        ):
            by_row.setdefault(row, []).append((cell, 1 if coef > 0 else -1))
        least = np.zeros(self.values.size, dtype=object)
        most = np.zeros(self.values.size, dtype=object)
        for cell in np.flatnonzero(suppressed).tolist():
            least[cell], most[cell] = -int(self.counts[cell]), math.inf
        infinite = math.inf
        for _ in range(rounds):
            changed = False
            for row, members in by_row.items():
                slack, equal = self._slack[row], bool(rel.equal[row])
                # the least and most each member adds to its row
                adds_least = [least[c] if a > 0 else -most[c] for c, a in members]
                adds_most = [most[c] if a > 0 else -least[c] for c, a in members]
                least_open = sum(1 for v in adds_least if v == -infinite)
                most_open = sum(1 for v in adds_most if v == infinite)
                least_sum = sum(v for v in adds_least if v != -infinite)
                most_sum = sum(v for v in adds_most if v != infinite)
                for (cell, a), own_least, own_most in zip(members, adds_least, adds_most, strict=True):
                    own_least_open, own_most_open = own_least == -infinite, own_most == infinite
                    if least_open - own_least_open == 0:  # a * x <= slack - the others' least
                        bound = slack - (least_sum - (0 if own_least_open else own_least))
                        if a > 0 and bound < most[cell]:
                            most[cell], changed = bound, True
                        elif a < 0 and -bound > least[cell]:
                            least[cell], changed = -bound, True
                    if equal and most_open - own_most_open == 0:  # and a * x >= slack - the others' most
                        bound = slack - (most_sum - (0 if own_most_open else own_most))
                        if a > 0 and bound > least[cell]:
                            least[cell], changed = bound, True
                        elif a < 0 and -bound < most[cell]:
                            most[cell], changed = -bound, True
            if not changed:
                break
        self._exact_bounds = (pattern, least, most)
        return least, most

    def propagated_pins(
        self, suppressed: np.ndarray, sensitive: np.ndarray, rounds: int = PROPAGATION_ROUNDS
    ) -> dict[int, set[int]]:
        """The sensitive suppressed cells that bound propagation alone proves unprotected, and the groups of the
        rows that give their bounds: {cell: groups}.

        The bounds of `outer_bounds` are never narrower than the feasible interval, so a cell whose bounds
        are already too narrow is pinned without a linear programme; the LP audit settles the rest.
        """
        must = np.asarray(sensitive, dtype=bool) & suppressed
        if not must.any():
            return {}
        rel = self.relations
        lower, upper, (rows, cols, coef, positive, equal, rhs) = self.outer_bounds(suppressed, rounds)
        n_rows = rel.equal.size
        candidates = np.flatnonzero(must)
        counts = self.values[candidates]  # small counts: their bounds as counts are exact in floats
        narrow = (upper[candidates] - lower[candidates] < self.min_cell) | (
            (counts + lower[candidates] > 0) & (counts + upper[candidates] < self.min_cell)
        )
        pinned = candidates[narrow]
        if pinned.size == 0:
            return {}
        # the rows whose bound is the cell's bound (its upper one, and its lower one when above 0) pin it
        up_candidate, low_candidate = _row_bounds(rows, cols, coef, positive, equal, rhs, lower, upper, n_rows)
        tight = (np.floor(up_candidate + EPSILON) <= upper[cols]) | (
            (self.values[cols] + lower[cols] > 0) & (np.ceil(low_candidate - EPSILON) >= lower[cols])
        )
        is_pinned = np.zeros(self.values.size, dtype=bool)
        is_pinned[pinned] = True
        keep = tight & is_pinned[cols]
        pins: dict[int, set[int]] = {int(cell): set() for cell in pinned}
        for cell, row in zip(cols[keep].tolist(), rows[keep].tolist(), strict=True):
            pins[cell].add(int(rel.group[row]))
        for cell, groups in pins.items():
            if not groups:
                groups.update(int(g) for g in rel.group[np.unique(rows[cols == cell])])
        return pins

    # ---------------------------------------------------------------- one component
    def _solve_component(self, cells, members, rows, coef, rhs, must):
        """({cell: (lower, upper, exact)}, {unprotected sensitive cell: pinning groups}, solves) of one component.

        Only the cells where `must` is true are proved protected or pinned; the others keep the
        range of the feasible points seen. Every feasible point found widens the witnessed
        range of every cell of the component (`self._low`, `self._high`).
        """
        row_ids, row_index = np.unique(rows, return_inverse=True)
        cols = np.searchsorted(cells, members)  # cells are sorted
        n, m = cells.size, row_ids.size
        row_rhs = rhs[row_ids]
        row_equal = self.relations.equal[row_ids]
        low, high = self._low[cells], self._high[cells]  # copies: written back at the end
        floor, ceiling = self._outer_low[cells], self._outer_high[cells]  # implied by the relations
        counts = self.values[cells]  # the sensitive ones are small: count + deviation is exact in floats
        exact_low = np.zeros(n, dtype=bool)
        exact_high = np.zeros(n, dtype=bool)
        pins: dict[int, set[int]] = {}
        solves = 0

        def groups_of(row_numbers) -> set[int]:
            return {int(self.relations.group[row_ids[r]]) for r in row_numbers}

        def rows_of(j: int) -> np.ndarray:
            return row_index[cols == j]

        def finish():
            self._low[cells], self._high[cells] = low, high
            exact_l = exact_low | (low <= floor + EPSILON)
            exact_h = exact_high | (high >= ceiling - EPSILON)
            result = {}
            for j in range(n):
                lower_j, upper_j = _whole(low[j], high[j])
                result[int(cells[j])] = (lower_j, upper_j, bool(exact_l[j] and exact_h[j]))
            return result, pins, solves

        def settled() -> np.ndarray:
            """Cells settled: protected as far as the points seen show, or not required to be (not sensitive)."""
            width = np.floor(high + EPSILON) - np.ceil(low - EPSILON)  # as whole counts, as reported
            return ~must | (width >= self.min_cell)

        if n == 1:
            one_low, one_high = _one_cell(coef, row_rhs[row_index], row_equal[row_index], floor[0])
            low[0], high[0] = min(low[0], one_low), max(high[0], one_high)
            exact_low[0] = exact_high[0] = True
            if must[0] and not is_protected(counts[0] + one_low, counts[0] + one_high, self.min_cell):
                pins[int(cells[0])] = groups_of(range(m))
            return finish()
        if settled().all():  # every sensitive cell proved by the points seen in earlier audits
            return finish()
        matrix = csr_matrix((coef, (row_index, cols)), shape=(m, n))
        highs = _model(matrix, row_rhs, row_equal, floor, ceiling)
        everyone = np.arange(n, dtype=np.int32)
        no_caps = np.where(np.isinf(ceiling), highspy.kHighsInf, ceiling)
        zeros = np.zeros(n)

        def run():
            """Solve; record the point: (status, objective, row duals)."""
            nonlocal solves
            solves += 1
            highs.run()
            status = highs.getModelStatus()
            if status != highspy.HighsModelStatus.kOptimal:
                return status, None, None
            solution = highs.getSolution()
            point = np.asarray(solution.col_value)
            np.minimum(low, point, out=low)
            np.maximum(high, point, out=high)
            return status, highs.getInfo().objective_function_value, np.asarray(solution.row_dual)

        # Feasible points first: every open count as low, then as high as it needs (K above its lowest seen
        # value) and no higher, so that the slack of a relation is shared out; a cell seen at two points at
        # least K apart is protected without a solve of its own.
        random = np.random.default_rng(n)  # the same table is audited the same way every time
        lowered = np.zeros(n, dtype=np.int64)  # shared-out points that sought each cell's least
        for round_number in range(BATCH_ROUNDS):
            open_cells = ~settled()
            if not open_cells.any():
                break
            shares = 1.0 if round_number == 0 else random.uniform(0.1, 1.0, n)
            # seen at its floor: as low as it can be; lowered twice with the others already: left to its own solve
            lowering = open_cells & (np.ceil(low - EPSILON) > floor) & (lowered < LOWERINGS)
            if lowering.any():
                highs.changeColsCost(n, everyone, lowering * shares)
                run()
                lowered += lowering
            caps = np.where(open_cells, np.minimum(np.ceil(low - EPSILON) + self.min_cell, no_caps), no_caps)
            highs.changeColsCost(n, everyone, -(open_cells * shares))
            highs.changeColsBounds(n, everyone, floor, caps)
            run()
            highs.changeColsBounds(n, everyone, floor, no_caps)
            # go on while a round settles more cells than solving them one by one would
            if (open_cells & settled()).sum() < 1 + bool(lowering.any()):
                break
        highs.changeColsCost(n, everyone, zeros)
        # Then each open cell on its own: as high as it needs, then as low as it can be. Short of K apart,
        # these are its exact bounds, and the relations that bind (non-zero duals) pin it.
        budget = EXACT_BUDGET
        for j in np.flatnonzero(~settled()):
            if _whole(low[j], high[j])[1] - _whole(low[j], high[j])[0] >= self.min_cell:
                continue  # proved by a point found for another cell
            if budget == 0:  # not proved either way: taken as unprotected, every relation of the cell as a pin
                pins[int(cells[j])] = groups_of(rows_of(j))
                continue
            budget -= 1
            wanted = math.ceil(low[j] - EPSILON) + self.min_cell
            cap = min(wanted, no_caps[j])
            highs.changeColCost(int(j), -1.0)
            highs.changeColBounds(int(j), floor[j], float(cap))
            status_high, _, duals_high = run()
            highs.changeColBounds(int(j), floor[j], no_caps[j])
            if status_high == highspy.HighsModelStatus.kOptimal and high[j] >= wanted - EPSILON:
                highs.changeColCost(int(j), 0.0)
                continue
            highs.changeColCost(int(j), 0.0)
            if low[j] <= floor[j] + EPSILON:  # seen at its least: only the most it can be narrows it
                status_low, duals_low = highspy.HighsModelStatus.kOptimal, np.zeros(m)
            else:
                highs.changeColCost(int(j), 1.0)
                status_low, _, duals_low = run()
                highs.changeColCost(int(j), 0.0)
            if status_high != highspy.HighsModelStatus.kOptimal or status_low != highspy.HighsModelStatus.kOptimal:
                pins[int(cells[j])] = groups_of(rows_of(j))  # a failed solve proves nothing: every relation pins
                continue
            exact_low[j] = exact_high[j] = True
            lower_j, upper_j = _whole(low[j], high[j])
            if is_protected(counts[j] + lower_j, counts[j] + upper_j, self.min_cell):
                continue
            binding = np.flatnonzero((np.abs(duals_high) > EPSILON) | (np.abs(duals_low) > EPSILON))
            pins[int(cells[j])] = groups_of(binding if binding.size else rows_of(j))  # degenerate: all its rows
        return finish()


def _row_bounds(rows, cols, coef, positive, equal, rhs, lower, upper, n_rows):
    """For each member (rows[k], cols[k]) of rows `sum(coef * x) (= or <=) rhs`: the upper and lower bound the row
    puts on its cell given the others' bounds (inf and -inf where it puts none)."""
    # the least and most each member adds to its row
    least = np.where(positive, coef * lower[cols], coef * upper[cols])  # -inf for a total without an upper bound
    most = np.where(positive, coef * upper[cols], coef * lower[cols])  # +inf for a part without an upper bound
    least_inf, most_inf = np.isinf(least), np.isinf(most)
    least_fin, most_fin = np.where(least_inf, 0.0, least), np.where(most_inf, 0.0, most)
    least_sum = np.bincount(rows, weights=least_fin, minlength=n_rows)
    most_sum = np.bincount(rows, weights=most_fin, minlength=n_rows)
    least_count = np.bincount(rows, weights=least_inf, minlength=n_rows)
    most_count = np.bincount(rows, weights=most_inf, minlength=n_rows)
    with np.errstate(invalid="ignore"):
        # coef * x <= rhs - (least of the others); for an equality also coef * x >= rhs - (most of the others)
        others_least = np.where(least_count[rows] - least_inf > 0, -np.inf, least_sum[rows] - least_fin)
        others_most = np.where(most_count[rows] - most_inf > 0, np.inf, most_sum[rows] - most_fin)
        below = (rhs[rows] - others_least) / coef  # an upper bound when coef > 0, a lower bound when coef < 0
        above = np.where(equal, (rhs[rows] - others_most) / coef, np.where(positive, -np.inf, np.inf))
    upper_bound = np.where(positive, below, above)
    lower_bound = np.where(positive, above, below)
    return upper_bound, lower_bound


def _whole(low: float, high: float) -> tuple[int, float]:
    """A range as whole counts: bounds rounded inward, as an attacker may (the upper one may be infinite)."""
    return math.ceil(low - EPSILON), high if math.isinf(high) else math.floor(high + EPSILON)


def _model(matrix, rhs: np.ndarray, equal: np.ndarray, floor=None, ceiling=None) -> highspy.Highs:
    """A solver holding floor <= x <= ceiling (default 0 and no upper bound), matrix @ x (= or <=) rhs, with no
    objective yet."""
    highs = _solver()
    highs.setOptionValue("presolve", "off")
    highs.setOptionValue("simplex_strategy", 1)
    columns = matrix.tocsc()
    columns.sort_indices()
    m, n = matrix.shape
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, m
    lp.col_cost_ = np.zeros(n)
    lp.col_lower_ = np.zeros(n) if floor is None else np.asarray(floor, dtype=np.float64)
    lp.col_upper_ = (
        np.full(n, highspy.kHighsInf)
        if ceiling is None
        else np.where(np.isinf(ceiling), highspy.kHighsInf, np.asarray(ceiling, dtype=np.float64))
    )
    lp.row_lower_ = np.where(equal, rhs, -highspy.kHighsInf)
    lp.row_upper_ = np.asarray(rhs, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = columns.indptr.astype(np.int32)
    lp.a_matrix_.index_ = columns.indices.astype(np.int32)
    lp.a_matrix_.value_ = columns.data.astype(np.float64)
    highs.passModel(lp)
    return highs


_banner_shown = False


def _solver() -> highspy.Highs:
    """A silent HiGHS solver. The first one made in a process writes a banner to standard output, held back here."""
    global _banner_shown
    if _banner_shown:
        highs = highspy.Highs()
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "wb") as sink:
                os.dup2(sink.fileno(), 1)
                highs = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _banner_shown = True
    highs.setOptionValue("output_flag", False)
    return highs


def _one_cell(coef: np.ndarray, rhs: np.ndarray, equal: np.ndarray, floor: float = 0.0) -> tuple[float, float]:
    """The interval of a single variable x >= floor under rows coef * x (= or <=) rhs."""
    low, high = float(floor), math.inf
    for a, b, eq in zip(coef, rhs, equal, strict=True):
        bound = b / a
        if eq:
            low, high = max(low, bound), min(high, bound)
        elif a > 0:
            high = min(high, bound)
        else:
            low = max(low, bound)
    low = math.ceil(low - EPSILON)
    return low, high if math.isinf(high) else math.floor(high + EPSILON)
