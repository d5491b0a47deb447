"""A cohort's allocation problem in the engine's file format (issue 3, "The file format").

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

import json
from dataclasses import dataclass
from typing import Any
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.models import Cohort, Membership, Preference, Project, User, utcnow
from allocator.services.access import Actor, require_admin
from allocator.services.audit import record_audit
from allocator.services.errors import Invalid, NotFound
from allocator.services.run_record import project_key, student_key, supervisor_key

__all__ = ["ProblemKeys", "build_problem_json", "problem_keys", "export_problem"]


@dataclass(frozen=True)
class ProblemKeys:
    """How the file's identifiers map back to database ids."""

    students: dict[str, int]  # "S12" → user id
    projects: dict[str, int]  # "P7" or code → project id
    supervisors: dict[str, int]  # "L3" → user id


def _project_keys(projects: list[tuple[int, str | None]]) -> dict[int, str]:
    return {pid: project_key(pid) for pid, _code in projects}


def _load(session: Session, cohort_id: int):
    cohort = session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound("That cohort does not exist.")
    projects = session.execute(
        select(Project.id, Project.code, Project.capacity, Project.min_students, Project.supervisor_id)
        .where(Project.cohort_id == cohort_id, Project.status == "approved").order_by(Project.id)
    ).all()
    students = session.scalars(
        select(Membership.user_id).join(User, User.id == Membership.user_id)
        .where(Membership.cohort_id == cohort_id, Membership.role == "student", User.active.is_(True))
        .order_by(Membership.user_id)
    ).all()
    return cohort, projects, students


def problem_keys(session: Session, cohort_id: int) -> ProblemKeys:
    _, projects, students = _load(session, cohort_id)
    keys = _project_keys([(p.id, p.code) for p in projects])
    return ProblemKeys(
        students={student_key(uid): uid for uid in students},
        projects={key: pid for pid, key in keys.items()},
        supervisors={supervisor_key(p.supervisor_id): p.supervisor_id for p in projects if p.supervisor_id},
    )


def build_problem_json(session: Session, cohort_id: int, *, overrides: Mapping[str, Any] | None = None) -> dict:
    """The engine's problem dict for the cohort's current students, approved projects and preferences."""
    overrides = dict(overrides or {})
    cohort, projects, students = _load(session, cohort_id)
    keys = _project_keys([(p.id, p.code) for p in projects])
    student_ids = set(students)
    prefs: dict[int, list[str]] = {uid: [] for uid in students}
    for student_id, project_id in session.execute(
        select(Preference.student_id, Preference.project_id).where(Preference.cohort_id == cohort_id)
        .order_by(Preference.student_id, Preference.rank)
    ):
        if student_id in student_ids and project_id in keys:
            prefs[student_id].append(keys[project_id])
    capacity = {int(k): int(v) for k, v in (overrides.get("capacity") or {}).items()}
    minimum = {int(k): int(v) for k, v in (overrides.get("min_students") or {}).items()}
    loads = dict(session.execute(
        select(Membership.user_id, Membership.max_load)
        .where(Membership.cohort_id == cohort_id, Membership.role == "staff")).all())
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
    problem: dict[str, Any] = {
        "students": [{"id": student_key(uid), "preferences": prefs[uid]} for uid in students],
        "projects": out_projects,
    }
    if supervisors:
        problem["supervisors"] = supervisors

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
    return problem


def export_problem(session: Session, *, actor: Actor, cohort_id: int) -> bytes:
    """The cohort's problem file (JSON bytes), for `python -m allocator solve`."""
    require_admin(session, actor)
    problem = build_problem_json(session, cohort_id)
    cohort = session.get(Cohort, cohort_id)
    names = session.execute(select(Project.id, Project.code, Project.title)
                            .where(Project.cohort_id == cohort_id, Project.status == "approved")
                            .order_by(Project.id)).all()
    problem["meta"] = {"cohort": cohort.name, "exported_at": utcnow().isoformat(),
                       "projects": {project_key(pid): {"code": code, "title": title} for pid, code, title in names}}
    record_audit(session, actor=actor, action="data.export_problem", cohort_id=cohort_id,
                 students=len(problem["students"]), projects=len(problem["projects"]))
    return json.dumps(problem, indent=1, ensure_ascii=False).encode("utf-8")
