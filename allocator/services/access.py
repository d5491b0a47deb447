"""Who is acting, and what their role lets them touch. Every service calls one of the `require_*` guards."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.models import Cohort, Membership, User
from allocator.services.errors import NotAllowed, NotFound


__all__ = ['SignInChoice', 'sign_in_choices', 'Actor', 'CohortRole', 'Roles', 'resolve_actor', 'roles_of']

@dataclass(frozen=True)
class Actor:
    """The signed-in person, re-derived from a verified identity on every script run."""

    user_id: int
    email: str
    name: str
    is_admin: bool


@dataclass(frozen=True)
class CohortRole:
    cohort_id: int
    cohort_name: str
    role: str


@dataclass(frozen=True)
class Roles:
    is_admin: bool
    cohorts: tuple[CohortRole, ...]

    @property
    def is_staff(self) -> bool:
        return any(c.role == "staff" for c in self.cohorts)

    @property
    def is_student(self) -> bool:
        return any(c.role == "student" for c in self.cohorts)

    @property
    def enrolled(self) -> bool:
        return self.is_admin or bool(self.cohorts)


def resolve_actor(
    session: Session, *, email: str, name: str = "", oid: str | None = None, admin_emails: tuple[str, ...] = ()
) -> Actor | None:
    """Map a verified identity to a user; None when the person is unknown and not a configured admin.

    Configured admins are created on first sign-in so a new deployment can be set up by its coordinator.
    """
    email = email.strip().lower()
    user = session.scalar(select(User).where(User.oid == oid)) if oid else None
    if user is None:
        user = session.scalar(select(User).where(User.email == email))
    configured_admin = email in admin_emails
    if user is None:
        if not configured_admin:
            return None
        user = User(email=email, name=name or email, oid=oid, is_admin=True)
        session.add(user)
        session.flush()
    if not user.active:
        return None
    if oid and user.oid is None:
        user.oid = oid
    if configured_admin and not user.is_admin:
        user.is_admin = True
    return Actor(user_id=user.id, email=user.email, name=user.name, is_admin=user.is_admin)


def roles_of(session: Session, *, actor: Actor) -> Roles:
    rows = session.execute(
        select(Membership.cohort_id, Cohort.name, Membership.role)
        .join(Cohort, Cohort.id == Membership.cohort_id)
        .where(Membership.user_id == actor.user_id, Cohort.archived.is_(False))
        .order_by(Cohort.created_at.desc(), Cohort.id.desc())
    ).all()
    return Roles(is_admin=actor.is_admin, cohorts=tuple(CohortRole(*row) for row in rows))


def require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise NotAllowed("Only a coordinator can do this.")


def require_member(session: Session, actor: Actor, cohort_id: int, role: str | None = None, *,
                   lock: bool = False) -> Membership:
    """The actor's membership of the cohort (in `role` if given); NotAllowed otherwise.

    `lock` holds the membership row until commit, so two saves by one person run one after the other.
    """
    query = select(Membership).where(Membership.cohort_id == cohort_id, Membership.user_id == actor.user_id)
    membership = session.scalar(query.with_for_update() if lock else query)
    if membership is None or (role is not None and membership.role != role):
        who = {"student": "students", "staff": "staff"}.get(role or "", "members")
        raise NotAllowed(f"Only {who} of this cohort can do this.")
    return membership


def require_member_or_admin(session: Session, actor: Actor, cohort_id: int) -> Membership | None:
    if actor.is_admin:
        if session.get(Cohort, cohort_id) is None:
            raise NotFound("That cohort does not exist.")
        return None
    return require_member(session, actor, cohort_id)


@dataclass(frozen=True)
class SignInChoice:
    email: str
    name: str
    role: str  # "admin", "staff" or "student"


def sign_in_choices(session: Session, *, per_role: int = 6) -> list[SignInChoice]:
    """People offered on the local-mode sign-in screen. Only app.py's local mode calls this: with
    Microsoft sign-in configured there is no such screen."""
    admins = session.scalars(select(User).where(User.is_admin.is_(True), User.active.is_(True))
                             .order_by(User.id).limit(per_role)).all()
    choices = [SignInChoice(u.email, u.name, "admin") for u in admins]
    for role in ("staff", "student"):
        rows = session.execute(
            select(User.email, User.name).join(Membership, Membership.user_id == User.id)
            .where(Membership.role == role, User.active.is_(True), User.is_admin.is_(False))
            .group_by(User.id, User.email, User.name).order_by(User.id).limit(per_role)
        ).all()
        choices += [SignInChoice(email, name, role) for email, name in rows]
    return choices
