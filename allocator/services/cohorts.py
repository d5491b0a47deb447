"""Reading cohorts: what each person sees of the exercises they belong to."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocator.domain import Role
from allocator.models import AllocationRun, Cohort, Membership
from allocator.services.access import Actor, require_member_or_admin
from allocator.services.errors import NotFound
from allocator.services.phases import phase_of


__all__ = ['CohortView', 'list_cohorts', 'get_cohort', 'published_run_id']

@dataclass(frozen=True)
class CohortView:
    id: int
    name: str
    archived: bool
    phase: str
    phase_label: str
    proposals_open_at: datetime | None
    proposals_close_at: datetime | None
    preferences_open_at: datetime | None
    preferences_close_at: datetime | None
    phase_override: str | None
    min_choices: int
    max_choices: int
    allow_unranked: bool
    default_objective: str
    auto_approve: bool
    responses_locked: bool
    published_run_id: int | None
    students: int
    staff: int



def cohort_of(session: Session, cohort_id: int) -> Cohort:
    """The cohort, or NotFound: the one lookup every service that takes a cohort id shares."""
    cohort = session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound("That cohort does not exist.")
    return cohort

def published_run_id(session: Session, cohort_id: int) -> int | None:
    return session.scalar(
        select(AllocationRun.id)
        .where(AllocationRun.cohort_id == cohort_id, AllocationRun.published_at.is_not(None))
        .order_by(AllocationRun.published_at.desc(), AllocationRun.id.desc())
        .limit(1)
    )


def _views(session: Session, cohorts: list[Cohort]) -> list[CohortView]:
    ids = [c.id for c in cohorts]
    counts: dict[tuple[int, str], int] = {
        (cid, role): n
        for cid, role, n in session.execute(
            select(Membership.cohort_id, Membership.role, func.count())
            .where(Membership.cohort_id.in_(ids))
            .group_by(Membership.cohort_id, Membership.role)
        )
    }
    published = dict(
        session.execute(
            select(AllocationRun.cohort_id, func.max(AllocationRun.id))
            .where(AllocationRun.cohort_id.in_(ids), AllocationRun.published_at.is_not(None))
            .group_by(AllocationRun.cohort_id)
        ).all()
    )
    views = []
    for c in cohorts:
        run_id = published.get(c.id)
        phase = phase_of(c, published=run_id is not None)
        views.append(CohortView(
            id=c.id, name=c.name, archived=c.archived, phase=phase, phase_label=phase.label,
            proposals_open_at=c.proposals_open_at, proposals_close_at=c.proposals_close_at,
            preferences_open_at=c.preferences_open_at, preferences_close_at=c.preferences_close_at,
            phase_override=c.phase_override, min_choices=c.min_choices, max_choices=c.max_choices,
            allow_unranked=c.allow_unranked, default_objective=c.default_objective,
            auto_approve=c.auto_approve, responses_locked=c.responses_locked, published_run_id=run_id,
            students=counts.get((c.id, Role.STUDENT), 0), staff=counts.get((c.id, Role.STAFF), 0),
        ))
    return views


def list_cohorts(session: Session, *, actor: Actor, include_archived: bool = False) -> list[CohortView]:
    """Admins see every cohort; others see the cohorts they belong to."""
    query = select(Cohort).order_by(Cohort.created_at.desc(), Cohort.id.desc())
    if not include_archived:
        query = query.where(Cohort.archived.is_(False))
    if not actor.is_admin:
        query = query.join(Membership, Membership.cohort_id == Cohort.id).where(Membership.user_id == actor.user_id)
    return _views(session, list(session.scalars(query)))


def get_cohort(session: Session, *, actor: Actor, cohort_id: int) -> CohortView:
    require_member_or_admin(session, actor, cohort_id)
    cohort = session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound("That cohort does not exist.")
    return _views(session, [cohort])[0]
