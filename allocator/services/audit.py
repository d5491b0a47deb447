"""The audit trail: every coordinator action, with who, when and what."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.models import AuditEvent
from allocator.services.access import Actor, require_admin


__all__ = ['AuditView', 'record_audit', 'list_events']

@dataclass(frozen=True)
class AuditView:
    id: int
    created_at: datetime
    actor_email: str
    cohort_id: int | None
    action: str
    detail: dict[str, Any]


def record_audit(session: Session, *, actor: Actor, action: str, cohort_id: int | None = None, **detail: Any) -> None:
    """Write one event in the caller's transaction, so it lands exactly when the change does."""
    session.add(AuditEvent(actor_id=actor.user_id, actor_email=actor.email, cohort_id=cohort_id,
                           action=action, detail=detail))


def list_events(
    session: Session, *, actor: Actor, cohort_id: int | None = None, action: str | None = None, limit: int = 500
) -> list[AuditView]:
    require_admin(actor)
    query = select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit)
    if cohort_id is not None:
        query = query.where(AuditEvent.cohort_id == cohort_id)
    if action:
        query = query.where(AuditEvent.action == action)
    return [AuditView(e.id, e.created_at, e.actor_email, e.cohort_id, e.action, dict(e.detail or {}))
            for e in session.scalars(query)]
