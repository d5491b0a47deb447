"""Who is acting, and what their role lets them touch. Every service calls one of the `require_*` guards."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.domain import Role
from allocator.models import AuditEvent, Cohort, Membership, User
from allocator.services.errors import NotAllowed, NotFound

log = logging.getLogger(__name__)

MSG_ACCOUNT_INACTIVE = "Your account is no longer active here; reload the page to sign in again."
MSG_ADMIN_ONLY = "Only a coordinator can do this."
# Written to the audit log when a verified Microsoft identity names an account bound to another one.
AUDIT_SIGN_IN_REFUSED = "sign_in.refused"


__all__ = ['SignInChoice', 'sign_in_choices', 'Actor', 'CohortRole', 'Roles', 'resolve_actor', 'roles_of',
           'AUDIT_SIGN_IN_REFUSED', 'MSG_ACCOUNT_INACTIVE']

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
        return any(c.role == Role.STAFF for c in self.cohorts)

    @property
    def is_student(self) -> bool:
        return any(c.role == Role.STUDENT for c in self.cohorts)

    @property
    def enrolled(self) -> bool:
        return self.is_admin or bool(self.cohorts)


def resolve_actor(
    session: Session, *, email: str, name: str = "", oid: str | None = None, admin_emails: tuple[str, ...] = (),
    tid: str | None = None,
) -> Actor | None:
    """Map a verified identity to a user; None when the person is unknown, inactive or not who the account
    is bound to, and not a configured admin.

    An account is bound to the first Microsoft object id (`oid`) and tenant (`tid`) that sign in to it: a
    token that names the same email with another oid or tid is refused and the refusal audited, so a
    look-alike or re-used address in another directory never inherits someone's role.
    Configured admins are created on first sign-in so a new deployment can be set up by its coordinator.
    """
    email = email.strip()
    if not email.isascii():
        # str.lower() folds look-alikes (KELVIN SIGN \u212a becomes "k"), so one is never compared at all.
        log.warning("Sign-in refused: the email address is not plain ASCII")
        return None
    email = email.lower()
    user = session.scalar(select(User).where(User.oid == oid)) if oid else None
    if user is None:
        user = session.scalar(select(User).where(User.email == email))
    configured_admin = email in admin_emails
    if user is None:
        if not configured_admin:
            return None
        user = User(email=email, name=name or email, oid=oid, tid=tid, is_admin=True)
        session.add(user)
        session.flush()
    if not user.active:
        return None
    if _bound_elsewhere(user, oid=oid, tid=tid):
        _audit_refused_sign_in(session, user, email=email, oid=oid, tid=tid)
        return None
    if oid and user.oid is None:
        user.oid = oid
    if tid and user.tid is None:
        user.tid = tid
    if configured_admin and not user.is_admin:
        user.is_admin = True
    return Actor(user_id=user.id, email=user.email, name=user.name, is_admin=user.is_admin)


def _bound_elsewhere(user: User, *, oid: str | None, tid: str | None) -> bool:
    return bool((oid and user.oid is not None and user.oid != oid)
                or (tid and user.tid is not None and user.tid != tid))


def _audit_refused_sign_in(session: Session, user: User, *, email: str, oid: str | None, tid: str | None) -> None:
    log.warning("Sign-in refused: account %s is bound to another Microsoft identity (token oid=%s tid=%s)",
                user.id, oid, tid)
    session.add(AuditEvent(actor_id=user.id, actor_email=user.email, cohort_id=None, action=AUDIT_SIGN_IN_REFUSED,
                           detail={"reason": "identity mismatch", "email": email, "oid": oid, "tid": tid,
                                   "bound_oid": user.oid, "bound_tid": user.tid}))


def roles_of(session: Session, *, actor: Actor) -> Roles:
    rows = session.execute(
        select(Membership.cohort_id, Cohort.name, Membership.role)
        .join(Cohort, Cohort.id == Membership.cohort_id)
        .where(Membership.user_id == actor.user_id, Cohort.archived.is_(False))
        .order_by(Cohort.created_at.desc(), Cohort.id.desc())
    ).all()
    return Roles(is_admin=actor.is_admin, cohorts=tuple(CohortRole(*row) for row in rows))


def current_user(session: Session, actor: Actor) -> User:
    """The actor's account as the database holds it now, in the caller's transaction.

    An `Actor` is a snapshot taken when the identity was verified; a right removed since (admin revoked,
    account deactivated) must stop the next action, so every guard re-reads the row instead of trusting the
    snapshot's flags.
    """
    user = session.get(User, actor.user_id, populate_existing=True)
    if user is None or not user.active or user.email != actor.email:
        raise NotAllowed(MSG_ACCOUNT_INACTIVE)
    return user


def require_admin(session: Session, actor: Actor) -> User:
    """The actor's account, if it is active and a coordinator's right now (re-read in this transaction,
    never taken from the flags the page passed in); NotAllowed otherwise."""
    user = current_user(session, actor)
    if not user.is_admin:
        raise NotAllowed(MSG_ADMIN_ONLY)
    return user


def require_member(session: Session, actor: Actor, cohort_id: int, role: str | None = None, *,
                   lock: bool = False) -> Membership:
    """The actor's membership of the cohort (in `role` if given); NotAllowed otherwise.

    `lock` holds the membership row until commit, so two saves by one person run one after the other.
    """
    current_user(session, actor)
    query = select(Membership).where(Membership.cohort_id == cohort_id, Membership.user_id == actor.user_id)
    membership = session.scalar(query.with_for_update() if lock else query)
    if membership is None or (role is not None and membership.role != role):
        who = {Role.STUDENT: "students", Role.STAFF: "staff"}.get(role or "", "members")
        raise NotAllowed(f"Only {who} of this cohort can do this.")
    return membership


def require_member_or_admin(session: Session, actor: Actor, cohort_id: int) -> Membership | None:
    if current_user(session, actor).is_admin:
        if session.get(Cohort, cohort_id) is None:
            raise NotFound("That cohort does not exist.")
        return None
    return require_member(session, actor, cohort_id)


@dataclass(frozen=True)
class SignInChoice:
    email: str
    name: str
    role: str  # a Role: admin, staff or student


def sign_in_choices(session: Session, *, per_role: int = 6) -> list[SignInChoice]:
    """People offered on the local-mode sign-in screen. Only app.py's local mode calls this: with
    Microsoft sign-in configured there is no such screen."""
    admins = session.scalars(select(User).where(User.is_admin.is_(True), User.active.is_(True))
                             .order_by(User.id).limit(per_role)).all()
    choices = [SignInChoice(u.email, u.name, Role.ADMIN) for u in admins]
    for role in (Role.STAFF, Role.STUDENT):
        rows = session.execute(
            select(User.email, User.name).join(Membership, Membership.user_id == User.id)
            .where(Membership.role == role, User.active.is_(True), User.is_admin.is_(False))
            .group_by(User.id, User.email, User.name).order_by(User.id).limit(per_role)
        ).all()
        choices += [SignInChoice(email, name, role) for email, name in rows]
    return choices
