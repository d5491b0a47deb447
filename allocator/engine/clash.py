"""Sentences naming why no allocation exists. Only pins can make a problem infeasible (every
objective maximises the number placed, so an empty project or an unplaced student is always allowed),
either directly or by forcing a project with a minimum to run."""
from __future__ import annotations

import numpy as np

from .model import Problem
from .network import Residual, pair_codes
from .words import count, listed


def students(count: int) -> str:
    return f"{count} student is" if count == 1 else f"{count} students are"


def pin_clash(problem: Problem) -> str | None:
    """The first pin that cannot hold whatever the other students do, as a sentence."""
    ix = problem.index
    m = len(ix.project_ids)
    forbidden = np.isin(pair_codes(ix.pinned_student, ix.pinned_project, m),
                        pair_codes(ix.forbidden_student, ix.forbidden_project, m))
    if forbidden.any():
        a = int(np.flatnonzero(forbidden)[0])
        s, p = ix.student_ids[ix.pinned_student[a]], ix.project_ids[ix.pinned_project[a]]
        return f"{s} is pinned to {p}, which is also forbidden for them"
    count = np.bincount(ix.pinned_project, minlength=m)
    over = np.flatnonzero(count > ix.capacity)
    if over.size:
        j = int(over[0])
        return f"{students(int(count[j]))} pinned to {ix.project_ids[j]}, whose capacity is {ix.capacity[j]}"
    sup = ix.supervisor_of[ix.pinned_project]
    load = np.bincount(sup[sup >= 0], minlength=len(ix.supervisor_ids))
    over = np.flatnonzero(load > ix.supervisor_capacity)
    if over.size:
        v = int(over[0])
        return (f"{students(int(load[v]))} pinned to projects supervised by {ix.supervisor_ids[v]}, "
                f"whose capacity is {ix.supervisor_capacity[v]}")
    return None


def reachable(problem: Problem, res: Residual) -> np.ndarray:
    """Per project, how many free students could be placed on it at all (ranked pairs, or every
    free student when unranked placements are allowed, less forbidden pairs), without listing the
    students × projects pairs."""
    ix = problem.index
    m = len(ix.project_ids)
    forbidden_free = res.free[ix.forbidden_student]
    if problem.allow_unranked:
        out = np.full(m, int(res.free.sum()), np.int64)
        codes = np.unique(pair_codes(ix.forbidden_student[forbidden_free], ix.forbidden_project[forbidden_free], m))
        np.subtract.at(out, codes % max(m, 1), 1)
        return out
    keep = res.free[ix.pref_student]
    codes = pair_codes(ix.pref_student[keep], ix.pref_project[keep], m)
    codes = codes[~np.isin(codes, pair_codes(ix.forbidden_student, ix.forbidden_project, m))]
    return np.bincount(codes % max(m, 1), minlength=m)


def forced_minimum_clash(problem: Problem, res: Residual) -> str | None:
    """A project that pins force to run but that cannot reach its minimum, alone or with the other
    forced projects of its supervisor."""
    ix = problem.index
    forced = (res.pinned_count > 0) & (res.pinned_count < ix.minimum)
    reachable_ = reachable(problem, res)
    most = res.pinned_count + np.minimum(reachable_, res.capacity)
    sup = ix.supervisor_of
    has_sup = sup >= 0
    most[has_sup] = np.minimum(most[has_sup], res.pinned_count[has_sup] + res.supervisor_capacity[sup[has_sup]])
    short = np.flatnonzero(forced & (most < ix.minimum))
    if short.size:
        j = int(short[0])
        return (f"{ix.project_ids[j]} must run because {students(int(res.pinned_count[j]))} pinned to it, but it "
                f"cannot reach its minimum of {ix.minimum[j]}: at most {count(int(most[j]), 'student')} can be "
                f"placed on it")
    need = np.where(forced & has_sup, ix.minimum - res.pinned_count, 0)
    need_by_sup = np.bincount(sup[has_sup], weights=need[has_sup], minlength=len(ix.supervisor_ids))
    over = np.flatnonzero(need_by_sup > res.supervisor_capacity)
    if over.size:
        v = int(over[0])
        names = [ix.project_ids[j] for j in np.flatnonzero(forced & (sup == v))]
        # After the pins: the capacity left is what the forced projects compete for.
        return (f"{ix.supervisor_ids[v]} can take {count(int(res.supervisor_capacity[v]), 'more student')}, but "
                f"{_and(names)}, which pins force to run, need {int(need_by_sup[v])} more to reach their minimums")
    return None


def generic_minimum_clash(problem: Problem, res: Residual) -> str:
    ix = problem.index
    forced = np.flatnonzero((res.pinned_count > 0) & (res.pinned_count < ix.minimum))
    names = [ix.project_ids[j] for j in forced]
    return (f"the projects that pins force to run ({_and(names)}) cannot all reach their minimums at once "
            f"with the remaining students and capacities")


def _and(names: list[str]) -> str:
    if len(names) > 4:
        names = names[:4] + [f"{len(names) - 4} more"]
    return listed(names)
