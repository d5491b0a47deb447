"""The coordinator's project catalogue: every project of a cohort with its demand, approval and
rejection (single or bulk), bulk edits of capacity, minimum and tags, editing a project's title,
description, code and supervisor (reassigning it, e.g. after its supervisor left the cohort), and
capacity against students.

Reading the catalogue takes four queries whatever its size; writes are one statement per kind of change.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import case, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from allocator import domain, io
from allocator.domain import ProjectStatus, Role
from allocator.models import Membership, Notification, Preference, Project, User, utcnow
from allocator.services.access import Actor, require_admin
from allocator.services.audit import record_audit
from allocator.services.errors import Invalid, NotFound
from allocator.services.notifications import notify
from allocator.services.cohorts import cohort_of
from allocator.services.proposals import clean_description, clean_title

__all__ = ["CatalogueRow", "Catalogue", "BulkResult", "catalogue", "approve_projects", "reject_projects",
           "approve_project", "reject_project", "bulk_edit_projects", "parse_tags", "SupervisorChoice",
           "supervisor_choices", "edit_project"]



@dataclass(frozen=True)
class CatalogueRow:
    id: int
    code: str | None
    title: str
    description: str
    status: str
    reject_reason: str | None
    supervisor_id: int | None
    supervisor_name: str
    supervisor_email: str
    capacity: int
    min_students: int
    tags: tuple[str, ...]
    first_choices: int  # students who ranked it first
    any_rank: int  # students who ranked it at all
    updated_at: datetime | None


@dataclass(frozen=True)
class Catalogue:
    cohort_id: int
    rows: tuple[CatalogueRow, ...]  # after the filters
    students: int
    approved: int
    approved_capacity: int
    approved_minimum: int
    proposed: int
    proposed_capacity: int
    total: int  # projects in the cohort, whatever the filters

    @property
    def shortfall(self) -> int:
        """Students the approved catalogue cannot hold (0 when it can)."""
        return max(0, self.students - self.approved_capacity)

    @property
    def warning(self) -> str | None:
        if self.shortfall:
            text = (f"The approved projects offer {self.approved_capacity:,} places for {self.students:,} students: "
                    f"{self.shortfall:,} student(s) cannot be placed.")
            if self.proposed:
                text += (f" {self.proposed:,} proposal(s) awaiting approval would add "
                         f"{self.proposed_capacity:,} places.")
            return text
        if self.approved_minimum > self.students:
            return (f"The approved projects' minimum sizes add up to {self.approved_minimum:,}, more than the "
                    f"{self.students:,} students: some projects will have to close.")
        return None


@dataclass(frozen=True)
class BulkResult:
    changed: int
    unchanged: int = 0
    skipped: tuple[str, ...] = ()  # one sentence per project left alone, and why

    @property
    def summary(self) -> str:
        text = f"{self.changed} project(s) updated"
        if self.unchanged:
            text += f", {self.unchanged} already so"
        if self.skipped:
            text += f"; {len(self.skipped)} skipped: " + " ".join(self.skipped)
        return text + "."


def parse_tags(value: Any) -> tuple[str, ...]:
    """Tags from a cell: a 'a; b, c' string or a list."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    if isinstance(value, str):
        return io.split_tags(value)
    return io.split_tags(";".join(str(v) for v in value))


def catalogue(session: Session, *, actor: Actor, cohort_id: int, statuses: Sequence[str] | None = None,
              search: str | None = None) -> Catalogue:
    """Every project of the cohort (or those with `statuses`, matching `search` in code, title,
    supervisor or tags), proposals first, with demand from the students' current preferences."""
    require_admin(session, actor)
    cohort_of(session, cohort_id)
    supervisor = aliased(User)
    projects = session.execute(
        select(Project, supervisor.name, supervisor.email)
        .outerjoin(supervisor, supervisor.id == Project.supervisor_id)
        .where(Project.cohort_id == cohort_id)
        .order_by(case((Project.status == ProjectStatus.PROPOSED, 0), (Project.status == ProjectStatus.APPROVED, 1), else_=2),
                  Project.title, Project.id)
    ).all()
    demand = {pid: (int(first or 0), int(total)) for pid, first, total in session.execute(
        select(Preference.project_id, func.sum(case((Preference.rank == 1, 1), else_=0)), func.count())
        .where(Preference.cohort_id == cohort_id).group_by(Preference.project_id))}
    students = session.scalar(select(func.count()).select_from(Membership)
                              .where(Membership.cohort_id == cohort_id, Membership.role == Role.STUDENT)) or 0
    rows = [CatalogueRow(
        id=p.id, code=p.code, title=p.title, description=p.description or "", status=p.status,
        reject_reason=p.reject_reason, supervisor_id=p.supervisor_id, supervisor_name=name or "(no supervisor)",
        supervisor_email=email or "", capacity=p.capacity, min_students=p.min_students, tags=tuple(p.tags or ()),
        first_choices=demand.get(p.id, (0, 0))[0], any_rank=demand.get(p.id, (0, 0))[1], updated_at=p.updated_at,
    ) for p, name, email in projects]
    approved = [r for r in rows if r.status == ProjectStatus.APPROVED]
    proposed = [r for r in rows if r.status == ProjectStatus.PROPOSED]
    shown = rows
    if statuses:
        shown = [r for r in shown if r.status in statuses]
    if search and search.strip():
        needle = search.strip().lower()
        shown = [r for r in shown if needle in " ".join(
            [r.code or "", r.title, r.supervisor_name, r.supervisor_email, *r.tags]).lower()]
    return Catalogue(
        cohort_id=cohort_id, rows=tuple(shown), students=students, approved=len(approved),
        approved_capacity=sum(r.capacity for r in approved), approved_minimum=sum(r.min_students for r in approved),
        proposed=len(proposed), proposed_capacity=sum(r.capacity for r in proposed), total=len(rows),
    )


def _projects(session: Session, cohort_id: int, project_ids: Iterable[int]) -> list[Project]:
    ids = list(dict.fromkeys(int(i) for i in project_ids))
    if not ids:
        raise Invalid("Select at least one project.")
    found = list(session.scalars(select(Project).where(Project.cohort_id == cohort_id, Project.id.in_(ids))
                                 .order_by(Project.id)))
    if len(found) != len(ids):
        raise NotFound("Some of those projects do not exist in this cohort.")
    return found


def _notify_supervisors(session: Session, cohort_id: int, projects: list[Project], kind: str,
                        subject: str, body: str) -> None:
    now = utcnow()
    rows = [dict(user_id=p.supervisor_id, cohort_id=cohort_id, kind=kind, created_at=now,
                 subject=subject.format(title=p.title)[:300], body=body.format(title=p.title))
            for p in projects if p.supervisor_id is not None]
    if rows:
        session.execute(insert(Notification), rows)


def approve_projects(session: Session, *, actor: Actor, cohort_id: int, project_ids: Iterable[int]) -> BulkResult:
    """Approve proposals (or rejected projects, on second thoughts). Withdrawn ones are skipped: their
    supervisor took them back. Supervisors are notified."""
    require_admin(session, actor)
    cohort_of(session, cohort_id)
    projects = _projects(session, cohort_id, project_ids)
    skipped = tuple(f"“{p.title}” was withdrawn by its supervisor." for p in projects if p.status == ProjectStatus.WITHDRAWN)
    todo = [p for p in projects if p.status in (ProjectStatus.PROPOSED, ProjectStatus.REJECTED)]
    already = sum(1 for p in projects if p.status == ProjectStatus.APPROVED)
    now = utcnow()
    for p in todo:
        p.status, p.reject_reason, p.updated_at = ProjectStatus.APPROVED, None, now
    if todo:
        session.flush()
        _notify_supervisors(session, cohort_id, todo, "project_approved", "Project approved: {title}",
                            "Your project “{title}” was approved: students can rank it when preferences open.")
        record_audit(session, actor=actor, action="projects.approve", cohort_id=cohort_id,
                     project_ids=[p.id for p in todo], titles=[p.title for p in todo][:50])
    return BulkResult(changed=len(todo), unchanged=already, skipped=skipped)


def reject_projects(session: Session, *, actor: Actor, cohort_id: int, project_ids: Iterable[int],
                    reason: str) -> BulkResult:
    """Reject projects with a reason their supervisor sees. An approved project can be rejected too
    (it leaves the catalogue; students who ranked it keep it in their list but cannot be placed on it)."""
    require_admin(session, actor)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Give a reason for the rejection: the supervisor sees it.")
    if len(reason) > domain.REJECT_REASON_MAX:
        raise Invalid(f"Keep the reason under {domain.REJECT_REASON_MAX} characters.")
    cohort_of(session, cohort_id)
    projects = _projects(session, cohort_id, project_ids)
    skipped = tuple(f"“{p.title}” was withdrawn by its supervisor." for p in projects if p.status == ProjectStatus.WITHDRAWN)
    todo = [p for p in projects if p.status != ProjectStatus.WITHDRAWN and (p.status != ProjectStatus.REJECTED or p.reject_reason != reason)]
    already = len(projects) - len(todo) - len(skipped)
    now = utcnow()
    for p in todo:
        p.status, p.reject_reason, p.updated_at = ProjectStatus.REJECTED, reason, now
    if todo:
        session.flush()
        _notify_supervisors(session, cohort_id, todo, "project_rejected", "Project not approved: {title}",
                            "Your project “{title}” was not approved. The coordinator's reason: " + reason)
        record_audit(session, actor=actor, action="projects.reject", cohort_id=cohort_id,
                     project_ids=[p.id for p in todo], titles=[p.title for p in todo][:50], reason=reason)
    return BulkResult(changed=len(todo), unchanged=already, skipped=skipped)


def approve_project(session: Session, *, actor: Actor, cohort_id: int, project_id: int) -> BulkResult:
    return approve_projects(session, actor=actor, cohort_id=cohort_id, project_ids=[project_id])


def reject_project(session: Session, *, actor: Actor, cohort_id: int, project_id: int, reason: str) -> BulkResult:
    return reject_projects(session, actor=actor, cohort_id=cohort_id, project_ids=[project_id], reason=reason)


def _whole(value: Any) -> int | None:
    """An integer from an editor cell (int, numpy int, integral float, digit string), else None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return int(value) if math.isfinite(value) and float(value).is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            return None
        return int(number) if math.isfinite(number) and number.is_integer() else None
    return None


def _edited(row: Mapping[str, Any], project: Project) -> tuple[tuple, list[str]]:
    """((capacity, minimum, tags) after the row's edits, what is wrong with them); a key the row lacks
    keeps the project's value."""
    row_problems = []
    capacity, minimum, tags = project.capacity, project.min_students, tuple(project.tags or ())
    if "capacity" in row:
        capacity = _whole(row["capacity"])
        if capacity is None or not domain.PROJECT_CAPACITY_MIN <= capacity <= domain.PROJECT_CAPACITY_MAX:
            row_problems.append(f"capacity must be a whole number from {domain.PROJECT_CAPACITY_MIN} to "
                                f"{domain.PROJECT_CAPACITY_MAX}")
    if "min_students" in row:
        minimum = _whole(row["min_students"])
        if minimum is None or minimum < 0:
            row_problems.append("minimum must be a whole number of 0 or more")
    if capacity is not None and minimum is not None and minimum > capacity and not row_problems:
        row_problems.append(f"minimum {minimum} is more than capacity {capacity}")
    if "tags" in row:
        tags = parse_tags(row["tags"])
        problem = io.tag_problem(tags)
        if problem:
            row_problems.append(problem)
    return (capacity, minimum, tags), row_problems


def _diff(project: Project, capacity: int, minimum: int, tags) -> dict[str, list]:
    """Each changed field as [before, after], for the audit entry."""
    diff = {}
    if capacity != project.capacity:
        diff["capacity"] = [project.capacity, capacity]
    if minimum != project.min_students:
        diff["min_students"] = [project.min_students, minimum]
    if list(tags) != list(project.tags or []):
        diff["tags"] = [list(project.tags or []), list(tags)]
    return diff


def bulk_edit_projects(session: Session, *, actor: Actor, cohort_id: int,
                       rows: Sequence[Mapping[str, Any]]) -> BulkResult:
    """Apply edits of capacity, min_students and tags from table rows (each with the project's "id";
    the other keys are optional). Every row is checked first, in Python, whatever the browser allowed;
    if any is wrong nothing is saved and the error lists every bad row by its number (1 = first row)."""
    require_admin(session, actor)
    cohort_of(session, cohort_id)
    if not rows:
        return BulkResult(changed=0)
    ids = [_whole(r.get("id")) for r in rows]
    current = {p.id: p for p in session.scalars(
        select(Project).where(Project.cohort_id == cohort_id, Project.id.in_([i for i in ids if i is not None])))}
    problems: list[str] = []
    updates: list[dict] = []
    changes: dict[int, dict[str, list]] = {}
    seen: dict[int, int] = {}
    now = utcnow()
    for n, (row, pid) in enumerate(zip(rows, ids), start=1):
        project = current.get(pid) if pid is not None else None
        if project is None:
            problems.append(f"Row {n}: no such project in this cohort.")
            continue
        label = f"Row {n} (“{project.title}”)"
        if pid in seen:
            problems.append(f"{label}: the same project as row {seen[pid]}.")
            continue
        seen[pid] = n
        (capacity, minimum, tags), row_problems = _edited(row, project)
        if row_problems:
            problems.append(f"{label}: " + "; ".join(row_problems) + ".")
            continue
        diff = _diff(project, capacity, minimum, tags)
        if diff:
            changes[pid] = diff
            updates.append(dict(id=pid, capacity=capacity, min_students=minimum, tags=list(tags), updated_at=now))
    if problems:
        raise Invalid("Nothing was saved. Fix these rows:\n" + "\n".join(f"- {p}" for p in problems))
    if updates:
        session.execute(update(Project), updates)
        session.expire_all()
        record_audit(session, actor=actor, action="projects.bulk_edit", cohort_id=cohort_id,
                     changes={str(k): v for k, v in changes.items()})
    return BulkResult(changed=len(updates), unchanged=len(rows) - len(updates))


@dataclass(frozen=True)
class SupervisorChoice:
    user_id: int
    name: str
    email: str


def supervisor_choices(session: Session, *, actor: Actor, cohort_id: int) -> tuple[SupervisorChoice, ...]:
    """The cohort's staff, by name: whom a project can be given to."""
    require_admin(session, actor)
    cohort_of(session, cohort_id)
    return tuple(SupervisorChoice(uid, name, email) for uid, name, email in session.execute(
        select(User.id, User.name, User.email).join(Membership, Membership.user_id == User.id)
        .where(Membership.cohort_id == cohort_id, Membership.role == Role.STAFF)
        .order_by(func.lower(User.name), User.id)))


def _clean_code(session: Session, cohort_id: int, project_id: int, code: Any) -> str | None:
    if code is None:
        return None
    if not isinstance(code, str):
        raise Invalid("The code must be text.")
    code = code.strip()
    if not code:
        return None
    if len(code) > domain.PROJECT_CODE_MAX:
        raise Invalid(f"The code is {len(code)} characters long; please keep it to {domain.PROJECT_CODE_MAX} or fewer.")
    other = session.scalar(select(Project.title).where(Project.cohort_id == cohort_id, Project.code == code,
                                                       Project.id != project_id))
    if other is not None:
        raise Invalid(f"The code “{code}” is already used by “{other}”; codes must differ within a cohort.")
    return code


def edit_project(session: Session, *, actor: Actor, cohort_id: int, project_id: int, title: Any,
                 description: Any, code: Any, supervisor_id: int | None) -> CatalogueRow:
    """Change a project's title, description, code and supervisor (None: nobody), checked with the
    proposal form's rules; the supervisor must be staff of the cohort. What changed is audited, and a
    reassigned project's new (and former) supervisor is told. Nothing changes if any value is wrong."""
    require_admin(session, actor)
    cohort_of(session, cohort_id)
    project = session.scalar(select(Project).where(Project.id == project_id, Project.cohort_id == cohort_id)
                             .with_for_update())
    if project is None:
        raise NotFound("That project does not exist in this cohort.")
    title = clean_title(title)
    description = clean_description(description)
    code = _clean_code(session, cohort_id, project_id, code)
    if supervisor_id is not None and (isinstance(supervisor_id, bool) or not isinstance(supervisor_id, int)):
        raise Invalid("Choose the supervisor from the list.")
    if supervisor_id is not None and supervisor_id != project.supervisor_id:
        staff = {c.user_id: c for c in supervisor_choices(session, actor=actor, cohort_id=cohort_id)}
        if supervisor_id not in staff:
            raise Invalid("The supervisor must be a staff member of this cohort: add them on the People page first.")
    names = dict(session.execute(select(User.id, User.name).where(
        User.id.in_([i for i in (project.supervisor_id, supervisor_id) if i is not None]))).all())
    changes: dict[str, Any] = {}
    if title != project.title:
        changes["title"] = [project.title, title]
    if description != (project.description or ""):
        changes["description"] = "rewritten"
    if code != project.code:
        changes["code"] = [project.code or "", code or ""]
    old_supervisor = project.supervisor_id
    if supervisor_id != old_supervisor:
        changes["supervisor"] = [names.get(old_supervisor, "nobody"), names.get(supervisor_id, "nobody")]
    if changes:
        project.title, project.description, project.code = title, description, code
        project.supervisor_id, project.updated_at = supervisor_id, utcnow()
        session.flush()
        record_audit(session, actor=actor, action="project.updated", cohort_id=cohort_id, project_id=project.id,
                     changes=changes)
        if "supervisor" in changes:
            if supervisor_id is not None:
                notify(session, user_ids=[supervisor_id], cohort_id=cohort_id, kind="project_reassigned",
                       subject=f"You now supervise “{title}”",
                       body=f"The coordinator gave you the project “{title}”. It is under **My projects**.")
            if old_supervisor is not None:
                notify(session, user_ids=[old_supervisor], cohort_id=cohort_id, kind="project_reassigned",
                       subject=f"“{title}” has a new supervisor",
                       body=f"The coordinator gave your project “{title}” to "
                            f"{names.get(supervisor_id, 'nobody for now')}.")
    return next(r for r in catalogue(session, actor=actor, cohort_id=cohort_id).rows if r.id == project.id)
