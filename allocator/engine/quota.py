"""Minimum project sizes: a project runs with at least `min_students` or not at all.

That either-or is not a network, so it takes a search. The flow optimum without minimums is a bound
and, when it already respects them, the answer (most minimums are slack: on the seed's cohorts the
flow leaves a few dozen of hundreds short). Otherwise the flow network becomes a mixed-integer
program (`mip`), whose optimum says which projects run; a last flow over exactly those projects then
draws the seed's lottery between the equally good allocations that run them, unranked placements
included. GLOP and HiGHS are deterministic, so the projects the program picks depend on the problem alone:
same problem and seed, same allocation, whatever the machine's load or the time limit, whenever the
run is proven.

Measured (benchmarks/engine.py --minimums-only --limit 120, whole CLI processes, one run each, 2-core
machine at load 1-2.5): the seed's cohorts with unranked placements prove every objective, at 2,000
students in 0.4-1.0 s, at 5,000 in 1.6-3.6 s, at 10,000 in 3.5-6.9 s, where the independent HiGHS
MILP beside it takes 7-37 s at 2,000 and stops unproven at 5,000 (greedy, generous) and 10,000.
Before the stages' LPs and reduced-cost fixing (`fixing.py`), 10,000-student generous was unproven
after 120 s and greedy took 82 s.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from allocator.domain import Objective, RunStatus

from . import clash, flow, mip
from .model import Problem
from .network import Residual, build_network
from .objectives import Level, MergedLevels, hub_allowed, levels, merge_levels, placed_level
from .words import count, ordinal

@dataclass(frozen=True)
class Outcome:
    project_of: np.ndarray | None  # per student, -1 when unplaced; None when infeasible or unknown
    status: str
    solver: str
    message: str = ""
    bound: dict[str, int] = field(default_factory=dict)


def has_binding_minimums(problem: Problem, res: Residual) -> bool:
    return bool(np.any(binding(problem, res)))


def binding(problem: Problem, res: Residual) -> np.ndarray:
    """A minimum binds when it is above 1 and the pinned students do not already reach it."""
    return (problem.index.minimum >= 2) & (res.pinned_count < problem.index.minimum)


def short_projects(problem: Problem, res: Residual, project_of: np.ndarray) -> np.ndarray:
    """Projects that run below their minimum in `project_of`."""
    ix = problem.index
    n_placed = np.bincount(project_of[project_of >= 0], minlength=len(ix.project_ids)) + res.pinned_count
    return np.flatnonzero((n_placed > 0) & (n_placed < ix.minimum))


def solve(problem: Problem, res: Residual, objective: str, weights, seed: int, deadline: float) -> Outcome:
    started = time.perf_counter()
    relaxed = flow.allocate(problem, res, objective, weights, seed)
    if short_projects(problem, res, relaxed).size == 0:
        return Outcome(relaxed, RunStatus.OPTIMAL, "min-cost-flow")
    sentence = clash.forced_minimum_clash(problem, res)
    if sentence:
        return Outcome(None, RunStatus.INFEASIBLE, "min-cost-flow", sentence)
    # A lottery flow costs one or two of the relaxed one, and the closing heuristic's flows, when the
    # program stops before its first stage is proven, run up to its own deadline; keep time for all.
    before = time.perf_counter() - started
    reserve = 5 * before
    net = build_network(problem, res, 0, hub=hub_allowed(objective, weights))
    present = np.zeros(problem.k + 2, bool)
    present[net.level] = True
    present[0] = False
    lv = [placed_level(problem.k)] + levels(problem, objective, weights, present)
    groups = merge_levels(lv, int(res.free.sum()))
    out = mip.solve(problem, res, net, binding(problem, res), [g.level for g in groups], deadline - reserve,
                    [g.levels for g in groups])
    if out.infeasible:
        return Outcome(None, RunStatus.INFEASIBLE, mip.SOLVER, clash.generic_minimum_clash(problem, res))
    proven = len(out.stages) == len(groups) and all(s.proven for s in out.stages)
    project_of = None if out.open_ is None else lottery(problem, res, objective, weights, seed, out.open_)
    if not out.stages or not out.stages[0].proven:
        # The program's first incumbents can be poor (a third of the students left out, measured):
        # the closing heuristic may do better, and the better of the two is kept.
        fallback = _closing_heuristic(problem, res, relaxed, deadline - 2 * before)
        if fallback is not None:
            other = lottery(problem, res, objective, weights, seed, fallback)
            if project_of is None or _values(problem, res, lv, other) < _values(problem, res, lv, project_of):
                project_of = other
    if project_of is None:
        return Outcome(None, RunStatus.UNKNOWN, mip.SOLVER, "no allocation was found or ruled out within the time limit")
    if proven:
        return Outcome(project_of, RunStatus.OPTIMAL, mip.SOLVER)
    done = len(out.stages)
    if done > 1 and not out.stages[-1].proven and not math.isfinite(out.stages[-1].bound):
        done -= 1  # the clock cut the last stage's LP short, so it knows nothing: say what the one before proved
    stage = out.stages[done - 1] if done else None
    group = groups[done - 1] if done else groups[0]
    bound, sentence = stopped(problem, res, group, stage, project_of, relaxed)
    return Outcome(project_of, RunStatus.FEASIBLE, mip.SOLVER, sentence, bound)


def _values(problem, res, lv: list[Level], project_of: np.ndarray) -> list[int]:
    """`project_of`'s value on each level, free students only: lexicographically less is better."""
    from .network import ranks_of

    rank = ranks_of(problem, project_of)
    rank[~res.free] = 0
    return [int(level.coef[rank].sum()) for level in lv]


def lottery(problem, res, objective, weights, seed, open_: np.ndarray) -> np.ndarray:
    """The seed's pick among the best allocations that run exactly the projects with a binding
    minimum in `open_` (a flow with those minimums as lower bounds and the others closed)."""
    ix = problem.index
    bind = binding(problem, res)
    capacity = res.capacity.copy()
    capacity[bind & ~open_] = 0
    lower = np.where(bind & open_, ix.minimum - res.pinned_count, 0)
    project_of = flow.allocate(problem, res, objective, weights, seed, capacity, lower)
    if project_of is None:
        raise flow.FlowError("the projects the program runs cannot reach their minimums: a bug")
    return project_of


def _closing_heuristic(problem, res, relaxed: np.ndarray, deadline: float) -> np.ndarray | None:
    """A feasible choice of projects without the program: close what the flow leaves short, again
    until nothing is short (projects that pins force to run keep their minimum as a lower bound).
    Min-cost flows, one level each, whatever the objective: this runs when time is already short,
    so at the deadline it stops and runs what the last flow filled to its minimum; the lottery's
    flow with those minimums as lower bounds always exists (that last flow, less the students on
    projects it left short, is one)."""
    ix = problem.index
    bind = binding(problem, res)
    forced = bind & (res.pinned_count > 0)
    capacity = res.capacity.copy()
    lower = np.where(forced, ix.minimum - res.pinned_count, 0)
    project_of = relaxed
    if forced.any():  # the relaxed flow may leave them short: start from one that does not
        project_of = flow.allocate(problem, res, Objective.MIN_COST, None, 0, capacity, lower)
        if project_of is None:
            return None
    for _ in range(len(ix.project_ids) + 1):
        n_placed = np.bincount(project_of[project_of >= 0], minlength=len(ix.project_ids)) + res.pinned_count
        short = short_projects(problem, res, project_of)
        short = short[~forced[short]]
        if not short.size or time.perf_counter() >= deadline:
            return (n_placed >= np.where(bind, ix.minimum, 1)) | forced
        capacity[short] = 0
        project_of = flow.allocate(problem, res, Objective.MIN_COST, None, 0, capacity, lower if forced.any() else None)
        if project_of is None:
            return None
    return None


def stopped(problem, res, group: MergedLevels, stage, project_of, relaxed) -> tuple[dict[str, int], str]:
    """Out of time: what was found, what is proven (how many students at most can be placed, and
    the best value the objective can reach), the gaps, and an estimate of the time a proof needs.
    A bound enters `bound` only when it is a bound on all allocations: the objective's bound is
    given for allocations placing as many students as this one, so it enters once placed is proven."""
    from .network import ranks_of

    head = "the time limit came before this allocation was proven optimal"
    if stage is not None and stage.proven:  # the next stage had no time to start
        return {}, (f"{head}: it is proven best up to its {group.levels[-1].name}; nothing is proven yet "
                    f"beyond that")

    def level_values(of):
        rank = ranks_of(problem, of)
        rank[~res.free] = 0
        return [int(level.coef[rank].sum()) for level in group.levels]

    values = level_values(project_of)
    loose = level_values(relaxed) if group.levels[0].name == "placed" else None
    first, second = _level_bounds(group, stage.bound if stage is not None else -math.inf, values, loose,
                                  int(res.free.sum()))
    if not math.isfinite(first):
        return {}, f"{head}; nothing is proven yet about how far it is from the best"
    known = [(group.levels[0], values[0], min(first, values[0]))]
    if len(group.levels) > 1:
        known.append((group.levels[1], values[1], min(second, values[1])))
    if known[0][0].name != "placed":  # placed was settled by an earlier stage
        known.insert(0, (placed_level(problem.k), -int((project_of[res.free] >= 0).sum()), None))
    bound, sentences = {}, []
    settled = True
    for level, found, lowest in known[:2]:
        pinned = _pinned_value(problem, level)
        best = level.sense() * (found + pinned)
        natural = best if lowest is None else level.sense() * (lowest + pinned)
        # Counts of students and costs are never below 0, and no count is above the number placed.
        natural = max(natural, 0)
        most = int((project_of >= 0).sum()) + len(problem.index.pinned_student)
        if level.name.startswith("rank"):
            natural = min(natural, most)
        trivial = natural == (most if level.sense() < 0 and level.name != "placed" else 0)
        if settled and not trivial:
            bound[level.name] = natural
        sentences.append(_gap_sentence(level, best, None if trivial and natural != best else natural))
        settled = settled and natural == best
    sentences.append(_estimate_sentence(stage.estimate if stage is not None else None))
    return bound, f"{head}: " + "; ".join(sentences)


def _level_bounds(group: MergedLevels, merged: float, values: list[int], loose: list[int] | None, n_free: int):
    """Bounds on the group's first level, and on its second with the first at its value in
    `values`, from the merged bound and, when the group starts with placed, the flow relaxation."""
    first = second = -math.inf
    if math.isfinite(merged):
        most = [v + sp - 1 for v, sp in zip(values, group.spans)]
        # The merged bound minus the most the later levels can add bounds the first level; with the
        # first level at its value, what is left bounds the second.
        first = math.ceil((merged - _dot(group.scale[1:], most[1:])) / group.scale[0] - 1e-9)
        if len(group.levels) > 1:
            second = math.ceil((merged - group.scale[0] * values[0] - _dot(group.scale[2:], most[2:]))
                               / group.scale[1] - 1e-9)
    if loose is not None:
        # Until HiGHS solves its root relaxation its bound is weak or absent; the flow without
        # minimums is a relaxation too: it places the most, and is best among allocations placing
        # as many. No allocation places more students than there are.
        first = max(first, loose[0], -n_free)
        if values[0] == loose[0] and len(loose) > 1:
            second = max(second, loose[1])
    return first, second


def _estimate_sentence(seconds: float | None) -> str:
    if seconds is None:
        return "there is no estimate yet of how long a proof would take"
    if seconds < 90:
        return f"a proof might take about {max(1, round(seconds))} s more (an estimate from how fast the gap closed)"
    if seconds < 2 * 3600:
        return f"a proof might take about {round(seconds / 60)} min more (an estimate from how fast the gap closed)"
    return "a proof might take hours more (an estimate from how fast the gap closed)"


def _dot(a, b) -> int:
    return sum(x * y for x, y in zip(a, b))


def _pinned_value(problem: Problem, level: Level) -> int:
    from .network import ranks_of

    ix = problem.index
    project_of = np.full(len(ix.student_ids), -1, np.int64)
    project_of[ix.pinned_student] = ix.pinned_project
    return int(level.coef[ranks_of(problem, project_of)[ix.pinned_student]].sum())


def _gap_sentence(level: Level, best: int, natural: int | None) -> str:
    """What this allocation achieves on `level` and what no allocation can beat (None: nothing
    proven beyond the obvious)."""
    if natural is None:
        what = f"its cost is {best}" if level.name == "cost" else _gap_sentence(level, best, best).split(",")[0]
        return f"{what}, and nothing better than the obvious is proven yet about it"
    gap = abs(best - natural)
    if level.name == "placed":
        if not gap:
            return f"it places {count(best, 'student')}, as many as any allocation can"
        return (f"it places {count(best, 'student')} and no allocation places more than {natural}, "
                f"a gap of {count(gap, 'student')}")
    if level.name == "cost":
        if not gap:
            return f"its cost {best} is the least for as many students placed"
        return (f"its cost is {best} and none placing as many students costs less than {natural}, "
                f"a gap of {gap}")
    more = "more" if level.sense() < 0 else "fewer"
    rank = int(level.name.split()[-1])
    what = "an unranked project" if rank == len(level.coef) - 1 else f"their {ordinal(rank)} choice"
    if not gap:
        return f"it gives {count(best, 'student')} {what}, proven best"
    return (f"it gives {count(best, 'student')} {what} and none gives {more} than {natural}, "
            f"a gap of {count(gap, 'student')}")
