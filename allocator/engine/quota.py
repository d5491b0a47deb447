"""Minimum project sizes: a project runs with at least `min_students` or not at all.

That either-or is not a network, so it takes a search. The flow optimum without minimums is a bound
and, when it already respects them, the answer. Otherwise a branch and bound over which contested
projects run, each node an exact flow solve, usually settles it in a few dozen flows (measured: 2,000
students with 40% of projects under binding minimums, 8 to 22 nodes, a third of a second). When the
tree is large, CP-SAT takes over with the search's best allocation as a full hint, with 8 workers
even on 2 cores: its portfolio needs the variety (measured: a binding 1,000-student model stayed
unproven after 120 s with 2 workers, proven in 2.2 s with 8).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from . import clash, flow
from .model import Problem
from .network import Candidates, Residual, candidates, permutation, ranks_of
from .objectives import Level, levels, placed_level
from .words import ordinal

WORKERS = 8
# Levels are merged into one weighted objective while its range stays this small: fewer solves,
# and well inside the precision CP-SAT's linear relaxation works with.
MERGE_LIMIT = 2**40


@dataclass(frozen=True)
class Outcome:
    project_of: np.ndarray | None  # per student, -1 when unplaced; None when infeasible or unknown
    status: str
    solver: str
    message: str = ""
    bound: dict[str, int] = field(default_factory=dict)


def has_binding_minimums(problem: Problem, res: Residual) -> bool:
    return bool(np.any(_binding(problem, res)))


def _binding(problem: Problem, res: Residual) -> np.ndarray:
    """A minimum binds when it is above 1 and the pinned students do not already reach it."""
    return (problem.index.minimum >= 2) & (res.pinned_count < problem.index.minimum)


def solve(problem: Problem, res: Residual, objective: str, weights, seed: int, deadline: float) -> Outcome:
    relaxed = flow.allocate(problem, res, objective, weights, seed)
    if _short_projects(problem, res, relaxed).size == 0:
        return Outcome(relaxed, "optimal", "min-cost-flow")
    cand = candidates(problem, res)
    sentence = clash.forced_minimum_clash(problem, res, cand)
    if sentence:
        return Outcome(None, "infeasible", "min-cost-flow", sentence)
    now = time.perf_counter()
    search = _Search(problem, res, objective, weights, seed, cand)
    proven = search.run(relaxed, now + SEARCH_SHARE * (deadline - now))
    if proven:
        if search.best is None:
            return Outcome(None, "infeasible", "min-cost-flow", clash.generic_minimum_clash(problem, res))
        return Outcome(search.best, "optimal", "min-cost-flow+branch")
    return _cp_sat(problem, res, cand, objective, weights, seed, deadline, search.best, relaxed)


# Share of the time limit the flow search may use before CP-SAT takes over with its best allocation.
SEARCH_SHARE = 0.5
DIVE_NODES = 100


def _short_projects(problem: Problem, res: Residual, project_of: np.ndarray) -> np.ndarray:
    ix = problem.index
    count = np.bincount(project_of[project_of >= 0], minlength=len(ix.project_ids)) + res.pinned_count
    return np.flatnonzero((count > 0) & (count < ix.minimum))


class _Search:
    """Branch and bound over which projects with a minimum run, each node an exact flow solve.

    A node closes some projects (capacity 0) and opens others (at least their minimum, as lower
    bounds in a circulation) and relaxes the rest to [0, capacity]; its flow optimum is therefore
    lexicographically no worse than anything below it, which is what makes pruning exact. A leaf is
    a node whose optimum leaves no project short. Usually a handful of projects are contested and the
    tree is small; when it is not, the time share runs out and CP-SAT continues from the best leaf.
    """

    def __init__(self, problem, res, objective, weights, seed, cand: Candidates):
        self.problem, self.res, self.objective, self.weights, self.seed = problem, res, objective, weights, seed
        present = np.zeros(problem.k + 2, bool)
        present[cand.rank] = True
        # The flow network's shared unranked hub reaches every project, so its level must be judged
        # too, or a student could be routed through it to a project they ranked.
        present[problem.k + 1] |= problem.allow_unranked
        self.levels = [placed_level(problem.k)] + levels(problem, objective, weights, present)
        self.best: np.ndarray | None = None
        self.best_value: tuple | None = None
        self.nodes = 0

    def run(self, relaxed: np.ndarray, deadline: float) -> bool:
        """True when the search finished, so `best` is optimal (or None: no allocation exists)."""
        ix = self.problem.index
        forced = frozenset(np.flatnonzero((self.res.pinned_count > 0) & (self.res.pinned_count < ix.minimum)).tolist())
        stack = [(frozenset(), forced, None)]
        if not forced:
            stack = [(frozenset(), forced, (relaxed, self._value(relaxed)))]
        while stack:
            # The first dive ignores the clock (within reason): CP-SAT should get a full hint.
            if time.perf_counter() > deadline and (self.best is not None or self.nodes > DIVE_NODES):
                return False
            closed, opened, solved = stack.pop()
            project_of, value = solved if solved else self._solve(closed, opened)
            if project_of is None or (self.best_value is not None and value >= self.best_value):
                continue
            short = [j for j in _short_projects(self.problem, self.res, project_of).tolist() if j not in opened]
            if not short:
                self.best, self.best_value = project_of, value
                continue
            stack.extend(self._children(closed, opened, short, project_of))
        return True

    def _children(self, closed, opened, short, project_of):
        ix = self.problem.index
        count = np.bincount(project_of[project_of >= 0], minlength=len(ix.project_ids)) + self.res.pinned_count
        # Branch on the project nearest its minimum; try first what it looks closer to.
        j = max(short, key=lambda p: (count[p] / ix.minimum[p], -p))
        close, open_ = (closed | {j}, opened, None), (closed, opened | {j}, None)
        return [close, open_] if 2 * count[j] >= ix.minimum[j] else [open_, close]

    def _solve(self, closed, opened):
        self.nodes += 1
        ix = self.problem.index
        capacity = self.res.capacity.copy()
        capacity[list(closed)] = 0
        lower = None
        if opened:
            lower = np.zeros(len(capacity), np.int64)
            js = list(opened)
            lower[js] = ix.minimum[js] - self.res.pinned_count[js]
        project_of = flow.allocate(self.problem, self.res, self.objective, self.weights, self.seed, capacity, lower,
                                   self.best_value, self.levels[1:])
        return (None, None) if project_of is None else (project_of, self._value(project_of))

    def _value(self, project_of: np.ndarray) -> tuple:
        rank = ranks_of(self.problem, project_of)
        rank[~self.res.free] = 0
        return tuple(int(level.coef[rank].sum()) for level in self.levels)


@dataclass
class _Model:
    model: object
    x: list
    y: dict  # project index -> open variable
    cand: Candidates


def _cp_sat(problem, res, cand, objective, weights, seed, deadline, hint, relaxed) -> Outcome:
    from ortools.sat.python import cp_model

    order = permutation(cand.student.size, seed, 4)
    cand = Candidates(cand.student[order], cand.project[order], cand.rank[order])
    m = _build(problem, res, cand, cp_model)
    present = np.zeros(problem.k + 2, bool)
    present[cand.rank] = True
    lv = [placed_level(problem.k)] + levels(problem, objective, weights, present)
    best = hint
    if best is not None:
        _hint(m, best)
    pinned_constant = _pinned_constant(problem, lv)
    relaxed_placed = int((relaxed >= 0).sum()) + len(problem.pinned)
    for group, scale in _groups(lv, cand):
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            return _stopped(best, group, None, pinned_constant, relaxed_placed)
        coeffs = sum(int(s) * g.coef[cand.rank] for g, s in zip(group, scale))
        m.model.minimize(cp_model.LinearExpr.weighted_sum(m.x, coeffs.tolist()))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = WORKERS
        solver.parameters.random_seed = seed % 2**31
        solver.parameters.max_time_in_seconds = remaining
        status = solver.solve(m.model)
        if status == cp_model.INFEASIBLE:
            return Outcome(None, "infeasible", "cp-sat", clash.generic_minimum_clash(problem, res))
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return _stopped(best, group, None, pinned_constant, relaxed_placed)
        values = np.fromiter(solver.response_proto.solution, np.int64)[: len(m.x)]
        best = _project_of(cand, values, len(res.free))
        if status == cp_model.FEASIBLE:
            return _stopped(best, group, (solver.best_objective_bound, scale, cand), pinned_constant, relaxed_placed)
        for g in group:
            value = int(g.coef[cand.rank] @ values)
            m.model.add(cp_model.LinearExpr.weighted_sum(m.x, g.coef[cand.rank].tolist()) == value)
        _hint(m, best)
    return Outcome(best, "optimal", "cp-sat")


def _build(problem: Problem, res: Residual, cand: Candidates, cp_model) -> _Model:
    ix = problem.index
    model = cp_model.CpModel()
    x = [model.new_bool_var("") for _ in range(cand.student.size)]
    for arcs in _groups_of(cand.student):
        if arcs.size > 1:
            model.add_at_most_one([x[a] for a in arcs])
    binding = _binding(problem, res)
    y = {}
    for arcs in _groups_of(cand.project):
        j = int(cand.project[arcs[0]])
        xs = [x[a] for a in arcs]
        total = cp_model.LinearExpr.sum(xs)
        room = int(res.capacity[j])
        if binding[j] and res.pinned_count[j] > 0:
            model.add(total >= int(ix.minimum[j] - res.pinned_count[j]))
            model.add(total <= room)
        elif binding[j]:
            y[j] = open_ = model.new_bool_var("")
            model.add(total <= room * open_)
            model.add(total >= int(ix.minimum[j]) * open_)
            for v in xs:
                model.add_implication(v, open_)
        elif arcs.size > room:
            model.add(total <= room)
    sup = ix.supervisor_of[cand.project]
    for arcs in _groups_of(np.where(sup >= 0, sup, -1)):
        v = int(sup[arcs[0]])
        if v >= 0 and arcs.size > res.supervisor_capacity[v]:
            model.add(cp_model.LinearExpr.sum([x[a] for a in arcs]) <= int(res.supervisor_capacity[v]))
    return _Model(model, x, y, cand)


def _groups_of(keys: np.ndarray) -> list[np.ndarray]:
    """Arc positions grouped by key, in key order."""
    order = np.argsort(keys, kind="stable")
    cuts = np.flatnonzero(np.diff(keys[order])) + 1
    return np.split(order, cuts) if order.size else []


def _hint(m: _Model, project_of: np.ndarray) -> None:
    m.model.clear_hints()
    on = project_of[m.cand.student] == m.cand.project
    for v, value in zip(m.x, on.tolist()):
        m.model.add_hint(v, value)
    count = np.bincount(project_of[project_of >= 0], minlength=int(m.cand.project.max(initial=0)) + 1)
    for j, v in m.y.items():
        m.model.add_hint(v, bool(count[j] > 0) if j < count.size else False)


def _groups(lv: list[Level], cand: Candidates):
    """Consecutive levels merged while the weighted sum stays within MERGE_LIMIT; each group comes
    with its multipliers, chosen so one unit of a level outweighs any change of the later ones."""
    spans = [_span(level, cand) for level in lv]
    i = 0
    while i < len(lv):
        j, total = i + 1, spans[i]
        while j < len(lv) and total * spans[j] <= MERGE_LIMIT:
            total *= spans[j]
            j += 1
        scale = [math.prod(spans[t + 1 : j]) for t in range(i, j)]
        yield lv[i:j], scale
        i = j


def _extremes(level: Level, cand: Candidates) -> tuple[int, int]:
    """Lowest and highest value the level can take: each student contributes at most one arc."""
    c = level.coef[cand.rank]
    n = int(cand.student.max(initial=-1)) + 1
    low = np.zeros(n, np.int64)
    high = np.zeros(n, np.int64)
    np.minimum.at(low, cand.student, c)
    np.maximum.at(high, cand.student, c)
    return int(low.sum()), int(high.sum())


def _span(level: Level, cand: Candidates) -> int:
    low, high = _extremes(level, cand)
    return high - low + 1


def _pinned_constant(problem: Problem, lv: list[Level]) -> dict[str, int]:
    ix = problem.index
    project_of = np.full(len(ix.student_ids), -1, np.int64)
    project_of[ix.pinned_student] = ix.pinned_project
    rank = ranks_of(problem, project_of)[ix.pinned_student]
    return {level.name: int(level.coef[rank].sum()) for level in lv}


def _project_of(cand: Candidates, values: np.ndarray, n: int) -> np.ndarray:
    project_of = np.full(n, -1, np.int64)
    on = values > 0
    project_of[cand.student[on]] = cand.project[on]
    return project_of


def _stopped(best, group, proof, pinned_constant, relaxed_placed) -> Outcome:
    """Out of time: the best allocation found, with what is proven about the level being optimised."""
    level = group[0]
    if proof is not None:
        bound, scale, cand = proof
        rest = sum(s * _extremes(g, cand)[1] for g, s in zip(group[1:], scale[1:]))
        minform = math.ceil((bound - rest) / scale[0] - 1e-9)
        natural = level.sense() * (minform + pinned_constant[level.name])
    elif level.name == "placed":
        natural = relaxed_placed
    else:
        natural = None
    bound = {} if natural is None else {level.name: natural}
    if best is None:
        return Outcome(None, "unknown", "cp-sat", "no allocation was found or ruled out within the time limit", bound)
    return Outcome(best, "feasible", "cp-sat", _stopped_sentence(level, natural), bound)


def _stopped_sentence(level: Level, natural: int | None) -> str:
    head = "the time limit came before this allocation was proven optimal"
    if natural is None:
        return head
    if level.name == "placed":
        return f"{head}; no allocation places more than {natural} students"
    if level.name == "cost":
        return f"{head}; none placing as many students costs less than {natural}"
    more = "more" if level.sense() < 0 else "fewer"
    rank = int(level.name.split()[-1])
    what = "an unranked project" if rank == len(level.coef) - 1 else f"their {ordinal(rank)} choice"
    return f"{head}; none gives {more} than {natural} students {what}"
