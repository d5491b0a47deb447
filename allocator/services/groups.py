"""Groups of students who apply together (issue 16): a student creates a group and invites others of
the cohort by email; an invitee accepts or declines; any member edits the group's one list (each change
attributed, shown to every member); a member leaves; the coordinator lists groups and dissolves one.

A group is placed together on one project or not at all. Groups form and change only while the cohort
is not closed, and only in a cohort whose settings allow groups. A group's size counts its members and
its pending invitations, so a group can never grow past the cohort's maximum.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from allocator.domain import InvitationStatus
from allocator.models import (
    Cohort, GroupChange, GroupChoice, GroupInvitation, GroupMember, Membership, Preference, Project, StudentGroup, User, utcnow,
)
from allocator.services.access import Actor, current_user, require_admin, require_member
from allocator.services.audit import record_audit
from allocator.services.cohorts import cohort_of, published_run_id
from allocator.services.errors import Closed, Invalid, NotAllowed, NotFound
from allocator.services.group_lists import copy_group_list, group_id_of, member_ids, note_change
from allocator.services.notifications import notify
from allocator.services.phases import phase_of, preferences_open
from allocator.services.places import effective_places

__all__ = ["GroupPerson", "GroupInvite", "GroupRankedChoice", "GroupNote", "MyGroup", "GroupSummary",
           "my_group", "create_group", "invite_to_group", "answer_invitation", "leave_group", "list_groups",
           "dissolve_group", "GROUP_NAME_MAX"]

GROUP_NAME_MAX = 100
# Groups form and change until choosing closes; afterwards the lists the coordinator allocates are fixed.
GROUP_PHASES = ("setup", "proposals", "preferences")


@dataclass(frozen=True)
class GroupPerson:
    user_id: int
    name: str
    email: str


@dataclass(frozen=True)
class GroupInvite:
    id: int
    group_id: int
    group_name: str
    email: str
    status: str
    invited_by: str
    members: tuple[str, ...]  # names of the group's members, for an invitee deciding


@dataclass(frozen=True)
class GroupRankedChoice:
    rank: int
    project_id: int
    title: str
    changed_by: str
    changed_at: datetime


@dataclass(frozen=True)
class GroupNote:
    at: datetime
    who: str
    text: str  # what happened, in words


@dataclass(frozen=True)
class MyGroup:
    """What a student sees on "My group"."""

    cohort_id: int
    groups_allowed: bool
    min_size: int
    max_size: int
    can_change: bool  # the cohort's phase lets groups form and change
    list_open: bool  # the cohort's phase lets the group's list be edited (on My preferences)
    group_id: int | None
    group_name: str | None
    members: tuple[GroupPerson, ...]
    sent: tuple[GroupInvite, ...]  # this group's invitations
    received: tuple[GroupInvite, ...]  # pending invitations to the student
    ranking: tuple[GroupRankedChoice, ...]
    history: tuple[GroupNote, ...]  # newest first


@dataclass(frozen=True)
class GroupSummary:
    """A group as the coordinator sees it."""

    id: int
    name: str
    created_by: str
    members: tuple[GroupPerson, ...]
    pending: int
    choices: int


def _student(session: Session, actor: Actor, cohort_id: int) -> tuple[Membership, Cohort]:
    membership = require_member(session, actor, cohort_id, "student", lock=True)
    return membership, cohort_of(session, cohort_id)


def _open_for_groups(session: Session, cohort: Cohort) -> None:
    if not cohort.groups_allowed:
        raise NotAllowed("This cohort does not allow groups.")
    if phase_of(cohort, published=published_run_id(session, cohort.id) is not None) not in GROUP_PHASES:
        raise Closed("Choosing has closed, so groups can no longer change.")


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def _members(session: Session, group_id: int) -> tuple[GroupPerson, ...]:
    rows = session.execute(select(User.id, User.name, User.email).join(GroupMember, GroupMember.user_id == User.id)
                           .where(GroupMember.group_id == group_id)
                           .order_by(GroupMember.joined_at, GroupMember.id)).all()
    return tuple(GroupPerson(*row) for row in rows)


def _invites(session: Session, query) -> tuple[GroupInvite, ...]:
    rows = session.execute(query.join(StudentGroup, StudentGroup.id == GroupInvitation.group_id)
                           .order_by(GroupInvitation.created_at, GroupInvitation.id)).all()
    out = []
    for invitation, group_name in rows:
        inviter = session.get(User, invitation.invited_by_id) if invitation.invited_by_id else None
        out.append(GroupInvite(invitation.id, invitation.group_id, group_name, invitation.email, invitation.status,
                               inviter.name if inviter else "(someone)",
                               tuple(p.name for p in _members(session, invitation.group_id))))
    return tuple(out)


def _ranking(session: Session, group_id: int) -> tuple[GroupRankedChoice, ...]:
    rows = session.execute(select(GroupChoice.rank, Project.id, Project.title, GroupChoice.changed_by_id,
                                  GroupChoice.changed_at)
                           .join(Project, Project.id == GroupChoice.project_id)
                           .where(GroupChoice.group_id == group_id).order_by(GroupChoice.rank)).all()
    names = _names(session, {r.changed_by_id for r in rows if r.changed_by_id})
    return tuple(GroupRankedChoice(rank, pid, title, names.get(by, "(someone who left)"), at)
                 for rank, pid, title, by, at in rows)


def _history(session: Session, group_id: int) -> tuple[GroupNote, ...]:
    rows = session.execute(select(GroupChange.created_at, GroupChange.user_id, GroupChange.description)
                           .where(GroupChange.group_id == group_id)
                           .order_by(GroupChange.created_at.desc(), GroupChange.id.desc()).limit(200)).all()
    names = _names(session, {uid for _, uid, _ in rows if uid})
    return tuple(GroupNote(at, names.get(uid, "(someone who left)"), text) for at, uid, text in rows)


def _view(session: Session, cohort: Cohort, email: str, user_id: int) -> MyGroup:
    group_id = group_id_of(session, cohort.id, user_id)
    group = session.get(StudentGroup, group_id) if group_id is not None else None
    received = _invites(session, select(GroupInvitation, StudentGroup.name).where(
        GroupInvitation.email == email, GroupInvitation.status == InvitationStatus.PENDING, StudentGroup.cohort_id == cohort.id))
    phase = phase_of(cohort, published=published_run_id(session, cohort.id) is not None)
    return MyGroup(
        cohort_id=cohort.id, groups_allowed=cohort.groups_allowed, min_size=cohort.group_min_size,
        max_size=cohort.group_max_size, can_change=phase in GROUP_PHASES and cohort.groups_allowed,
        list_open=preferences_open(phase),
        group_id=group_id, group_name=group.name if group else None,
        members=_members(session, group_id) if group_id else (),
        sent=_invites(session, select(GroupInvitation, StudentGroup.name).where(GroupInvitation.group_id == group_id))
        if group_id else (),
        received=received, ranking=_ranking(session, group_id) if group_id else (),
        history=_history(session, group_id) if group_id else ())


def my_group(session: Session, *, actor: Actor, cohort_id: int) -> MyGroup:
    """The student's group (members, invitations, the shared list and its history) and invitations to them."""
    membership = require_member(session, actor, cohort_id, "student")
    return _view(session, cohort_of(session, cohort_id), actor.email, membership.user_id)


def _can_be_grouped(cohort: Cohort, membership: Membership, name: str) -> None:
    if effective_places(cohort, membership) > 1:
        raise Invalid(f"{name} has several places, and a group member has one: ask the coordinator.")


def create_group(session: Session, *, actor: Actor, cohort_id: int, name: str) -> MyGroup:
    """A new group with the actor as its first member; their own list becomes the group's."""
    membership, cohort = _student(session, actor, cohort_id)
    _open_for_groups(session, cohort)
    name = " ".join((name or "").split())
    if not name or len(name) > GROUP_NAME_MAX:
        raise Invalid(f"Give the group a name of 1 to {GROUP_NAME_MAX} characters.")
    if group_id_of(session, cohort_id, actor.user_id) is not None:
        raise Invalid("You are already in a group; leave it first to start another.")
    _can_be_grouped(cohort, membership, "You")
    group = StudentGroup(cohort_id=cohort_id, name=name, created_by_id=actor.user_id, created_at=utcnow())
    session.add(group)
    session.flush()
    session.add(GroupMember(group_id=group.id, cohort_id=cohort_id, user_id=actor.user_id, joined_at=utcnow()))
    _seed_ranking(session, group, actor.user_id)
    note_change(session, group_id=group.id, user_id=actor.user_id, description=f"created the group “{name}”")
    session.flush()
    return _view(session, cohort, actor.email, actor.user_id)


def _seed_ranking(session: Session, group: StudentGroup, user_id: int) -> None:
    now = utcnow()
    for rank, pid in enumerate(session.scalars(
            select(Preference.project_id).where(Preference.cohort_id == group.cohort_id,
                                                Preference.student_id == user_id).order_by(Preference.rank)), 1):
        session.add(GroupChoice(group_id=group.id, cohort_id=group.cohort_id, project_id=pid, rank=rank,
                                changed_by_id=user_id, changed_at=now))


def _size(session: Session, group_id: int) -> int:
    """Members plus pending invitations: the most the group can become."""
    members = session.scalar(select(func.count()).where(GroupMember.group_id == group_id))
    pending = session.scalar(select(func.count()).where(GroupInvitation.group_id == group_id,
                                                        GroupInvitation.status == InvitationStatus.PENDING))
    return int(members) + int(pending)


def invite_to_group(session: Session, *, actor: Actor, cohort_id: int, email: str) -> MyGroup:
    """Invite a student of the same cohort, by email, into the actor's group; the invitee is notified."""
    _, cohort = _student(session, actor, cohort_id)
    _open_for_groups(session, cohort)
    group_id = group_id_of(session, cohort_id, actor.user_id)
    if group_id is None:
        raise NotAllowed("Only a member of a group can invite people to it.")
    email = (email or "").strip().lower()
    invitee = session.execute(select(User.id, User.name, Membership).join(Membership, Membership.user_id == User.id)
                              .where(User.email == email, User.active.is_(True), Membership.cohort_id == cohort_id,
                                     Membership.role == "student")).first()
    if invitee is None:
        raise Invalid(f"“{email[:320]}” is not a student of this cohort; only its students can be invited.")
    uid, name, their_membership = invitee
    if group_id_of(session, cohort_id, uid) is not None:
        raise Invalid(f"{name} is already in a group.")
    _can_be_grouped(cohort, their_membership, name)
    invitation = session.scalar(select(GroupInvitation).where(GroupInvitation.group_id == group_id,
                                                              GroupInvitation.email == email))
    if invitation is not None and invitation.status == InvitationStatus.PENDING:
        raise Invalid(f"{name} is already invited.")
    if _size(session, group_id) >= cohort.group_max_size:
        raise Invalid(f"A group has at most {cohort.group_max_size} people, counting pending invitations.")
    if invitation is None:
        session.add(GroupInvitation(group_id=group_id, email=email, invited_by_id=actor.user_id, created_at=utcnow()))
    else:  # declined before: asking again
        invitation.status, invitation.invited_by_id, invitation.answered_at = InvitationStatus.PENDING.value, actor.user_id, None
    group = session.get(StudentGroup, group_id)
    note_change(session, group_id=group_id, user_id=actor.user_id, description=f"invited {name}")
    notify(session, user_ids=[uid], cohort_id=cohort_id, kind="group.invitation",
           subject=f"{actor.name} invited you to the group “{group.name}”",
           body=f"{actor.name} invited you to join “{group.name}” for {cohort.name}. Accept or decline on the "
                "“My group” page. Joining replaces your own list with the group's.")
    session.flush()
    return _view(session, cohort, actor.email, actor.user_id)


def answer_invitation(session: Session, *, actor: Actor, invitation_id: int, accept: bool) -> MyGroup:
    """Accept (join the group; the student's list becomes the group's) or decline an invitation."""
    user = current_user(session, actor)
    invitation = session.get(GroupInvitation, invitation_id)
    if invitation is None or invitation.email != user.email:
        raise NotFound("That invitation is not yours, or no longer exists.")
    group = session.get(StudentGroup, invitation.group_id)
    membership, cohort = _student(session, actor, group.cohort_id)
    _open_for_groups(session, cohort)
    if invitation.status != InvitationStatus.PENDING:
        raise Invalid(f"You have already {invitation.status} this invitation.")
    if accept:
        if group_id_of(session, cohort.id, actor.user_id) is not None:
            raise Invalid("You are already in a group; leave it first to join another.")
        _can_be_grouped(cohort, membership, "You")
        members = session.scalar(select(func.count()).where(GroupMember.group_id == group.id))
        if members >= cohort.group_max_size:
            raise Invalid(f"“{group.name}” is full: a group has at most {cohort.group_max_size} people.")
    invitation.status, invitation.answered_at = (InvitationStatus.ACCEPTED.value if accept else InvitationStatus.DECLINED.value), utcnow()
    if accept:
        session.add(GroupMember(group_id=group.id, cohort_id=cohort.id, user_id=actor.user_id, joined_at=utcnow()))
        session.flush()
        copy_group_list(session, group_id=group.id, cohort_id=cohort.id, user_id=actor.user_id)
    note_change(session, group_id=group.id, user_id=actor.user_id,
                description="joined the group" if accept else "declined the invitation")
    others = [uid for uid in member_ids(session, group.id) if uid != actor.user_id]
    notify(session, user_ids=others, cohort_id=cohort.id, kind="group.answer",
           subject=f"{user.name} {'joined' if accept else 'declined to join'} “{group.name}”")
    session.flush()
    return _view(session, cohort, user.email, actor.user_id)


def leave_group(session: Session, *, actor: Actor, cohort_id: int) -> MyGroup:
    """Leave the group; the student keeps a copy of its list as their own. A group left empty is deleted."""
    _, cohort = _student(session, actor, cohort_id)
    _open_for_groups(session, cohort)
    group_id = group_id_of(session, cohort_id, actor.user_id)
    if group_id is None:
        raise Invalid("You are not in a group.")
    session.execute(delete(GroupMember).where(GroupMember.group_id == group_id, GroupMember.user_id == actor.user_id))
    remaining = member_ids(session, group_id)
    if remaining:
        note_change(session, group_id=group_id, user_id=actor.user_id, description="left the group")
        notify(session, user_ids=remaining, cohort_id=cohort_id, kind="group.left",
               subject=f"{actor.name} left your group")
    else:
        session.execute(delete(StudentGroup).where(StudentGroup.id == group_id))
    session.flush()
    return _view(session, cohort, actor.email, actor.user_id)


def _natural(name: str) -> list:
    """A name's sort key with its numbers as numbers: "Team 2" before "Team 10", case ignored. The parts
    alternate text and number, so two keys never compare a number with text."""
    parts = re.split(r"(\d+)", name.casefold())
    return [int(p) if i % 2 else p for i, p in enumerate(parts)]


def list_groups(session: Session, *, actor: Actor, cohort_id: int) -> list[GroupSummary]:
    """Every group of the cohort, by name with numbers in order (coordinators only), in four queries
    whatever their number."""
    require_admin(session, actor)
    cohort_of(session, cohort_id)
    groups = sorted(session.scalars(select(StudentGroup).where(StudentGroup.cohort_id == cohort_id)).all(),
                    key=lambda g: (_natural(g.name), g.id))
    names = _names(session, {g.created_by_id for g in groups if g.created_by_id})
    members: dict[int, list[GroupPerson]] = {}
    for gid, *person in session.execute(
            select(GroupMember.group_id, User.id, User.name, User.email).join(User, User.id == GroupMember.user_id)
            .where(GroupMember.cohort_id == cohort_id).order_by(GroupMember.joined_at, GroupMember.id)):
        members.setdefault(gid, []).append(GroupPerson(*person))
    in_cohort = select(StudentGroup.id).where(StudentGroup.cohort_id == cohort_id)
    pending = dict(session.execute(
        select(GroupInvitation.group_id, func.count()).where(GroupInvitation.group_id.in_(in_cohort),
                                                             GroupInvitation.status == InvitationStatus.PENDING)
        .group_by(GroupInvitation.group_id)).all())
    choices = dict(session.execute(select(GroupChoice.group_id, func.count()).where(GroupChoice.group_id.in_(in_cohort))
                                   .group_by(GroupChoice.group_id)).all())
    return [GroupSummary(g.id, g.name, names.get(g.created_by_id, "(someone who left)"), tuple(members.get(g.id, ())),
                         int(pending.get(g.id, 0)), int(choices.get(g.id, 0))) for g in groups]


def dissolve_group(session: Session, *, actor: Actor, group_id: int, reason: str = "") -> str:
    """Dissolve a group (coordinators only): its members stay in the cohort, each keeping the group's list
    as their own, and are told why; the audit log keeps who, which group, its members and the reason."""
    require_admin(session, actor)
    group = session.get(StudentGroup, group_id)
    if group is None:
        raise NotFound("That group does not exist (it may have been dissolved already).")
    reason = " ".join((reason or "").split())[:500]
    members = _members(session, group_id)
    record_audit(session, actor=actor, action="groups.dissolve", cohort_id=group.cohort_id, group=group.name,
                 user_id=[m.user_id for m in members], reason=reason)
    notify(session, user_ids=[m.user_id for m in members], cohort_id=group.cohort_id, kind="group.dissolved",
           subject=f"Your group “{group.name}” was dissolved",
           body="The coordinator dissolved your group" + (f": {reason}" if reason else ".")
                + " Your list of projects is still yours; check it on “My preferences”.")
    name = group.name
    session.execute(delete(StudentGroup).where(StudentGroup.id == group_id))
    session.flush()
    return f"“{name}” was dissolved and its {len(members)} member(s) told."
