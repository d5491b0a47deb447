"""Minimum project sizes as a mixed-integer program over the flow network.

The network's arcs become variables (student arcs binary, hub → project arcs integer), each project
with a binding minimum gets an open/close binary, and the lexicographic levels are solved one stage
at a time, each stage keeping the values of the stages before it. The model is the flow network the
rest of the engine uses, so its LP relaxation is the flow relaxation, tightened by the closure cuts
x ≤ open for every student arc into a project that may close.

HiGHS (bundled with OR-Tools) on one thread solves the first stage, "placed" merged with the levels
after it while the weighted range stays small (all of min-cost): measured on the seed's cohorts it
proves in seconds what CP-SAT and the flow branch and bound left unproven, and a single thread makes
its path, and so its answer, the same whatever the machine's load. Later stages (greedy, generous,
weighted with large weights) run on CP-SAT from the previous optimum; their proofs are the slow part
at the seed's sizes, and CP-SAT's portfolio may break ties between sets of open projects differently
from one run to the next.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .model import Problem
from .network import Network, Residual
from .objectives import Level

BACKEND = "HIGHS"
SOLVER = "min-cost-flow+highs"  # what a Result names as its solver on this path
# A stage's integer optimum is proven when the gap between incumbent and bound is below one unit.
ABSOLUTE_GAP = 0.5


@dataclass
class Stage:
    """What one level's solve established."""

    name: str
    value: float | None  # best objective found (the level's own coefficients), None if none found
    bound: float  # proven lower bound on the level
    proven: bool
    seconds: float


@dataclass
class Outcome:
    open_: np.ndarray | None  # per project: whether the best allocation found runs it
    flow: np.ndarray | None  # per network arc
    stages: list[Stage]
    infeasible: bool = False


def solve(problem: Problem, res: Residual, net: Network, binding: np.ndarray, lv: list[Level],
          deadline: float) -> Outcome:
    """Solve the levels in order until done or out of time: the first (placed, merged with what
    fits) on HiGHS, which proves it fastest; the later ones, which must keep the earlier values, on
    CP-SAT started from the previous optimum (HiGHS finds no allocation under such an equality
    within minutes, and pywraplp's SetHint crashes HiGHS in OR-Tools 9.15)."""
    from ortools.linear_solver import pywraplp

    stages: list[Stage] = []
    values = None
    fixed: list[tuple[np.ndarray, float]] = []
    model = None
    for t, level in enumerate(lv):
        if deadline - time.perf_counter() <= 0.01:
            break
        if t <= 1:
            hint = model.hint if model is not None else None
            model = _Model(problem, res, net, binding, "HIGHS" if t == 0 else "CP_SAT")
            model.hint = hint
            for coef, value in fixed:
                model.keep(coef, value)
        solver, xs = model.solver, model.xs
        coef = level.coef[net.level[model.var_arcs]]
        objective = _minimise(solver, xs, coef)
        remaining = deadline - time.perf_counter()  # after building: the clock counts that too
        if remaining <= 0.01:
            break
        params = _configure(model, first=t == 0, remaining=remaining)
        started = time.perf_counter()
        status = solver.Solve(params)
        took = time.perf_counter() - started
        if status == pywraplp.Solver.INFEASIBLE:
            return Outcome(None, None, stages, infeasible=True)
        if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
            stages.append(Stage(level.name, None, objective.BestBound(), False, took))
            break
        values = np.array([x.solution_value() for x in xs])
        model.hint = [v.solution_value() for v in model.all_vars()]
        value = float(np.round(coef @ values))
        proven = status == pywraplp.Solver.OPTIMAL
        stages.append(Stage(level.name, value, objective.BestBound(), proven, took))
        if not proven:
            break
        fixed.append((coef, value))
        model.keep(coef, value)
    if values is None:
        return Outcome(None, None, stages)
    return _outcome(problem, net, model.var_arcs, values, stages)


def _minimise(solver, xs: list, coef: np.ndarray):
    """Make `coef · xs` the solver's objective, to minimise."""
    objective = solver.Objective()
    objective.Clear()
    for x, c in zip(xs, coef.tolist()):
        if c:
            objective.SetCoefficient(x, c)
    objective.SetMinimization()
    return objective


def _configure(model: _Model, *, first: bool, remaining: float):
    """Time limit, exact gaps and seeds for one level: HiGHS for the first, CP-SAT from the hint after."""
    from ortools.linear_solver import pywraplp

    solver = model.solver
    solver.SetTimeLimit(max(1, int(remaining * 1000)))
    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(params.RELATIVE_MIP_GAP, 0.0)
    if first:
        solver.SetSolverSpecificParametersAsString(f"mip_abs_gap = {ABSOLUTE_GAP}\nmip_rel_gap = 0\n"
                                                   f"random_seed = 0\noutput_flag = false\nlog_to_console = false\n"
                                                   f"time_limit = {remaining:.3f}\n")
    else:
        # A portfolio of workers: measured 2-10x faster proofs than one worker or the
        # deterministic interleaved search on seed-shaped instances; the price is that ties
        # between sets of open projects may break differently from run to run.
        solver.SetSolverSpecificParametersAsString(f"num_workers: {CP_SAT_WORKERS} "
                                                   f"random_seed: 0")
        solver.SetHint(model.all_vars(), model.hint)
    return params


def _outcome(problem: Problem, net: Network, var_arcs: np.ndarray, values: np.ndarray,
             stages: list[Stage]) -> Outcome:
    """The flow the best values give every arc, and which projects it runs."""
    flow = np.zeros(net.tails.size, np.int64)
    flow[var_arcs] = np.round(values).astype(np.int64)
    load = np.zeros(len(problem.index.project_ids), np.int64)
    into = net.arc_project[var_arcs] >= 0
    np.add.at(load, net.arc_project[var_arcs][into], flow[var_arcs][into])
    return Outcome(load > 0, flow, stages)


CP_SAT_WORKERS = 8


class _Model:
    """The network's choices as a pywraplp model on `backend`."""

    def __init__(self, problem, res, net, binding, backend: str):
        from ortools.linear_solver import pywraplp

        self.solver = solver = pywraplp.Solver.CreateSolver(backend)
        solver.SuppressOutput()
        if backend == "HIGHS":
            solver.SetNumThreads(1)
        self.hint = None
        self.infinity = solver.infinity()
        placement = net.arc_student >= 0
        into_project = (net.arc_project >= 0)
        # Variables: one per arc that carries a choice, i.e. leaves a student or the hub.
        var_arcs = self.var_arcs = np.flatnonzero(placement | (into_project & (net.arc_student < 0)))
        self.xs = [solver.IntVar(0, int(net.caps[a]), "") if not placement[a] else solver.BoolVar("")
                   for a in var_arcs.tolist()]
        self.pos = {a: i for i, a in enumerate(var_arcs.tolist())}
        self.open_var = {}
        self._students(net)
        self._hub(net, placement)
        self._projects(problem, res, net, binding, placement)
        self._supervisors(problem, res, net)

    def _row(self, lo, hi, arcs, coefs=None):
        c = self.solver.Constraint(lo, hi)
        if coefs is None:
            for a in arcs:
                c.SetCoefficient(self.xs[self.pos[a]], 1)
        else:
            for a, k in zip(arcs, coefs):
                c.SetCoefficient(self.xs[self.pos[a]], k)
        return c

    def _students(self, net) -> None:
        """Each student at most once."""
        var_arcs = self.var_arcs
        st = net.arc_student[var_arcs]
        order = np.argsort(st, kind="stable")
        s_sorted = st[order]
        cuts = np.flatnonzero(np.diff(s_sorted)) + 1
        for group in np.split(var_arcs[order], cuts):
            if group.size and net.arc_student[group[0]] >= 0 and group.size > 1:
                self._row(-self.infinity, 1, group.tolist())

    def _hub(self, net, placement) -> None:
        """The hub passes on what it receives."""
        var_arcs = self.var_arcs
        hub_in = var_arcs[placement[var_arcs] & (net.arc_project[var_arcs] < 0)]
        hub_out = var_arcs[~placement[var_arcs]]
        if hub_in.size:
            self._row(0, 0, hub_in.tolist() + hub_out.tolist(), [1] * hub_in.size + [-1] * hub_out.size)

    def _projects(self, problem, res, net, binding, placement) -> None:
        """Projects: capacity, and minimum or closed."""
        solver, xs, pos, infinity, row = self.solver, self.xs, self.pos, self.infinity, self._row
        ix, caps, var_arcs = problem.index, net.caps, self.var_arcs
        proj = net.arc_project[var_arcs]
        order = np.argsort(proj, kind="stable")
        groups = np.split(var_arcs[order], np.flatnonzero(np.diff(proj[order])) + 1)
        forced = (res.pinned_count > 0) & binding
        by_project = {}
        for group in groups:
            if group.size and net.arc_project[group[0]] >= 0:
                by_project[int(net.arc_project[group[0]])] = group
        for j, group in by_project.items():
            cap = int(res.capacity[j])
            arcs = group.tolist()
            if binding[j] and forced[j]:
                row(int(ix.minimum[j] - res.pinned_count[j]), cap, arcs)
            elif binding[j]:
                y = self.open_var[j] = solver.BoolVar("")
                c = row(-infinity, 0, arcs)
                c.SetCoefficient(y, -cap)
                c = row(0, infinity, arcs)
                c.SetCoefficient(y, -int(ix.minimum[j]))
                # Closure cuts: a student on a project that may close needs it open.
                for a in arcs:
                    if placement[a]:
                        c = solver.Constraint(-infinity, 0)
                        c.SetCoefficient(xs[pos[a]], 1)
                        c.SetCoefficient(y, -1)
                    else:
                        xs[pos[a]].SetUb(min(cap, int(caps[a])))
                        c = solver.Constraint(-infinity, 0)
                        c.SetCoefficient(xs[pos[a]], 1)
                        c.SetCoefficient(y, -cap)
            elif len(arcs) > cap:
                row(-infinity, cap, arcs)

    def _supervisors(self, problem, res, net) -> None:
        """Supervisors' capacities."""
        var_arcs = self.var_arcs
        proj = net.arc_project[var_arcs]
        sup = np.where(proj >= 0, problem.index.supervisor_of[np.maximum(proj, 0)], -1)
        for v in np.unique(sup[sup >= 0]).tolist():
            arcs = var_arcs[sup == v]
            if arcs.size > res.supervisor_capacity[v]:
                self._row(-self.infinity, int(res.supervisor_capacity[v]), arcs.tolist())

    def all_vars(self) -> list:
        return self.xs + list(self.open_var.values())

    def keep(self, coef: np.ndarray, value: float) -> None:
        keep = self.solver.Constraint(-self.solver.infinity(), value)
        for x, c in zip(self.xs, coef.tolist()):
            if c:
                keep.SetCoefficient(x, c)
