"""Supervisors' own projects: propose, edit and withdraw while proposals are open; demand and the
allocated students afterwards.

Demand is shown as counts per rank only: which students chose a project stays private until the
allocation is published, and then only the students allocated to it are named.
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from allocator import domain
from allocator.domain import Phase, ProjectStatus, Role
from allocator.models import Assignment, Cohort, Membership, Preference, Project, Response, User, utcnow
from allocator.services.access import Actor
from allocator.services.audit import record_audit
from allocator.services.cohorts import published_run_id
from allocator.services.errors import Closed, Invalid, NotAllowed, NotFound
from allocator.services.phases import Window, phase_of, proposals_open, window_of
from allocator.services.allocation.common import run_groups_ids
from allocator.services.run_record import DamagedRecord

__all__ = [
    "AllocatedStudentView", "StaffProjectView", "StaffProjects",
    "list_my_projects", "propose_project", "update_my_project", "withdraw_my_project",
    "clean_title", "clean_description",
]

@dataclass(frozen=True)
class AllocatedStudentView:
    student_id: int
    name: str
    email: str
    rank: int | None
    accepted: bool | None  # None: not answered yet
    reason: str
    group_with: tuple[str, ...] = ()  # the others of their group in the run, placed here with them


@dataclass(frozen=True)
class StaffProjectView:
    id: int
    cohort_id: int
    code: str | None
    title: str
    description: str
    capacity: int
    min_students: int
    tags: tuple[str, ...]
    status: str
    reject_reason: str | None
    updated_at: datetime | None
    # demand[i]: how many students ranked this project at rank i + 1 (counts only, never names).
    demand: tuple[int, ...]
    allocated: tuple[AllocatedStudentView, ...]  # empty until the allocation is published

    @property
    def status_label(self) -> str:
        return ProjectStatus.label_of(self.status)

    @property
    def demand_total(self) -> int:
        return sum(self.demand)


@dataclass(frozen=True)
class StaffProjects:
    cohort_id: int
    phase: str
    phase_label: str
    can_edit: bool  # proposals are open
    proposals_close_at: datetime | None
    auto_approve: bool
    published: bool
    max_load: int | None
    projects: tuple[StaffProjectView, ...]
    cohort_tags: tuple[str, ...]  # tags already used in the cohort, as suggestions
    proposals: Window | None = None  # what is true now of the proposals window (its closing date only if ahead)

    def project(self, project_id: int) -> StaffProjectView | None:
        return next((p for p in self.projects if p.id == project_id), None)


def _staff(session: Session, actor: Actor, cohort_id: int) -> tuple[Membership, Cohort]:
    membership = session.scalar(
        select(Membership).where(Membership.cohort_id == cohort_id, Membership.user_id == actor.user_id))
    if membership is None or membership.role != Role.STAFF:
        raise NotAllowed("Only staff of this cohort can do this.")
    return membership, session.get(Cohort, cohort_id)


def _views(session: Session, cohort: Cohort, projects: list[Project], run_id: int | None) -> list[StaffProjectView]:
    ids = [p.id for p in projects]
    demand: dict[int, dict[int, int]] = defaultdict(dict)
    allocated: dict[int, list[AllocatedStudentView]] = defaultdict(list)
    if ids:
        for pid, rank, n in session.execute(
            select(Preference.project_id, Preference.rank, func.count())
            .where(Preference.cohort_id == cohort.id, Preference.project_id.in_(ids))
            .group_by(Preference.project_id, Preference.rank)
        ):
            demand[pid][rank] = n
        if run_id is not None:
            for pid, rank, sid, name, email, accepted, reason in session.execute(
                select(Assignment.project_id, Assignment.rank, User.id, User.name, User.email, Response.accepted,
                       Response.reason)
                .join(User, User.id == Assignment.student_id)
                .outerjoin(Response, and_(Response.run_id == Assignment.run_id,
                                          Response.student_id == Assignment.student_id))
                .where(Assignment.run_id == run_id, Assignment.project_id.in_(ids))
                .order_by(User.name, User.id)
            ):
                allocated[pid].append(AllocatedStudentView(sid, name, email, rank, accepted, reason or ""))
            allocated = _with_groups(session, run_id, allocated)
    views = []
    for p in projects:
        counts = demand.get(p.id, {})
        width = max([cohort.max_choices, *counts.keys()])
        views.append(StaffProjectView(
            id=p.id, cohort_id=p.cohort_id, code=p.code, title=p.title, description=p.description or "",
            capacity=p.capacity, min_students=p.min_students, tags=tuple(str(t) for t in (p.tags or ())),
            status=p.status, reject_reason=p.reject_reason, updated_at=p.updated_at,
            demand=tuple(counts.get(r, 0) for r in range(1, width + 1)), allocated=tuple(allocated.get(p.id, ())),
        ))
    return views


def _with_groups(session: Session, run_id: int, allocated: dict[int, list[AllocatedStudentView]]
                 ) -> dict[int, list[AllocatedStudentView]]:
    """Each allocated student with the others of their group in the run (one query: the record's groups
    alone). A group is placed together, so its members are on the same project. A record that cannot be
    read names no groups here; the studio says what is wrong with it."""
    try:
        groups = run_groups_ids(session, run_id)
    except DamagedRecord:
        return allocated
    group_of = {uid: tuple(members) for members in groups for uid in members}
    out: dict[int, list[AllocatedStudentView]] = {}
    for pid, students in allocated.items():
        names = {s.student_id: s.name for s in students}
        out[pid] = [dataclasses.replace(s, group_with=tuple(names[u] for u in group_of.get(s.student_id, ())
                                                            if u != s.student_id and u in names))
                    for s in students]
    return out


def list_my_projects(session: Session, *, actor: Actor, cohort_id: int) -> StaffProjects:
    """The actor's projects in the cohort, every status, with demand and (once published) allocations."""
    membership, cohort = _staff(session, actor, cohort_id)
    run_id = published_run_id(session, cohort_id)
    phase = phase_of(cohort, published=run_id is not None)
    projects = list(session.scalars(
        select(Project).where(Project.cohort_id == cohort_id, Project.supervisor_id == actor.user_id)
        .order_by(Project.status == ProjectStatus.WITHDRAWN, Project.title, Project.id)))
    tags: set[str] = set()
    for row in session.scalars(select(Project.tags).where(Project.cohort_id == cohort_id,
                                                          Project.status.in_(domain.LIVE_PROJECT_STATUSES))):
        tags.update(str(t) for t in (row or ()))
    return StaffProjects(
        cohort_id=cohort_id, phase=phase, phase_label=Phase.label_of(phase),
        can_edit=proposals_open(phase), proposals_close_at=cohort.proposals_close_at,
        auto_approve=cohort.auto_approve, published=run_id is not None, max_load=membership.max_load,
        projects=tuple(_views(session, cohort, projects, run_id)), cohort_tags=tuple(sorted(tags, key=str.casefold)),
        proposals=window_of(cohort, "proposals", phase),
    )


def _int(value: Any, what: str) -> int:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{what} must be a whole number.")
    return value


def clean_title(title: Any) -> str:
    """A project title as stored (spaces collapsed), or Invalid: the rule of the proposal form, the
    coordinator's catalogue editor and nowhere else."""
    if not isinstance(title, str) or not title.strip():
        raise Invalid("Please give the project a title.")
    title = " ".join(title.split())
    if len(title) > domain.PROJECT_TITLE_MAX:
        raise Invalid(f"The title is {len(title)} characters long; please keep it to {domain.PROJECT_TITLE_MAX} or fewer.")
    return title


def clean_description(description: Any) -> str:
    """A project's Markdown description as stored (trimmed), or Invalid."""
    if description is None:
        description = ""
    if not isinstance(description, str):
        raise Invalid("The description must be text.")
    description = description.strip()
    if len(description) > domain.PROJECT_DESCRIPTION_MAX:
        raise Invalid(f"The description is too long; please keep it to {domain.PROJECT_DESCRIPTION_MAX:,} characters.")
    return description


def _validated(title: Any, description: Any, capacity: Any, min_students: Any, tags: Any) -> dict[str, Any]:
    """The cleaned fields, or Invalid naming the first rule broken."""
    title = clean_title(title)
    description = clean_description(description)
    capacity = _int(capacity, "Capacity")
    if not domain.PROJECT_CAPACITY_MIN <= capacity <= domain.PROJECT_CAPACITY_MAX:
        raise Invalid(f"Capacity must be between {domain.PROJECT_CAPACITY_MIN} and {domain.PROJECT_CAPACITY_MAX:,} students.")
    min_students = _int(min_students, "The minimum number of students")
    if not 0 <= min_students <= capacity:
        raise Invalid(f"The minimum number of students must be between 0 and the capacity ({capacity}).")
    if tags is None:
        tags = ()
    if isinstance(tags, (str, bytes)) or not isinstance(tags, Sequence):
        raise Invalid("Tags must be a list of words.")
    cleaned: list[str] = []
    seen: set[str] = set()
    for tag in tags:
        if not isinstance(tag, str):
            raise Invalid("Each tag must be a short piece of text.")
        tag = " ".join(tag.split())
        if not tag:
            continue
        if len(tag) > domain.PROJECT_TAG_LENGTH_MAX:
            raise Invalid(f"The tag “{tag[:40]}” is too long; keep tags to {domain.PROJECT_TAG_LENGTH_MAX} characters.")
        if tag.casefold() not in seen:
            seen.add(tag.casefold())
            cleaned.append(tag)
    if len(cleaned) > domain.PROJECT_TAGS_MAX:
        raise Invalid(f"Please use at most {domain.PROJECT_TAGS_MAX} tags.")
    return dict(title=title, description=description, capacity=capacity, min_students=min_students, tags=cleaned)


def _require_open(session: Session, cohort: Cohort) -> None:
    phase = phase_of(cohort, published=published_run_id(session, cohort.id) is not None)
    if not proposals_open(phase):
        raise Closed("Proposals are closed for this cohort, so nothing was changed. "
                     "Contact the coordinator if a project must change.")


def _one(session: Session, cohort: Cohort, project: Project) -> StaffProjectView:
    return _views(session, cohort, [project], published_run_id(session, cohort.id))[0]


def propose_project(session: Session, *, actor: Actor, cohort_id: int, title: str, description: str = "",
                    capacity: int = 1, min_students: int = 0, tags: Sequence[str] = ()) -> StaffProjectView:
    """A new project supervised by the actor; approved at once when the cohort auto-approves."""
    _, cohort = _staff(session, actor, cohort_id)
    _require_open(session, cohort)
    fields = _validated(title, description, capacity, min_students, tags)
    project = Project(cohort_id=cohort_id, supervisor_id=actor.user_id,
                      status=ProjectStatus.APPROVED if cohort.auto_approve else ProjectStatus.PROPOSED, **fields)
    session.add(project)
    session.flush()
    record_audit(session, actor=actor, action="project.proposed", cohort_id=cohort_id, project_id=project.id,
                 title=project.title, status=project.status)
    return _views(session, cohort, [project], None)[0]


def _own_project(session: Session, actor: Actor, cohort_id: int, project_id: int) -> tuple[Cohort, Project]:
    _, cohort = _staff(session, actor, cohort_id)
    project = session.scalar(select(Project).where(Project.id == project_id, Project.cohort_id == cohort_id)
                             .with_for_update())
    if project is None:
        raise NotFound("That project does not exist in this cohort.")
    if project.supervisor_id != actor.user_id:
        raise NotAllowed("You can only change projects you supervise.")
    return cohort, project


def update_my_project(session: Session, *, actor: Actor, cohort_id: int, project_id: int, title: str,
                      description: str = "", capacity: int = 1, min_students: int = 0,
                      tags: Sequence[str] = ()) -> StaffProjectView:
    """Edit one of the actor's projects. A rejected project goes back for approval (its reason cleared)."""
    cohort, project = _own_project(session, actor, cohort_id, project_id)
    _require_open(session, cohort)
    if project.status == ProjectStatus.WITHDRAWN:
        raise Invalid("This project has been withdrawn; propose it again as a new project instead.")
    fields = _validated(title, description, capacity, min_students, tags)
    changed = sorted(k for k, v in fields.items() if getattr(project, k) != v)
    for key, value in fields.items():
        setattr(project, key, value)
    if project.status == ProjectStatus.REJECTED:
        project.status = ProjectStatus.APPROVED if cohort.auto_approve else ProjectStatus.PROPOSED
        project.reject_reason = None
    project.updated_at = utcnow()
    session.flush()
    record_audit(session, actor=actor, action="project.edited", cohort_id=cohort_id, project_id=project.id,
                 changed=changed, status=project.status)
    return _one(session, cohort, project)


def withdraw_my_project(session: Session, *, actor: Actor, cohort_id: int, project_id: int) -> StaffProjectView:
    """Take one of the actor's projects out of the catalogue (kept, for history, as withdrawn)."""
    cohort, project = _own_project(session, actor, cohort_id, project_id)
    _require_open(session, cohort)
    if project.status == ProjectStatus.WITHDRAWN:
        raise Invalid("This project is already withdrawn.")
    project.status = ProjectStatus.WITHDRAWN
    project.updated_at = utcnow()
    session.flush()
    record_audit(session, actor=actor, action="project.withdrawn", cohort_id=cohort_id, project_id=project.id,
                 title=project.title)
    return _one(session, cohort, project)
