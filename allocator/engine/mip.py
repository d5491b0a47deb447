"""Minimum project sizes as a mixed-integer program over the flow network.

The network's arcs become variables (student arcs binary, hub → project arcs integer), each project
with a binding minimum gets an open/close binary, and the lexicographic levels are solved one stage
at a time. The model is the flow network the rest of the engine uses, so its LP relaxation is the
flow relaxation, tightened by the closure cuts x ≤ open for every student arc into a project that
may close.

Every stage runs on HiGHS (bundled with OR-Tools), whose search is deterministic, so its path, and so
its answer, is the same whatever the machine's load or the time limit, whenever it is proven. The
model goes to HiGHS through MathOpt as arrays: pywraplp's HiGHS bridge adds rows one at a time,
which took 2.5 s per stage at 5,000 students and 9 s at 10,000 before HiGHS saw its clock. A stage keeps each
earlier level at its value as a constraint of its own (placed = P, rank 1 = R1, ...), not their
merged weighted sum: measured on the seed's 2,000-student cohort, greedy went from unproven after
241 s (CP-SAT, 8 workers, from the previous optimum under the merged equality) to proven in 15 s,
and HiGHS, which found no allocation under the merged equality within minutes, finds them at once.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

import numpy as np

from .model import Problem
from .network import Network, Residual
from .objectives import Level

SOLVER = "min-cost-flow+highs"  # what a Result names as its solver on this path
# A stage's integer optimum is proven when the gap between incumbent and bound is below one unit.
ABSOLUTE_GAP = 0.5
# Below this much time left a stage is not started: HiGHS would spend it setting up.
LEAST_STAGE_SECONDS = 0.01


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


@dataclass
class Outcome:
    open_: np.ndarray | None  # per project: whether the best allocation found runs it
    flow: np.ndarray | None  # per network arc
    stages: list[Stage]
    infeasible: bool = False


def solve(problem: Problem, res: Residual, net: Network, binding: np.ndarray, lv: list[Level],
          deadline: float, parts: list[list[Level]] | None = None) -> Outcome:
    """Solve the levels in order until done or out of time. `parts[t]` are the levels merged into
    `lv[t]` (default: itself); once stage t is proven each of them is kept at its value."""
    parts = parts or [[level] for level in lv]
    stages: list[Stage] = []
    values = None
    model = _Model(problem, res, net, binding)
    for level, kept in zip(lv, parts):
        coef = model.coefficients(level)
        remaining = deadline - time.perf_counter()  # after building: the clock counts that too
        if remaining <= LEAST_STAGE_SECONDS:
            break
        started = time.perf_counter()
        reason, new, bound, estimate = model.solve(coef, remaining)
        took = time.perf_counter() - started
        if reason == _INFEASIBLE and values is None:
            return Outcome(None, None, stages, infeasible=True)
        if new is not None and values is not None and coef @ new[: coef.size] > coef @ values:
            new = None  # cut short before it beat what the earlier stage found, which still holds
        if new is not None:
            values = new[: coef.size]
        value = float(np.round(coef @ values)) if values is not None else None
        proven = reason == _OPTIMAL
        stages.append(Stage(level.name, value, bound, proven, took, estimate))
        if not proven:
            break
        for sub in kept:
            model.keep(model.coefficients(sub), values)
    if values is None:
        return Outcome(None, None, stages)
    var_arcs = model.var_arcs
    flow = np.zeros(net.tails.size, np.int64)
    flow[var_arcs] = np.round(values).astype(np.int64)
    load = np.zeros(len(problem.index.project_ids), np.int64)
    into = net.arc_project[var_arcs] >= 0
    np.add.at(load, net.arc_project[var_arcs][into], flow[var_arcs][into])
    return Outcome(load > 0, flow, stages)


_OPTIMAL, _INFEASIBLE, _FEASIBLE = 1, 2, 9  # MathOpt's termination reasons (result.proto)


class _Rows:
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
        self.row.append(np.asarray(row, np.int64))
        self.col.append(np.asarray(col, np.int64))
        self.val.append(np.asarray(val, float))

    def arrays(self):
        row, col, val = (np.concatenate(a) if a else np.zeros(0) for a in (self.row, self.col, self.val))
        order = np.lexsort((col, row))
        return row[order], col[order], val[order], np.concatenate(self.lo), np.concatenate(self.hi)


def _closing_rows(rows: _Rows, pj, into_closing, on_student, y_of, cap, minimum) -> None:
    """Projects that may close: at most capacity × open, at least minimum × open, and the closure
    cuts (a student on a project that may close needs it open)."""
    inf = math.inf
    keys = np.unique(pj[into_closing])
    cols = np.flatnonzero(into_closing)
    at_most = rows.groups(pj[into_closing], cols, 1.0, -inf, 0.0)
    rows.add(at_most, y_of[keys], -cap[keys])
    at_least = rows.groups(pj[into_closing], cols, 1.0, 0.0, inf)
    rows.add(at_least, y_of[keys], -minimum[keys])
    cut = rows.groups(cols, cols, 1.0, -inf, 0.0)
    rows.add(cut, y_of[pj[cols]], np.where(on_student[cols], -1.0, -cap[pj[cols]]))


class _Model:
    """The network's choices as arrays: x per arc that carries a choice (leaves a student or the
    hub), then y per project that may close."""

    def __init__(self, problem, res, net, binding):
        from ortools.math_opt import model_pb2

        ix = problem.index
        inf = math.inf
        placement = net.arc_student >= 0
        self.var_arcs = var_arcs = np.flatnonzero(placement | (net.arc_project >= 0))
        self.level = net.level[var_arcs]
        nx = var_arcs.size
        st, proj = net.arc_student[var_arcs], net.arc_project[var_arcs]
        on_student, to_project = st >= 0, proj >= 0
        pj = np.maximum(proj, 0)
        forced = binding & (res.pinned_count > 0)
        closes = binding & ~forced
        closing = np.flatnonzero(closes)
        y_of = np.full(len(ix.project_ids), -1, np.int64)
        y_of[closing] = nx + np.arange(closing.size)
        cap, minimum = res.capacity.astype(float), ix.minimum.astype(float)
        ub = np.where(on_student, 1, net.caps[var_arcs]).astype(float)
        into_closing = to_project & closes[pj]
        hub_out = into_closing & ~on_student
        ub[hub_out] = np.minimum(ub[hub_out], cap[pj[hub_out]])
        rows = _Rows()
        # Each student at most once.
        per_student = np.bincount(st[on_student], minlength=len(ix.student_ids))
        many = on_student & (per_student[np.maximum(st, 0)] > 1)
        rows.groups(st[many], np.flatnonzero(many), 1.0, -inf, 1.0)
        # The hub passes on what it receives.
        hub_in = on_student & ~to_project
        if hub_in.any():
            cols = np.concatenate([np.flatnonzero(hub_in), np.flatnonzero(~on_student)])
            vals = np.concatenate([np.ones(hub_in.sum()), -np.ones((~on_student).sum())])
            rows.groups(np.zeros(cols.size, np.int64), cols, vals, 0.0, 0.0)
        # Projects a pin forces to run: between their minimum and their capacity.
        sel = to_project & forced[pj]
        keys = np.unique(pj[sel])
        rows.groups(pj[sel], np.flatnonzero(sel), 1.0, minimum[keys] - res.pinned_count[keys], cap[keys])
        _closing_rows(rows, pj, into_closing, on_student, y_of, cap, minimum)
        # Other projects: capacity, where their arcs could exceed it.
        arcs_into = np.bincount(pj[to_project], minlength=len(ix.project_ids))
        sel = to_project & ~binding[pj] & (arcs_into[pj] > cap[pj])
        keys = np.unique(pj[sel])
        rows.groups(pj[sel], np.flatnonzero(sel), 1.0, -inf, cap[keys])
        # Supervisors.
        sup = np.where(to_project, ix.supervisor_of[pj], -1)
        sup_cap = np.append(res.supervisor_capacity, 0)  # index -1: no supervisor
        per_sup = np.bincount(sup[sup >= 0], minlength=sup_cap.size)
        sel = (sup >= 0) & (per_sup[sup] > sup_cap[sup])
        keys = np.unique(sup[sel])
        rows.groups(sup[sel], np.flatnonzero(sel), 1.0, -inf, sup_cap[keys].astype(float))
        self.rows = rows
        n_vars = nx + closing.size
        proto = self.proto = model_pb2.ModelProto()
        variables = proto.variables
        variables.ids.extend(range(n_vars))
        variables.lower_bounds.extend(np.zeros(n_vars).tolist())
        variables.upper_bounds.extend(np.concatenate([ub, np.ones(closing.size)]).tolist())
        variables.integers.extend([True] * n_vars)
        self.n_vars = n_vars

    def coefficients(self, level: Level) -> np.ndarray:
        """`level`'s coefficient per arc variable."""
        return level.coef[self.level].astype(float)

    def keep(self, coef: np.ndarray, values: np.ndarray) -> None:
        """Keep a level at its value in `values` (no better is possible: it was proven optimal)."""
        cols = np.flatnonzero(coef)
        self.rows.groups(np.zeros(cols.size, np.int64), cols, coef[cols], -math.inf, float(np.round(coef @ values)))

    def solve(self, coef: np.ndarray, seconds: float):
        """Minimise `coef` on HiGHS: (termination reason, values or None, proven bound, estimate)."""
        from ortools.math_opt import callback_pb2, model_parameters_pb2, parameters_pb2
        from ortools.math_opt.core.python import solver as core

        proto = type(self.proto)()
        proto.CopyFrom(self.proto)
        cols = np.flatnonzero(coef)
        proto.objective.linear_coefficients.ids.extend(cols.tolist())
        proto.objective.linear_coefficients.values.extend(coef[cols].tolist())
        row, col, val, lo, hi = self.rows.arrays()
        constraints = proto.linear_constraints
        constraints.ids.extend(range(lo.size))
        constraints.lower_bounds.extend(lo.tolist())
        constraints.upper_bounds.extend(hi.tolist())
        matrix = proto.linear_constraint_matrix
        matrix.row_ids.extend(row.tolist())
        matrix.column_ids.extend(col.tolist())
        matrix.coefficients.extend(val.tolist())
        params = parameters_pb2.SolveParametersProto(random_seed=0, absolute_gap_tolerance=ABSOLUTE_GAP,
                                                     relative_gap_tolerance=0.0, enable_output=False)
        params.time_limit.FromNanoseconds(int(seconds * 1e9))
        # HiGHS's presolve finds almost nothing in this model (a network with closure cuts) and spent
        # most of the time: 8 of 9 s at 5,000 students, 32 of 36 s at 10,000, and it does not look
        # at the clock. Without it the root relaxation usually proves the optimum at once.
        params.highs.string_options["presolve"] = "off"
        progress = _Progress()
        result = core.solve(proto, parameters_pb2.SOLVER_TYPE_HIGHS, parameters_pb2.SolverInitializerProto(),
                            params, model_parameters_pb2.ModelSolveParametersProto(), progress.read,
                            callback_pb2.CallbackRegistrationProto(), None, None)
        reason = result.termination.reason
        bound = result.termination.objective_bounds.dual_bound
        values = None
        if result.solutions and result.solutions[0].HasField("primal_solution"):
            sparse = result.solutions[0].primal_solution.variable_values
            values = np.zeros(self.n_vars)
            values[np.asarray(sparse.ids, np.int64)] = np.asarray(sparse.values)
        return reason, values, bound, progress.estimate()


# One line of HiGHS's branch-and-bound log: ... Expl.% | BestBound BestSol Gap | ... Time, e.g.
# " T   0   0   0   0.00%   -224996000   -224983828   0.01%   0   0   0   9392   9.0s"
_LOG_LINE = re.compile(r"^\s*[A-Za-z]?\s+\d+\s+\d+\s+\d+\s+[\d.]+%\s+(\S+)\s+(\S+)\s.*\s([\d.]+)s\s*$")


class _Progress:
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
