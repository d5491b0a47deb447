"""An independent check of a result against every rule of its problem.

It shares no code with the solvers (plain Python over the problem's own fields, no network and no
index arrays), so a solver bug cannot hide itself here; tests and the service both use it.
"""
from __future__ import annotations

from collections import Counter

from allocator.domain import Objective, RunStatus

from .model import OBJECTIVES, STATUSES, Problem, Result


def validate(problem: Problem, result: Result) -> list[str]:
    """Every rule the result breaks, as sentences; an empty list means it is a valid allocation."""
    if result.status not in STATUSES:
        return [f"unknown status {result.status!r}"]
    if result.objective not in OBJECTIVES:
        return [f"unknown objective {result.objective!r}"]
    if result.status in (RunStatus.INFEASIBLE, RunStatus.UNKNOWN):
        return ["a result without an allocation places students"] if result.assignment else []
    errors = _ids(problem, result)
    if errors:
        return errors
    return (
        _capacities(problem, result)
        + _supervisors(problem, result)
        + _pins_and_forbids(problem, result)
        + _ranks_profile_cost(problem, result)
        + (_maximal(problem, result) if result.status == RunStatus.OPTIMAL else [])
    )


def _ids(problem: Problem, result: Result) -> list[str]:
    students = {s.id for s in problem.students}
    projects = {p.id for p in problem.projects}
    errors = [f"{s} is not a student" for s in result.assignment if s not in students]
    errors += [f"{s} is placed on {p}, which is not a project" for s, p in result.assignment.items() if p not in projects]
    unassigned = Counter(result.unassigned)
    errors += [f"{s} is listed as unplaced {c} times" for s, c in unassigned.items() if c > 1]
    errors += [f"{s} is both placed and listed as unplaced" for s in unassigned if s in result.assignment]
    missing = students - set(result.assignment) - set(unassigned)
    errors += [f"{s} is neither placed nor listed as unplaced" for s in sorted(missing)]
    errors += [f"{s} is listed as unplaced but is not a student" for s in unassigned if s not in students]
    return errors


def _capacities(problem: Problem, result: Result) -> list[str]:
    count = Counter(result.assignment.values())
    errors = []
    for p in problem.projects:
        c = count[p.id]
        if c > p.capacity:
            errors.append(f"{p.id} has {c} students but capacity {p.capacity}")
        if 0 < c < p.min_students:
            errors.append(f"{p.id} runs with {c} students, below its minimum of {p.min_students}")
    return errors


def _supervisors(problem: Problem, result: Result) -> list[str]:
    supervisor_of = {p.id: p.supervisor for p in problem.projects}
    load = Counter(supervisor_of[p] for p in result.assignment.values())
    return [
        f"supervisor {v.id} has {load[v.id]} students but capacity {v.capacity}"
        for v in problem.supervisors
        if load[v.id] > v.capacity
    ]


def _pins_and_forbids(problem: Problem, result: Result) -> list[str]:
    a = result.assignment
    errors = [f"{s} is pinned to {p} but placed on {a.get(s, 'nothing')}" for s, p in problem.pinned.items() if a.get(s) != p]
    errors += [f"{s} is placed on {p}, which is forbidden for them" for s, p in problem.forbidden if a.get(s) == p]
    return errors


def _ranks_profile_cost(problem: Problem, result: Result) -> list[str]:
    k = max((len(s.preferences) for s in problem.students), default=0)
    prefs = {s.id: s.preferences for s in problem.students}
    errors = []
    profile = [0] * (k + 1)
    total = 0
    weights = result.weights if result.objective == Objective.WEIGHTED else None
    if result.objective == Objective.WEIGHTED and weights is None:
        return ["a weighted result must say its weights"]
    for s, p in result.assignment.items():
        rank = prefs[s].index(p) + 1 if p in prefs[s] else k + 1
        if rank == k + 1 and not problem.allow_unranked and problem.pinned.get(s) != p:
            errors.append(f"{s} is placed on {p}, which they did not rank, and unranked placements are not allowed")
        profile[rank - 1] += 1
        if weights is None:
            total += rank
        elif rank - 1 < len(weights):
            total += weights[rank - 1]
        else:
            errors.append(f"no weight is given for rank {rank}")
    if list(result.profile) != profile:
        errors.append(f"the profile says {list(result.profile)} but the allocation gives {profile}")
    if result.cost != total:
        errors.append(f"the cost says {result.cost} but the allocation costs {total}")
    return errors


def _maximal(problem: Problem, result: Result) -> list[str]:
    """An optimal result places as many as possible, so nobody unplaced fits anywhere as it stands."""
    count = Counter(result.assignment.values())
    supervisor_cap = {v.id: v.capacity for v in problem.supervisors}
    projects = {p.id: p for p in problem.projects}
    load = Counter(projects[p].supervisor for p in result.assignment.values())
    students = {s.id: s for s in problem.students}

    def fits(p) -> bool:
        if count[p.id] >= p.capacity or (count[p.id] == 0 and p.min_students > 1):
            return False
        return p.supervisor not in supervisor_cap or load[p.supervisor] < supervisor_cap[p.supervisor]

    errors = []
    for s in result.unassigned:
        if s in problem.pinned:
            continue
        options = problem.projects if problem.allow_unranked else [projects[p] for p in students[s].preferences]
        room = next((p.id for p in options if (s, p.id) not in problem.forbidden and fits(p)), None)
        if room:
            errors.append(f"{s} is unplaced although {room} has room for them, so more students could be placed")
    return errors
