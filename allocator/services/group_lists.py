"""A group's shared ranking: one list, each row attributed, copied to every member's own list.

The engine reads each student's list (`Preference`), and a group's members must list the same projects,
so writing the group's list writes every member's list too, in the same transaction. `preferences` and
`groups` both call these building blocks after their own role checks; nothing here checks a role.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from allocator.domain import InvitationStatus
from allocator.models import GroupChange, GroupChoice, GroupInvitation, GroupMember, Membership, Preference, Project, StudentGroup, utcnow

__all__ = ["group_id_of", "member_ids", "write_group_ranking", "copy_group_list", "note_change", "largest_group"]


def group_id_of(session: Session, cohort_id: int, user_id: int) -> int | None:
    """The group the student is in, in this cohort (None: not in one)."""
    return session.scalar(select(GroupMember.group_id).where(GroupMember.cohort_id == cohort_id,
                                                             GroupMember.user_id == user_id))


def member_ids(session: Session, group_id: int) -> list[int]:
    return list(session.scalars(select(GroupMember.user_id).where(GroupMember.group_id == group_id)
                                .order_by(GroupMember.joined_at, GroupMember.id)))


def note_change(session: Session, *, group_id: int, user_id: int | None, description: str) -> None:
    session.add(GroupChange(group_id=group_id, user_id=user_id, description=description, created_at=utcnow()))


def _describe(titles: dict[int, str], old: list[int], new: list[int]) -> str:
    added = [titles[p] for p in new if p not in old]
    removed = [titles.get(p, "a project") for p in old if p not in new]
    parts = []
    if added:
        parts.append("added " + ", ".join(f"“{t}”" for t in added))
    if removed:
        parts.append("removed " + ", ".join(f"“{t}”" for t in removed))
    kept_old = [p for p in old if p in new]
    kept_new = [p for p in new if p in old]
    if kept_old != kept_new:
        parts.append("reordered the list")
    return "; ".join(parts) or "saved the list unchanged"


def _mirror(session: Session, *, cohort_id: int, members: list[int], project_ids: Sequence[int]) -> None:
    session.execute(delete(Preference).where(Preference.cohort_id == cohort_id, Preference.student_id.in_(members)))
    rows = [dict(cohort_id=cohort_id, student_id=uid, project_id=pid, rank=rank)
            for uid in members for rank, pid in enumerate(project_ids, start=1)]
    if rows:
        session.execute(insert(Preference), rows)
    session.execute(update(Membership).where(Membership.cohort_id == cohort_id, Membership.user_id.in_(members))
                    .values(preferences_saved_at=utcnow()))


def write_group_ranking(session: Session, *, group_id: int, cohort_id: int, actor_id: int,
                        project_ids: Sequence[int]) -> str:
    """Replace the group's list (already checked by the caller) and every member's own list with it.
    A row that keeps its project at its rank keeps its attribution; every other row is the actor's.
    Returns the change in words, also written to the group's history. The group's row is locked first,
    so two members saving at once queue up and the stored list is one of theirs, whole."""
    session.scalar(select(StudentGroup.id).where(StudentGroup.id == group_id).with_for_update())
    old = {c.rank: c for c in session.scalars(select(GroupChoice).where(GroupChoice.group_id == group_id))}
    old_order = [old[r].project_id for r in sorted(old)]
    kept = {(c.rank, c.project_id): (c.changed_by_id, c.changed_at) for c in old.values()}
    now = utcnow()
    session.execute(delete(GroupChoice).where(GroupChoice.group_id == group_id))
    session.flush()
    rows = []
    for rank, pid in enumerate(project_ids, start=1):
        by, at = kept.get((rank, pid), (actor_id, now))
        rows.append(dict(group_id=group_id, cohort_id=cohort_id, project_id=pid, rank=rank, changed_by_id=by,
                         changed_at=at))
    if rows:
        session.execute(insert(GroupChoice), rows)
    _mirror(session, cohort_id=cohort_id, members=member_ids(session, group_id), project_ids=list(project_ids))
    ids = set(old_order) | set(project_ids)
    titles = dict(session.execute(select(Project.id, Project.title).where(Project.id.in_(ids))).all()) if ids else {}
    description = _describe(titles, old_order, list(project_ids))
    note_change(session, group_id=group_id, user_id=actor_id, description=description)
    session.flush()
    return description


def copy_group_list(session: Session, *, group_id: int, cohort_id: int, user_id: int) -> None:
    """A new member's own list becomes the group's (their earlier list is replaced)."""
    ids = list(session.scalars(select(GroupChoice.project_id).where(GroupChoice.group_id == group_id)
                               .order_by(GroupChoice.rank)))
    _mirror(session, cohort_id=cohort_id, members=[user_id], project_ids=ids)


def largest_group(session: Session, cohort_id: int) -> int:
    """The most people any group of the cohort has or may have: members plus pending invitations (what
    the largest-group rule counts when inviting, and what a backup of the cohort is checked against)."""
    groups = select(StudentGroup.id).where(StudentGroup.cohort_id == cohort_id).scalar_subquery()
    sizes: dict[int, int] = {}
    for gid, n in session.execute(select(GroupMember.group_id, func.count()).where(GroupMember.group_id.in_(groups))
                                  .group_by(GroupMember.group_id)):
        sizes[gid] = sizes.get(gid, 0) + n
    for gid, n in session.execute(select(GroupInvitation.group_id, func.count())
                                  .where(GroupInvitation.group_id.in_(groups),
                                         GroupInvitation.status == InvitationStatus.PENDING)
                                  .group_by(GroupInvitation.group_id)):
        sizes[gid] = sizes.get(gid, 0) + n
    return max(sizes.values(), default=0)
