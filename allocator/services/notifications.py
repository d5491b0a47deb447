"""In-app messages to people (published allocations, reminders). Email is sent by allocator.mail."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import insert
from sqlalchemy.orm import Session

from allocator.models import Notification, utcnow

__all__ = ["notify"]


def notify(session: Session, *, user_ids: Iterable[int], cohort_id: int | None, kind: str, subject: str,
           body: str = "") -> int:
    """Queue one in-app message per user, in the caller's transaction. Returns how many were written.

    Callers check the actor's rights first: this is a building block, not a service pages call directly.
    """
    now = utcnow()
    rows = [dict(user_id=uid, cohort_id=cohort_id, kind=kind, subject=subject, body=body, created_at=now)
            for uid in dict.fromkeys(user_ids)]
    if rows:
        session.execute(insert(Notification), rows)
    return len(rows)
