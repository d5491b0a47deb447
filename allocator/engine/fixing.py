"""Lexicographic stages with the LP relaxation first and reduced-cost fixing between stages.

On the flow network with closure cuts HiGHS spends a stage almost wholly in its root LP, whose
optimum is then integral. So each stage first solves that LP (with duals): an integral optimum is the
stage's proven optimum without a branch-and-bound, and otherwise the MIP runs as before. Once a
stage is proven at value V with LP bound L, a variable whose reduced cost exceeds V − L cannot move
off its bound in any of the stage's optima (it would cost more than V), and later stages search only
among those optima: it is fixed at its bound for the rest of the run. Stage by stage the model
shrinks to the optimal face, and the later, slower LPs (each keeps every earlier level as a row)
run on what is left.
"""
from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np

from . import highs

# Float rounding allowed for in a bound computed from the LP's multipliers, relative to the size
# of the terms summed (float64 products are exact to about 1e-16).
ROUNDING = 1e-12


class Relaxed(NamedTuple):
    """The LP relaxation's optimum: values, reduced costs and bound (None values when not solved)."""

    values: np.ndarray | None
    reduced: np.ndarray | None
    bound: float


class Box(NamedTuple):
    """Each variable's bounds: a variable fixed by an earlier stage has lower == upper."""

    lower: np.ndarray
    upper: np.ndarray


def relaxation(box: Box, arrays, coef: np.ndarray, seconds: float, highs_lp: bool = False) -> Relaxed:
    """The LP relaxation of minimising `coef` · x over `box` and the rows (`Rows.arrays()`), with
    reduced costs, in at most `seconds`.

    Built over the variables still free only (the fixed ones moved into the rows' ranges, rows left
    without a free variable dropped), and solved on GLOP: at 10,000 students (machine loaded) the
    stages' LPs took 7-8 s of CPU on GLOP for 10-11 s on HiGHS, and 14 s on HiGHS without dropping
    the fixed variables at 5,000. Keeping GLOP's model between stages to start each from the last
    basis was about twice as slow: a new objective from that basis starts a long primal simplex.
    GLOP is deterministic like HiGHS. With `highs_lp`, HiGHS's dual simplex solves it instead (no
    presolve): on the groups program's LPs (2,000 students, 300 groups) 0.06 s against GLOP's 0.29 s."""
    row, col, val, lo, hi = arrays
    free = box.upper > box.lower
    at = np.where(free, 0.0, box.lower)
    shift = np.bincount(row, val * at[col], minlength=lo.size)
    live = free[col]
    cols = np.flatnonzero(free)
    rows_left = np.unique(row[live])
    values, duals = at.copy(), np.zeros(lo.size)
    if cols.size:
        proto = _compact(box, arrays, coef, cols, rows_left, live, shift)
        solved = _lp(proto, seconds, highs_lp)
        if solved is None:
            return Relaxed(None, None, -math.inf)
        values[cols], duals[rows_left] = solved
    bound, reduced = safe_bound(box, arrays, coef, duals)
    return Relaxed(values, reduced, bound)


def _compact(box: Box, arrays, coef, cols, rows_left, live, shift):
    """The LP over the free variables `cols` and the rows `rows_left`, numbered from 0."""
    from ortools.math_opt import model_pb2

    row, col, val, lo, hi = arrays
    col_at = np.zeros(coef.size, np.int64)
    col_at[cols] = np.arange(cols.size)
    row_at = np.zeros(lo.size, np.int64)
    row_at[rows_left] = np.arange(rows_left.size)
    proto = model_pb2.ModelProto()
    proto.variables.ids.extend(range(cols.size))
    proto.variables.lower_bounds.extend(box.lower[cols].tolist())
    proto.variables.upper_bounds.extend(box.upper[cols].tolist())
    proto.variables.integers.extend([False] * cols.size)
    costed = np.flatnonzero(coef[cols])
    proto.objective.linear_coefficients.ids.extend(costed.tolist())
    proto.objective.linear_coefficients.values.extend(coef[cols][costed].tolist())
    constraints = proto.linear_constraints
    constraints.ids.extend(range(rows_left.size))
    constraints.lower_bounds.extend((lo[rows_left] - shift[rows_left]).tolist())
    constraints.upper_bounds.extend((hi[rows_left] - shift[rows_left]).tolist())
    matrix = proto.linear_constraint_matrix  # still sorted by row, then column
    matrix.row_ids.extend(row_at[row[live]].tolist())
    matrix.column_ids.extend(col_at[col[live]].tolist())
    matrix.coefficients.extend(val[live].tolist())
    return proto


def _lp(proto, seconds: float, highs_lp: bool):
    """The LP's optimal values and row multipliers (GLOP's, or HiGHS's), or None."""
    from ortools.math_opt import callback_pb2, model_parameters_pb2, parameters_pb2
    from ortools.math_opt.core.python import solver as core

    params = parameters_pb2.SolveParametersProto(random_seed=0, enable_output=False)
    params.time_limit.FromNanoseconds(int(max(seconds, 1e-3) * 1e9))
    if highs_lp:
        params.highs.string_options["presolve"] = "off"
    solver = parameters_pb2.SOLVER_TYPE_HIGHS if highs_lp else parameters_pb2.SOLVER_TYPE_GLOP
    result = core.solve(proto, solver, parameters_pb2.SolverInitializerProto(),
                        params, model_parameters_pb2.ModelSolveParametersProto(), None,
                        callback_pb2.CallbackRegistrationProto(), None, None)
    if result.termination.reason != highs.OPTIMAL or not result.solutions:
        return None
    solution = result.solutions[0]
    if not (solution.HasField("primal_solution") and solution.HasField("dual_solution")):
        return None
    values = np.zeros(len(proto.variables.ids))
    sparse = solution.primal_solution.variable_values
    values[np.asarray(sparse.ids, np.int64)] = np.asarray(sparse.values)
    duals = np.zeros(len(proto.linear_constraints.ids))
    sparse = solution.dual_solution.dual_values
    duals[np.asarray(sparse.ids, np.int64)] = np.asarray(sparse.values)
    return values, duals


def safe_bound(box: Box, arrays, coef: np.ndarray, duals: np.ndarray):
    """A lower bound on `coef` · x over the box and rows from row multipliers `duals`, and the
    reduced costs it implies, both computed here rather than taken from the LP solver: for any x in
    the box, coef · x = duals · (A x) + reduced · x, each term bounded by the box or the row's range.
    Valid whatever the multipliers' accuracy (a multiplier of the wrong sign for a one-sided row is
    set to 0); only float rounding is allowed for, by a margin."""
    row, col, val, lo, hi = arrays
    duals = np.where(np.isinf(lo), np.minimum(duals, 0.0), duals)
    duals = np.where(np.isinf(hi), np.maximum(duals, 0.0), duals)
    product = val * duals[row]
    reduced = coef - np.bincount(col, product, minlength=coef.size)
    nonzero = duals != 0
    row_terms = np.where(duals > 0, duals * np.where(nonzero, lo, 0.0), duals * np.where(nonzero, hi, 0.0))
    col_terms = np.where(reduced > 0, reduced * box.lower, reduced * box.upper)
    scale = (np.abs(row_terms).sum() + np.abs(col_terms).sum() + np.abs(coef) @ box.upper
             + np.bincount(col, np.abs(product), minlength=coef.size) @ box.upper)
    bound = math.fsum(row_terms.tolist()) + math.fsum(col_terms.tolist())
    return bound - ROUNDING * scale - 1e-6, reduced


def integral(box: Box, arrays, values: np.ndarray) -> np.ndarray | None:
    """`values` rounded, when they are integers within tolerance that satisfy every bound and row
    exactly; else None."""
    rounded = np.round(values)
    if np.abs(values - rounded).max(initial=0.0) > 1e-6:
        return None
    if (rounded < box.lower).any() or (rounded > box.upper).any():
        return None
    row, col, val, lo, hi = arrays
    activity = np.bincount(row, val * rounded[col], minlength=lo.size)
    if (activity < lo - 1e-9).any() or (activity > hi + 1e-9).any():
        return None
    return rounded


def fixed(box: Box, lp: Relaxed, solution: np.ndarray, value: float) -> Box:
    """`box` with every variable whose reduced cost rules it off its bound among the optima of
    value `value` fixed at that bound; `solution` (one such optimum) must agree."""
    gap = value - lp.bound
    at_lower = (lp.reduced > gap) & (solution == box.lower)
    at_upper = (lp.reduced < -gap) & (solution == box.upper)
    return Box(np.where(at_upper, box.upper, box.lower), np.where(at_lower, box.lower, box.upper))


def lexicographic(base, rows: highs.Rows, stages, deadline: float) -> highs.Lexicographic:
    """`highs.lexicographic` (presolve off, no fix_zeros) with the LP first and reduced-cost fixing."""
    out: list[highs.Stage] = []
    values = full = None
    n = len(base.variables.ids)
    box = unreduced = Box(np.asarray(base.variables.lower_bounds, float),
                          np.asarray(base.variables.upper_bounds, float))
    for name, coef, kept in stages:
        if deadline - time.perf_counter() <= highs.LEAST_STAGE_SECONDS:
            break
        started = time.perf_counter()
        size, coef = coef.size, np.concatenate([coef, np.zeros(n - coef.size)])
        reason, new, bound, estimate, lp = _stage(base, box, rows, coef, deadline)
        if reason == highs.INFEASIBLE and full is not None and box is not unreduced:
            # The fixings keep the last optimum, so this is HiGHS failing: run the model without them.
            box = unreduced
            reason, new, bound, estimate, lp = _stage(base, box, rows, coef, deadline)
        took = time.perf_counter() - started
        if reason == highs.INFEASIBLE and full is None:
            return highs.Lexicographic(None, out, True)
        if new is not None and full is not None and coef @ new > coef @ full:
            new = None  # cut short before it beat what the earlier stage found, which still holds
        if new is not None:
            full = np.round(new)
        values = None if full is None else full[:size]
        value = float(np.round(coef @ full)) if full is not None else None
        proven = reason == highs.OPTIMAL
        out.append(highs.Stage(name, value, bound, proven, took, estimate))
        if not proven:
            break
        for sub in kept:
            rows.at_most(sub, float(np.round(sub @ values)))
        if lp.values is not None:
            box = fixed(box, lp, full, value)
    return highs.Lexicographic(values, out, False)


def _stage(base, box: Box, rows: highs.Rows, coef: np.ndarray, deadline: float):
    """One stage: the LP, and HiGHS's MIP only when the LP's optimum is not integral."""
    arrays = rows.arrays()
    lp = relaxation(box, arrays, coef, deadline - time.perf_counter())
    new = None if lp.values is None else integral(box, arrays, lp.values)
    # The objective is integral (whole coefficients, integer variables): no value lies below the
    # bound rounded up.
    if new is not None and coef @ new <= math.ceil(lp.bound - 1e-9):
        return highs.OPTIMAL, new, lp.bound, None, lp
    remaining = deadline - time.perf_counter()
    if remaining <= highs.LEAST_STAGE_SECONDS:
        return highs.FEASIBLE, new, lp.bound, None, lp
    reason, new, bound, estimate = highs.minimise(highs.with_bounds(base, box.lower, box.upper), rows, coef, remaining)
    return reason, new, max(bound, lp.bound), estimate, lp
