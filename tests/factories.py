"""Small builders for test data. Each takes a session and keyword overrides, flushes, and returns the row."""
from __future__ import annotations

import itertools
from datetime import timedelta

from sqlalchemy.orm import Session

from allocator.models import Cohort, Membership, Preference, Project, User, utcnow
from allocator.services.access import Actor

_n = itertools.count(1)


def user(session: Session, **kw) -> User:
    n = next(_n)
    row = User(email=kw.pop("email", f"person{n}@uni.example"), name=kw.pop("name", f"Person {n}"), **kw)
    session.add(row)
    session.flush()
    return row


def admin(session: Session, **kw) -> User:
    return user(session, is_admin=True, **kw)


def cohort(session: Session, *, phase: str | None = None, **kw) -> Cohort:
    """A cohort; `phase` sets dates so the cohort is in that phase now ('proposals', 'preferences', 'closed')."""
    now = utcnow()
    day = timedelta(days=1)
    dates = {
        None: {},
        "setup": dict(proposals_open_at=now + day, proposals_close_at=now + 2 * day,
                      preferences_open_at=now + 3 * day, preferences_close_at=now + 4 * day),
        "proposals": dict(proposals_open_at=now - day, proposals_close_at=now + day,
                          preferences_open_at=now + 2 * day, preferences_close_at=now + 3 * day),
        "preferences": dict(proposals_open_at=now - 3 * day, proposals_close_at=now - 2 * day,
                            preferences_open_at=now - day, preferences_close_at=now + day),
        "closed": dict(proposals_open_at=now - 4 * day, proposals_close_at=now - 3 * day,
                       preferences_open_at=now - 2 * day, preferences_close_at=now - day),
    }[phase]
    n = next(_n)
    row = Cohort(name=kw.pop("name", f"Cohort {n}"), **{**dates, **kw})
    session.add(row)
    session.flush()
    return row


def member(session: Session, cohort: Cohort, role: str = "student", person: User | None = None, **kw) -> User:
    person = person or user(session)
    session.add(Membership(cohort_id=cohort.id, user_id=person.id, role=role, **kw))
    session.flush()
    return person


def student(session: Session, cohort: Cohort, **kw) -> User:
    return member(session, cohort, "student", **kw)


def staff(session: Session, cohort: Cohort, **kw) -> User:
    return member(session, cohort, "staff", **kw)


def project(session: Session, cohort: Cohort, supervisor: User | None = None, **kw) -> Project:
    n = next(_n)
    row = Project(cohort_id=cohort.id, supervisor_id=supervisor.id if supervisor else None,
                  title=kw.pop("title", f"Project {n}"), description=kw.pop("description", f"About project {n}."),
                  capacity=kw.pop("capacity", 2), status=kw.pop("status", "approved"), **kw)
    session.add(row)
    session.flush()
    return row


def preferences(session: Session, cohort: Cohort, person: User, projects: list[Project]) -> None:
    for rank, p in enumerate(projects, start=1):
        session.add(Preference(cohort_id=cohort.id, student_id=person.id, project_id=p.id, rank=rank))
    session.flush()


def actor(person: User) -> Actor:
    return Actor(user_id=person.id, email=person.email, name=person.name, is_admin=person.is_admin)
