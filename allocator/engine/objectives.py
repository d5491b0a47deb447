"""Objectives as ordered levels, each a cost per rank to minimise among the optima of the levels
before it. Every objective is preceded by maximising the number of students placed."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from allocator.domain import Objective

from .model import OBJECTIVES, BadOptions, Problem

MAX_WEIGHT = 10**9


class Level(NamedTuple):
    name: str  # "placed", "cost" or "rank r"; names the quantity a bound refers to
    coef: np.ndarray  # int64 cost per rank; index 0 (not a placement) is always 0

    def sense(self) -> int:
        """+1 if the named quantity is minimised as is, -1 if the level minimises its negation."""
        return -1 if self.name == "placed" or self.coef.min() < 0 else 1


def check_options(problem: Problem, objective: str, weights, time_limit: float) -> tuple[int, ...] | None:
    """The weights to use (None unless weighted); raises BadOptions naming what is wrong."""
    if objective not in OBJECTIVES:
        raise BadOptions(f"unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}")
    if not isinstance(time_limit, (int, float)) or isinstance(time_limit, bool) or not time_limit > 0:
        raise BadOptions(f"the time limit must be a positive number of seconds, not {time_limit!r}")
    if objective != Objective.WEIGHTED:
        return None
    if weights is None:
        raise BadOptions("the weighted objective needs weights, one per rank")
    weights = tuple(weights)
    if any(type(w) is not int or not 0 <= w <= MAX_WEIGHT for w in weights):
        raise BadOptions(f"weights must be whole numbers from 0 to {MAX_WEIGHT:,}")
    needed = needed_ranks(problem)
    if len(weights) < needed:
        what = f"ranks 1 to {problem.k}" + (" and unranked" if needed > problem.k else "")
        raise BadOptions(f"{len(weights)} weights given, but this problem needs {needed} ({what})")
    return weights[:needed]


def needed_ranks(problem: Problem) -> int:
    """How many rank levels a placement can fall in: k, plus one when unranked placements can occur."""
    ix = problem.index
    unranked_pin = problem.allow_unranked or _has_unranked_pin(problem)
    return ix.k + 1 if unranked_pin else ix.k


def _has_unranked_pin(problem: Problem) -> bool:
    from .network import pair_codes

    ix = problem.index
    m = len(ix.project_ids)
    pins = pair_codes(ix.pinned_student, ix.pinned_project, m)
    return bool(pins.size) and not np.isin(pins, pair_codes(ix.pref_student, ix.pref_project, m)).all()


def rank_costs(problem: Problem, objective: str, weights: tuple[int, ...] | None) -> np.ndarray:
    """What one placement at each rank adds to the reported cost (index 0 unused)."""
    k = problem.k
    if objective == Objective.WEIGHTED:
        w = np.zeros(k + 2, np.int64)
        w[1 : 1 + len(weights)] = weights
        return w
    return np.arange(k + 2, dtype=np.int64)


def levels(problem: Problem, objective: str, weights, present: np.ndarray) -> list[Level]:
    """The levels after "placed". `present` flags the ranks some free student can be placed at; a
    level with no arc is constant and skipped, and the last rank level of greedy and generous is
    skipped too since, with the number placed fixed, the others determine it."""
    k = problem.k
    if objective in (Objective.MIN_COST, Objective.WEIGHTED):
        return [Level("cost", rank_costs(problem, objective, weights))]
    ranks = [r for r in range(1, k + 2) if present[r]]
    if objective == Objective.GENEROUS:
        ranks.reverse()
    sign = -1 if objective == Objective.GREEDY else 1
    out = []
    for r in ranks[:-1]:
        coef = np.zeros(k + 2, np.int64)
        coef[r] = sign
        out.append(Level(f"rank {r}", coef))
    return out


def placed_level(k: int) -> Level:
    coef = np.full(k + 2, -1, np.int64)
    coef[0] = 0
    return Level("placed", coef)


def hub_allowed(objective: str, weights) -> bool:
    """The shared unranked hub is exact only when unranked is no cheaper than any ranked placement."""
    return objective != Objective.WEIGHTED or not weights or weights[-1] >= max(weights)


# Consecutive levels are merged into one weighted objective while its range stays below this: fewer
# stages (a stage after the first must keep the earlier values, which is what makes it slow), and a
# range whose every unit the solver's double arithmetic still tells apart.
MERGE_LIMIT = 2**33


@dataclass(frozen=True)
class MergedLevels:
    """Levels solved as one weighted objective: one unit of a level outweighs any change of the later ones."""

    levels: list[Level]
    scale: list[int]
    spans: list[int]

    @property
    def level(self) -> Level:
        coef = sum(s * g.coef for g, s in zip(self.levels, self.scale))
        return Level("+".join(g.name for g in self.levels), coef)


def merge_levels(lv: list[Level], n_free: int, limit: int = MERGE_LIMIT,
                 spans: list[int] | None = None) -> list[MergedLevels]:
    """Consecutive levels as weighted sums, over `n_free` students or places; `spans` (one more than
    the most each level's value can vary, when known more narrowly) replaces that count's."""
    if spans is None:
        spans = [n_free * int(level.coef.max() - level.coef.min()) + 1 for level in lv]
    groups, i = [], 0
    while i < len(lv):
        j, total = i + 1, spans[i]
        while j < len(lv) and total * spans[j] <= limit:
            total *= spans[j]
            j += 1
        groups.append(MergedLevels(lv[i:j], [math.prod(spans[t + 1: j]) for t in range(i, j)], spans[i:j]))
        i = j
    return groups
