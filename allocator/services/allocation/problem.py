"""The engine's `Problem` for a run: built from the database with the run's overrides, derived
for a move, scored for an allocation made by hand, and what to change when it is infeasible; and the
cohort's problem in the engine's file format (issue 3, "The file format").

A cohort's allocation problem in the engine's file format (issue 3, "The file format").

`build_problem_json` is a building block without a role check: the allocation studio builds the
problem it solves with it, and `export_problem` (coordinators only) offers the same file for download,
so a run can be reproduced outside the app with `python -m allocator solve`.

Identifiers in the file (the allocation studio stores and reads runs with the same ones):
- students: "S<user id>" (not emails: the file is meant to be shareable, e.g. with a bug report);
- projects: "P<project id>" (codes are optional, may change and could clash with these); the
  downloaded file's free-form "meta" maps each to its code and title for people reading it;
- supervisors: "L<user id>".
Only approved projects and the cohort's active students are included, in id order; a student's
preference list keeps their rank order, minus projects that are not approved. Supervisors are listed
(with their maximum load as capacity) only when they have a maximum load: the engine reads a
supervisor who is not listed as unlimited.

`overrides` (all keys optional), for the studio's per-run tuning, keyed by database ids:
    {"capacity": {project_id: int}, "min_students": {project_id: int},
     "supervisor_capacity": {user_id: int | None}, "allow_unranked": bool,
     "pinned": [(student_id, project_id), ...], "forbidden": [(student_id, project_id), ...]}
"""
from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator import engine
from allocator.domain import Objective, ProjectStatus, Role
from allocator.models import Cohort, GroupChoice, GroupMember, Membership, Preference, Project, User, utcnow
from allocator.services.access import Actor, require_admin
from allocator.services.allocation.common import LazyNames, cohort_of, fetch
from allocator.services.audit import record_audit
from allocator.services.errors import Invalid
from allocator.services.run_record import RunParameters, project_key, student_key, supervisor_key

__all__ = ["ProblemKeys", "RunProblem", "build_problem_json", "export_problem", "problem_keys"]


@dataclass(frozen=True)
class RunProblem:
    """A run's problem, built from the database in one pass: with the names its keys stand for (read
    only if a message needs them) and the ranks students gave, read with their lists."""

    problem: engine.Problem
    names: Mapping[str, str]
    ranks: dict[tuple[int, int], int]  # (student id, project id) -> the rank the student gave it


def build_problem(session: Session, cohort_id: int, params: RunParameters) -> tuple[engine.Problem, Mapping[str, str]]:
    """The cohort's problem with `params` (see `build_run_problem`) and the names its keys stand for."""
    built = build_run_problem(session, cohort_id, params)
    return built.problem, built.names


def build_run_problem(session: Session, cohort_id: int, params: RunParameters) -> RunProblem:
    """The cohort's problem as it stands (approved projects, the students and their preferences,
    supervisors' capacities) with this run's overrides, pins and forbids, built as `build_problem_json`
    builds it. Every id in `params` is checked first, so a stale pick gets a sentence naming it."""
    loaded = _load(session, cohort_id)
    names = LazyNames(session, cohort_id)
    projects = {p.id for p in loaded[1]}
    students = set(loaded[2])
    supervisors = {p.supervisor_id for p in loaded[1] if p.supervisor_id}

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
    problem, ranks = _problem_json(session, loaded, overrides={
        "capacity": dict(params.capacity_overrides), "min_students": dict(params.minimum_overrides),
        "supervisor_capacity": dict(params.supervisor_capacity_overrides), "allow_unranked": params.allow_unranked,
        "pinned": [(s, p) for s, p, _ in params.pins],
        "forbidden": sorted({(s, p) for s, p, _ in params.forbids}),
    })
    _check_pin_counts(problem, names)
    for entry in problem["projects"]:
        if entry.get("min_students", 0) > entry["capacity"]:
            raise Invalid(f"{names.get(entry['id'], entry['id'])} needs at least {entry['min_students']} students "
                          f"but has room for only {entry['capacity']}; lower its minimum or raise its capacity.")
    return RunProblem(_engine_problem(problem), names, ranks)


def _check_pin_counts(problem: dict[str, Any], names: Mapping[str, str]) -> None:
    """No student pinned to more projects than they have places, said with their name (the engine
    would refuse it with their key)."""
    places = {s["id"]: s.get("places", 1) for s in problem["students"]}
    for s, n in Counter(pin["student"] for pin in problem.get("pinned", ())).items():
        if n > places[s]:
            who = names.get(s, s)
            raise Invalid(f"{who} has one place, so they can be pinned to one project only; remove the extra pin."
                          if places[s] == 1 else f"{who} has {places[s]} places but is pinned to {n} projects; "
                          f"remove {n - places[s]} of their pins.")


def derived_problem(problem: engine.Problem, *, unpin: tuple[tuple[str, str], ...] = (),
                    allow_unranked: bool = False) -> engine.Problem:
    """A derived run's problem: its origin's, minus the pins a move overrode ((student, project) keys),
    plus unranked if a move needs it."""
    pinned = [pair for pair in problem.pin_pairs() if pair not in unpin]
    return dataclasses.replace(problem, pinned=pinned, allow_unranked=problem.allow_unranked or allow_unranked)


def _engine_problem(problem: dict[str, Any]) -> engine.Problem:
    try:
        return engine.parse_problem(problem)
    except engine.MalformedProblem as err:
        raise Invalid(f"The cohort's data cannot be allocated as it stands: {err}.") from None


def ranks_and_profile(problem: engine.Problem, placement: Mapping[str, str | list[str] | None],
                      objective: str, weights: list[int] | None) -> tuple[list[int], int]:
    """The engine's profile and cost of an allocation of `problem` (for runs made by hand); a student
    with several places maps to a list of projects, each counted at its rank."""
    prefs = {s.id: s.preferences for s in problem.students}
    k = problem.k
    profile = [0] * (k + 1)
    cost = 0
    pairs = [(sid, pid) for sid, got in placement.items() if got is not None
             for pid in ([got] if isinstance(got, str) else got)]
    for sid, pid in pairs:
        p = prefs.get(sid, [])
        rank = p.index(pid) + 1 if pid in p else k + 1
        profile[rank - 1] += 1
        if objective == Objective.WEIGHTED and weights:
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

    pins = problem.pin_pairs()
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


@dataclass(frozen=True)
class ProblemKeys:
    """How the file's identifiers map back to database ids."""

    students: dict[str, int]  # "S12" → user id
    projects: dict[str, int]  # "P7" or code → project id
    supervisors: dict[str, int]  # "L3" → user id


def _project_keys(projects: list[tuple[int, str | None]]) -> dict[int, str]:
    return {pid: project_key(pid) for pid, _code in projects}


def _load(session: Session, cohort_id: int):
    """The cohort, its approved projects and its active students, in id order."""
    cohort = cohort_of(session, cohort_id)
    projects = fetch(session,
        select(Project.id, Project.code, Project.capacity, Project.min_students, Project.supervisor_id)
        .where(Project.cohort_id == cohort_id, Project.status == ProjectStatus.APPROVED).order_by(Project.id)
    )
    students = [uid for (uid,) in fetch(session,
        select(Membership.user_id).join(User, User.id == Membership.user_id)
        .where(Membership.cohort_id == cohort_id, Membership.role == Role.STUDENT, User.active.is_(True))
        .order_by(Membership.user_id)
    )]
    return cohort, projects, students


def _group_key(group_id: int) -> str:
    """A group's id in a run's problem: a label only (the group may be dissolved later; the run keeps its
    members), so a backup keeps it as it is."""
    return f"G{group_id}"


def _places_tiers_groups(session: Session, cohort: Cohort,
                         students: list[int]) -> tuple[dict, list[dict], dict[int, list[int]]]:
    """Each student's extra keys ("places", "tier", when not 1) and the cohort's groups in the file's form.
    A group smaller than the cohort's minimum is not a group yet: its members are placed one by one. A
    group member has one place."""
    wanted = set(students)
    members: dict[int, list[int]] = {}
    for gid, uid in fetch(session, select(GroupMember.group_id, GroupMember.user_id)
                                    .where(GroupMember.cohort_id == cohort.id)
                                    .order_by(GroupMember.group_id, GroupMember.user_id)):
        if uid in wanted:
            members.setdefault(gid, []).append(uid)
    groups = [{"id": _group_key(gid), "members": [student_key(u) for u in uids]}
              for gid, uids in sorted(members.items()) if len(uids) >= max(2, cohort.group_min_size)]
    grouped = {u for uids in members.values() if len(uids) >= max(2, cohort.group_min_size) for u in uids}
    lists: dict[int, list[int]] = {}
    for gid, pid in fetch(session, select(GroupChoice.group_id, GroupChoice.project_id)
                                    .where(GroupChoice.cohort_id == cohort.id)
                                    .order_by(GroupChoice.group_id, GroupChoice.rank)):
        lists.setdefault(gid, []).append(pid)
    # The group's shared list is what its members rank, whatever their own rows say (an import may differ).
    shared = {u: lists.get(gid, []) for gid, uids in members.items() for u in uids if u in grouped}
    extra: dict[int, dict[str, int]] = {}
    for uid, places, tier in fetch(session, select(Membership.user_id, Membership.places, Membership.tier)
                                             .where(Membership.cohort_id == cohort.id,
                                                    Membership.role == "student")):
        if uid not in wanted:
            continue
        n = 1 if uid in grouped else (places if places is not None else cohort.places_per_student)
        entry = {k: v for k, v in (("places", n), ("tier", tier)) if v != 1}
        if entry:
            extra[uid] = entry
    return extra, groups, shared


def problem_keys(session: Session, cohort_id: int) -> ProblemKeys:
    """The keys a problem of this cohort built now would hold, mapped back to database ids."""
    _, projects, students = _load(session, cohort_id)
    keys = _project_keys([(p.id, p.code) for p in projects])
    return ProblemKeys(
        students={student_key(uid): uid for uid in students},
        projects={key: pid for pid, key in keys.items()},
        supervisors={supervisor_key(p.supervisor_id): p.supervisor_id for p in projects if p.supervisor_id},
    )


def build_problem_json(session: Session, cohort_id: int, *, overrides: Mapping[str, Any] | None = None) -> dict:
    """The engine's problem dict for the cohort's current students, approved projects and preferences."""
    return _problem_json(session, _load(session, cohort_id), overrides)[0]


def _problem_json(session: Session, loaded, overrides: Mapping[str, Any] | None) -> tuple[dict, dict]:
    """`build_problem_json` from what `_load` read, and every rank of the cohort's lists by (student id,
    project id), read in the same query. Long because it is the file format written out key by key."""
    overrides = dict(overrides or {})
    cohort, projects, students = loaded
    cohort_id = cohort.id
    keys = _project_keys([(p.id, p.code) for p in projects])
    student_ids = set(students)
    prefs: dict[int, list[str]] = {uid: [] for uid in students}
    ranks: dict[tuple[int, int], int] = {}
    for student_id, project_id, rank in fetch(session,
        select(Preference.student_id, Preference.project_id, Preference.rank).where(Preference.cohort_id == cohort_id)
        .order_by(Preference.student_id, Preference.rank)
    ):
        ranks[student_id, project_id] = rank
        if student_id in student_ids and project_id in keys:
            prefs[student_id].append(keys[project_id])
    capacity = {int(k): int(v) for k, v in (overrides.get("capacity") or {}).items()}
    minimum = {int(k): int(v) for k, v in (overrides.get("min_students") or {}).items()}
    loads = dict(fetch(session,
        select(Membership.user_id, Membership.max_load)
        .where(Membership.cohort_id == cohort_id, Membership.role == Role.STAFF)))
    loads.update({int(k): (None if v is None else int(v))
                  for k, v in (overrides.get("supervisor_capacity") or {}).items()})

    out_projects = []
    supervising: set[int] = set()
    for p in projects:
        entry: dict[str, Any] = {"id": keys[p.id], "capacity": capacity.get(p.id, p.capacity)}
        low = minimum.get(p.id, p.min_students)
        if low:
            entry["min_students"] = low
        if p.supervisor_id is not None:
            entry["supervisor"] = supervisor_key(p.supervisor_id)
            supervising.add(p.supervisor_id)
        out_projects.append(entry)
    supervisors = [{"id": supervisor_key(uid), "capacity": loads[uid]}
                   for uid in sorted(supervising) if loads.get(uid) is not None]
    extra, groups, shared = _places_tiers_groups(session, cohort, students)
    prefs.update({uid: [keys[pid] for pid in pids if pid in keys] for uid, pids in shared.items()})
    problem: dict[str, Any] = {
        "students": [{"id": student_key(uid), "preferences": prefs[uid], **extra.get(uid, {})} for uid in students],
        "projects": out_projects,
    }
    if supervisors:
        problem["supervisors"] = supervisors
    if groups:
        problem["groups"] = groups

    def pairs(name: str) -> list[dict[str, str]]:
        result = []
        for student_id, project_id in overrides.get(name) or ():
            if int(student_id) not in student_ids or int(project_id) not in keys:
                raise Invalid(f"A {'pin' if name == 'pinned' else 'forbidden pair'} names a student or project "
                              "that is not in this problem (only approved projects and the cohort's students are).")
            result.append({"student": student_key(int(student_id)), "project": keys[int(project_id)]})
        return result

    if overrides.get("pinned"):
        problem["pinned"] = pairs("pinned")
    if overrides.get("forbidden"):
        problem["forbidden"] = pairs("forbidden")
    problem["allow_unranked"] = bool(overrides.get("allow_unranked", cohort.allow_unranked))
    return problem, ranks


def export_problem(session: Session, *, actor: Actor, cohort_id: int) -> bytes:
    """The cohort's problem file (JSON bytes), for `python -m allocator solve`."""
    require_admin(session, actor)
    problem = build_problem_json(session, cohort_id)
    cohort = session.get(Cohort, cohort_id)
    names = session.execute(select(Project.id, Project.code, Project.title)
                            .where(Project.cohort_id == cohort_id, Project.status == ProjectStatus.APPROVED)
                            .order_by(Project.id)).all()
    problem["meta"] = {"cohort": cohort.name, "exported_at": utcnow().isoformat(),
                       "projects": {project_key(pid): {"code": code, "title": title} for pid, code, title in names}}
    record_audit(session, actor=actor, action="data.export_problem", cohort_id=cohort_id,
                 students=len(problem["students"]), projects=len(problem["projects"]))
    return json.dumps(problem, indent=1, ensure_ascii=False).encode("utf-8")
