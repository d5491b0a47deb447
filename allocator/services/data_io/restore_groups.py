"""Restoring issue 16's part of a backup (format in `backup_groups`): the group rules and places, each
student's places and tier, and the groups, checked with the limits the settings and group forms apply,
then written into the new cohort."""
from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from allocator import domain
from allocator.domain import InvitationStatus
from allocator.models import GroupChange, GroupChoice, GroupInvitation, GroupMember, StudentGroup
from allocator.services.data_io.backup_check import MAX_ENTRIES, Check
from allocator.services.data_io.backup_groups import GROUP_SETTING_DEFAULTS, GROUP_SETTINGS
from allocator.services.groups import GROUP_NAME_MAX
from allocator.services.places import MAX_GROUP_SIZE, MAX_PLACES, MAX_TIER

GROUP_KEYS = {"name", "created_by", "created_at", "members", "ranking", "invitations", "history"}
MEMBER_KEYS = {"email", "joined_at"}
INVITATION_KEYS = {"email", "status", "invited_by", "created_at", "answered_at"}
# A history line is written by the app from titles and names; none comes near this.
HISTORY_TEXT_MAX = 20_000

def check_group_settings(c: Check, settings: dict) -> dict[str, Any]:
    """The cohort's group rules and places, with the database's defaults for an older file; the same
    limits as the settings form (`places.set_group_rules`)."""
    given = {**GROUP_SETTING_DEFAULTS, **{k: settings[k] for k in GROUP_SETTINGS if k in settings}}
    path = "cohort.settings"
    low = c.whole(given, "group_min_size", path, minimum=2, maximum=MAX_GROUP_SIZE)
    values = dict(groups_allowed=c.flag(given, "groups_allowed", path), group_min_size=low,
                  group_max_size=c.whole(given, "group_max_size", path, minimum=low, maximum=MAX_GROUP_SIZE),
                  places_per_student=c.whole(given, "places_per_student", path, minimum=1, maximum=MAX_PLACES))
    if values["groups_allowed"] and values["places_per_student"] > 1:
        c.fail(f"{path}.places_per_student", "is above 1 in a cohort that allows groups (a group member has one place)")
    return values


def check_places_tiers(c: Check, doc: dict, people: dict[str, dict]) -> None:
    """Each person's `places` and `tier` (the list already read by `check_people`), added to `people`.
    Any role may carry them: a student made staff keeps theirs, and the file must restore as it was."""
    for i, p in enumerate(doc.get("people", [])):
        path = f"people[{i}]"
        entry = people[p["email"]]
        entry["places"] = c.whole(p, "places", path, optional=True, minimum=1, maximum=MAX_PLACES)
        entry["tier"] = c.whole({"tier": 1, **p}, "tier", path, minimum=1, maximum=MAX_TIER)


def _check_members(c: Check, g: dict, path: str, people: dict, grouped: set[str]) -> list[tuple]:
    members = []
    for j, m in enumerate(c.arr(g.get("members"), f"{path}.members", max_len=MAX_GROUP_SIZE)):
        mpath = f"{path}.members[{j}]"
        c.obj(m, mpath, MEMBER_KEYS)
        email = m.get("email")
        # Any member of the cohort: a member with an empty list may have been made staff since.
        if not isinstance(email, str) or email not in people:
            c.fail(f"{mpath}.email", "names a member of the cohort the file does not list")
        if email in grouped:
            c.fail(f"{mpath}.email", "is in two groups (a student is in one group at most)")
        grouped.add(email)
        if people[email]["places"] is not None and people[email]["places"] > 1:
            c.fail(f"{mpath}.email", "has several places, and a group member has one")
        members.append((email, c.when(m.get("joined_at"), f"{mpath}.joined_at")))
    if not members:
        c.fail(f"{path}.members", "is empty (a group has at least one member)")
    return members


def _check_ranking(c: Check, g: dict, path: str, person, project_keys: set[str]) -> list[tuple]:
    ranking, seen = [], set()
    for j, row in enumerate(c.arr(g.get("ranking", []), f"{path}.ranking", max_len=domain.CHOICES_MAX)):
        rpath = f"{path}.ranking[{j}]"
        if not isinstance(row, list) or len(row) != 3:
            c.fail(rpath, "should be [project, changed_by, changed_at]")
        if not isinstance(row[0], str) or row[0] not in project_keys:
            c.fail(rpath, "names a project the file does not list")
        seen.add(c.new(row[0], seen, rpath))
        ranking.append((row[0], person(row[1], f"{rpath}.changed_by"), c.when(row[2], f"{rpath}.changed_at")))
    return ranking


def _check_invitations(c: Check, g: dict, path: str, person) -> list[dict]:
    invitations, seen = [], set()
    for j, inv in enumerate(c.arr(g.get("invitations", []), f"{path}.invitations", max_len=MAX_ENTRIES)):
        ipath = f"{path}.invitations[{j}]"
        c.obj(inv, ipath, INVITATION_KEYS)
        email = c.new(c.email(inv.get("email"), f"{ipath}.email"), seen, f"{ipath}.email")
        seen.add(email)
        invitations.append(dict(
            email=email, status=c.one_of(inv.get("status"), InvitationStatus.values(), f"{ipath}.status"),
            invited_by=person(inv.get("invited_by"), f"{ipath}.invited_by"),
            created_at=c.when(inv.get("created_at"), f"{ipath}.created_at"),
            answered_at=c.when(inv.get("answered_at"), f"{ipath}.answered_at")))
    return invitations


def _check_history(c: Check, g: dict, path: str, person) -> list[tuple]:
    history = []
    for j, row in enumerate(c.arr(g.get("history", []), f"{path}.history", max_len=MAX_ENTRIES)):
        hpath = f"{path}.history[{j}]"
        if not isinstance(row, list) or len(row) != 3 or not isinstance(row[2], str) \
                or len(row[2]) > HISTORY_TEXT_MAX:
            c.fail(hpath, f"should be [at, by, description of at most {HISTORY_TEXT_MAX:,} characters]")
        history.append((c.when(row[0], f"{hpath}[0]", optional=False), person(row[1], f"{hpath}[1]"), row[2]))
    return history


def check_groups(c: Check, doc: dict, people: dict[str, dict], settings: dict, person,
                 project_keys: set[str]) -> list[dict]:
    """The groups: members are people of the cohort in the file, each in one group; a group with its pending
    invitations is no bigger than the cohort's maximum; its list names the file's projects once each."""
    groups: list[dict] = []
    grouped: set[str] = set()
    for i, g in enumerate(c.arr(doc.get("groups", []), "groups", max_len=MAX_ENTRIES)):
        path = f"groups[{i}]"
        c.obj(g, path, GROUP_KEYS)
        name = c.text(g, "name", path, max_len=GROUP_NAME_MAX)
        if not name.strip():
            c.fail(f"{path}.name", "is empty")
        members = _check_members(c, g, path, people, grouped)
        invitations = _check_invitations(c, g, path, person)
        pending = sum(inv["status"] == InvitationStatus.PENDING for inv in invitations)
        if len(members) + pending > settings["group_max_size"]:
            c.fail(f"{path}.members", f"with the pending invitations are more than the cohort's largest group "
                                      f"({settings['group_max_size']})")
        groups.append(dict(name=name, created_by=person(g.get("created_by"), f"{path}.created_by"),
                           created_at=c.when(g.get("created_at"), f"{path}.created_at"), members=members,
                           ranking=_check_ranking(c, g, path, person, project_keys), invitations=invitations,
                           history=_check_history(c, g, path, person)))
    return groups


# -------------------------------------------------------------------------------------------- write


def write_groups(session: Session, cohort_id: int, groups: list[dict], ids: dict[str, int],
                 project_ids: dict[str, int], now) -> None:
    """The checked groups into the new cohort, in the file's order (so ids keep the original order)."""
    if not groups:
        return
    rows = [dict(cohort_id=cohort_id, name=g["name"], created_by_id=ids.get(g["created_by"]),
                 created_at=g["created_at"] or now) for g in groups]
    group_ids = session.execute(insert(StudentGroup).returning(StudentGroup.id, sort_by_parameter_order=True),
                                rows).scalars().all()
    members, choices, invitations, notes = [], [], [], []
    for gid, g in zip(group_ids, groups):
        members += [dict(group_id=gid, cohort_id=cohort_id, user_id=ids[email], joined_at=at or now)
                    for email, at in g["members"]]
        choices += [dict(group_id=gid, cohort_id=cohort_id, project_id=project_ids[key], rank=rank,
                         changed_by_id=ids.get(by), changed_at=at or now)
                    for rank, (key, by, at) in enumerate(g["ranking"], 1)]
        invitations += [dict(group_id=gid, email=inv["email"], status=inv["status"],
                             invited_by_id=ids.get(inv["invited_by"]), created_at=inv["created_at"] or now,
                             answered_at=inv["answered_at"]) for inv in g["invitations"]]
        notes += [dict(group_id=gid, user_id=ids.get(by), created_at=at, description=text)
                  for at, by, text in g["history"]]
    for model, batch in ((GroupMember, members), (GroupChoice, choices), (GroupInvitation, invitations),
                         (GroupChange, notes)):
        if batch:
            session.execute(insert(model.__table__), batch)
