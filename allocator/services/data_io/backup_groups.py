"""Issue 16 in the cohort backup: the cohort's group rules and places, each student's places and tier,
and the groups themselves (members, shared ranked list with its attribution, invitations, history).

In the file: four more `cohort.settings` (`groups_allowed`, `group_min_size`, `group_max_size`,
`places_per_student`), `places` (null: the cohort's) and `tier` on each person, and `groups`, in creation
order, each `{name, created_by, created_at, members: [{email, joined_at}], ranking: [[project,
changed_by, changed_at]], invitations: [{email, status, invited_by, created_at, answered_at}],
history: [[at, by, description]]}`; people by email, projects by backup key. A file without these keys
(written before issue 16) restores with the defaults the database gives: no groups, one place, tier 1.
Groups are written in the order they were created, so a restored cohort builds the same problem.
"""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.models import GroupChange, GroupChoice, GroupInvitation, GroupMember, StudentGroup
from allocator.services.data_io.common import iso

GROUP_SETTINGS = ("groups_allowed", "group_min_size", "group_max_size", "places_per_student")
# The database's own defaults, for a file written before issue 16.
GROUP_SETTING_DEFAULTS = {"groups_allowed": False, "group_min_size": 2, "group_max_size": 4, "places_per_student": 1}


# ------------------------------------------------------------------------------------------- backup


def group_people(session: Session, cohort_id: int) -> set[int]:
    """Everyone the cohort's groups mention (creators, members, who ranked, who invited, history)."""
    groups = select(StudentGroup.id).where(StudentGroup.cohort_id == cohort_id)
    ids: set[int] = set(session.scalars(select(StudentGroup.created_by_id).where(StudentGroup.cohort_id == cohort_id)))
    ids |= set(session.scalars(select(GroupMember.user_id).where(GroupMember.cohort_id == cohort_id)))
    ids |= set(session.scalars(select(GroupChoice.changed_by_id).where(GroupChoice.cohort_id == cohort_id)))
    ids |= set(session.scalars(select(GroupChange.user_id).where(GroupChange.group_id.in_(groups))))
    ids |= set(session.scalars(select(GroupInvitation.invited_by_id).where(GroupInvitation.group_id.in_(groups))))
    return ids - {None}


def backup_groups(session: Session, cohort_id: int, email_of: dict[int, str],
                  project_key: dict[int, str]) -> list[dict]:
    """The cohort's groups in the file's form (see the module docstring)."""
    groups = session.scalars(select(StudentGroup).where(StudentGroup.cohort_id == cohort_id)
                             .order_by(StudentGroup.id)).all()
    ids = [g.id for g in groups]
    members, ranking, invitations, history = (defaultdict(list) for _ in range(4))
    for m in session.scalars(select(GroupMember).where(GroupMember.group_id.in_(ids))
                             .order_by(GroupMember.joined_at, GroupMember.id)):
        members[m.group_id].append(dict(email=email_of[m.user_id], joined_at=iso(m.joined_at)))
    for ch in session.scalars(select(GroupChoice).where(GroupChoice.group_id.in_(ids)).order_by(GroupChoice.rank)):
        ranking[ch.group_id].append([project_key[ch.project_id], email_of.get(ch.changed_by_id),
                                     iso(ch.changed_at)])
    for inv in session.scalars(select(GroupInvitation).where(GroupInvitation.group_id.in_(ids))
                               .order_by(GroupInvitation.created_at, GroupInvitation.id)):
        invitations[inv.group_id].append(dict(email=inv.email, status=inv.status,
                                              invited_by=email_of.get(inv.invited_by_id),
                                              created_at=iso(inv.created_at), answered_at=iso(inv.answered_at) or None))
    for note in session.scalars(select(GroupChange).where(GroupChange.group_id.in_(ids))
                                .order_by(GroupChange.created_at, GroupChange.id)):
        history[note.group_id].append([iso(note.created_at), email_of.get(note.user_id), note.description])
    return [dict(name=g.name, created_by=email_of.get(g.created_by_id), created_at=iso(g.created_at),
                 members=members[g.id], ranking=ranking[g.id], invitations=invitations[g.id], history=history[g.id])
            for g in groups]
