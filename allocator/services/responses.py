"""A student's published allocation, and their accept or decline of it.

The published run is the newest run of the cohort with `published_at` set (`published_run_id`); runs and
assignments are written by the allocation service. A student may change their answer until the
coordinator locks responses.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from allocator.domain import Role
from allocator.models import AllocationRun, Assignment, Cohort, Membership, Preference, Project, Response, User, utcnow
from allocator.services.access import Actor, require_member
from allocator.services.audit import record_audit
from allocator.services.cohorts import published_run_id
from allocator.services.errors import Closed, Invalid
from allocator.services.notifications import notify_coordinators_of_decline
from allocator import domain

__all__ = ["MyAllocationView", "get_my_allocation", "respond_to_allocation"]



@dataclass(frozen=True)
class MyAllocationView:
    cohort_id: int
    published: bool
    run_id: int | None
    published_at: datetime | None
    # False when published but the student has no project in it.
    placed: bool
    project_id: int | None
    project_code: str | None
    project_title: str
    project_description: str
    supervisor_name: str
    supervisor_email: str
    # The project's rank in the student's list; None when it was not one of their choices.
    rank: int | None
    choices: int  # how many projects the student ranked
    accepted: bool | None  # None: not answered yet
    reason: str
    responded_at: datetime | None
    responses_locked: bool
    # A student with several places: their other projects as (title, rank), best rank first.
    more_projects: tuple[tuple[str, int | None], ...] = ()

    @property
    def can_respond(self) -> bool:
        return self.published and self.placed and not self.responses_locked


def _membership(session: Session, actor: Actor, cohort_id: int, *, lock: bool = False) -> Membership:
    return require_member(session, actor, cohort_id, Role.STUDENT, lock=lock)


def _view(session: Session, actor: Actor, cohort: Cohort) -> MyAllocationView:
    run_id = published_run_id(session, cohort.id)
    choices = (select(func.count()).select_from(Preference)
               .where(Preference.cohort_id == cohort.id, Preference.student_id == actor.user_id)
               .scalar_subquery())
    if run_id is None:
        return MyAllocationView(cohort.id, False, None, None, False, None, None, "", "", "", "", None,
                              session.scalar(select(choices)) or 0, None, "", None, cohort.responses_locked)
    rows = session.execute(
        select(AllocationRun.published_at, Assignment.project_id, Assignment.rank, Project.code, Project.title,
               Project.description, User.name, User.email, Response.accepted, Response.reason,
               Response.responded_at, choices)
        .select_from(AllocationRun)
        .outerjoin(Assignment, and_(Assignment.run_id == AllocationRun.id, Assignment.student_id == actor.user_id))
        .outerjoin(Project, Project.id == Assignment.project_id)
        .outerjoin(User, User.id == Project.supervisor_id)
        .outerjoin(Response, and_(Response.run_id == AllocationRun.id, Response.student_id == actor.user_id))
        .where(AllocationRun.id == run_id)
        .order_by(Assignment.rank.is_(None), Assignment.rank, Assignment.id)
    ).all()
    more = tuple((r.title or "", r.rank) for r in rows[1:])
    (published_at, project_id, rank, code, title, description, sup_name, sup_email, accepted, reason,
     responded_at, n_choices) = rows[0]
    placed = project_id is not None
    return MyAllocationView(
        cohort_id=cohort.id, published=True, run_id=run_id, published_at=published_at, placed=placed,
        project_id=project_id, project_code=code, project_title=title or "", project_description=description or "",
        supervisor_name=(sup_name or "(no supervisor)") if placed else "", supervisor_email=sup_email or "",
        rank=rank, choices=n_choices or 0, accepted=accepted, reason=reason or "", responded_at=responded_at,
        responses_locked=cohort.responses_locked, more_projects=more,
    )


def get_my_allocation(session: Session, *, actor: Actor, cohort_id: int) -> MyAllocationView:
    """The student's project in the published allocation (if any) and their answer so far."""
    _membership(session, actor, cohort_id)
    cohort = session.get(Cohort, cohort_id)
    return _view(session, actor, cohort)


def respond_to_allocation(session: Session, *, actor: Actor, cohort_id: int, accept: bool,
                          reason: str = "") -> MyAllocationView:
    """Accept or decline the published allocation, with an optional reason; the last answer counts."""
    _membership(session, actor, cohort_id, lock=True)
    cohort = session.get(Cohort, cohort_id)
    run_id = published_run_id(session, cohort_id)
    if run_id is None:
        raise Closed("The allocation has not been published yet, so there is nothing to answer.")
    if cohort.responses_locked:
        raise Closed("Responses are closed: the coordinator has locked them. Please contact them directly.")
    # A student with several places answers for all of them: the audit and the notice name each.
    project_ids = list(session.scalars(
        select(Assignment.project_id).where(Assignment.run_id == run_id, Assignment.student_id == actor.user_id,
                                            Assignment.project_id.is_not(None))
        .order_by(Assignment.rank.is_(None), Assignment.rank, Assignment.id)))
    if not project_ids:
        raise Invalid("You have no project in the published allocation, so there is nothing to accept or decline.")
    reason = (reason or "").strip()
    if len(reason) > domain.RESPONSE_REASON_MAX:
        raise Invalid(f"Please keep the reason under {domain.RESPONSE_REASON_MAX} characters.")
    response = session.scalar(select(Response).where(Response.run_id == run_id, Response.student_id == actor.user_id))
    if response is None:
        session.add(Response(run_id=run_id, student_id=actor.user_id, accepted=bool(accept), reason=reason,
                             responded_at=utcnow()))
    else:
        response.accepted = bool(accept)
        response.reason = reason
        response.responded_at = utcnow()
    several = {"project_ids": project_ids} if len(project_ids) > 1 else {}
    record_audit(session, actor=actor, action="allocation.accepted" if accept else "allocation.declined",
                 cohort_id=cohort_id, run_id=run_id, project_id=project_ids[0], reason=reason, **several)
    if not accept:
        notify_coordinators_of_decline(session, cohort_id=cohort_id, student_id=actor.user_id,
                                       project_ids=project_ids, reason=reason)
    session.flush()
    return _view(session, actor, cohort)
