"""In-app messages to people (published allocations, reminders). Email is sent by allocator.mail."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, func, insert, select, update
from sqlalchemy.orm import Session

from allocator import config, mail
from allocator.models import Cohort, Notification, Project, User, utcnow
from allocator.services.access import Actor
from allocator.services.errors import Invalid, NotAllowed

DECLINED_KIND = "allocation.declined"

__all__ = ["notify", "notify_coordinators_of_decline", "DECLINED_KIND", "NotificationView", "NotificationList", "list_notifications", "unread_count", "mark_read",
           "mark_all_read"]


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


def notify_coordinators_of_decline(session: Session, *, cohort_id: int, student_id: int, project_ids: list[int],
                                   reason: str) -> int:
    """Tell every active coordinator, in the app and (when mail is configured) by email, that a student
    declined their published project. The email goes only once the caller's transaction has committed,
    so a rolled-back answer sends nothing and a slow mail server never holds the transaction open; a
    mail failure is logged by `mail.send_all` and never undoes the answer. Returns the messages written."""
    cohort = session.get(Cohort, cohort_id)
    student = session.get(User, student_id)
    title_of = dict(session.execute(select(Project.id, Project.title).where(Project.id.in_(project_ids))).all())
    titles = [title_of[pid] for pid in project_ids if pid in title_of]
    if cohort is None or student is None or not titles:  # pragma: no cover - the caller checked these
        return 0
    coordinators = session.execute(
        select(User.id, User.name, User.email).where(User.is_admin.is_(True), User.active.is_(True))
        .order_by(User.id)).all()
    body = (f"{student.name} ({student.email}) declined {mail.quoted_titles(titles)}."
            + (f" Their reason: {reason}" if reason else " They gave no reason.")
            + " You can place them again in the **Allocation studio**.")
    written = notify(session, user_ids=[uid for uid, _, _ in coordinators], cohort_id=cohort_id,
                     kind=DECLINED_KIND, body=body,
                     subject=f"{student.name} declined their project{'s' if len(titles) > 1 else ''}")
    settings = config.load()
    if settings.email_configured and coordinators:
        emails = [mail.decline_email(to=email, coordinator_name=name, student_name=student.name,
                                     student_email=student.email, project_titles=titles,
                                     cohort_name=cohort.name, reason=reason, app_url=settings.app_url)
                  for _, name, email in coordinators]
        event.listen(session, "after_commit", lambda _session: mail.send_all(settings, emails), once=True)
    return written


@dataclass(frozen=True)
class NotificationView:
    id: int
    cohort_id: int | None
    cohort_name: str
    kind: str
    subject: str
    body: str  # Markdown
    created_at: datetime
    read_at: datetime | None

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


@dataclass(frozen=True)
class NotificationList:
    items: tuple[NotificationView, ...]
    unread: int  # all unread messages of the person, even beyond `limit`


def unread_count(session: Session, *, actor: Actor) -> int:
    return session.scalar(select(func.count()).select_from(Notification)
                          .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))) or 0


def list_notifications(session: Session, *, actor: Actor, unread_only: bool = False,
                       limit: int = 200) -> NotificationList:
    """The actor's own messages, newest first, with the number still unread."""
    query = (select(Notification, Cohort.name)
             .outerjoin(Cohort, Cohort.id == Notification.cohort_id)
             .where(Notification.user_id == actor.user_id)
             .order_by(Notification.created_at.desc(), Notification.id.desc())
             .limit(limit))
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    items = tuple(NotificationView(n.id, n.cohort_id, name or "", n.kind, n.subject, n.body or "", n.created_at,
                                   n.read_at) for n, name in session.execute(query))
    return NotificationList(items=items, unread=unread_count(session, actor=actor))


def mark_read(session: Session, *, actor: Actor, notification_ids: Iterable[int]) -> int:
    """Mark some of the actor's own messages read; returns how many changed. Someone else's message is refused."""
    ids = list(dict.fromkeys(notification_ids))
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise Invalid("Unknown notification.")
    if not ids:
        return 0
    foreign = session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.id.in_(ids), Notification.user_id != actor.user_id))
    if foreign:
        raise NotAllowed("You can only mark your own notifications as read.")
    result = session.execute(
        update(Notification)
        .where(Notification.id.in_(ids), Notification.user_id == actor.user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return result.rowcount or 0


def mark_all_read(session: Session, *, actor: Actor) -> int:
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == actor.user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return result.rowcount or 0
