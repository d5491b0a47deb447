"""Groups (and minimum sizes, when places or tiers are in play) as a mixed-integer program.

One binary per choice a unit can make (a free student's project, or a free group's project, which
places all its members at once), each unit at most its places, each project at most its seats
counted in students, each supervisor likewise, and a project with a binding minimum either closed or
at its minimum. The tiered levels (`extended.tier_levels`) are merged while their weighted sum stays
exact in double arithmetic, and solved stage by stage on HiGHS through MathOpt as `mip.py` does
(`highs.py`): each proven stage keeps every level it merged at its value as a row of its own. HiGHS's
search is deterministic, so the same problem and seed give the same allocation whenever it is proven.
The seed orders the variables, which is how it chooses between equally good allocations.

Greedy and generous without binding minimums go to `staged.py`, which plans the stages as it goes
(what follows describes the program and the path that remains for the rest).

With more than one stage (greedy, generous), each stage starts from the previous stage's optimum,
which keeps every earlier level (`highs.lexicographic`'s `warm`), and placed is kept by a row over an
unplaced count per unit rather than over every choice (`_Model`).

Measured (benchmarks/engine.py --groups-only --limit 20, 2,000 students, 300 groups of 2-4, k = 8,
engine seconds of one run, 2-core machine with load 1-2 from other work): before these two, min-cost
1.1 s, weighted 2.6 s, generous 14.9 s and greedy stopped unproven at the 20 s limit (31.6 s to a
proof on a quiet machine). Now min-cost and weighted are unchanged, greedy proves in 8-9 s and
generous in 9-10 s (17 s with seed 3, 18.5 s before: the time depends on the seed's column order).
Each later stage still spends 2-4 s in HiGHS's root cut rounds (its relaxation under the kept rows is
far from the integer optimum, e.g. 801 M against 617 M for greedy's ranks 3-5), which is what keeps
them above 5 s. Tried and dropped: fixing variables by the reduced costs of each stage's relaxation
(sound, but it fixed only a fifth of the choices after stage 1 and nothing after: no gain on this
path; on the staged path it helps generous, `staged.DIVE_AND_FIX`), merging
four levels per stage (stage 1 alone took 30 s), presolve, other heuristic efforts. Also tried (same
row, load 1-2, runs vary by a second; before: greedy 7.0-7.9 s, generous 7.4-8.5 s), none a clear
gain: HiGHS options mip_detect_symmetry, mip_allow_restart, feasibility jump or RINS/RENS in stage 1,
mip_lifting_for_probing 0, heuristic effort 0.2 or 1.0 (as fast or slower); mip_pool_soft_limit 1000
(generous 17.6 s), mip_lp_age_limit 3 (11 s), root reduced-cost, ZI and shifting heuristics off
(generous unproven at 60 s); kept levels as equalities (the same root bound, 801 M: no gain); stages
of 2, 3 and 3 levels for greedy (17 s); user_objective_scale (wrong optima: HiGHS then measures the
gap in scaled units). The root bound of a later stage is what the cut rounds close; the instance has
no two free students with the same list to aggregate.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import highs, staged
from .network import permutation
from .objectives import MERGE_LIMIT, Level, merge_levels

SOLVER = "highs"
# Measured on the benchmark's groups row (a few runs, loaded machine): presolve made the stages
# slower (rank 1 of greedy 28 s with it, 11-15 s without), and the hard part of a later stage is
# finding allocations that keep the earlier levels, not the bound (HiGHS's root bound was already the
# optimum), so HiGHS spends ten times its default effort (0.05) on primal heuristics.
PRESOLVE = False
HEURISTIC_EFFORT = 0.5
# Measured the same way, with each stage started from the previous optimum: HiGHS's sub-MIP
# heuristics (RINS, RENS) took a fifth of greedy's and generous's time and found nothing the start
# and the cuts did not. A single stage (min-cost, weighted) has no start and needs them (weighted
# took 4.6 s without, 2.6 s with).
HIGHS_OPTIONS = {"mip_heuristic_run_rins": False, "mip_heuristic_run_rens": False}
# HiGHS's root reduced-cost heuristic (a sub-MIP run after the root's cut rounds) found nothing on
# this program that RENS and RINS did not, and took a second or more of each root. Off for a single
# stage (min-cost, weighted) and on the staged path (greedy, generous): benchmarks/groups_seeds.py's
# eight instances, with and without interleaved, engine seconds on a loaded 2-core machine, the same
# profiles for greedy and generous: greedy median 7.8 → 6.3 s (faster on all eight), generous
# 9.4 → 8.0 s (seven of eight), min-cost 3.6 → 2.5 s, weighted 11.7 → 10.8 s. With binding minimums
# (four of those instances, a third of the projects with one) a wash: faster on four of the eight
# min-cost and weighted runs, slower on three.
# (A single stage started from `staged`'s first allocation instead was slower: weighted on the
# benchmark's instance 9.7 s against 3.4 s.)
ROOT_OPTIONS = {"mip_heuristic_run_root_reduced_cost": False}


@dataclass(frozen=True)
class Outcome:
    chosen: np.ndarray | None  # positions of the chosen choices; None when none was found
    status: str
    message: str = ""
    bound: dict[str, int] = field(default_factory=dict)


def merge(lv: list[Level], n_places: int, limit: int = MERGE_LIMIT) -> list[list[tuple[Level, int]]]:
    """Consecutive levels as weighted sums (`objectives.merge_levels`), each as (level, its scale)."""
    return [list(zip(m.levels, m.scale)) for m in merge_levels(lv, n_places, limit)]


def solve(problem, res, units, lv: list[Level], binding: np.ndarray, seed: int, deadline: float,
          fill=None, relax=None, objective: str = "") -> Outcome:
    """`fill(group_choices)`: the free students placed around those groups (`extended.fill`), and
    `relax(open_groups, capacity, supervisor_capacity)`: each choice's share in the flow with those
    groups split (`extended.split_shares`), which the staged path needs (greedy and generous without
    binding minimums: `staged.py`)."""
    from .extended import choice_costs

    # A project that pins force to run but that no free choice can join stays below its minimum
    # (the program has no row for a project without choices).
    forced = binding & (res.pinned_count > 0)
    if (forced & (np.bincount(units.choice_project, minlength=forced.size) == 0)).any():
        return Outcome(None, "infeasible")
    if not units.choice_unit.size:
        return Outcome(np.zeros(0, np.int64), "optimal")
    n_places = int((units.supply * units.size).sum())
    merged = merge(lv, n_places, MERGE_LIMIT)
    model = _Model(problem, res, units, binding, seed, unplaced=len(merged) > 1)
    if len(merged) > 1 and fill is not None and not binding.any():
        return _staged(problem, res, units, lv, model, staged.Helpers(fill, relax, objective), deadline)
    stages = []
    for stage in merged:
        costs = [choice_costs(units, level, problem.k) for level, _ in stage]
        coef = sum(scale * model.columns(c) for (_, scale), c in zip(stage, costs))
        kept = [model.kept(c) for c in costs]
        stages.append(("+".join(level.name for level, _ in stage), coef, kept))
    out = highs.lexicographic(model.proto, model.rows, stages, deadline, PRESOLVE, HEURISTIC_EFFORT, True,
                              warm=True, options=HIGHS_OPTIONS if len(merged) > 1 else ROOT_OPTIONS)
    if out.infeasible:
        return Outcome(None, "infeasible")
    if out.values is None:
        return Outcome(None, "unknown", "no allocation was found or ruled out within the time limit")
    chosen = np.flatnonzero(out.values[model.column] > 0.5)
    if len(out.stages) == len(stages) and all(s.proven for s in out.stages):
        return Outcome(chosen, "optimal")
    return Outcome(chosen, "feasible", "the time limit came before this allocation was proven optimal",
                   _bound(out.stages, stages))


def _staged(problem, res, units, lv: list[Level], model: _Model, helpers, deadline: float) -> Outcome:
    from .extended import choice_costs

    costs = [choice_costs(units, level, problem.k) for level in lv]
    seats = staged.Seats(res.capacity, problem.index.supervisor_of, res.supervisor_capacity)
    out = staged.solve(model, units, lv, costs, seats, helpers, deadline, staged.HEURISTIC_EFFORT, ROOT_OPTIONS)
    chosen = np.flatnonzero(out.values[model.column] > 0.5)
    if out.proven:
        return Outcome(chosen, "optimal")
    return Outcome(chosen, "feasible", "the time limit came before this allocation was proven optimal",
                   {} if out.placed_bound is None else {"placed": out.placed_bound})


def _bound(done: list[highs.Stage], stages) -> dict[str, int]:
    """The proven limit on placements, when the first stage (placed, alone) stopped unproven."""
    if len(done) == 1 and not done[0].proven and done[0].name.startswith("placed") and \
            len(stages[0][2]) == 1 and np.isfinite(done[0].bound):
        return {"placed": int(math.floor(-done[0].bound + 1e-6))}
    return {}


class _Model:
    """The choices as arrays for HiGHS: x per choice, its column in the seed's order, then y per
    project that may close."""

    def __init__(self, problem, res, units, binding: np.ndarray, seed: int, unplaced: bool = False):
        ix = problem.index
        inf = math.inf
        n_choices = units.choice_unit.size
        self.column = np.empty(n_choices, np.int64)  # each choice's column
        self.column[permutation(n_choices, seed, 7)] = np.arange(n_choices)
        cu, cp = units.choice_unit, units.choice_project
        col = self.column
        seats = units.size[cu].astype(float)
        rows = self.rows = highs.Rows()
        # With `unplaced`, each unit's places are its choices plus an unplaced count u (one integer
        # column per unit with a choice), so that placed, once proven, is kept by a row over the u
        # columns, an eighth as long as over the choices: the later stages of greedy took half
        # the time. A single stage keeps nothing, and took twice as long with them (min-cost 2.1 s
        # against 1.0 s), so it goes without.
        self.has_unit = np.unique(cu) if unplaced else np.zeros(0, np.int64)
        per_unit = np.bincount(cu, minlength=len(units.members))
        sel = np.isin(cu, self.has_unit) | (per_unit[cu] > units.supply[cu])
        keys = np.unique(cu[sel])
        supply = units.supply[keys].astype(float)
        unit_rows = rows.groups(cu[sel], col[sel], 1.0, supply if unplaced else -inf, supply)
        forced = binding & (res.pinned_count > 0)
        cap, minimum = res.capacity.astype(float), ix.minimum.astype(float)
        sel = forced[cp]
        keys = np.unique(cp[sel])
        rows.groups(cp[sel], col[sel], seats[sel], minimum[keys] - res.pinned_count[keys], cap[keys])
        closes = binding & ~forced
        closing = np.unique(cp[closes[cp]])  # projects with a choice that may close
        y_of = np.full(cap.size, -1, np.int64)
        y_of[closing] = n_choices + np.arange(closing.size)
        sel = closes[cp]
        at_most = rows.groups(cp[sel], col[sel], seats[sel], -inf, 0.0)
        rows.add(at_most, y_of[closing], -cap[closing])
        at_least = rows.groups(cp[sel], col[sel], seats[sel], 0.0, inf)
        rows.add(at_least, y_of[closing], -minimum[closing])
        # Closure cuts (x ≤ y) tighten the relaxation; their rows follow the columns' order.
        cs = np.flatnonzero(sel)
        cs = cs[np.argsort(col[cs])]
        cut = rows.groups(col[cs], col[cs], 1.0, -inf, 0.0)
        rows.add(cut, y_of[cp[cs]], -1.0)
        load = np.bincount(cp, weights=seats, minlength=cap.size)
        sel = ~binding[cp] & (load[cp] > cap[cp])
        keys = np.unique(cp[sel])
        rows.groups(cp[sel], col[sel], seats[sel], -inf, cap[keys])
        sup = ix.supervisor_of[cp]
        sup_cap = np.append(res.supervisor_capacity, 0).astype(float)  # index -1: no supervisor
        sup_load = np.bincount(sup[sup >= 0], weights=seats[sup >= 0], minlength=sup_cap.size)
        sel = (sup >= 0) & (sup_load[sup] > sup_cap[sup])
        keys = np.unique(sup[sel])
        rows.groups(sup[sel], col[sel], seats[sel], -inf, sup_cap[keys])
        first_u = n_choices + closing.size
        if unplaced:
            rows.add(unit_rows, first_u + np.arange(self.has_unit.size), 1.0)
        self.proto = highs.integer_model(np.concatenate([np.ones(first_u), units.supply[self.has_unit]]))
        self.n_choices = n_choices
        self.cu = cu
        self.first_u = first_u

    def columns(self, per_choice: np.ndarray) -> np.ndarray:
        """Per-choice coefficients as per-column (over every column, 0 beyond the choices)."""
        out = np.zeros(self.first_u + self.has_unit.size)
        out[self.column] = per_choice
        return out

    def kept(self, per_choice: np.ndarray) -> np.ndarray:
        """The coefficients that keep a level: over the u columns when each unit's choices cost
        alike (Σ c·x = c·(supply - u), so c·x ≤ v is -c·u ≤ v - c·supply: the same row)."""
        if not self.has_unit.size:
            return self.columns(per_choice)
        lo = np.full(self.has_unit.size, np.inf)
        hi = np.full(self.has_unit.size, -np.inf)
        at = np.searchsorted(self.has_unit, self.cu)
        np.minimum.at(lo, at, per_choice)
        np.maximum.at(hi, at, per_choice)
        if not (lo == hi).all():
            return self.columns(per_choice)
        out = np.zeros(self.first_u + self.has_unit.size)
        out[self.first_u:] = -lo
        return out
