"""Places per student and priority tiers (issue 16), and the cohort's group rules.

A student is given up to `places` distinct projects: their own override (`Membership.places`) or the
cohort's `places_per_student`; a group member always has one. A student's tier orders who is served
first (1 first); a tier change keeps its reason in the audit log. The people import's optional
`places` and `tier` columns are read here (`read_places_columns`) and applied by `apply_places_rows`, so
the people import itself stays as it is.
"""
from __future__ import annotations

import csv
import io as _io
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.domain import Role
from allocator.models import Cohort, GroupMember, Membership, User
from allocator.services.access import Actor, require_admin
from allocator.services.audit import record_audit
from allocator.services.cohorts import cohort_of
from allocator.services.errors import Invalid, NotFound
from allocator.services.group_lists import largest_group

__all__ = ["MAX_PLACES", "MAX_TIER", "MAX_GROUP_SIZE", "GroupRules", "effective_places", "set_places", "set_tier",
           "set_group_rules", "group_rules", "PlacesRow", "read_places_columns", "apply_places_rows"]

MAX_PLACES = 10
MAX_TIER = 9
MAX_GROUP_SIZE = 20


def effective_places(cohort: Cohort, membership: Membership) -> int:
    return membership.places if membership.places is not None else cohort.places_per_student


@dataclass(frozen=True)
class GroupRules:
    cohort_id: int
    groups_allowed: bool
    group_min_size: int
    group_max_size: int
    places_per_student: int


def _rules(cohort: Cohort) -> GroupRules:
    return GroupRules(cohort.id, cohort.groups_allowed, cohort.group_min_size, cohort.group_max_size,
                      cohort.places_per_student)


def group_rules(session: Session, *, actor: Actor, cohort_id: int) -> GroupRules:
    require_admin(session, actor)
    return _rules(cohort_of(session, cohort_id))


def _whole(value: object, label: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(f"{label} must be a whole number from {low} to {high}.")
    return value


def set_group_rules(session: Session, *, actor: Actor, cohort_id: int, groups_allowed: bool, group_min_size: int,
                    group_max_size: int, places_per_student: int) -> GroupRules:
    """The cohort's group and places settings (coordinators only), audited."""
    require_admin(session, actor)
    cohort = cohort_of(session, cohort_id)
    low = _whole(group_min_size, "The smallest group", 2, MAX_GROUP_SIZE)
    high = _whole(group_max_size, "The largest group", 2, MAX_GROUP_SIZE)
    if high < low:
        raise Invalid("The largest group cannot be smaller than the smallest.")
    places = _whole(places_per_student, "Places per student", 1, MAX_PLACES)
    largest = largest_group(session, cohort_id)
    if high < largest:
        raise Invalid(f"A group already has {largest} people, counting pending invitations: the largest group "
                      f"cannot be smaller (dissolve that group first).")
    if groups_allowed and places > 1:
        raise Invalid("A group member has one place: allow groups, or several places per student, not both.")
    before = _rules(cohort)
    cohort.groups_allowed, cohort.group_min_size, cohort.group_max_size = bool(groups_allowed), low, high
    cohort.places_per_student = places
    session.flush()
    after = _rules(cohort)
    if after != before:
        record_audit(session, actor=actor, action="cohort.group_rules", cohort_id=cohort_id,
                     groups_allowed=after.groups_allowed, group_min_size=low, group_max_size=high,
                     places_per_student=places)
    return after


def _student_membership(session: Session, cohort_id: int, user_id: int) -> Membership:
    membership = session.scalar(select(Membership).where(Membership.cohort_id == cohort_id,
                                                         Membership.user_id == user_id))
    if membership is None:
        raise NotFound("That person is not in this cohort.")
    if membership.role != Role.STUDENT:
        raise Invalid("Only students have places and tiers.")
    return membership


def _in_group(session: Session, cohort_id: int, user_id: int) -> bool:
    return session.scalar(select(GroupMember.id).where(GroupMember.cohort_id == cohort_id,
                                                       GroupMember.user_id == user_id)) is not None


def set_places(session: Session, *, actor: Actor, cohort_id: int, user_id: int, places: int | None) -> int:
    """A student's own number of places (None: the cohort's); returns the places they now have."""
    require_admin(session, actor)
    cohort = cohort_of(session, cohort_id)
    membership = _student_membership(session, cohort_id, user_id)
    if places is not None:
        _whole(places, "Places", 1, MAX_PLACES)
        if places > 1 and _in_group(session, cohort_id, user_id):
            raise Invalid("A group member has one place; the student must leave their group first.")
    if membership.places != places:
        record_audit(session, actor=actor, action="people.places", cohort_id=cohort_id, user_id=user_id,
                     old=membership.places, new=places)
        membership.places = places
        session.flush()
    return effective_places(cohort, membership)


def set_tier(session: Session, *, actor: Actor, cohort_id: int, user_id: int, tier: int, reason: str) -> int:
    """A student's priority tier (1 is served first), with the reason kept in the audit log."""
    require_admin(session, actor)
    cohort_of(session, cohort_id)
    _whole(tier, "The tier", 1, MAX_TIER)
    reason = " ".join((reason or "").split())
    if not reason:
        raise Invalid("Give a reason for the tier: it is kept in the audit log.")
    if len(reason) > 500:
        raise Invalid("Please keep the reason under 500 characters.")
    membership = _student_membership(session, cohort_id, user_id)
    if membership.tier != tier:
        record_audit(session, actor=actor, action="people.tier", cohort_id=cohort_id, user_id=user_id,
                     old=membership.tier, new=tier, reason=reason)
        membership.tier = tier
        session.flush()
    return tier


# ------------------------------------------------------------------------------------------ the import


@dataclass(frozen=True)
class PlacesRow:
    line: int
    email: str
    places: int | None  # None: the cell is blank (the cohort's number)
    tier: int | None  # None: the cell is blank (unchanged)
    has_places: bool = True  # False: the file has no places column (each student's places unchanged)


def _cell(value: str, label: str, line: int, high: int) -> int | None:
    value = value.strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise Invalid(f"Line {line}: {label} “{value[:40]}” is not a whole number; nothing was imported.") from None
    if number != int(number) or not 1 <= number <= high:
        raise Invalid(f"Line {line}: {label} must be a whole number from 1 to {high}; nothing was imported.")
    return int(number)


def read_places_columns(data: bytes) -> tuple[PlacesRow, ...]:
    """The optional `places` and `tier` columns of a people file (empty when it has neither). The people
    reader (`io.read_people`) judges the file as a whole; this one reads only these two columns."""
    try:
        return _places_columns(data)
    except csv.Error as err:
        raise Invalid(f"The places and tier columns could not be read ({err}); nothing was imported.") from None


def _places_columns(data: bytes) -> tuple[PlacesRow, ...]:
    text = data.replace(b"\0", b"").decode("utf-8-sig", errors="replace")
    reader = csv.reader(_io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in next(reader, [])]
    if "email" not in header or not ({"places", "tier"} & set(header)):
        return ()
    at = {name: header.index(name) for name in ("email", "places", "tier") if name in header}
    rows = []
    for line, record in enumerate(reader, start=2):
        cells = {name: record[i] if i < len(record) else "" for name, i in at.items()}
        email = cells["email"].strip().lower()
        if email:
            rows.append(PlacesRow(line, email, _cell(cells.get("places", ""), "places", line, MAX_PLACES),
                                  _cell(cells.get("tier", ""), "tier", line, MAX_TIER), has_places="places" in at))
    return tuple(rows)


def apply_places_rows(session: Session, *, actor: Actor, cohort_id: int, rows: Sequence[PlacesRow]) -> int:
    """Set the places and tiers a people file gives its students (after the people import ran in the
    same transaction); staff rows are left alone. Returns how many students changed."""
    require_admin(session, actor)
    if not rows:
        return 0
    found = dict(session.execute(
        select(User.email, Membership).join(Membership, Membership.user_id == User.id)
        .where(Membership.cohort_id == cohort_id, User.email.in_([r.email for r in rows]))).all())
    changed = 0
    for row in rows:
        membership = found.get(row.email)
        if membership is None or membership.role != "student":
            continue
        if row.places is not None and row.places > 1 and _in_group(session, cohort_id, membership.user_id):
            raise Invalid(f"Line {row.line}: {row.email} is in a group, and a group member has one place; "
                          "nothing was imported.")
        new_tier = row.tier if row.tier is not None else membership.tier
        new_places = row.places if row.has_places else membership.places
        if (membership.places, membership.tier) != (new_places, new_tier):
            membership.places, membership.tier = new_places, new_tier
            changed += 1
    session.flush()
    if changed:
        record_audit(session, actor=actor, action="people.import_places", cohort_id=cohort_id, changed=changed,
                     reason="people import")
    return changed
