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

The relations are split into connected components over the suppressed cells; each
component is one HiGHS model, re-solved from its previous basis as the objective
changes. A cell is settled as cheaply as can be:

1. feasible points: the true counts, then every open cell as low as it can be and as
   high as it needs (at least K above its lowest seen value), objectives shared out
   over BATCH_ROUNDS rounds; two points at least K apart (or one at 0 and one at K or
   more) prove a cell protected, and these are the `lower`, `upper` reported;
2. the cell's neighbourhood: with the cells further away held at their true counts
   its range is part of the feasible interval (wide enough: protected); with the
   relations further away left out its range holds the interval (narrow: pinned,
   by the rows that bind);
3. its exact smallest and largest values on the whole component (`exact`).

Past LOCAL_BUDGET or EXACT_BUDGET cells of one component per audit, an unsettled cell
is taken as pinned by every relation it is in: that costs suppression, never
protection. A component of one cell is read off its rows; a component whose cells
did not change since an earlier audit of the same table is not solved again.

Pure functions on arrays and Polars frames; no I/O.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field

import highspy
import numpy as np
import polars as pl
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

EPSILON = 1e-6
BATCH_ROUNDS = 6  # feasible points sought per component before any cell is solved on its own
LOCAL_BUDGET = 1000  # cells of one component looked at on their own per audit; past it, an unproved cell is pinned
EXACT_BUDGET = 100  # of those, cells solved exactly on the whole component when their neighbourhood did not settle it
UNBOUNDED = (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible)
INTERVAL_SCHEMA = {
    "_cell": pl.Int64, "lower": pl.Int64, "upper": pl.Int64, "exact": pl.Boolean, "protected": pl.Boolean,
}


@dataclass(frozen=True)
class Relations:
    """The relations that hold in the data, as rows `sum(coef * cell) (= or <=) 0` over all cells.

    `row`, `cell` and `coef` list the members (coef +1 for a part, -1 for the total);
    `equal[r]` says whether row r is an equality; `group[r]` is the group it came from.
    """

    row: np.ndarray
    cell: np.ndarray
    coef: np.ndarray
    equal: np.ndarray
    group: np.ndarray


@dataclass
class Audit:
    """The outcome of one audit: the interval of every suppressed cell and, for unprotected ones, what pins it."""

    intervals: pl.DataFrame  # INTERVAL_SCHEMA, one row per suppressed cell
    pinning: dict[int, set[int]] = field(default_factory=dict)  # unprotected cell -> groups whose rows pin it
    solves: int = 0
    components: int = 0


def relations_that_hold(members: pl.DataFrame, values: np.ndarray) -> Relations:
    """The groups of `members` (`_group`, `_cell`, `_total`) as they hold in `values`."""
    if members.height == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Relations(empty, empty, empty.astype(np.float64), np.zeros(0, dtype=bool), empty)
    coef = pl.when(pl.col("_total")).then(-1.0).otherwise(1.0)
    if "_coef" in members.columns:
        coef = pl.col("_coef").cast(pl.Float64).fill_null(coef)
    framed = members.select("_group", "_cell", coef.alias("_coef")).with_columns(
        pl.Series("_value", values[members["_cell"].to_numpy()], dtype=pl.Float64),
    )
    balance = framed.group_by("_group").agg(
        (pl.col("_coef") * pl.col("_value")).sum().alias("_balance"), (pl.col("_coef") < 0).sum().alias("_totals")
    )
    holding = balance.filter(
        (pl.col("_balance") == 0) | ((pl.col("_balance") < 0) & (pl.col("_totals") == 1))
    ).with_columns((pl.col("_balance") == 0).alias("_equal")).sort("_group").with_row_index("_row")
    rows = framed.join(holding, on="_group", how="inner")
    return Relations(
        row=rows["_row"].cast(pl.Int64).to_numpy(),
        cell=rows["_cell"].to_numpy(),
        coef=rows["_coef"].to_numpy(),
        equal=holding["_equal"].to_numpy(),
        group=holding["_group"].to_numpy(),
    )


def is_protected(lower: float, upper: float, min_cell: int) -> bool:
    """At least K wide, and containing 0 or a value of at least K."""
    return upper - lower >= min_cell and (lower <= 0 or upper >= min_cell)


class Auditor:
    """Audits one table's relations for successive sets of suppressed cells, remembering solved components."""

    def __init__(self, relations: Relations, values: np.ndarray, min_cell: int):
        self.relations = relations
        self.values = np.asarray(values, dtype=np.float64)
        self.min_cell = min_cell
        self._solved: dict[tuple[int, ...], tuple[dict[int, tuple[float, float]], dict[int, set[int]], int]] = {}

    def audit(self, suppressed: np.ndarray, sensitive: np.ndarray | None = None) -> Audit:
        """The feasible interval of every cell where `suppressed` is true; those of the `sensitive` ones
        (the primary suppressions; all suppressed cells when not given) are proved protected or pinned.

        A secondary suppression only protects others: its interval is reported (a range the
        feasible interval contains, unless `exact`), and a narrow one pins nothing.
        """
        hidden = np.flatnonzero(suppressed)
        must = suppressed if sensitive is None else np.asarray(sensitive, dtype=bool) & suppressed
        if hidden.size == 0:
            return Audit(pl.DataFrame(schema=INTERVAL_SCHEMA))
        rel = self.relations
        local = np.full(self.values.size, -1, dtype=np.int64)
        local[hidden] = np.arange(hidden.size)
        is_var = suppressed[rel.cell]
        n_rows = rel.equal.size
        # right-hand sides: minus the published members' contribution
        published = ~is_var
        rhs = -np.bincount(rel.row[published], weights=rel.coef[published] * self.values[rel.cell[published]],
                           minlength=n_rows)
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
        for start, end in zip(starts, ends, strict=True):
            members_local = order[start:end]
            label = cell_label[members_local[0]]
            lo, hi = np.searchsorted(labels_sorted, [label, label + 1])
            picked = by_label[lo:hi]
            key = tuple(sorted(hidden[members_local].tolist()))
            cached = self._solved.get(key)
            if cached is None:
                cached = self._solve_component(
                    hidden[members_local], local, var_rows[picked], var_cells[picked], var_coef[picked], rhs,
                    must[hidden[members_local]],
                )
                self._solved[key] = cached
            result, pins, count = cached
            solves += count
            for cell, (low, high, is_exact) in result.items():
                lower[local[cell]], upper[local[cell]], exact[local[cell]] = low, high, is_exact
            pinning.update(pins)
        # proved for the sensitive cells; null for the others, which need no protection of their own
        protected = [
            is_protected(lo_, hi_, self.min_cell) if required else None
            for lo_, hi_, required in zip(lower, upper, must[hidden], strict=True)
        ]
        intervals = pl.DataFrame(
            {
                "_cell": hidden.astype(np.int64),
                "lower": lower.astype(np.int64),
                "upper": [None if math.isinf(value) else int(value) for value in upper],
                "exact": exact,
                "protected": protected,
            },
            schema=INTERVAL_SCHEMA,
        )
        return Audit(intervals, {c: g for c, g in pinning.items()}, solves, len(starts))

    # ---------------------------------------------------------------- one component
    def _solve_component(self, cells, local, rows, var_local, coef, rhs, must):
        """({cell: (lower, upper, exact)}, {unprotected sensitive cell: pinning groups}, solves) of one component.

        Only the cells where `must` is true are proved protected or pinned; the others keep the
        range of the feasible points seen.
        """
        row_ids, row_index = np.unique(rows, return_inverse=True)
        col_of = {int(local[c]): i for i, c in enumerate(cells)}
        cols = np.array([col_of[int(v)] for v in var_local], dtype=np.int64)
        n, m = cells.size, row_ids.size
        row_rhs = rhs[row_ids]
        row_equal = self.relations.equal[row_ids]
        truth = self.values[cells]
        # the plain upper bound: a part of a row whose other variables are all parts, under a published total
        negative_rows = np.zeros(m, dtype=bool)
        negative_rows[row_index[coef < 0]] = True
        plain = np.full(n, np.inf)
        usable = (coef > 0) & ~negative_rows[row_index]
        np.minimum.at(plain, cols[usable], row_rhs[row_index[usable]])
        if n == 1:
            low, high = _one_cell(coef, row_rhs[row_index], row_equal[row_index])
            result = {int(cells[0]): (low, high, True)}
            pins = {}
            if must[0] and not is_protected(low, high, self.min_cell):
                pins[int(cells[0])] = {int(self.relations.group[r]) for r in row_ids}
            return result, pins, 0
        matrix = csr_matrix((coef, (row_index, cols)), shape=(m, n))
        by_column = matrix.tocsc()
        highs = _model(matrix, row_rhs, row_equal)
        everyone = np.arange(n, dtype=np.int32)
        seen_low, seen_high = truth.copy(), truth.copy()
        solves = 0

        def solve(costs: np.ndarray, caps: np.ndarray | None = None):
            """Minimise costs @ x (under x <= caps when given): (status, objective, x, binding rows)."""
            nonlocal solves
            solves += 1
            highs.changeColsCost(n, everyone, costs)
            if caps is not None:
                highs.changeColsBounds(n, everyone, np.zeros(n), caps)
            highs.run()
            status = highs.getModelStatus()
            objective, values, binding = None, None, None
            if status == highspy.HighsModelStatus.kOptimal:
                objective = highs.getInfo().objective_function_value
                solution = highs.getSolution()
                values = np.array(solution.col_value)
                binding = np.flatnonzero(np.abs(np.array(solution.row_dual)) > EPSILON)
                np.minimum(seen_low, values, out=seen_low)
                np.maximum(seen_high, values, out=seen_high)
            if caps is not None:
                highs.changeColsBounds(n, everyone, np.zeros(n), np.full(n, highspy.kHighsInf))
            return status, objective, values, binding

        def proven() -> np.ndarray:
            """Cells settled: protected as far as the points seen show, or not required to be (not sensitive)."""
            low, high = np.ceil(seen_low - EPSILON), np.floor(seen_high + EPSILON)  # as whole counts, as reported
            return ~must | (high - low >= self.min_cell) & ((low <= 0) | (high >= self.min_cell))

        # Feasible points first: every count as low, then as high (capped K above its true count), as can be;
        # a cell seen at two points at least K apart is protected without a solve of its own.
        random = np.random.default_rng(n)  # the same table is audited the same way every time
        for round_number in range(BATCH_ROUNDS):
            open_cells = ~proven()
            if not open_cells.any():
                break
            before = (seen_low.copy(), seen_high.copy())
            weights = open_cells * (1.0 if round_number == 0 else random.uniform(0.1, 1.0, n))
            solve(weights)
            # as high as each open cell needs and no higher, so that the slack of a relation is shared out
            caps = np.where(open_cells, np.maximum(seen_low, 0) + self.min_cell, highspy.kHighsInf)
            solve(-weights, caps)
            if round_number and np.array_equal(before[0], seen_low) and np.array_equal(before[1], seen_high):
                break
        low = np.where(seen_low <= EPSILON, 0.0, seen_low)
        high = np.where(seen_high >= plain - EPSILON, plain, seen_high)
        exact_low = seen_low <= EPSILON
        exact_high = seen_high >= plain - EPSILON
        pins: dict[int, set[int]] = {}
        budget, local_budget = EXACT_BUDGET, LOCAL_BUDGET
        for j in np.flatnonzero(~proven()):
            if local_budget == 0:  # not proved either way: taken as unprotected, every relation of the cell as a pin
                pins[int(cells[j])] = {int(self.relations.group[row_ids[r]]) for r in row_index[cols == j]}
                continue
            local_budget -= 1
            # Around the cell first. With the cells further away held at their true counts, the cell's range is
            # part of its feasible interval: wide enough there, it is protected. With the relations further
            # away left out, its range holds the interval: narrow there, it is pinned, by the rows that bind.
            near = np.unique(matrix[by_column.indices[by_column.indptr[j]:by_column.indptr[j + 1]]].indices)
            held = _range(matrix, by_column, row_rhs, row_equal, near, j, truth)
            solves += 2
            if held is not None:
                seen_low[j], seen_high[j] = min(seen_low[j], held[0]), max(seen_high[j], held[1])
                if proven()[j]:
                    continue
            local_rows = _around(matrix, by_column, j)
            if local_rows.size < m:
                narrow_rows = _local_pin(matrix[local_rows], row_rhs[local_rows], row_equal[local_rows], j,
                                         self.min_cell)
                solves += 2
                if narrow_rows is not None:
                    pins[int(cells[j])] = {int(self.relations.group[row_ids[local_rows[r]]]) for r in narrow_rows}
                    continue
            if budget == 0:  # not proved either way: taken as unprotected, every relation of the cell as a pin
                pins[int(cells[j])] = {int(self.relations.group[row_ids[r]]) for r in row_index[cols == j]}
                continue
            budget -= 1
            unit = np.zeros(n)
            unit[j] = 1.0
            binding = set()
            status, objective, _, rows_low = solve(unit)
            low[j] = objective if objective is not None else truth[j]  # a failed solve proves nothing
            exact_low[j] = True
            status, objective, _, rows_high = solve(-unit)
            if objective is not None:
                high[j] = -objective
            else:
                high[j] = math.inf if status in UNBOUNDED else truth[j]
            exact_high[j] = True
            lower_j = math.ceil(low[j] - EPSILON)
            upper_j = high[j] if math.isinf(high[j]) else math.floor(high[j] + EPSILON)
            if is_protected(lower_j, upper_j, self.min_cell):
                continue
            for found in (rows_low, rows_high):
                if found is not None:
                    binding.update(int(self.relations.group[row_ids[r]]) for r in found)
            if not binding:  # degenerate duals: every row of the cell pins it
                binding = {int(self.relations.group[row_ids[r]]) for r in row_index[cols == j]}
            pins[int(cells[j])] = binding
        result = {}
        for j in range(n):
            lower_j = math.ceil(low[j] - EPSILON)
            upper_j = high[j] if math.isinf(high[j]) else math.floor(high[j] + EPSILON)
            result[int(cells[j])] = (lower_j, upper_j, bool(exact_low[j] and exact_high[j]))
        return result, pins, solves


def _model(matrix, rhs: np.ndarray, equal: np.ndarray) -> highspy.Highs:
    """A solver holding x >= 0, matrix @ x (= or <=) rhs, with no objective yet."""
    highs = _solver()
    highs.setOptionValue("presolve", "off")
    columns = matrix.tocsc()
    columns.sort_indices()
    m, n = matrix.shape
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, m
    lp.col_cost_ = np.zeros(n)
    lp.col_lower_ = np.zeros(n)
    lp.col_upper_ = np.full(n, highspy.kHighsInf)
    lp.row_lower_ = np.where(equal, rhs, -highspy.kHighsInf)
    lp.row_upper_ = np.asarray(rhs, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = columns.indptr.astype(np.int32)
    lp.a_matrix_.index_ = columns.indices.astype(np.int32)
    lp.a_matrix_.value_ = columns.data.astype(np.float64)
    highs.passModel(lp)
    return highs


def _range(matrix, by_column, rhs: np.ndarray, equal: np.ndarray, near: np.ndarray, cell: int,
           truth: np.ndarray) -> tuple[float, float] | None:
    """The least and most `cell` can be while only the `near` cells move and the others keep their true counts."""
    rows = np.unique(by_column[:, near].indices)
    if rows.size == 0:
        return None
    block = matrix[rows]
    fixed = truth.copy()
    fixed[near] = 0.0
    shifted = rhs[rows] - block @ fixed
    sub = block[:, near]
    highs = _model(sub, shifted, equal[rows])
    j = int(np.searchsorted(near, cell))
    n = near.size
    everyone = np.arange(n, dtype=np.int32)
    bounds = []
    for sense in (1.0, -1.0):
        costs = np.zeros(n)
        costs[j] = sense
        highs.changeColsCost(n, everyone, costs)
        highs.run()
        status = highs.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            bounds.append(sense * highs.getInfo().objective_function_value)
        elif sense < 0 and status in UNBOUNDED:
            bounds.append(math.inf)  # as high as one likes
        else:
            return None
    return bounds[0], bounds[1]


def _around(matrix, by_column, cell: int, radius: int = 2) -> np.ndarray:
    """The rows within `radius` steps of a cell (a step: from a cell to its rows, then to their cells)."""
    cells = np.array([cell])
    rows = np.zeros(0, dtype=np.int64)
    for _ in range(radius):
        rows = np.unique(by_column[:, cells].indices)
        cells = np.unique(matrix[rows].indices)
    return rows


def _local_pin(rows, rhs: np.ndarray, equal: np.ndarray, cell: int, min_cell: int) -> np.ndarray | None:
    """The binding rows when these rows alone narrow `cell` below protection, else None."""
    used = np.unique(rows.indices)
    sub = rows[:, used]
    j = int(np.searchsorted(used, cell))
    highs = _model(sub, rhs, equal)
    n = used.size
    everyone = np.arange(n, dtype=np.int32)
    bounds, binding = [], set()
    for sense in (1.0, -1.0):
        costs = np.zeros(n)
        costs[j] = sense
        highs.changeColsCost(n, everyone, costs)
        highs.run()
        status = highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            return None  # unbounded above (or not solved): nothing proved here
        bounds.append(sense * highs.getInfo().objective_function_value)
        binding.update(np.flatnonzero(np.abs(np.array(highs.getSolution().row_dual)) > EPSILON).tolist())
    low, high = math.ceil(bounds[0] - EPSILON), math.floor(bounds[1] + EPSILON)
    if is_protected(low, high, min_cell):
        return None
    return np.array(sorted(binding), dtype=np.int64) if binding else np.arange(rows.shape[0])


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


def _one_cell(coef: np.ndarray, rhs: np.ndarray, equal: np.ndarray) -> tuple[float, float]:
    """The interval of a single variable x >= 0 under rows coef * x (= or <=) rhs."""
    low, high = 0.0, math.inf
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
