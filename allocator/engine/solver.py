"""`solve`: pins first, then min-cost flow, and a HiGHS program only when minimum project sizes bind."""
from __future__ import annotations

import time

import numpy as np

from allocator.domain import Objective, RunStatus

from . import clash, flow, groups, mip, quota
from .model import BadOptions, Problem, Result
from .network import ranks_of, residual
from .objectives import check_options, rank_costs

# Every name a Result's `solver` can take from the engine: min-cost flow alone, flow then HiGHS for
# minimum sizes (quota.py), HiGHS for groups or places and tiers with minimums (groups.py).
SOLVERS = ("min-cost-flow", mip.SOLVER, groups.SOLVER)
# Measured (benchmarks/engine.py --minimums-only, whole processes, 2-core machine at load 1.5-2): the
# seed cohorts at 2,000-10,000 students with minimums and unranked placements prove every objective
# within 7 s (10,000 generous), the benchmark's random 2,000 with 60% minimums within 10 s, and the
# groups benchmark (2,000 students, 300 groups) within 9 s. At load 7 (browser tests beside it) the
# 10,000 cohort's greedy took 29 s, so 30 s would be no margin on a busy server: 60 s is twice that.
DEFAULT_TIME_LIMIT = 60.0


def solve(
    problem: Problem,
    objective: str = Objective.MIN_COST,
    weights=None,
    seed: int = 0,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> Result:
    """An allocation that places as many students as possible and, among those, is best for the
    objective. Equally good allocations are chosen between by `seed`: the same seed gives the same
    allocation. Raises MalformedProblem or BadOptions; an impossible problem is a Result with status
    "infeasible" and a sentence naming the clash."""
    start = time.perf_counter()
    if not isinstance(problem, Problem):
        raise BadOptions("solve needs a Problem")
    weights = check_options(problem, objective, weights, time_limit)
    if type(seed) is not int:
        raise BadOptions(f"the seed must be a whole number, not {seed!r}")
    sentence = clash.pin_clash(problem)
    if sentence:
        return _empty(problem, objective, weights, seed, start, RunStatus.INFEASIBLE, "none", sentence)
    if problem.extended:  # groups, several places or tiers: their own path (extended.py)
        from . import extended

        return extended.solve(problem, objective, weights, seed, start, start + time_limit)
    res = residual(problem)
    if quota.has_binding_minimums(problem, res):
        out = quota.solve(problem, res, objective, weights, seed, start + time_limit)
        if out.project_of is None:
            return _empty(problem, objective, weights, seed, start, out.status, out.solver, out.message, out.bound)
        return _result(problem, out.project_of, objective, weights, seed, start, out.status, out.solver,
                       out.message, out.bound)
    project_of = flow.allocate(problem, res, objective, weights, seed)
    return _result(problem, project_of, objective, weights, seed, start, RunStatus.OPTIMAL, "min-cost-flow")


def _result(problem, project_of, objective, weights, seed, start, status, solver, message="", bound=None) -> Result:
    ix = problem.index
    project_of = project_of.copy()
    project_of[ix.pinned_student] = ix.pinned_project
    rank = ranks_of(problem, project_of)
    placed = np.flatnonzero(project_of >= 0)
    sid, pid = ix.student_ids, ix.project_ids
    placed_ids = [sid[i] for i in placed.tolist()]
    placed_ranks = rank[placed]
    return Result(
        status=status,
        objective=objective,
        assignment=dict(zip(placed_ids, [pid[j] for j in project_of[placed].tolist()])),
        unassigned=[sid[i] for i in np.flatnonzero(project_of < 0).tolist()],
        profile=np.bincount(placed_ranks, minlength=ix.k + 2)[1:].tolist(),
        cost=int(rank_costs(problem, objective, weights)[placed_ranks].sum()),
        seconds=round(time.perf_counter() - start, 4),
        solver=solver,
        message=message,
        bound=bound or {},
        seed=seed,
        weights=list(weights) if weights is not None else None,
        ranks=dict(zip(placed_ids, placed_ranks.tolist())),
    )


def _empty(problem, objective, weights, seed, start, status, solver, message, bound=None) -> Result:
    return Result(
        status=status, objective=objective, assignment={}, unassigned=list(problem.index.student_ids),
        profile=[0] * (problem.k + 1), cost=0, seconds=round(time.perf_counter() - start, 4), solver=solver,
        message=message, bound=bound or {}, seed=seed, weights=list(weights) if weights is not None else None,
    )
