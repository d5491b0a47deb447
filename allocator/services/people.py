"""A cohort's people: import students and staff from CSV, list and search them, change roles, remove,
promote to coordinator, and remind the students who have not ranked yet.

Imports run in two steps with the same code: a preview (what would be added, changed, left alone and
rejected, each rejected row with its line and reason) and the apply, which re-reads the file inside the
caller's transaction, so it imports exactly what a fresh preview would show. A file with any rejected
row imports nothing unless the coordinator asks for the valid rows only.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from collections.abc import Callable, Iterable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from allocator import config, io
from allocator.domain import LIVE_PROJECT_STATUSES, MEMBER_ROLES, Role
from allocator.models import GroupMember, Membership, Preference, Project, StudentGroup, User, utcnow
from allocator.services.access import Actor, require_admin
from allocator.services.audit import record_audit
from allocator.services.cohorts import cohort_of
from allocator.services.errors import Invalid, NotAllowed, NotFound
from allocator.services.notifications import notify
from allocator.services.places import apply_places_rows, read_places_columns

__all__ = ["MemberView", "list_members", "add_member", "change_role", "set_max_load", "remove_member", "set_admin",
           "not_submitted", "send_reminders", "preview_people_import", "apply_people_import"]

PLACES_COLUMNS = ("places", "tier")  # read by services.places, not by io.read_people
CHUNK = 2000  # emails per IN (...) query: well inside SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True)
class MemberView:
    user_id: int
    email: str
    name: str
    role: str
    is_admin: bool
    active: bool
    max_load: int | None
    choices: int  # how many projects a student has ranked
    preferences_saved_at: datetime | None
    projects: int  # how many projects of the cohort a staff member supervises
    places: int | None = None  # a student's own number of places (None: the cohort's)
    tier: int = 1  # a student's priority tier (1 is served first)
    group: str | None = None  # the name of the student's group


# --------------------------------------------------------------------------------------------------
# Shared helpers (data_io uses them too)


def read_upload(reader: Callable[..., io.Parsed], data: bytes, **kwargs) -> io.Parsed:
    """Run an io reader; a file that cannot be read at all becomes Invalid with io's sentence."""
    try:
        return reader(data, **kwargs)
    except io.BadFile as err:
        raise Invalid(str(err)) from None


def chunks(values: Sequence, size: int = CHUNK) -> Iterable[Sequence]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def refuse_rejected(preview: io.ImportPreview, valid_rows_only: bool) -> None:
    if preview.rejected and not valid_rows_only:
        lines = ", ".join(str(e.line) for e in preview.rejected[:8]) + ("…" if len(preview.rejected) > 8 else "")
        raise Invalid(f"{len(preview.rejected)} row(s) of the file are rejected (line {lines}); nothing was "
                      "imported. Fix them and upload the file again, or choose “Import the valid rows”.")


def users_by_email(session: Session, emails: Sequence[str]) -> dict[str, tuple[int, str, bool, bool]]:
    """email → (id, name, is_admin, active) for the emails that have an account."""
    found = {}
    for part in chunks(list(emails)):
        for uid, email, name, is_admin, active in session.execute(
            select(User.id, User.email, User.name, User.is_admin, User.active).where(User.email.in_(part))
        ):
            found[email] = (uid, name, is_admin, active)
    return found


def _role_change_problem(name: str, old: str, new: str, choices: int, projects: int) -> str | None:
    if old == Role.STUDENT and new == Role.STAFF and choices:
        return (f"{name} has ranked {choices} project(s) as a student; remove them from the cohort first "
                "(that deletes their preferences) and add them again as staff")
    if old == Role.STAFF and new == Role.STUDENT and projects:
        return f"{name} supervises {projects} project(s) in this cohort; reassign or withdraw those first"
    return None


def _member_query(cohort_id: int):
    prefs = (select(Preference.student_id.label("uid"), func.count().label("n"))
             .where(Preference.cohort_id == cohort_id).group_by(Preference.student_id).subquery())
    supervised = (select(Project.supervisor_id.label("uid"), func.count().label("n"))
                  .where(Project.cohort_id == cohort_id, Project.status.in_(LIVE_PROJECT_STATUSES))
                  .group_by(Project.supervisor_id).subquery())
    return (
        select(User.id, User.email, User.name, Membership.role, User.is_admin, User.active, Membership.max_load,
               func.coalesce(prefs.c.n, 0), Membership.preferences_saved_at, func.coalesce(supervised.c.n, 0),
               Membership.places, Membership.tier, StudentGroup.name)
        .join(Membership, Membership.user_id == User.id)
        .outerjoin(GroupMember, (GroupMember.user_id == User.id) & (GroupMember.cohort_id == cohort_id))
        .outerjoin(StudentGroup, StudentGroup.id == GroupMember.group_id)
        .outerjoin(prefs, prefs.c.uid == User.id)
        .outerjoin(supervised, supervised.c.uid == User.id)
        .where(Membership.cohort_id == cohort_id)
    )


def _member(session: Session, cohort_id: int, user_id: int) -> MemberView:
    row = session.execute(_member_query(cohort_id).where(User.id == user_id)).first()
    if row is None:
        raise NotFound("That person is not in this cohort.")
    return MemberView(*row)


# --------------------------------------------------------------------------------------------------
# Listing and single changes


def list_members(session: Session, *, actor: Actor, cohort_id: int, role: str | None = None,
                 search: str | None = None, submitted: bool | None = None) -> list[MemberView]:
    """Members of the cohort, staff first then students, by name. `search` matches name or email;
    `submitted` (students) filters on whether they have ranked any project."""
    require_admin(session, actor)
    cohort_of(session, cohort_id)
    query = _member_query(cohort_id).order_by(Membership.role, func.lower(User.name), User.email)
    if role:
        query = query.where(Membership.role == role)
    if search and search.strip():
        needle = f"%{search.strip().lower()}%"
        query = query.where(or_(func.lower(User.name).like(needle), User.email.like(needle)))
    members = [MemberView(*row) for row in session.execute(query)]
    if submitted is not None:
        members = [m for m in members if m.role == Role.STUDENT and (m.choices > 0) == submitted]
    return members


def add_member(session: Session, *, actor: Actor, cohort_id: int, email: str, name: str, role: str,
               max_load: int | None = None) -> MemberView:
    """Add one person (their account is created if they have none)."""
    require_admin(session, actor)
    cohort_of(session, cohort_id)
    email = (email or "").strip().lower()
    if not io.EMAIL_RE.fullmatch(email):
        raise Invalid(f"“{email}” is not an email address.")
    role = io.ROLE_NAMES.get((role or "").strip().lower(), "")
    if not role:
        raise Invalid("The role must be student or staff.")
    name = " ".join((name or "").split())
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        if not name:
            raise Invalid("Give the person's name: they have no account yet.")
        user = User(email=email, name=name[:200])
        session.add(user)
        session.flush()
    elif session.scalar(select(Membership.role).where(Membership.cohort_id == cohort_id,
                                                      Membership.user_id == user.id)):
        raise Invalid(f"{email} is already in this cohort.")
    _check_load(max_load)
    session.add(Membership(cohort_id=cohort_id, user_id=user.id, role=role,
                           max_load=max_load if role == Role.STAFF else None))
    session.flush()
    record_audit(session, actor=actor, action="people.add", cohort_id=cohort_id, email=email, role=role)
    return _member(session, cohort_id, user.id)


def _membership(session: Session, cohort_id: int, user_id: int) -> Membership:
    membership = session.scalar(select(Membership).where(Membership.cohort_id == cohort_id,
                                                         Membership.user_id == user_id))
    if membership is None:
        raise NotFound("That person is not in this cohort.")
    return membership


def change_role(session: Session, *, actor: Actor, cohort_id: int, user_id: int, role: str) -> MemberView:
    require_admin(session, actor)
    if role not in MEMBER_ROLES:
        raise Invalid("The role must be student or staff.")
    current = _member(session, cohort_id, user_id)
    if current.role != role:
        problem = _role_change_problem(current.name, current.role, role, current.choices, current.projects)
        if problem:
            raise Invalid(problem[0].upper() + problem[1:] + ".")
        membership = _membership(session, cohort_id, user_id)
        membership.role = role
        if role == Role.STUDENT:
            membership.max_load = None
        session.flush()
        record_audit(session, actor=actor, action="people.role", cohort_id=cohort_id, email=current.email,
                     old=current.role, new=role)
    return _member(session, cohort_id, user_id)


def _check_load(max_load: int | None) -> None:
    if max_load is not None and (isinstance(max_load, bool) or not isinstance(max_load, int) or max_load < 0):
        raise Invalid("The maximum load must be a whole number of 0 or more, or empty for no limit.")


def set_max_load(session: Session, *, actor: Actor, cohort_id: int, user_id: int,
                 max_load: int | None) -> MemberView:
    """The most students a supervisor takes across their projects in this cohort (None: no limit)."""
    require_admin(session, actor)
    _check_load(max_load)
    membership = _membership(session, cohort_id, user_id)
    if membership.role != Role.STAFF:
        raise Invalid("Only staff have a maximum load.")
    if membership.max_load != max_load:
        record_audit(session, actor=actor, action="people.max_load", cohort_id=cohort_id, user_id=user_id,
                     old=membership.max_load, new=max_load)
        membership.max_load = max_load
        session.flush()
    return _member(session, cohort_id, user_id)


def remove_member(session: Session, *, actor: Actor, cohort_id: int, user_id: int) -> str:
    """Take a person out of the cohort. Their preferences go with them; projects they supervise keep
    them as supervisor (history), and past allocation runs are untouched. Returns what happened."""
    require_admin(session, actor)
    current = _member(session, cohort_id, user_id)
    session.execute(delete(Preference).where(Preference.cohort_id == cohort_id, Preference.student_id == user_id))
    session.execute(delete(Membership).where(Membership.cohort_id == cohort_id, Membership.user_id == user_id))
    record_audit(session, actor=actor, action="people.remove", cohort_id=cohort_id, email=current.email,
                 role=current.role, preferences_deleted=current.choices)
    message = f"{current.name} was removed from the cohort."
    if current.choices:
        message += f" Their {current.choices} ranked choice(s) were deleted."
    if current.projects:
        message += (f" They still supervise {current.projects} project(s) here: reassign or withdraw "
                    "them on the Projects page.")
    return message


def set_admin(session: Session, *, actor: Actor, user_id: int, is_admin: bool,
              cohort_id: int | None = None) -> bool:
    """Make a person a coordinator (or not). Nobody can take their own coordinator rights away, and a
    person listed in ADMIN_EMAILS cannot be demoted here (they would be promoted again at sign-in)."""
    require_admin(session, actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("That person does not exist.")
    if not is_admin and user_id == actor.user_id:
        raise NotAllowed("You cannot remove your own coordinator rights: ask another coordinator.")
    if not is_admin and user.email in config.load().admin_emails:
        raise Invalid(f"{user.email} is listed in the ADMIN_EMAILS setting and would be a coordinator again "
                      "at their next sign-in. Remove them from that setting first.")
    if user.is_admin != is_admin:
        user.is_admin = is_admin
        session.flush()
        record_audit(session, actor=actor, action="people.promote" if is_admin else "people.demote",
                     cohort_id=cohort_id, email=user.email)
    return user.is_admin


def not_submitted(session: Session, *, actor: Actor, cohort_id: int) -> list[MemberView]:
    """Students of the cohort who have not ranked any project yet."""
    return list_members(session, actor=actor, cohort_id=cohort_id, role=Role.STUDENT, submitted=False)


def send_reminders(session: Session, *, actor: Actor, cohort_id: int,
                   user_ids: Sequence[int] | None = None) -> int:
    """Remind the students who have not ranked yet (or those of `user_ids` among them); returns how many
    were reminded. The message is in-app, and emailed where email is configured."""
    require_admin(session, actor)
    cohort = cohort_of(session, cohort_id)
    targets = [m.user_id for m in not_submitted(session, actor=actor, cohort_id=cohort_id)]
    if user_ids is not None:
        wanted = set(user_ids)
        targets = [uid for uid in targets if uid in wanted]
    if not targets:
        return 0
    if cohort.preferences_close_at is not None:
        tz = config.load().timezone
        when = cohort.preferences_close_at.astimezone(ZoneInfo(tz)).strftime("%a %-d %b %Y, %H:%M")
        deadline = f" before preferences close on {when} ({tz})"
    else:
        deadline = ""
    sent = notify(session, user_ids=targets, cohort_id=cohort_id, kind="reminder",
                  subject=f"Reminder: rank your projects for {cohort.name}",
                  body=f"You have not ranked any projects for {cohort.name} yet. Please choose and rank "
                       f"between {cohort.min_choices} and {cohort.max_choices} projects{deadline} on the "
                       "“My preferences” page.")
    record_audit(session, actor=actor, action="people.remind", cohort_id=cohort_id, count=sent)
    return sent


# --------------------------------------------------------------------------------------------------
# Import


@dataclass
class _PeoplePlan:
    new_users: list[dict]
    new_members: list[tuple[str, str, int | None]]  # email, role, max_load
    renames: list[dict]
    member_updates: list[dict]


def _membership_change(row: io.PersonRow, name: str, role: str, current_load: int | None, load: int | None,
                       choices: int, supervised: int) -> tuple[list[str], dict, str | None]:
    """(what changes in an existing membership, its new values, or why the row cannot change it)."""
    notes: list[str] = []
    update_row: dict = {}  # filled in with the current values by the caller, so every update has the same keys
    if row.role != role:
        problem = _role_change_problem(name, role, row.role, choices, supervised)
        if problem:
            return [], {}, problem
        notes.append(f"role: {role} → {row.role}")
        update_row["role"] = row.role
        if row.role == Role.STUDENT and current_load is not None:
            update_row["max_load"] = None
    if row.role == Role.STAFF and row.has_max_load and load != current_load:
        notes.append(f"max load: {'no limit' if current_load is None else current_load} → "
                     f"{'no limit' if load is None else load}")
        update_row["max_load"] = load
    return notes, update_row, None


def _plan_people(session: Session, cohort_id: int, parsed: io.Parsed) -> tuple[io.ImportPreview, _PeoplePlan]:
    rows: tuple[io.PersonRow, ...] = parsed.rows
    users = users_by_email(session, [r.email for r in rows])
    members = {uid: (mid, role, load) for mid, uid, role, load in session.execute(
        select(Membership.id, Membership.user_id, Membership.role, Membership.max_load)
        .where(Membership.cohort_id == cohort_id))}
    choices = dict(session.execute(select(Preference.student_id, func.count())
                                   .where(Preference.cohort_id == cohort_id).group_by(Preference.student_id)).all())
    supervised = dict(session.execute(
        select(Project.supervisor_id, func.count())
        .where(Project.cohort_id == cohort_id, Project.status.in_(LIVE_PROJECT_STATUSES))
        .group_by(Project.supervisor_id)).all())
    added, changed, unchanged, rejected = [], [], [], list(parsed.errors)
    plan = _PeoplePlan([], [], [], [])
    now = utcnow()
    for row in rows:
        load = row.max_load if row.role == Role.STAFF else None
        account = users.get(row.email)
        if account is None:
            if not row.name:
                rejected.append(io.RowError(row.line, f"missing name (needed: {row.email} has no account yet)"))
                continue
            plan.new_users.append(dict(email=row.email, name=row.name, is_admin=False, active=True, created_at=now))
            plan.new_members.append((row.email, row.role, load))
            added.append(io.ImportItem(row.line, row.email, f"{row.name} · {row.role}", ("new account",)))
            continue
        uid, name, _is_admin, _active = account
        notes = []
        if row.name and row.name != name:
            notes.append(f"name: {name} → {row.name}")
        member = members.get(uid)
        if member is None:
            plan.new_members.append((row.email, row.role, load))
            if notes:
                plan.renames.append(dict(id=uid, name=row.name))
            added.append(io.ImportItem(row.line, row.email, f"{row.name or name} · {row.role}", tuple(notes)))
            continue
        mid, role, current_load = member
        membership_notes, update_row, problem = _membership_change(
            row, name, role, current_load, load, choices.get(uid, 0), supervised.get(uid, 0))
        if problem:
            rejected.append(io.RowError(row.line, problem))
            continue
        notes += membership_notes
        item = io.ImportItem(row.line, row.email, f"{row.name or name} · {row.role}", tuple(notes))
        if notes:
            if row.name and row.name != name:
                plan.renames.append(dict(id=uid, name=row.name))
            if update_row:
                plan.member_updates.append(dict(id=mid, role=update_row.get("role", role),
                                                max_load=update_row.get("max_load", current_load)))
            changed.append(item)
        else:
            unchanged.append(item)
    preview = io.ImportPreview(tuple(added), tuple(changed), tuple(unchanged),
                               tuple(sorted(rejected, key=lambda e: e.line)), parsed.ignored_columns)
    return preview, plan


def preview_people_import(session: Session, *, actor: Actor, cohort_id: int, data: bytes,
                          default_role: str | None = None) -> io.ImportPreview:
    """What importing this CSV (email, name, role[, max_load]) would do; writes nothing.

    `default_role` ("student" or "staff") is used when the file has no role column or a blank role.
    """
    require_admin(session, actor)
    cohort_of(session, cohort_id)
    parsed = read_upload(io.read_people, data, default_role=default_role)
    read_places_columns(data)  # a bad places or tier cell is refused here, before the apply
    preview = _plan_people(session, cohort_id, parsed)[0]
    return dataclasses.replace(preview, ignored_columns=tuple(
        c for c in preview.ignored_columns if c.strip().lower() not in PLACES_COLUMNS))


def apply_people_import(session: Session, *, actor: Actor, cohort_id: int, data: bytes,
                        valid_rows_only: bool = False, default_role: str | None = None) -> io.ImportResult:
    """Import the file in the caller's transaction, with bulk statements. A file with rejected rows
    imports nothing (Invalid) unless `valid_rows_only`."""
    require_admin(session, actor)
    cohort_of(session, cohort_id)
    parsed = read_upload(io.read_people, data, default_role=default_role)
    places_rows = read_places_columns(data)
    preview, plan = _plan_people(session, cohort_id, parsed)
    refuse_rejected(preview, valid_rows_only)
    ids: dict[str, int] = {}
    if plan.new_users:
        for part in chunks(plan.new_users):
            result = session.execute(insert(User).returning(User.id, User.email, sort_by_parameter_order=True),
                                     list(part))
            ids.update({email: uid for uid, email in result})
    missing = [email for email, _, _ in plan.new_members if email not in ids]
    if missing:
        ids.update({email: v[0] for email, v in users_by_email(session, missing).items()})
    now = utcnow()
    if plan.new_members:
        session.execute(insert(Membership.__table__), [dict(cohort_id=cohort_id, user_id=ids[email], role=role,
                                                  max_load=load, created_at=now)
                                             for email, role, load in plan.new_members])
    if plan.renames:
        session.execute(update(User), plan.renames)
    if plan.member_updates:
        session.execute(update(Membership), plan.member_updates)
    session.expire_all()
    apply_places_rows(session, actor=actor, cohort_id=cohort_id, rows=places_rows)
    result = io.ImportResult(added=len(preview.added), changed=len(preview.changed),
                             unchanged=len(preview.unchanged), skipped=len(preview.rejected))
    record_audit(session, actor=actor, action="people.import", cohort_id=cohort_id, added=result.added,
                 changed=result.changed, unchanged=result.unchanged, skipped=result.skipped,
                 accounts_created=len(plan.new_users))
    return result
