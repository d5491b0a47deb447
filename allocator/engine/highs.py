"""Integer programs on HiGHS through OR-Tools' MathOpt, built from numpy arrays, solved level by level.

Shared by the minimum-size program over the flow network (`mip.py`) and the groups program
(`groups.py`). The model goes to HiGHS as arrays: pywraplp's HiGHS bridge adds rows one at a time,
which took 2.5 s per stage at 5,000 students and 9 s at 10,000 before HiGHS saw its clock. HiGHS's
search is deterministic, so its answer is the same whatever the machine's load or the time limit,
whenever it is proven. A stage keeps each earlier level at its value as a row of its own (placed = P,
rank 1 = R1, ...), not their merged weighted sum: HiGHS found no allocation under the merged equality
within minutes, and finds them at once under the separate rows. With `warm`, a stage starts from the
previous stage's optimum, which keeps every earlier level (MathOpt gives HiGHS no starting solution,
so the variables are measured from it: see `minimise`); that halved the groups program's later stages.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

# A stage's integer optimum is proven when the gap between incumbent and bound is below one unit.
ABSOLUTE_GAP = 0.5
# Below this much time left a stage is not started: HiGHS would spend it setting up.
LEAST_STAGE_SECONDS = 0.01
OPTIMAL, INFEASIBLE, FEASIBLE = 1, 2, 9  # MathOpt's termination reasons (result.proto)


@dataclass
class Stage:
    """What one level's solve established."""

    name: str
    value: float | None  # best objective found (the level's own coefficients), None if none found
    bound: float  # proven lower bound on the level
    proven: bool
    seconds: float
    # Seconds more a proof might take, extrapolated from how fast the gap closed; None when unknown.
    estimate: float | None = None


class Solved(NamedTuple):
    reason: int  # MathOpt's termination reason
    values: np.ndarray | None  # per variable; None when no solution was found
    bound: float
    estimate: float | None


class Rows:
    """A sparse constraint matrix, one row at a time or one row per group of columns."""

    def __init__(self):
        self.row, self.col, self.val, self.lo, self.hi = [], [], [], [], []
        self.n = 0

    def groups(self, key: np.ndarray, col: np.ndarray, val, lo, hi) -> np.ndarray:
        """One row per distinct `key` over its columns; `lo`/`hi` per distinct key (ascending).
        Returns the row of each distinct key."""
        keys, inverse = np.unique(key, return_inverse=True)
        rows = self.n + np.arange(keys.size)
        self.add(rows[inverse], col, np.broadcast_to(val, col.shape))
        self.lo.append(np.broadcast_to(np.asarray(lo, float), keys.shape))
        self.hi.append(np.broadcast_to(np.asarray(hi, float), keys.shape))
        self.n += keys.size
        return rows

    def add(self, row, col, val) -> None:
        row = np.asarray(row, np.int64)
        self.row.append(row)
        self.col.append(np.asarray(col, np.int64))
        self.val.append(np.broadcast_to(np.asarray(val, float), row.shape))

    def at_most(self, coef: np.ndarray, value: float) -> None:
        """One row: coef · x ≤ value (how a proven level is kept)."""
        cols = np.flatnonzero(coef)
        self.groups(np.zeros(cols.size, np.int64), cols, coef[cols], -math.inf, float(value))

    def arrays(self):
        row, col, val = (np.concatenate(a) if a else np.zeros(0) for a in (self.row, self.col, self.val))
        order = np.lexsort((col, row))
        lo, hi = (np.concatenate(a) if a else np.zeros(0) for a in (self.lo, self.hi))
        return row[order], col[order], val[order], lo, hi


def integer_model(upper: np.ndarray):
    """A MathOpt model proto of integer variables 0 ≤ x ≤ upper, without rows or objective."""
    from ortools.math_opt import model_pb2

    proto = model_pb2.ModelProto()
    n = upper.size
    proto.variables.ids.extend(range(n))
    proto.variables.lower_bounds.extend(np.zeros(n).tolist())
    proto.variables.upper_bounds.extend(upper.astype(float).tolist())
    proto.variables.integers.extend([True] * n)
    return proto


def minimise(base, rows: Rows, coef: np.ndarray, seconds: float, presolve: bool = False,
             heuristics: float | None = None, start: np.ndarray | None = None,
             options: dict | None = None) -> Solved:
    """Minimise `coef` · x over `base`'s variables and `rows` on HiGHS for at most `seconds`;
    `heuristics` is HiGHS's mip_heuristic_effort (its default when None), `options` any other HiGHS
    options by name (bool, int, float or str values). A feasible `start` is HiGHS's first incumbent:
    MathOpt passes HiGHS no starting solution (its HiGHS interface leaves that out), so each variable
    is measured from its value in `start` (x' = start - x), which makes `start` the zero point that
    HiGHS tries before anything else. The answer is given back in the variables as they were."""
    from ortools.math_opt import callback_pb2, model_parameters_pb2, parameters_pb2
    from ortools.math_opt.core.python import solver as core

    shift = np.zeros(len(base.variables.ids)) if start is None else np.round(start)
    proto = program(base, rows, coef, shift)
    params = parameters_pb2.SolveParametersProto(random_seed=0, absolute_gap_tolerance=ABSOLUTE_GAP,
                                                 relative_gap_tolerance=0.0, enable_output=False)
    params.time_limit.FromNanoseconds(int(seconds * 1e9))
    # On the flow network with closure cuts HiGHS's presolve finds almost nothing and spent most of
    # the time: 8 of 9 s at 5,000 students, 32 of 36 s at 10,000, and it does not look at the
    # clock. Without it the root relaxation usually proves the optimum at once.
    params.highs.string_options["presolve"] = "on" if presolve else "off"
    if heuristics is not None:
        params.highs.double_options["mip_heuristic_effort"] = heuristics
    for name, value in (options or {}).items():
        kind = {bool: "bool_options", int: "int_options", float: "double_options", str: "string_options"}
        getattr(params.highs, kind[type(value)])[name] = value
    progress = Progress()
    model_params = model_parameters_pb2.ModelSolveParametersProto()
    result = core.solve(proto, parameters_pb2.SOLVER_TYPE_HIGHS, parameters_pb2.SolverInitializerProto(),
                        params, model_params, progress.read,
                        callback_pb2.CallbackRegistrationProto(), None, None)
    values = None
    if result.solutions and result.solutions[0].HasField("primal_solution"):
        sparse = result.solutions[0].primal_solution.variable_values
        values = np.zeros(len(base.variables.ids))
        values[np.asarray(sparse.ids, np.int64)] = np.asarray(sparse.values)
        values = np.where(shift != 0, shift - values, values)
    return Solved(result.termination.reason, values, result.termination.objective_bounds.dual_bound,
                  progress.estimate())


def program(base, rows: Rows, coef: np.ndarray, shift: np.ndarray | None = None):
    """A copy of `base` with the rows and the objective `coef` · x (to minimise); where `shift` is
    not 0, the variable is x' = shift - x instead (the objective keeps its value by an offset)."""
    proto = type(base)()
    proto.CopyFrom(base)
    row, col, val, lo, hi = rows.arrays()
    c = np.zeros(len(base.variables.ids))
    c[: coef.size] = coef
    if shift is not None and shift.any():
        flip = shift != 0
        moved = np.bincount(row, weights=val * shift[col], minlength=lo.size)
        lo, hi = lo - moved, hi - moved
        val = np.where(flip[col], -val, val)
        proto.objective.offset = float(c @ shift)
        c = np.where(flip, -c, c)
        x_lo, x_hi = np.asarray(base.variables.lower_bounds), np.asarray(base.variables.upper_bounds)
        del proto.variables.lower_bounds[:], proto.variables.upper_bounds[:]
        proto.variables.lower_bounds.extend(np.where(flip, shift - x_hi, x_lo).tolist())
        proto.variables.upper_bounds.extend(np.where(flip, shift - x_lo, x_hi).tolist())
    cols = np.flatnonzero(c)
    proto.objective.linear_coefficients.ids.extend(cols.tolist())
    proto.objective.linear_coefficients.values.extend(c[cols].tolist())
    constraints = proto.linear_constraints
    constraints.ids.extend(range(lo.size))
    constraints.lower_bounds.extend(lo.tolist())
    constraints.upper_bounds.extend(hi.tolist())
    matrix = proto.linear_constraint_matrix
    matrix.row_ids.extend(row.tolist())
    matrix.column_ids.extend(col.tolist())
    matrix.coefficients.extend(val.tolist())
    return proto


class Lexicographic(NamedTuple):
    values: np.ndarray | None  # the best found, per variable; None when none was found
    stages: list[Stage]
    infeasible: bool


def lexicographic(base, rows: Rows, stages: list[tuple[str, np.ndarray, list[np.ndarray]]], deadline: float,
                  presolve: bool = False, heuristics: float | None = None, fix_zeros: bool = False,
                  warm: bool = False, options: dict | None = None) -> Lexicographic:
    """Solve (name, objective, kept) stages in order until done or out of time; once a stage is
    proven, each of its `kept` coefficient vectors is held at its value by a row of its own (and,
    with `fix_zeros`, one held at 0 with costs ≥ 0 also fixes its costed variables at 0). With
    `warm`, each stage starts from the previous stage's optimum (which keeps every earlier level);
    `options` are further HiGHS options for every stage (`minimise`)."""
    out: list[Stage] = []
    values = full = None  # the best found: over the objective's columns, over all
    for name, coef, kept in stages:
        remaining = deadline - time.perf_counter()  # after building: the clock counts that too
        if remaining <= LEAST_STAGE_SECONDS:
            break
        started = time.perf_counter()
        start = full if warm else None
        reason, new, bound, estimate = minimise(base, rows, coef, remaining, presolve, heuristics, start, options)
        took = time.perf_counter() - started
        if reason == INFEASIBLE and values is None:
            return Lexicographic(None, out, True)
        if new is not None and values is not None and coef @ new[: coef.size] > coef @ values:
            new = None  # cut short before it beat what the earlier stage found, which still holds
        if new is not None:
            values, full = new[: coef.size], new
        value = float(np.round(coef @ values)) if values is not None else None
        proven = reason == OPTIMAL
        out.append(Stage(name, value, bound, proven, took, estimate))
        if not proven:
            break
        for sub in kept:
            value = float(np.round(sub @ values))
            rows.at_most(sub, value)
            if fix_zeros and value == 0 and sub.min() >= 0 and (sub > 0).any():
                base = without(base, np.flatnonzero(sub > 0))
    return Lexicographic(values, out, False)


def without(base, cols: np.ndarray):
    """A copy of `base` with the variables `cols` fixed at 0: a level kept at 0 whose costs are all
    positive rules each of them out, and bounds are cheaper for HiGHS than a row (presolve is off)."""
    upper = np.asarray(base.variables.upper_bounds)
    upper[cols] = 0.0
    return with_bounds(base, np.asarray(base.variables.lower_bounds), upper)


def with_bounds(base, lower: np.ndarray, upper: np.ndarray):
    """A copy of `base` whose variables have the bounds `lower` and `upper`."""
    proto = type(base)()
    proto.CopyFrom(base)
    del proto.variables.lower_bounds[:]
    proto.variables.lower_bounds.extend(np.asarray(lower, float).tolist())
    del proto.variables.upper_bounds[:]
    proto.variables.upper_bounds.extend(np.asarray(upper, float).tolist())
    return proto


# One line of HiGHS's branch-and-bound log: ... Expl.% | BestBound BestSol Gap | ... Time, e.g.
# " T   0   0   0   0.00%   -224996000   -224983828   0.01%   0   0   0   9392   9.0s"
_LOG_LINE = re.compile(r"^\s*[A-Za-z]?\s+\d+\s+\d+\s+\d+\s+[\d.]+%\s+(\S+)\s+(\S+)\s.*\s([\d.]+)s\s*$")


class Progress:
    """Incumbent and bound over time, read from HiGHS's log, for an estimate of the time a proof
    would still take: the gap left over the rate at which it closed since the first incumbent. A
    rough guide (gaps seldom close at an even pace), said to be an estimate wherever it is shown."""

    def __init__(self):
        self.points: list[tuple[float, float]] = []  # (seconds, incumbent - bound)

    def read(self, lines) -> None:
        for line in lines:
            match = _LOG_LINE.match(line)
            if match:
                try:
                    bound, best, seconds = (float(g) for g in match.groups())
                except ValueError:
                    continue
                if math.isfinite(bound) and math.isfinite(best):
                    self.points.append((seconds, best - bound))

    def estimate(self) -> float | None:
        if len(self.points) < 2:
            return None
        (t0, gap0), (t1, gap1) = self.points[0], self.points[-1]
        if gap1 <= 0 or gap0 <= gap1 or t1 <= t0:
            return None
        return gap1 * (t1 - t0) / (gap0 - gap1)
