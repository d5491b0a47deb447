"""Greedy and generous with groups (no binding minimums): stages planned as the run goes.

`highs.lexicographic` merges the levels into stages before the run and starts each stage from the
last optimum as the program found it. Here:

1. A first allocation: the first stage's LP relaxation (HiGHS's LP); each group on the choice the
   LP gives most of it while its project and supervisor have the seats, any other group on its best
   choice with room, and the free students by the lexicographic flow in the seats left (`fill`).
   For generous, a dive on the flow with the groups split into seats instead (`_dive_groups`).
2. The levels it already proves: a level at its floor (every unit on its cheapest choice, or
   unplaced when that is cheaper) is optimal, and so is each next one at its floor. "Placed" when
   everyone has a place, generous's worst ranks when nobody is on them: no search for those.
3. The rest stage by stage. Consecutive levels are merged while the product of their spans stays
   under `MERGE_LIMIT`; after the first search, each span comes from the LP relaxation under the kept
   rows (the level's least or greatest value there: one LP a level), far narrower than the number
   of places, so greedy's ranks 4-7 make one stage instead of two.
4. Each stage starts from the best allocation so far with its free students placed again by the
   flow (the groups where the last search put them): the same values on every level solved so far,
   and often better ones on the later levels.
5. For generous, each stage's LP relaxation is solved beside HiGHS's search, and once the stage is
   proven, a variable whose reduced cost exceeds the gap between the stage's optimum and the LP's
   bound is fixed at its bound for the later stages (`fixing.fixed`): no optimum of the stage moves it.

Measured on the benchmark's groups row and seven more instances like it (`benchmarks/groups_seeds.py
1 2 3 4 5 6 7 8`, instance seeds 1-8; before and after run interleaved on the same quiet 2-core
machine, engine seconds, the same profiles): greedy median 10.7 s before, 5.1 s after (worst 14.6 s,
now 11.6 s); generous median 10.4 s, now 5.5 s (worst 25.5 s, now 12.6 s). The benchmark's own
instance (seed 4): greedy 6.6 → 5.0 s, generous 7.1 → 4.8 s (4.7-5.9 s over the day's runs).
HiGHS's path depends on every detail of the program (a start, a weight), so one instance can move
by seconds either way with any change: judge changes here on all eight.
Tried and dropped (same instances): a second first allocation from the LP of the first unproven
stage, a sub-MIP over the choices where the LP and the start disagree before each stage (RINS of our
own), individuals as continuous variables in a heuristic pass, HiGHS 1.16 through highspy with a
true MIP start (slower), SCIP and CP-SAT (slower on every stage).
Where the time goes (seed 4, greedy / generous, each stage's program solved again): given its
optimum as the start, stage 1 proves in 0.6 / 1.1 s against 2.7 / 3.1 s, so most of it is finding
that optimum; stage 2 still needs 1.8 / 1.7 s, whatever the heuristic settings, for the root cuts:
the relaxation lets a group split into whole seats (a group of 3 at 1/3 fills one seat), so under
the kept rows it finds 207 rank-4 placements where the optimum has 137. Also tried, on those
programs: single group moves from the first allocation, each scored exactly by `fill` (six best
moves took 3.5 min and still left stage 1 three rank-1 placements short), a sub-MIP over the groups
the LP splits (4.7 s, not optimal), individuals continuous in the stage (exact for stage 1, but
4-7 s), reduced-cost fixing from the first LP (as often slower), and HiGHS's presolve, symmetry,
restart, LP age, cut pool, lifting and pseudocost options (none faster in total; presolve in stage
1 alone: medians 4-7 % lower over the eight instances, the benchmark's own slower).
On seed 4 each stage ends at HiGHS's root node: its cut rounds, then its sub-MIP heuristics, which is where
the optimum is found. Its root reduced-cost heuristic, which ran first and found nothing, is off
(`groups.ROOT_OPTIONS`, measured there), so RENS starts a second or more sooner. With it off, ZI
rounding or shifting off too, or heuristic effort 0.15 or 0.5, moved the eight medians by less than
the noise of a loaded machine (±15 % between runs of the same program); RINS off made generous's
worst cases slower. Also measured on seed 4's stage programs, none a way through: each project's
knapsack as its exact hull (a DP per project) barely tightens stage 2's relaxation (rank 4 under the
kept rows 206.75 → 202.25, optimum 137: the gap is 52 of the 300 groups split across projects, not
the capacities); HiGHS's objective cutoff at the stage's optimum proves stage 1 in 1.1 s, but only at
that exact value (1 % of the gap away gains nothing); an LP dive before the first allocation (groups
over one half fixed, the LP again) came within 2 rank-1 placements instead of 8, its LPs costing what
stage 1 saved; CP-SAT on one worker (deterministic) proves greedy's stage 1 in 2.6 s but not
generous's stages in 15 s.
"""
from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple
from collections.abc import Callable

import numpy as np

from allocator.domain import Objective

from . import fixing, highs
from .objectives import MERGE_LIMIT, Level, merge_levels


# HiGHS's mip_heuristic_effort on this path, from the same eight instances (median engine seconds,
# greedy / generous): 0.15 → 5.8 / 5.7, 0.3 → 4.9 / 5.7, 0.5 (`groups.HEURISTIC_EFFORT`) → 5.6 / 5.6,
# 1.0 → 5.9 / 6.0. RINS and RENS stay on (HiGHS's defaults): off, generous's worst case took 29 s.
HEURISTIC_EFFORT = 0.3


class Seats(NamedTuple):
    """Room a group needs on a choice: its project's and its supervisor's."""

    capacity: np.ndarray  # per project
    supervisor_of: np.ndarray  # per project, -1 when none
    supervisor_capacity: np.ndarray  # per supervisor


class Helpers(NamedTuple):
    """What the staged path asks of the flow (`extended.py`) and which objective it is."""

    fill: Callable[[np.ndarray], np.ndarray]  # the free students placed around these group choices
    relax: Callable[..., np.ndarray]  # each choice's share with these groups split (open groups, seats)
    objective: str


# For generous, the first allocation comes from a flow dive (`_dive_groups`) and each proven
# stage's LP fixes variables by their reduced costs (`_Run.fix`). Measured on
# benchmarks/groups_seeds.py's eight instances, three runs of each interleaved (busy 2-core machine,
# engine seconds, the same profiles): generous's median 7.5 s → 6.2 s, total 78.6 → 67.9 s, faster
# on five instances, slower on one (9.5 → 11.4 s). Greedy was slower with either (total 53.5 → 57.5 s
# with the fixing alone, 58.2 s with both): its first allocation by LP is as good as the dive's
# (rank 1 within one or two), and the fixing changed its second stage's path for the worse.
# Generous's LP rounding puts the groups it is unsure of on their best choice with room, which
# leaves many on its worst ranks (195 on rank 6 against 36 at the optimum, instance 4); the dive
# places them by the flow (41).
DIVE_AND_FIX = frozenset({Objective.GENEROUS.value})
# A dive fixes the groups the flow gives at least this share of one project, then solves it again.
DIVE_SHARE = 0.5


class Staged(NamedTuple):
    values: np.ndarray  # per column: the best allocation found (the first allocation at least)
    proven: bool  # every level proven optimal
    placed_bound: int | None  # what is proven about "placed" when its own stage was cut short


def solve(model, units, lv: list[Level], costs: list[np.ndarray], seats: Seats, helpers: Helpers,
          deadline: float, heuristics: float, options: dict | None = None) -> Staged:
    """`costs`: each level's cost per choice. `model` is the groups program (`groups._Model` with
    unplaced counts). `heuristics` and `options` go to HiGHS for every stage (`highs.minimise`)."""
    run = _Run(model, units, costs, helpers.fill)
    tuned = helpers.objective in DIVE_AND_FIX
    first_groups = _dive_groups(model, units, seats, helpers.relax) if tuned else \
        _first_groups(model, units, run, seats, lv, deadline)
    run.x = run.polish(first_groups)
    i = run.already_proven()
    first = True
    with ThreadPoolExecutor(max_workers=1) as other_core:
        while i < len(lv):
            remaining = deadline - time.perf_counter()
            if remaining <= highs.LEAST_STAGE_SECONDS:
                return Staged(run.x, False, None)
            stage = _next_stage(run, lv[i:], i, narrow=not first, deadline=deadline)
            coef = run.objective(stage, i)
            # The stage's LP relaxation on the other core while HiGHS searches (the same answer
            # whenever it finishes): once the stage is proven its reduced costs fix variables.
            lp = other_core.submit(fixing.relaxation, run.box(), model.rows.arrays(), coef,
                                   deadline - time.perf_counter(), True) if tuned else None
            solved = highs.minimise(run.base, model.rows, coef, deadline - time.perf_counter(), False, heuristics,
                                    run.x, options)
            if solved.values is not None and coef @ solved.values < coef @ run.x:
                run.x = run.polish(np.round(solved.values), upto=i + len(stage.levels))
            if solved.reason != highs.OPTIMAL:
                alone = len(stage.levels) == 1 and stage.levels[0].name == "placed" and math.isfinite(solved.bound)
                return Staged(run.x, False, int(math.floor(-solved.bound + 1e-6)) if alone else None)
            for t in range(len(stage.levels)):
                run.keep(i + t)
            if lp is not None:
                run.fix(lp.result(), coef)
            i += len(stage.levels)
            first = False
    return Staged(run.x, True, None)


class _Run:
    """The program as the run narrows it, and the best allocation so far (per column)."""

    def __init__(self, model, units, costs, fill):
        self.model, self.units, self.costs, self.fill = model, units, costs, fill
        self.base = model.proto
        self.x: np.ndarray | None = None
        self.floors = [_extreme(units, c, np.minimum) for c in costs]
        self.ceilings = [_extreme(units, c, np.maximum) for c in costs]

    def widest(self, levels: range) -> list[int]:
        """Each level's span from its floor and ceiling alone."""
        return [int(self.ceilings[t] - self.floors[t]) + 1 for t in levels]

    def objective(self, stage, first: int) -> np.ndarray:
        """A merged stage's coefficients per column; its levels start at level `first`."""
        return sum(scale * self.model.columns(self.costs[first + t]) for t, scale in enumerate(stage.scale))

    def value(self, level: int, x: np.ndarray | None = None) -> float:
        return float(self.model.columns(self.costs[level]) @ (self.x if x is None else x))

    def polish(self, x: np.ndarray, upto: int = 0) -> np.ndarray:
        """`x` with its free students placed again by the flow; `x` itself if that were worse on
        any of the first `upto` levels (never expected: the flow is optimal given the groups)."""
        model, units = self.model, self.units
        chosen = np.flatnonzero(x[model.column] > 0.5)
        placed = self.fill(chosen[units.size[units.choice_unit[chosen]] > 1])
        out = np.zeros(x.size)
        out[model.column[placed]] = 1.0
        count = np.bincount(units.choice_unit[placed], minlength=len(units.members))
        out[model.first_u:] = units.supply[model.has_unit] - count[model.has_unit]
        if any(self.value(t, out) > self.value(t, x) for t in range(upto)):
            return x
        return out

    def already_proven(self) -> int:
        """How many leading levels the current allocation holds at their floors; those are kept."""
        i = 0
        while i < len(self.costs) and self.value(i) <= self.floors[i]:
            self.keep(i)
            i += 1
        return i

    def keep(self, level: int) -> None:
        """Hold a proven level at its value from now on (`highs.lexicographic`'s rows and fixing)."""
        cost = self.costs[level]
        kept = self.model.kept(cost)
        self.model.rows.at_most(kept, float(np.round(kept @ self.x)))
        if self.value(level) == 0 and cost.min() >= 0 and (cost > 0).any():
            self.base = highs.without(self.base, self.model.column[np.flatnonzero(cost > 0)])

    def fix(self, lp: fixing.Relaxed, coef: np.ndarray) -> None:
        """After a proven stage, fix every variable that its LP's reduced costs rule off its bound
        in all of the stage's optima (`fixing.fixed`): later stages search only among those."""
        if lp.values is not None:
            box = fixing.fixed(self.box(), lp, self.x, float(coef @ self.x))
            self.base = highs.with_bounds(self.base, box.lower, box.upper)

    def box(self) -> fixing.Box:
        return fixing.Box(np.asarray(self.base.variables.lower_bounds, float),
                          np.asarray(self.base.variables.upper_bounds, float))


def _extreme(units, cost: np.ndarray, pick) -> float:
    """The least (`np.minimum`) or greatest (`np.maximum`) a level can be: every unit's places on
    its cheapest (dearest) choice, or unplaced (0) when that is cheaper (dearer)."""
    per_unit = np.zeros(len(units.members))
    pick.at(per_unit, units.choice_unit, cost)
    return float(per_unit @ units.supply)


def _next_stage(run: _Run, rest: list[Level], i: int, narrow: bool, deadline: float):
    """The next levels to merge, with their spans: from the floors and ceilings, and with `narrow`
    also from the LP relaxation's least or greatest value of each level under the kept rows (a
    valid bound whatever the LP's accuracy: `fixing.safe_bound`)."""
    widest = run.widest(range(i, i + len(rest)))
    if not narrow or math.prod(widest) <= MERGE_LIMIT:  # every level left fits one stage anyway
        return merge_levels(rest, 0, MERGE_LIMIT, widest)[0]
    arrays, box = run.model.rows.arrays(), run.box()
    spans: list[int] = []
    # The LPs two at a time, one per core (HiGHS releases the GIL; each answer is the same either way).
    with ThreadPoolExecutor(max_workers=2) as pool:
        while len(spans) < len(rest) and math.prod(spans) <= MERGE_LIMIT:
            levels = range(i + len(spans), min(i + len(spans) + 2, i + len(rest)))
            spans += list(pool.map(lambda level: _span(run, level, box, arrays, deadline), levels))
    return merge_levels(rest[:len(spans)], 0, MERGE_LIMIT, spans)[0]


def _span(run: _Run, level: int, box: fixing.Box, arrays, deadline: float) -> int:
    """One more than the most a level can vary: one LP, on the side of its trivial bound farther
    from where the level is now (greedy's counts are far above their floors, generous's far below
    their ceilings)."""
    lo, hi = run.floors[level], run.ceilings[level]
    coef = run.model.columns(run.costs[level])
    if run.value(level) - lo > hi - run.value(level):
        lo = max(lo, _least(box, arrays, coef, deadline))
    else:
        hi = min(hi, -_least(box, arrays, -coef, deadline))
    return max(int(hi - lo), 0) + 1


def _least(box: fixing.Box, arrays, coef: np.ndarray, deadline: float) -> float:
    """A proven lower bound on `coef` · x (whole numbers), -inf when the LP was not solved."""
    bound = fixing.relaxation(box, arrays, coef, deadline - time.perf_counter(), highs_lp=True).bound
    return math.ceil(bound) if math.isfinite(bound) else -math.inf


def _first_groups(model, units, run: _Run, seats: Seats, lv: list[Level], deadline: float) -> np.ndarray:
    """A first allocation (per column) from the first stage's LP relaxation: the groups rounded
    while they fit; the free students are placed by `polish`."""
    coef = run.objective(merge_levels(lv, 0, MERGE_LIMIT, run.widest(range(len(lv))))[0], 0)
    lp = fixing.relaxation(run.box(), model.rows.arrays(), coef, deadline - time.perf_counter(), highs_lp=True)
    share = np.zeros(units.choice_unit.size) if lp.values is None else lp.values[model.column]
    room = _Room(seats, len(units.members))
    room.place(units, share, np.flatnonzero(units.size[units.choice_unit] > 1))
    return room.columns(model)


def _dive_groups(model, units, seats: Seats, relax) -> np.ndarray:
    """A first allocation (per column) by a dive on the flow with the groups split (`relax`): the
    groups it gives at least `DIVE_SHARE` of one project placed there while they fit, the flow
    solved again for the rest, until none is placed; the rest as `_first_groups` rounds them."""
    room = _Room(seats, len(units.members))
    is_group = units.size[units.choice_unit] > 1
    share = np.zeros(units.choice_unit.size)
    while True:
        open_groups = np.flatnonzero((units.size > 1) & ~room.done)
        if not open_groups.size:
            break
        share = relax(open_groups, room.capacity, room.supervisor)
        sure = np.flatnonzero(is_group & ~room.done[units.choice_unit] & (share >= DIVE_SHARE))
        if not room.place(units, share, sure):
            break
    room.place(units, share, np.flatnonzero(is_group))
    return room.columns(model)


class _Room:
    """Seats left while groups are placed one by one, and the choices taken."""

    def __init__(self, seats: Seats, n_units: int):
        self.seats = seats
        self.capacity = seats.capacity.astype(np.int64).copy()
        self.supervisor = seats.supervisor_capacity.astype(np.int64).copy()
        self.done = np.zeros(n_units, bool)
        self.chosen: list[int] = []

    def place(self, units, share: np.ndarray, choices: np.ndarray) -> int:
        """Each unit on the first of its `choices` that fits, the largest share first (those with
        none in rank order); how many were placed."""
        placed = 0
        for c in choices[np.argsort(-share[choices], kind="stable")].tolist():
            unit, project = units.choice_unit[c], units.choice_project[c]
            size, sup = units.size[unit], self.seats.supervisor_of[project]
            if self.done[unit] or self.capacity[project] < size or (sup >= 0 and self.supervisor[sup] < size):
                continue
            self.capacity[project] -= size
            if sup >= 0:
                self.supervisor[sup] -= size
            self.done[unit] = True
            self.chosen.append(c)
            placed += 1
        return placed

    def columns(self, model) -> np.ndarray:
        x = np.zeros(model.first_u + model.has_unit.size)
        x[model.column[np.asarray(self.chosen, np.int64)]] = 1.0
        return x
