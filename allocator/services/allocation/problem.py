"""The engine's `Problem` for a run: built from the database with the run's overrides, derived
for a move, scored for an allocation made by hand, and what to change when it is infeasible."""
from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator import engine
from allocator.models import (
    Preference,
)
from allocator.services.allocation.common import cohort_names
from allocator.services.errors import Invalid
from allocator.services.run_record import (
    RunParameters,
    student_key,
)


def build_problem(session: Session, cohort_id: int, params: RunParameters) -> tuple[engine.Problem, dict[str, str]]:
    """The cohort's problem as it stands (approved projects, the students and their preferences,
    supervisors' capacities) with this run's overrides, pins and forbids, built by `problem_export`.
    Every id in `params` is checked first, so a stale pick gets a sentence naming it."""
    from allocator.services.problem_export import build_problem_json, problem_keys

    found = problem_keys(session, cohort_id)
    names = cohort_names(session, cohort_id)
    projects = set(found.projects.values())
    students = set(found.students.values())
    supervisors = set(found.supervisors.values())

    def project(pid: int, what: str) -> None:
        if pid not in projects:
            raise Invalid(f"{what}: that project is not an approved project of this cohort.")

    def student(uid: int, what: str) -> None:
        if uid not in students:
            raise Invalid(f"{what}: {names.get(student_key(uid), f'user #{uid}')} is not a student of this cohort.")

    for pid, _ in params.capacity_overrides:
        project(pid, "Capacity override")
    for pid, _ in params.minimum_overrides:
        project(pid, "Minimum override")
    for uid, _ in params.supervisor_capacity_overrides:
        if uid not in supervisors:
            raise Invalid("Supervisor capacity: that person supervises no approved project of this cohort.")
    for what, items in (("Pin", params.pins), ("Forbid", params.forbids)):
        for s, p, _ in items:
            student(s, what)
            project(p, what)
    problem = build_problem_json(session, cohort_id, overrides={
        "capacity": dict(params.capacity_overrides), "min_students": dict(params.minimum_overrides),
        "supervisor_capacity": dict(params.supervisor_capacity_overrides), "allow_unranked": params.allow_unranked,
        "pinned": [(s, p) for s, p, _ in params.pins],
        "forbidden": sorted({(s, p) for s, p, _ in params.forbids}),
    })
    for entry in problem["projects"]:
        if entry.get("min_students", 0) > entry["capacity"]:
            raise Invalid(f"{names.get(entry['id'], entry['id'])} needs at least {entry['min_students']} students "
                          f"but has room for only {entry['capacity']}; lower its minimum or raise its capacity.")
    return _engine_problem(problem), names


def derived_problem(problem: engine.Problem, *, unpin: str | None = None,
                    allow_unranked: bool = False) -> engine.Problem:
    """A derived run's problem: its origin's, minus a pin a move overrode, plus unranked if a move needs it."""
    pinned = {s: p for s, p in problem.pinned.items() if s != unpin}
    return dataclasses.replace(problem, pinned=pinned, allow_unranked=problem.allow_unranked or allow_unranked)


def _engine_problem(problem: dict[str, Any]) -> engine.Problem:
    try:
        return engine.parse_problem(problem)
    except engine.MalformedProblem as err:
        raise Invalid(f"The cohort's data cannot be allocated as it stands: {err}.") from None


def ranks_and_profile(problem: engine.Problem, placement: Mapping[str, str | None],
                      objective: str, weights: list[int] | None) -> tuple[list[int], int]:
    """The engine's profile and cost of an allocation of `problem` (for runs made by hand)."""
    prefs = {s.id: s.preferences for s in problem.students}
    k = problem.k
    profile = [0] * (k + 1)
    cost = 0
    for sid, pid in placement.items():
        if pid is None:
            continue
        p = prefs.get(sid, [])
        rank = p.index(pid) + 1 if pid in p else k + 1
        profile[rank - 1] += 1
        if objective == "weighted" and weights:
            cost += weights[rank - 1] if rank - 1 < len(weights) else 0
        else:
            cost += rank
    return profile, cost


def db_ranks(session: Session, cohort_id: int, student_ids: Iterable[int] | None = None) -> dict[tuple[int, int], int]:
    """(student id, project id) -> the rank the student gave it, from the cohort's lists as they stand."""
    query = select(Preference.student_id, Preference.project_id, Preference.rank).where(
        Preference.cohort_id == cohort_id)
    if student_ids is not None:
        query = query.where(Preference.student_id.in_(list(student_ids)))
    return {(s, p): r for s, p, r in session.execute(query)}


# ------------------------------------------------------------------------------------------ suggestions


def suggest_changes(problem: engine.Problem, names: Mapping[str, str]) -> tuple[str, ...]:
    """Changes that would resolve an infeasible problem. Only pins make a problem infeasible (every
    objective may leave a student unplaced or a project empty), so each suggestion loosens a pin or
    what it runs into."""
    def n(key: str) -> str:
        return names.get(key, key)

    pins = list(problem.pinned.items())
    forbidden = problem.forbidden
    projects = {p.id: p for p in problem.projects}
    caps = {v.id: v.capacity for v in problem.supervisors}
    out: list[str] = []
    for s, p in pins:
        if (s, p) in forbidden:
            out.append(f"Drop the pin of {n(s)} to {n(p)}, or the forbid of the same pair: they contradict.")
    count = Counter(p for _, p in pins)
    for p, c in count.items():
        cap = projects[p].capacity
        if c > cap:
            pinned_names = sorted(n(s) for s, q in pins if q == p)
            out.append(f"Raise the capacity of {n(p)} to {c}, or drop {c - cap} of its {c} pins "
                       f"({', '.join(pinned_names[:6])}{', …' if len(pinned_names) > 6 else ''}).")
    load = Counter(projects[p].supervisor for _, p in pins)
    for v, c in load.items():
        if v in caps and c > caps[v]:
            out.append(f"Raise the capacity of supervisor {n(v)} to {c}, or drop {c - caps[v]} of the pins "
                       f"to their projects.")
    for p, c in count.items():
        minimum = projects[p].min_students
        if 0 < c < minimum and c <= projects[p].capacity:
            out.append(f"Lower the minimum of {n(p)} to {c} (pins force it to run with {c}), "
                       f"or drop its pins, or pin more students to it.")
    if not out:
        out.append("Drop some pins, or raise the capacities of the projects and supervisors they use.")
    return tuple(dict.fromkeys(out))
