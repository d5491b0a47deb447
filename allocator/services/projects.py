"""Reading the project catalogue, filtered by what the acting person may see."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from allocator.domain import ProjectStatus, Role
from allocator.models import Project, User
from allocator.services.access import Actor, require_member_or_admin
from allocator.services.errors import NotFound


__all__ = ['ProjectView', 'list_projects', 'get_project']

@dataclass(frozen=True)
class ProjectView:
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
    supervisor_id: int | None
    supervisor_name: str
    supervisor_email: str


def _view(project: Project, supervisor: User | None) -> ProjectView:
    return ProjectView(
        id=project.id, cohort_id=project.cohort_id, code=project.code, title=project.title,
        description=project.description or "", capacity=project.capacity, min_students=project.min_students,
        tags=tuple(project.tags or ()), status=project.status, reject_reason=project.reject_reason,
        supervisor_id=project.supervisor_id,
        supervisor_name=supervisor.name if supervisor else "(no supervisor)",
        supervisor_email=supervisor.email if supervisor else "",
    )


def _visible(session: Session, actor: Actor, cohort_id: int):
    """A query of the projects this actor may see in the cohort, with their supervisors."""
    membership = require_member_or_admin(session, actor, cohort_id)
    supervisor = aliased(User)
    query = (
        select(Project, supervisor)
        .outerjoin(supervisor, supervisor.id == Project.supervisor_id)
        .where(Project.cohort_id == cohort_id)
    )
    if membership is not None and membership.role == Role.STUDENT:
        query = query.where(Project.status == ProjectStatus.APPROVED)
    elif membership is not None:
        # Staff see the live catalogue and every state of their own proposals.
        query = query.where(or_(Project.status == ProjectStatus.APPROVED, Project.supervisor_id == actor.user_id))
    return query


def list_projects(
    session: Session, *, actor: Actor, cohort_id: int, statuses: tuple[str, ...] | None = None
) -> list[ProjectView]:
    query = _visible(session, actor, cohort_id).order_by(Project.title, Project.id)
    if statuses:
        query = query.where(Project.status.in_(statuses))
    return [_view(p, s) for p, s in session.execute(query)]


def get_project(session: Session, *, actor: Actor, cohort_id: int, project_id: int) -> ProjectView:
    row = session.execute(_visible(session, actor, cohort_id).where(Project.id == project_id)).first()
    if row is None:
        raise NotFound("That project does not exist or is not visible to you.")
    return _view(*row)
