"""Restoring a backup into a new cohort: read and check the file, then write it all in one nested transaction."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from allocator import domain, io
from allocator.models import AllocationRun, Assignment, Cohort, Membership, Preference, Project, Response, User, utcnow
from allocator.services import run_record
from allocator.services.access import Actor, require_admin
from allocator.services.audit import record_audit
from allocator.services.cohort_admin import clean_cohort_name
from allocator.services.data_io.backup import BACKUP_FORMAT, BACKUP_VERSION, SETTINGS
from allocator.services.data_io.backup_check import (COHORT_KEYS, DAMAGED, DOCUMENT_KEYS, Check, check_people,
                                                     check_preferences, check_projects, check_runs, check_settings)
from allocator.services.data_io.backup_groups import GROUP_SETTINGS
from allocator.services.data_io.restore_groups import (check_group_settings, check_groups, check_places_tiers,
                                                       write_groups)
from allocator.services.errors import Invalid
from allocator.services.people import chunks, users_by_email


@dataclass(frozen=True)
class RestoreResult:
    cohort_id: int
    name: str
    people: int
    accounts_created: int
    projects: int
    students_with_preferences: int
    runs: int
    notes: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        return (f"Restored “{self.name}”: {self.people:,} people ({self.accounts_created:,} new accounts), "
                f"{self.projects:,} projects, {self.students_with_preferences:,} students' preferences, "
                f"{self.runs:,} allocation runs.")


def _read_backup(data: bytes) -> dict:
    try:
        doc = io.read_json(data)
    except io.BadFile as err:
        raise Invalid(f"{DAMAGED}: {str(err)[0].lower()}{str(err)[1:].rstrip('.')}. Nothing was restored.") from None
    if not isinstance(doc, dict) or doc.get("format") != BACKUP_FORMAT:
        raise Invalid("This is not a Project Allocator cohort backup.")
    if doc.get("version") != BACKUP_VERSION:
        version = doc.get("version")
        shown = repr(version)[:20] if isinstance(version, (int, float, type(None))) else repr(str(version)[:20])
        raise Invalid(f"This backup has version {shown}; this app reads version {BACKUP_VERSION}.")
    return doc


def restore_cohort(session: Session, *, actor: Actor, data: bytes, name: str) -> RestoreResult:
    """Restore a backup into a NEW cohort called `name`. People are matched by email (existing accounts
    are left as they are; missing ones are created as ordinary accounts). All or nothing: a damaged file
    restores nothing and says what is wrong."""
    require_admin(session, actor)
    name = clean_cohort_name(session, name)
    doc = _read_backup(data)
    c = Check()
    c.obj(doc, "the file", DOCUMENT_KEYS)
    cohort_doc = c.obj(doc.get("cohort"), "cohort", COHORT_KEYS)
    settings_doc = c.obj(cohort_doc.get("settings"), "cohort.settings", {*SETTINGS, *GROUP_SETTINGS})
    settings = {**check_settings(c, settings_doc), **check_group_settings(c, settings_doc)}
    people, others = check_people(c, doc)
    check_places_tiers(c, doc, people)
    known = [*people, *others]
    known_set = set(known)

    def person(value, path, *, optional=True):
        if value is None and optional:
            return None
        if not isinstance(value, str) or value not in known_set:
            c.fail(path, "names a person the file does not list")
        return value

    projects = check_projects(c, doc, person)
    project_keys = [p["key"] for p in projects]
    # Lists are held to the largest maximum a cohort can have: the cohort's own may have been lowered since.
    preferences = check_preferences(c, doc, people, set(project_keys), domain.CHOICES_MAX)
    runs = check_runs(c, doc, person, known, project_keys, domain.CHOICES_MAX)
    groups = check_groups(c, doc, people, settings, person, set(project_keys))
    try:
        with session.begin_nested():
            result, created = _write_restore(session, name, settings, people, others, projects, preferences, runs,
                                             groups)
    except (IntegrityError, DataError) as err:
        raise Invalid(f"{DAMAGED}: it breaks a rule of the database "
                      f"({str(err.orig).splitlines()[0][:200]}). Nothing was restored.") from None
    record_audit(session, actor=actor, action="data.restore", cohort_id=result.cohort_id, name=name,
                 source=str(cohort_doc.get("name", ""))[:200], people=result.people,
                 accounts_created=result.accounts_created, created_accounts=created, projects=result.projects,
                 runs=result.runs, groups=len(groups))
    return result


def _write_accounts(session: Session, people: dict, others: dict,
                    now) -> tuple[dict[str, int], list[dict], int]:
    """(user id by email, the accounts created, how many existing accounts have another name in the file).
    Existing accounts are matched by email and left as they are."""
    everyone = {**{e: p["name"] for e, p in people.items()}, **{e: p["name"] for e, p in others.items()}}
    accounts = users_by_email(session, list(everyone))
    ids = {email: v[0] for email, v in accounts.items()}
    differing = sum(1 for email, (_uid, name_, _admin, _active) in accounts.items() if name_ != everyone[email])
    # Coordinator rights are granted in the app by a coordinator, never by a file.
    new_users = [dict(email=e, name=n, is_admin=False, active=True, created_at=now)
                 for e, n in sorted(everyone.items()) if e not in ids]
    for part in chunks(new_users):
        ids.update({email: uid for uid, email in session.execute(
            insert(User).returning(User.id, User.email, sort_by_parameter_order=True), list(part))})
    return ids, new_users, differing


def _write_runs(session: Session, cohort_id: int, runs: list, ids: dict[str, int],
                project_ids: dict[str, int]) -> None:
    """The runs with their assignments and answers, records mapped to the new ids, then their origins."""
    run_ids: dict[str, int] = {}
    for r in runs:
        record = run_record.from_json(run_record.local(r["record"], user_id=ids, project_id=project_ids))
        run = AllocationRun(
            cohort_id=cohort_id, kind=r["kind"], created_by_id=ids.get(r["created_by"]), created_at=r["created_at"],
            label=r["label"], objective=r["objective"], students=record.students, record=run_record.to_json(record),
            status=r["status"], solver=r["solver"], seconds=r["seconds"], cost=r["cost"], profile=r["profile"],
            message=r["message"], published_at=r["published_at"], published_by_id=ids.get(r["published_by"]))
        session.add(run)
        session.flush()
        run_ids[r["key"]] = run.id
        if r["assignments"]:
            session.execute(insert(Assignment.__table__), [
                dict(run_id=run.id, student_id=ids[a[0]], project_id=project_ids[a[1]] if a[1] else None, rank=a[2],
                     pinned=a[3], manual=a[4]) for a in r["assignments"]])
        if r["responses"]:
            session.execute(insert(Response.__table__), [
                dict(run_id=run.id, student_id=ids[s], accepted=acc, reason=reason, responded_at=when)
                for s, acc, reason, when in r["responses"]])
    parents = [dict(id=run_ids[r["key"]], parent_run_id=run_ids[r["parent"]]) for r in runs if r["parent"]]
    if parents:
        session.execute(update(AllocationRun), parents)


def _write_restore(session: Session, name: str, settings: dict, people: dict, others: dict, projects: list,
                   preferences: dict, runs: list, groups: list) -> tuple[RestoreResult, list[str]]:
    now = utcnow()
    cohort = Cohort(name=name, **settings)
    session.add(cohort)
    session.flush()
    ids, new_users, differing = _write_accounts(session, people, others, now)
    if people:
        session.execute(insert(Membership.__table__), [
            dict(cohort_id=cohort.id, user_id=ids[e], role=p["role"], max_load=p["max_load"], places=p["places"],
                 tier=p["tier"], preferences_saved_at=p["saved_at"], created_at=p["joined_at"] or now) for e, p in people.items()])
    project_ids: dict[str, int] = {}
    if projects:
        rows = [dict(cohort_id=cohort.id, code=p["code"], title=p["title"], description=p["description"],
                     capacity=p["capacity"], min_students=p["min_students"],
                     supervisor_id=ids[p["supervisor"]] if p["supervisor"] else None, tags=p["tags"],
                     status=p["status"], reject_reason=p["reject_reason"], created_at=p["created_at"],
                     updated_at=p["updated_at"]) for p in projects]
        returned = session.execute(insert(Project).returning(Project.id, sort_by_parameter_order=True), rows).scalars()
        project_ids = dict(zip((p["key"] for p in projects), returned))
    pref_rows = [dict(cohort_id=cohort.id, student_id=ids[email], project_id=project_ids[key], rank=rank)
                 for email, keys in preferences.items() for rank, key in enumerate(keys, 1)]
    if pref_rows:
        session.execute(insert(Preference.__table__), pref_rows)
    _write_runs(session, cohort.id, runs, ids, project_ids)
    write_groups(session, cohort.id, groups, ids, project_ids, now)
    session.flush()
    session.expire_all()
    notes = ()
    if differing:
        notes = (f"{differing} existing account(s) have a different name in the backup; they were left as they are.",)
    result = RestoreResult(cohort_id=cohort.id, name=name, people=len(people), accounts_created=len(new_users),
                           projects=len(projects), students_with_preferences=len(preferences), runs=len(runs),
                           notes=notes)
    return result, [u["email"] for u in new_users]
