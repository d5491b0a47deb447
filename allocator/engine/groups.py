"""Groups (and minimum sizes, when places or tiers are in play) as a mixed-integer program.

One binary per choice a unit can make (a free student's project, or a free group's project, which
places all its members at once), each unit at most its places, each project at most its seats
counted in students, each supervisor likewise, and a project with a binding minimum either closed or
at its minimum. The tiered levels (`extended.tier_levels`) are merged while their weighted sum stays
exact in double arithmetic, and solved stage by stage on HiGHS with one thread, each stage keeping the
values of the stages before it. The first stage runs on HiGHS with one thread; later ones on CP-SAT
with one worker, started from the previous stage's optimum (pywraplp cannot hint HiGHS): the same
problem and seed give the same allocation whenever it is proven. The seed orders the variables, which
is how it chooses between equally good allocations.

Measured (benchmarks/engine.py --groups-only, 2,000 students, 300 groups of 2-4, k = 8, on a loaded
2-core machine): min-cost, one stage, proves in 2-5 s. Greedy and generous, whose later stages must
keep the earlier levels' values, were not proven within a minute on HiGHS, on CP-SAT with one or two
workers, nor with the later stages shrunk by reduced-cost fixing (it removed a fifth of the choices);
they stop at the time limit with a valid allocation, status "feasible".
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .network import permutation
from .objectives import Level

SOLVER = "highs"
# One worker: its search, so its answer, is the same whatever the machine's load.
CP_SAT_WORKERS = 1
MERGE_LIMIT = 2**33  # as in quota.py: a merged range whose every unit doubles still tell apart
ABSOLUTE_GAP = 0.5  # integer objectives: a gap below one unit is a proof


@dataclass(frozen=True)
class Outcome:
    chosen: np.ndarray | None  # positions of the chosen choices; None when none was found
    status: str
    message: str = ""


def merge(lv: list[Level], n_places: int, limit: int = MERGE_LIMIT) -> list[list[tuple[Level, int]]]:
    """Consecutive levels as weighted sums: one unit of a level outweighs any change of the later ones."""
    spans = [n_places * int(level.coef.max() - level.coef.min()) + 1 for level in lv]
    out, i = [], 0
    while i < len(lv):
        j, total = i + 1, spans[i]
        while j < len(lv) and total * spans[j] <= limit:
            total *= spans[j]
            j += 1
        out.append([(lv[t], math.prod(spans[t + 1: j])) for t in range(i, j)])
        i = j
    return out


def solve(problem, res, units, lv: list[Level], binding: np.ndarray, seed: int, deadline: float) -> Outcome:
    from ortools.linear_solver import pywraplp

    from .extended import choice_costs

    # A project that pins force to run but that no free choice can join stays below its minimum
    # (the program has no row for a project without choices).
    forced = binding & (res.pinned_count > 0)
    if (forced & (np.bincount(units.choice_project, minlength=forced.size) == 0)).any():
        return Outcome(None, "infeasible")
    if not units.choice_unit.size:
        return Outcome(np.zeros(0, np.int64), "optimal")
    n_places = int((units.supply * units.size).sum())
    values = None
    proven = True
    kept: list[np.ndarray] = []
    for t, stage in enumerate(merge(lv, n_places)):
        if t <= 1:
            model = _Model(problem, res, units, binding, seed, "HIGHS" if t == 0 else "CP_SAT")
            for level_coef in kept:
                model.keep(level_coef, float(level_coef @ values))
        coef = sum(scale * choice_costs(units, level, problem.k) for level, scale in stage)
        model.minimise(coef)
        remaining = deadline - time.perf_counter()
        if remaining <= 0.01:
            proven = False
            break
        status = model.solve(remaining, values)
        if status == pywraplp.Solver.INFEASIBLE:
            return Outcome(None, "infeasible")
        if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
            proven = False
            break
        values = np.round([x.solution_value() for x in model.xs])
        if status != pywraplp.Solver.OPTIMAL:
            proven = False
            break
        # Each level of the stage keeps its own value: the same set as keeping the merged optimum,
        # but with small coefficients, where the merged ones made HiGHS call a feasible stage infeasible.
        for level, _ in stage:
            kept.append(choice_costs(units, level, problem.k))
            model.keep(kept[-1], float(kept[-1] @ values))
    if values is None:
        return Outcome(None, "unknown", "no allocation was found or ruled out within the time limit")
    chosen = np.flatnonzero(values > 0.5)
    if proven:
        return Outcome(chosen, "optimal")
    return Outcome(chosen, "feasible", "the time limit came before this allocation was proven optimal")


class _Model:
    """The choices as a pywraplp model on HiGHS, variables in the seed's order."""

    def __init__(self, problem, res, units, binding: np.ndarray, seed: int, backend: str):
        from ortools.linear_solver import pywraplp

        self.backend = backend
        self.solver = solver = pywraplp.Solver.CreateSolver(backend)
        solver.SuppressOutput()
        if backend == "HIGHS":
            solver.SetNumThreads(1)
        ix = problem.index
        n_choices = units.choice_unit.size
        order = permutation(n_choices, seed, 7)
        xs = [None] * n_choices
        for c in order.tolist():
            xs[c] = solver.BoolVar("")
        self.xs = xs
        inf = solver.infinity()
        cu, cp = units.choice_unit, units.choice_project
        seats = units.size[cu]

        def row(lo, hi, choices, coefs):
            con = solver.Constraint(lo, hi)
            for c, a in zip(choices.tolist(), coefs.tolist()):
                con.SetCoefficient(xs[c], a)
            return con

        for u, mine in _split(cu, len(units.members)):
            if mine.size > units.supply[u]:
                row(-inf, int(units.supply[u]), mine, np.ones(mine.size, np.int64))
        forced = binding & (res.pinned_count > 0)
        for j, mine in _split(cp, len(ix.project_ids)):
            cap = int(res.capacity[j])
            if forced[j]:
                row(int(ix.minimum[j] - res.pinned_count[j]), cap, mine, seats[mine])
            elif binding[j]:
                y = solver.BoolVar("")
                row(-inf, 0, mine, seats[mine]).SetCoefficient(y, -cap)
                row(0, inf, mine, seats[mine]).SetCoefficient(y, -int(ix.minimum[j]))
                for c in mine.tolist():  # closure cuts tighten the relaxation
                    con = solver.Constraint(-inf, 0)
                    con.SetCoefficient(xs[c], 1)
                    con.SetCoefficient(y, -1)
            elif seats[mine].sum() > cap:
                row(-inf, cap, mine, seats[mine])
        sup = ix.supervisor_of[cp]
        for v, mine in _split(np.where(sup >= 0, sup, len(ix.supervisor_ids)), len(ix.supervisor_ids)):
            if seats[mine].sum() > res.supervisor_capacity[v]:
                row(-inf, int(res.supervisor_capacity[v]), mine, seats[mine])


    def minimise(self, coef: np.ndarray) -> None:
        objective = self.solver.Objective()
        objective.Clear()
        for x, c in zip(self.xs, coef.tolist()):
            if c:
                objective.SetCoefficient(x, c)
        objective.SetMinimization()

    def keep(self, coef: np.ndarray, value: float) -> None:
        keep = self.solver.Constraint(-self.solver.infinity(), value)
        for x, c in zip(self.xs, coef.tolist()):
            if c:
                keep.SetCoefficient(x, c)

    def solve(self, remaining: float, hint: np.ndarray | None):
        solver = self.solver
        if self.backend == "HIGHS":
            solver.SetSolverSpecificParametersAsString(
                f"mip_abs_gap = {ABSOLUTE_GAP}\nmip_rel_gap = 0\nrandom_seed = 0\noutput_flag = false\n"
                f"log_to_console = false\ntime_limit = {remaining:.3f}\n")
        else:
            solver.SetSolverSpecificParametersAsString(
                f"num_workers: {CP_SAT_WORKERS} random_seed: 0 max_time_in_seconds: {remaining:.3f}")
            if hint is not None:
                solver.SetHint(self.xs, hint.tolist())
        return solver.Solve()


def _split(keys: np.ndarray, size: int):
    """(key, positions) for each key below `size` that occurs."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    cuts = np.flatnonzero(np.diff(sorted_keys)) + 1
    for part in np.split(order, cuts):
        if part.size and keys[part[0]] < size:
            yield int(keys[part[0]]), part
