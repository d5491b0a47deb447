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
        + _groups(problem, result)
        + _ranks_profile_cost(problem, result)
        + (_maximal(problem, result) if result.status == RunStatus.OPTIMAL else [])
    )


def _projects(result: Result, s: str) -> list:
    """The student's projects as listed, whichever shape the assignment uses."""
    got = result.assignment[s]
    return [got] if type(got) is str else list(got) if type(got) is list else [got]


def _ids(problem: Problem, result: Result) -> list[str]:
    students = {s.id: s for s in problem.students}
    projects = {p.id for p in problem.projects}
    errors = [f"{s} is not a student" for s in result.assignment if s not in students]
    for s, got in result.assignment.items():
        if s not in students:
            continue
        places = students[s].places
        if places == 1 and type(got) is not str:
            errors.append(f"{s} has one place, so the assignment must give one project id, not {got!r}")
            continue
        if places > 1 and (type(got) is not list or not got):
            errors.append(f"{s} has {places} places, so the assignment must give a list of project ids")
            continue
        mine = _projects(result, s)
        errors += [f"{s} is placed on {p}, which is not a project" for p in mine if type(p) is not str or p not in projects]
        if len(set(map(str, mine))) < len(mine):
            errors.append(f"{s} is placed on the same project twice")
        if len(mine) > places:
            errors.append(f"{s} has {places} places but is placed on {len(mine)} projects")
    unassigned = Counter(result.unassigned)
    errors += [f"{s} is listed as unplaced {c} times" for s, c in unassigned.items() if c > 1]
    errors += [f"{s} is both placed and listed as unplaced" for s in unassigned if s in result.assignment]
    missing = students.keys() - set(result.assignment) - set(unassigned)
    errors += [f"{s} is neither placed nor listed as unplaced" for s in sorted(missing)]
    errors += [f"{s} is listed as unplaced but is not a student" for s in unassigned if s not in students]
    return errors


def _placements(result: Result) -> list[tuple[str, str]]:
    return [(s, p) for s in result.assignment for p in _projects(result, s)]


def _capacities(problem: Problem, result: Result) -> list[str]:
    count = Counter(p for _, p in _placements(result))
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
    load = Counter(supervisor_of[p] for _, p in _placements(result))
    return [
        f"supervisor {v.id} has {load[v.id]} students but capacity {v.capacity}"
        for v in problem.supervisors
        if load[v.id] > v.capacity
    ]


def _pins_and_forbids(problem: Problem, result: Result) -> list[str]:
    a = {s: _projects(result, s) for s in result.assignment}
    errors = [f"{s} is pinned to {p} but placed on {', '.join(a.get(s, [])) or 'nothing'}"
              for s, p in problem.pin_pairs() if p not in a.get(s, [])]
    errors += [f"{s} is placed on {p}, which is forbidden for them" for s, p in problem.forbidden if p in a.get(s, [])]
    return errors


def _groups(problem: Problem, result: Result) -> list[str]:
    errors = []
    for g in problem.groups:
        got = {tuple(_projects(result, s)) if s in result.assignment else () for s in g.members}
        if len(got) > 1:
            errors.append(f"group {g.id} is split: its members are not all placed on the same project")
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
    for s, p in _placements(result):
        rank = prefs[s].index(p) + 1 if p in prefs[s] else k + 1
        if rank == k + 1 and not problem.allow_unranked and p not in problem.pins_of(s):
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
    """An optimal result places as many as possible in every tier, so no student with a place to
    spare (and no unplaced group) fits anywhere as it stands."""
    placements = _placements(result)
    count = Counter(p for _, p in placements)
    supervisor_cap = {v.id: v.capacity for v in problem.supervisors}
    projects = {p.id: p for p in problem.projects}
    load = Counter(projects[p].supervisor for _, p in placements)
    group_of = {s: g for g in problem.groups for s in g.members}

    def fits(p, seats: int) -> bool:
        if count[p.id] + seats > p.capacity or (count[p.id] == 0 and p.min_students > seats):
            return False
        return p.supervisor not in supervisor_cap or load[p.supervisor] + seats <= supervisor_cap[p.supervisor]

    errors = []
    for student in problem.students:
        s = student.id
        mine = set(_projects(result, s)) if s in result.assignment else set()
        group = group_of.get(s)
        if len(mine) >= student.places or s in problem.pinned and student.places == 1:
            continue
        if group is not None and (s != group.members[0] or any(m in problem.pinned for m in group.members)):
            continue
        who = group.members if group is not None else (s,)
        options = problem.projects if problem.allow_unranked else [projects[p] for p in student.preferences]
        room = next((p.id for p in options if p.id not in mine and fits(p, len(who))
                     and not any((m, p.id) in problem.forbidden for m in who)), None)
        if room:
            what = f"group {group.id}" if group is not None else s
            errors.append(f"{what} could take {room}, which has room, so more students could be placed")
    return errors
