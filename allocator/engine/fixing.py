"""Reduced-cost fixing: a stage's linear relaxation rules variables out before its integer search.

On the groups program the relaxation's bound is (observed) the integer optimum at every stage; the
slow part is finding an allocation that keeps the earlier levels. Duals y of the relaxation give
reduced costs d = c - Aᵀy and, by weak duality, a lower bound L on every allocation's value; one
that moves x_j off the value minimising d_j·x_j pays at least |d_j| more. With the target
T = ⌈L⌉ (values are whole numbers), each x_j that would cost more than T is fixed, and the fixed
program is searched: an allocation of value T found there is optimal (nothing is below T), and no
optimal allocation was cut away, so the fixings also hold for every later stage (which search only
among this stage's optima). If none of value T is found, the stage is solved again with only what
an allocation better than the best found could not use fixed (or none, without one).

The bound and the reduced costs are computed here from HiGHS's duals, in plain double arithmetic
with a margin for its rounding, so a fixing never rests on the solver's tolerances: any y gives a
valid bound, a poor one only fixes less. Sums run in a fixed order (np.bincount, not BLAS), so the
fixings are the same on any machine.
"""
from __future__ import annotations

import math
import time
from typing import NamedTuple

import numpy as np

from . import highs

# Relative rounding margin on the bound and reduced costs: doubles carry 16 digits, the sums here a
# few thousand terms.
MARGIN = 1e-13


class Bound(NamedTuple):
    lower: float  # a proven lower bound on coef · x over the program's integer solutions
    reduced: np.ndarray  # per variable, reduced cost lowered by its rounding margin (in magnitude)


def relax(base, rows: highs.Rows, coef: np.ndarray, seconds: float):
    """The linear relaxation's termination reason and its row duals (None without a dual solution)."""
    from ortools.math_opt import callback_pb2, model_parameters_pb2, parameters_pb2
    from ortools.math_opt.core.python import solver as core

    proto = highs.program(base, rows, coef)
    del proto.variables.integers[:]
    proto.variables.integers.extend([False] * len(base.variables.ids))
    params = parameters_pb2.SolveParametersProto(enable_output=False)
    params.time_limit.FromNanoseconds(int(seconds * 1e9))
    params.highs.string_options["presolve"] = "off"
    result = core.solve(proto, parameters_pb2.SOLVER_TYPE_HIGHS, parameters_pb2.SolverInitializerProto(),
                        params, model_parameters_pb2.ModelSolveParametersProto(), None,
                        callback_pb2.CallbackRegistrationProto(), None, None)
    reason = result.termination.reason
    if reason != highs.OPTIMAL or not result.solutions or not result.solutions[0].HasField("dual_solution"):
        return reason, None
    sparse = result.solutions[0].dual_solution.dual_values
    duals = np.zeros(len(proto.linear_constraints.ids))
    duals[np.asarray(sparse.ids, np.int64)] = np.asarray(sparse.values)
    return reason, duals


def bound(base, rows: highs.Rows, coef: np.ndarray, duals: np.ndarray) -> Bound:
    """Weak duality for any `duals`: coef·x = d·x + y·Ax ≥ Σ_j min(d_j·lo_j, d_j·up_j) + Σ_i min(y_i·lo_i, y_i·hi_i)."""
    row, col, val, lo, hi = rows.arrays()
    y = duals.copy()
    y[((y > 0) & ~np.isfinite(lo)) | ((y < 0) & ~np.isfinite(hi))] = 0.0  # no bound on that side
    n = len(base.variables.ids)
    c = np.zeros(n)
    c[: coef.size] = coef
    term = val * y[row]
    d = c - np.bincount(col, weights=term, minlength=n)
    size = np.abs(c) + np.bincount(col, weights=np.abs(term), minlength=n)
    x_lo, x_hi = np.asarray(base.variables.lower_bounds), np.asarray(base.variables.upper_bounds)
    row_part = np.where(y > 0, y * np.where(y > 0, lo, 0.0), y * np.where(y < 0, hi, 0.0))
    col_part = np.minimum(d * x_lo, d * x_hi)
    scale = np.abs(row_part).sum() + (size * np.maximum(np.abs(x_lo), np.abs(x_hi))).sum()
    lower = math.fsum(row_part.tolist()) + math.fsum(col_part.tolist()) - MARGIN * scale - MARGIN
    import os
    if os.environ.get("FIXDBG"):
        print("    raw", math.fsum(row_part.tolist()) + math.fsum(col_part.tolist()), "margin", MARGIN*scale,
              "masked", int((y != duals).sum()), "dual infeas", float(np.minimum(d * np.where(x_hi > x_lo, 1, 0), 0).min()), float(d[x_hi==x_lo].min()) if (x_hi==x_lo).any() else None)
    reduced = np.sign(d) * np.maximum(np.abs(d) - MARGIN * size, 0.0)
    return Bound(lower, reduced)


def fixed(base, b: Bound, worst: float):
    """A copy of `base` with each integer variable fixed where moving it one unit off its cheaper
    bound would take every solution above `worst`; None when nothing is fixed."""
    lo = np.asarray(base.variables.lower_bounds, float)
    hi = np.asarray(base.variables.upper_bounds, float)
    room = worst - b.lower
    at_lo = (b.reduced > room) & (hi > lo)
    at_hi = (-b.reduced > room) & (hi > lo)
    if not (at_lo.any() or at_hi.any()):
        return None
    hi = np.where(at_lo, lo, hi)
    lo = np.where(at_hi, hi, lo)
    proto = type(base)()
    proto.CopyFrom(base)
    del proto.variables.lower_bounds[:], proto.variables.upper_bounds[:]
    proto.variables.lower_bounds.extend(lo.tolist())
    proto.variables.upper_bounds.extend(hi.tolist())
    return proto


def stage(base, rows: highs.Rows, coef: np.ndarray, seconds: float, presolve: bool, heuristics,
          start: np.ndarray | None = None):
    """One stage solved as `highs.minimise` does, and when proven, the base with what none of its
    optimal allocations uses fixed, for the later stages."""
    deadline = time.perf_counter() + seconds
    reason, duals = relax(base, rows, coef, seconds)
    if reason == highs.INFEASIBLE:
        return highs.Solved(highs.INFEASIBLE, None, math.inf, None), base
    solved = highs.minimise(base, rows, coef, deadline - time.perf_counter(), presolve, heuristics, start)
    if duals is not None and solved.reason == highs.OPTIMAL and solved.values is not None:
        narrow = fixed(base, bound(base, rows, coef, duals), _value(coef, solved))
        base = base if narrow is None else narrow
    return solved, base


def _value(coef: np.ndarray, solved: highs.Solved) -> float:
    return math.inf if solved.values is None else float(np.round(coef @ solved.values[: coef.size]))
