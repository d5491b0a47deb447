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

import numpy as np

from . import highs

# Float rounding allowed for in a bound computed from the LP's multipliers, relative to the size
# of the terms summed (float64 products are exact to about 1e-16).
ROUNDING = 1e-12


class Relaxed:
    """The LP relaxation's optimum: values, reduced costs and bound (None values when not solved)."""

    def __init__(self, values, reduced, bound):
        self.values, self.reduced, self.bound = values, reduced, bound


def model(base, rows: highs.Rows, coef: np.ndarray, integer: bool = True):
    """`base` with `coef` as objective and `rows` as constraints (as `highs.minimise` builds it)."""
    proto = type(base)()
    proto.CopyFrom(base)
    if not integer:
        del proto.variables.integers[:]
        proto.variables.integers.extend([False] * len(proto.variables.ids))
    cols = np.flatnonzero(coef)
    proto.objective.linear_coefficients.ids.extend(cols.tolist())
    proto.objective.linear_coefficients.values.extend(coef[cols].tolist())
    row, col, val, lo, hi = rows.arrays()
    constraints = proto.linear_constraints
    constraints.ids.extend(range(lo.size))
    constraints.lower_bounds.extend(lo.tolist())
    constraints.upper_bounds.extend(hi.tolist())
    matrix = proto.linear_constraint_matrix
    matrix.row_ids.extend(row.tolist())
    matrix.column_ids.extend(col.tolist())
    matrix.coefficients.extend(val.tolist())
    return proto


def relaxation(base, rows: highs.Rows, coef: np.ndarray, seconds: float) -> Relaxed:
    """The LP relaxation of minimising `coef` · x, with reduced costs, in at most `seconds`.

    On GLOP with its presolve, which drops the columns fixed by earlier stages: at 10,000 students
    (machine loaded) the stages' LPs took 7-8 s of CPU on GLOP for 10-11 s on HiGHS, and 14 s on
    HiGHS without presolve at 5,000. Keeping GLOP's model between stages to start each from the
    last basis was slower (about twice): GLOP's presolve is then off, and the new objective starts a
    long primal simplex. GLOP is deterministic like HiGHS."""
    from ortools.math_opt import callback_pb2, model_parameters_pb2, parameters_pb2
    from ortools.math_opt.core.python import solver as core

    params = parameters_pb2.SolveParametersProto(random_seed=0, enable_output=False)
    params.time_limit.FromNanoseconds(int(max(seconds, 1e-3) * 1e9))
    result = core.solve(model(base, rows, coef, integer=False), parameters_pb2.SOLVER_TYPE_GLOP,
                        parameters_pb2.SolverInitializerProto(), params,
                        model_parameters_pb2.ModelSolveParametersProto(), None,
                        callback_pb2.CallbackRegistrationProto(), None, None)
    return _relaxed(result, base, rows, coef)


def _relaxed(result, base, rows: highs.Rows, coef: np.ndarray) -> Relaxed:
    n = len(base.variables.ids)
    if result.termination.reason != highs.OPTIMAL or not result.solutions:
        return Relaxed(None, None, -math.inf)
    solution = result.solutions[0]
    if not (solution.HasField("primal_solution") and solution.HasField("dual_solution")):
        return Relaxed(None, None, -math.inf)
    values, duals = np.zeros(n), np.zeros(rows.n)
    sparse = solution.primal_solution.variable_values
    values[np.asarray(sparse.ids, np.int64)] = np.asarray(sparse.values)
    sparse = solution.dual_solution.dual_values
    duals[np.asarray(sparse.ids, np.int64)] = np.asarray(sparse.values)
    bound, reduced = safe_bound(base, rows, coef, duals)
    return Relaxed(values, reduced, bound)


def safe_bound(base, rows: highs.Rows, coef: np.ndarray, duals: np.ndarray):
    """A lower bound on `coef` · x over the bounds and rows from row multipliers `duals`, and the
    reduced costs it implies, both computed here rather than taken from the LP solver: for any x in
    the box, coef · x = duals · (A x) + reduced · x, each term bounded by the box or the row's range.
    Valid whatever the multipliers' accuracy (a multiplier of the wrong sign for a one-sided row is
    set to 0); only float rounding is allowed for, by a margin."""
    row, col, val, lo, hi = rows.arrays()
    duals = np.where(np.isinf(lo), np.minimum(duals, 0.0), duals)
    duals = np.where(np.isinf(hi), np.maximum(duals, 0.0), duals)
    product = val * duals[row]
    reduced = coef - np.bincount(col, product, minlength=coef.size)
    lower, upper = np.asarray(base.variables.lower_bounds), np.asarray(base.variables.upper_bounds)
    nonzero = duals != 0
    row_terms = np.where(duals > 0, duals * np.where(nonzero, lo, 0.0), duals * np.where(nonzero, hi, 0.0))
    col_terms = np.where(reduced > 0, reduced * lower, reduced * upper)
    scale = (np.abs(row_terms).sum() + np.abs(col_terms).sum() + np.abs(coef) @ upper
             + np.bincount(col, np.abs(product), minlength=coef.size) @ upper)
    bound = math.fsum(row_terms.tolist()) + math.fsum(col_terms.tolist())
    return bound - ROUNDING * scale - 1e-6, reduced


def integral(base, rows: highs.Rows, values: np.ndarray) -> np.ndarray | None:
    """`values` rounded, when they are integers within tolerance that satisfy every bound and row
    exactly; else None."""
    rounded = np.round(values)
    if np.abs(values - rounded).max(initial=0.0) > 1e-6:
        return None
    lower, upper = np.asarray(base.variables.lower_bounds), np.asarray(base.variables.upper_bounds)
    if (rounded < lower).any() or (rounded > upper).any():
        return None
    row, col, val, lo, hi = rows.arrays()
    activity = np.bincount(row, val * rounded[col], minlength=lo.size)
    if (activity < lo - 1e-9).any() or (activity > hi + 1e-9).any():
        return None
    return rounded


def fixed(base, lp: Relaxed, solution: np.ndarray, value: float, coef: np.ndarray):
    """A copy of `base` with every variable whose reduced cost rules it off its bound among the
    optima of value `value` fixed at that bound; `solution` (one such optimum) must agree."""
    gap = value - lp.bound
    lower, upper = np.asarray(base.variables.lower_bounds), np.asarray(base.variables.upper_bounds)
    at_lower = (lp.reduced > gap) & (solution == lower)
    at_upper = (lp.reduced < -gap) & (solution == upper)
    if not (at_lower.any() or at_upper.any()):
        return base
    proto = type(base)()
    proto.CopyFrom(base)
    upper, lower = upper.copy(), lower.copy()
    upper[at_lower] = lower[at_lower]
    lower[at_upper] = upper[at_upper]
    del proto.variables.upper_bounds[:]
    proto.variables.upper_bounds.extend(upper.tolist())
    del proto.variables.lower_bounds[:]
    proto.variables.lower_bounds.extend(lower.tolist())
    return proto


def lexicographic(base, rows: highs.Rows, stages, deadline: float) -> highs.Lexicographic:
    """`highs.lexicographic` (presolve off, no fix_zeros) with the LP first and reduced-cost fixing."""
    out: list[highs.Stage] = []
    values = full = None
    n = len(base.variables.ids)
    unreduced = base
    for name, coef, kept in stages:
        if deadline - time.perf_counter() <= highs.LEAST_STAGE_SECONDS:
            break
        started = time.perf_counter()
        size, coef = coef.size, np.concatenate([coef, np.zeros(n - coef.size)])
        reason, new, bound, estimate, lp = _stage(base, rows, coef, deadline)
        if reason == highs.INFEASIBLE and full is not None and base is not unreduced:
            # The fixings keep the last optimum, so this is HiGHS failing: run the model without them.
            base = unreduced
            reason, new, bound, estimate, lp = _stage(base, rows, coef, deadline)
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
            base = fixed(base, lp, full, value, coef)
    return highs.Lexicographic(values, out, False)


def _stage(base, rows: highs.Rows, coef: np.ndarray, deadline: float):
    """One stage: the LP, and the MIP only when the LP's optimum is not integral."""
    lp = relaxation(base, rows, coef, deadline - time.perf_counter())
    new = None if lp.values is None else integral(base, rows, lp.values)
    # The objective is integral (whole coefficients, integer variables): no value lies below the
    # bound rounded up.
    if new is not None and coef @ new <= math.ceil(lp.bound - 1e-9):
        return highs.OPTIMAL, new, lp.bound, None, lp
    remaining = deadline - time.perf_counter()
    if remaining <= highs.LEAST_STAGE_SECONDS:
        return highs.FEASIBLE, new, lp.bound, None, lp
    reason, new, bound, estimate = highs.minimise(base, rows, coef, remaining)
    return reason, new, max(bound, lp.bound), estimate, lp
