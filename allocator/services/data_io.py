"""Data in and out of a cohort: project and preference imports (preview, then apply in one transaction),
CSV/Excel downloads, and a full JSON backup with its restore into a new cohort.

Imports follow the people import's rules (see services.people): the apply re-reads the file in the
caller's transaction and imports nothing if any row is rejected, unless `valid_rows_only`.

Backup format ("project-allocator-cohort-backup", version 2): the cohort's settings; its people (email,
name, role, max_load, when they joined and last saved preferences); other people it mentions
(supervisors or run authors no longer in the cohort, students of past runs); projects keyed "p1", "p2"…
in creation order; each student's ranked list of project keys; allocation runs keyed "r1"… with their
kind, origin (`parent`), record (`run_record.portable`: people by email, projects by key),
assignments and responses. No database id appears in the file, and no coordinator rights: those are
granted in the app, never by a file.
Backup → restore → backup gives the same file except `exported_at`, the cohort's `name` and
`created_at` (a restore makes a new cohort with the name it is given), and `archived` (a restored
cohort starts visible). Existing accounts are matched by email and left as they are; missing ones are
created as ordinary accounts, and the audit entry names each. A restore applies the limits the forms
and imports apply, and refuses a file that breaks one as damaged, writing nothing.
"""
from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session, aliased

from allocator import io
from allocator.models import (OBJECTIVES, PHASES, PROJECT_STATUSES, ROLES, RUN_KINDS, RUN_STATUSES, AllocationRun,
                              Assignment, Cohort, Membership, Preference, Project, Response, User, utcnow)
from allocator.services.access import Actor, require_admin
from allocator.services.audit import record_audit
from allocator.services import run_record
from allocator.services.allocation.common import MAX_LABEL
from allocator.services.catalogue import MAX_REASON as REJECT_REASON_MAX
from allocator.services.cohort_admin import MAX_CHOICES_LIMIT, clean_cohort_name
from allocator.services.responses import RESPONSE_REASON_MAX
from allocator.services.errors import Invalid
from allocator.services.cohorts import cohort_of
from allocator.services.people import chunks, read_upload, refuse_rejected, users_by_email

__all__ = ["RestoreResult", "preview_projects_import", "apply_projects_import", "preview_preferences_import",
           "apply_preferences_import", "export_projects", "export_people", "export_preferences", "backup_cohort",
           "restore_cohort", "BACKUP_FORMAT", "ImportTemplate", "IMPORT_KINDS", "import_template"]

BACKUP_FORMAT = "project-allocator-cohort-backup"
BACKUP_VERSION = 2
EXPORT_FORMATS = ("csv", "xlsx")
IMPORT_KINDS = tuple(io.TEMPLATES)


@dataclass(frozen=True)
class ImportTemplate:
    kind: str  # "people", "projects" or "preferences"
    file_name: str
    csv: bytes  # the header and one example row
    columns: tuple[io.TemplateColumn, ...]  # each column's example and accepted values


def import_template(session: Session, *, actor: Actor, kind: str) -> ImportTemplate:
    """The CSV template of one import, for the coordinator to fill in."""
    require_admin(session, actor)
    if kind not in io.TEMPLATES:
        raise Invalid(f"There is no “{kind}” import; use one of {', '.join(IMPORT_KINDS)}.")
    return ImportTemplate(kind=kind, file_name=f"{kind}-template.csv", csv=io.template_csv(kind),
                          columns=io.TEMPLATES[kind])


def _norm_title(title: str) -> str:
    return " ".join((title or "").split()).lower()


def _short(values: list[str], limit: int = 4) -> str:
    text = ", ".join(values[:limit])
    return text + (f" … ({len(values)} in all)" if len(values) > limit else "")


# --------------------------------------------------------------------------------------------------
# Projects import


@dataclass
class _ProjectPlan:
    inserts: list[dict]
    updates: list[dict]


def _plan_projects(session: Session, cohort_id: int, parsed: io.Parsed,
                   default_status: str) -> tuple[io.ImportPreview, _ProjectPlan]:
    sup = aliased(User)
    existing = session.execute(
        select(Project.id, Project.code, Project.title, Project.description, Project.capacity, Project.min_students,
               Project.supervisor_id, Project.tags, Project.status, Project.reject_reason, sup.email)
        .outerjoin(sup, sup.id == Project.supervisor_id).where(Project.cohort_id == cohort_id).order_by(Project.id)
    ).all()
    by_code = {p.code.lower(): p for p in existing if p.code}
    by_title: dict[str, list] = defaultdict(list)
    for p in existing:
        by_title[_norm_title(p.title)].append(p)
    staff = dict(session.execute(
        select(User.email, User.id).join(Membership, Membership.user_id == User.id)
        .where(Membership.cohort_id == cohort_id, Membership.role == "staff")).all())
    wanted = sorted({r.supervisor_email for r in parsed.rows if r.supervisor_email} - set(staff))
    accounts = users_by_email(session, wanted) if wanted else {}
    added, changed, unchanged, rejected = [], [], [], list(parsed.errors)
    plan = _ProjectPlan([], [])
    matched: dict[int, int] = {}
    now = utcnow()
    for row in parsed.rows:
        row: io.ProjectRow
        if row.code:
            p = by_code.get(row.code.lower())
            if p is None:
                uncoded = [q for q in by_title.get(_norm_title(row.title), []) if not q.code]
                p = uncoded[0] if len(uncoded) == 1 else None
        else:
            candidates = by_title.get(_norm_title(row.title), [])
            if len(candidates) > 1:
                rejected.append(io.RowError(row.line, f"the title “{row.title}” matches {len(candidates)} projects; "
                                                      "add a code column to say which"))
                continue
            p = candidates[0] if candidates else None
        if p is not None and p.id in matched:
            rejected.append(io.RowError(row.line, f"the same project as line {matched[p.id]}"))
            continue
        supervisor_id = p.supervisor_id if p is not None else None
        if "supervisor_email" in row.present:
            if row.supervisor_email is None:
                supervisor_id = None
            elif row.supervisor_email in staff:
                supervisor_id = staff[row.supervisor_email]
            else:
                why = ("is not staff in this cohort" if row.supervisor_email in accounts else "has no account")
                rejected.append(io.RowError(row.line, f"supervisor {row.supervisor_email} {why}: add them on the "
                                                      "People page first"))
                continue
        if p is None:
            status = row.status or default_status
            plan.inserts.append(dict(
                cohort_id=cohort_id, code=row.code, title=row.title, description=row.description,
                capacity=row.capacity, min_students=row.min_students, supervisor_id=supervisor_id,
                tags=list(row.tags), status=status, created_at=now, updated_at=now))
            added.append(io.ImportItem(row.line, row.code or row.title, f"{row.title} · {row.capacity} places · "
                                                                       f"{status}"))
            continue
        matched[p.id] = row.line
        minimum = row.min_students if "min_students" in row.present else p.min_students
        if minimum > row.capacity:
            rejected.append(io.RowError(row.line, f"capacity {row.capacity} is below the project's minimum {minimum}"))
            continue
        new = dict(
            code=p.code or row.code, title=row.title, capacity=row.capacity, min_students=minimum,
            description=row.description if "description" in row.present else p.description,
            supervisor_id=supervisor_id,
            tags=list(row.tags) if "tags" in row.present else list(p.tags or []),
            status=row.status or p.status,
        )
        notes = []
        for field, label in (("code", "code"), ("title", "title"), ("capacity", "capacity"),
                             ("min_students", "minimum"), ("status", "status")):
            old_value = getattr(p, field)
            if new[field] != old_value:
                notes.append(f"{label}: {old_value if old_value is not None else '—'} → {new[field]}")
        if new["description"] != (p.description or ""):
            notes.append("description")
        if new["tags"] != list(p.tags or []):
            notes.append(f"tags: {'; '.join(p.tags or []) or '—'} → {'; '.join(new['tags']) or '—'}")
        if new["supervisor_id"] != p.supervisor_id:
            notes.append(f"supervisor: {p.email or '—'} → {row.supervisor_email or '—'}")
        item = io.ImportItem(row.line, row.code or row.title, f"{row.title} · {row.capacity} places · "
                                                              f"{new['status']}", tuple(notes))
        if notes:
            reason = p.reject_reason if new["status"] == "rejected" else None
            plan.updates.append(dict(id=p.id, **new, reject_reason=reason, updated_at=now))
            changed.append(item)
        else:
            unchanged.append(item)
    preview = io.ImportPreview(tuple(added), tuple(changed), tuple(unchanged),
                               tuple(sorted(rejected, key=lambda e: e.line)), parsed.ignored_columns,
                               notes=("Projects are matched by code, or by title when the file has no code.",))
    return preview, plan


def _check_status(default_status: str) -> None:
    if default_status not in PROJECT_STATUSES:
        raise Invalid(f"Unknown project status “{default_status}”.")


def preview_projects_import(session: Session, *, actor: Actor, cohort_id: int, data: bytes,
                            default_status: str = "approved") -> io.ImportPreview:
    """What importing this projects CSV would do; writes nothing.

    Columns: title and capacity (required); code, description, min_students, supervisor_email, tags (';'
    or ',' separated) and status (optional; `default_status` for new projects when absent). An optional
    column missing from the file leaves that field of existing projects alone.
    """
    require_admin(session, actor)
    _check_status(default_status)
    cohort_of(session, cohort_id)
    return _plan_projects(session, cohort_id, read_upload(io.read_projects, data), default_status)[0]


def apply_projects_import(session: Session, *, actor: Actor, cohort_id: int, data: bytes,
                          valid_rows_only: bool = False, default_status: str = "approved") -> io.ImportResult:
    require_admin(session, actor)
    _check_status(default_status)
    cohort_of(session, cohort_id)
    preview, plan = _plan_projects(session, cohort_id, read_upload(io.read_projects, data), default_status)
    refuse_rejected(preview, valid_rows_only)
    if plan.inserts:
        session.execute(insert(Project), plan.inserts)
    if plan.updates:
        session.execute(update(Project), plan.updates)
        session.expire_all()
    result = io.ImportResult(len(preview.added), len(preview.changed), len(preview.unchanged), len(preview.rejected))
    record_audit(session, actor=actor, action="projects.import", cohort_id=cohort_id, added=result.added,
                 changed=result.changed, unchanged=result.unchanged, skipped=result.skipped)
    return result


# --------------------------------------------------------------------------------------------------
# Preferences import


@dataclass
class _PreferencePlan:
    students: list[int]  # whose lists are replaced
    memberships: list[int]  # their membership ids
    rows: list[dict]  # new preference rows (Core inserts: tens of thousands, no ORM bookkeeping)


def _plan_preferences(session: Session, cohort_id: int, parsed: io.Parsed) -> tuple[io.ImportPreview, _PreferencePlan]:
    cohort = cohort_of(session, cohort_id)
    members = {email: (uid, mid, role) for email, uid, mid, role in session.execute(
        select(User.email, User.id, Membership.id, Membership.role).join(Membership, Membership.user_id == User.id)
        .where(Membership.cohort_id == cohort_id))}
    projects = session.execute(select(Project.id, Project.code, Project.title, Project.status)
                               .where(Project.cohort_id == cohort_id).order_by(Project.id)).all()
    by_code = {p.code.lower(): p for p in projects if p.code}
    by_title: dict[str, list] = defaultdict(list)
    for p in projects:
        by_title[_norm_title(p.title)].append(p)
    by_id = {p.id: p for p in projects}
    current: dict[int, list[int]] = defaultdict(list)
    for student_id, project_id in session.execute(
        select(Preference.student_id, Preference.project_id).where(Preference.cohort_id == cohort_id)
        .order_by(Preference.student_id, Preference.rank)
    ):
        current[student_id].append(project_id)

    def resolve(ref: str):
        p = by_code.get(ref.lower())
        if p is not None:
            return p, None
        candidates = by_title.get(_norm_title(ref), [])
        if len(candidates) == 1:
            return candidates[0], None
        if len(candidates) > 1:
            return None, f"“{ref}” is the title of {len(candidates)} projects; use the project code"
        match = re.fullmatch(r"[Pp](\d+)", ref)
        if match and int(match.group(1)) in by_id:
            return by_id[int(match.group(1))], None
        return None, f"unknown project “{ref}”"

    def label(p) -> str:
        return p.code or p.title

    added, changed, unchanged, rejected = [], [], [], list(parsed.errors)
    plan = _PreferencePlan([], [], [])
    for entry in parsed.rows:
        entry: io.StudentChoices
        member = members.get(entry.email)
        if member is None or member[2] != "student":
            why = "is staff, not a student, in this cohort" if member else "is not a student in this cohort"
            rejected.append(io.RowError(entry.line, f"{entry.email} {why}"))
            continue
        uid, mid, _ = member
        chosen, problems, seen = [], [], {}
        for line, ref in entry.choices:
            p, problem = resolve(ref)
            if problem:
                problems.append(io.RowError(line, problem))
            elif p.status != "approved":
                problems.append(io.RowError(line, f"project “{label(p)}” is {p.status}, not approved"))
            elif p.id in seen:
                problems.append(io.RowError(line, f"“{ref}” is the same project as line {seen[p.id]} for "
                                                  f"{entry.email}"))
            else:
                seen[p.id] = line
                chosen.append(p)
        if not problems and len(chosen) > cohort.max_choices:
            problems.append(io.RowError(entry.line, f"{entry.email} has {len(chosen)} choices; this cohort allows "
                                                    f"at most {cohort.max_choices} (see Cohort settings)"))
        if problems:
            rejected.extend(problems)
            continue
        new_ids = [p.id for p in chosen]
        old_ids = current.get(uid, [])
        description = _short([f"{rank}. {label(p)}" for rank, p in enumerate(chosen, 1)])
        if new_ids == old_ids:
            unchanged.append(io.ImportItem(entry.line, entry.email, description))
            continue
        plan.students.append(uid)
        plan.memberships.append(mid)
        plan.rows.extend(dict(cohort_id=cohort_id, student_id=uid, project_id=pid, rank=rank)
                         for rank, pid in enumerate(new_ids, 1))
        if old_ids:
            was = _short([label(by_id[pid]) for pid in old_ids])
            changed.append(io.ImportItem(entry.line, entry.email, description, (f"was: {was}",)))
        else:
            added.append(io.ImportItem(entry.line, entry.email, description))
    notes = ("Each student in the file gets exactly the list the file gives (it replaces their current one); "
             "students not in the file keep theirs.",)
    if parsed.fmt == "wide":
        notes += ("Blank choice cells are skipped: the choices that follow move up.",)
    preview = io.ImportPreview(tuple(added), tuple(changed), tuple(unchanged),
                               tuple(sorted(rejected, key=lambda e: e.line)), parsed.ignored_columns, notes)
    return preview, plan


def preview_preferences_import(session: Session, *, actor: Actor, cohort_id: int, data: bytes) -> io.ImportPreview:
    """What importing students' ranked lists would do; writes nothing. Long format (student_email,
    project, rank) or wide (student_email, choice_1 … choice_n); projects by code or title."""
    require_admin(session, actor)
    return _plan_preferences(session, cohort_id, read_upload(io.read_preferences, data))[0]


def apply_preferences_import(session: Session, *, actor: Actor, cohort_id: int, data: bytes,
                             valid_rows_only: bool = False) -> io.ImportResult:
    require_admin(session, actor)
    preview, plan = _plan_preferences(session, cohort_id, read_upload(io.read_preferences, data))
    refuse_rejected(preview, valid_rows_only)
    for part in chunks(plan.students):
        session.execute(delete(Preference).where(Preference.cohort_id == cohort_id,
                                                 Preference.student_id.in_(part)))
    if plan.rows:
        session.execute(insert(Preference.__table__), plan.rows)
    now = utcnow()
    for part in chunks(plan.memberships):
        session.execute(update(Membership).where(Membership.id.in_(part)).values(preferences_saved_at=now)
                        .execution_options(synchronize_session=False))
    session.expire_all()
    result = io.ImportResult(len(preview.added), len(preview.changed), len(preview.unchanged), len(preview.rejected))
    record_audit(session, actor=actor, action="preferences.import", cohort_id=cohort_id, added=result.added,
                 changed=result.changed, unchanged=result.unchanged, skipped=result.skipped)
    return result


# --------------------------------------------------------------------------------------------------
# Downloads


def _file(rows: list[dict], columns: list[str], fmt: str, sheet: str) -> bytes:
    if fmt == "csv":
        return io.to_csv_bytes(rows, columns)
    if fmt == "xlsx":
        return io.to_xlsx_bytes({sheet: rows}, {sheet: columns})
    raise Invalid(f"Unknown format “{fmt}”: use csv or xlsx.")


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


PROJECT_COLUMNS = ["code", "title", "description", "capacity", "min_students", "supervisor_email",
                   "supervisor_name", "tags", "status", "reject_reason", "first_choices", "any_rank"]
PEOPLE_COLUMNS = ["email", "name", "role", "max_load", "is_admin", "choices", "preferences_saved_at"]
PREFERENCE_COLUMNS = ["student_email", "student_name", "rank", "project", "project_title"]


def export_projects(session: Session, *, actor: Actor, cohort_id: int, fmt: str = "csv") -> bytes:
    """Every project with its demand; the file imports back (extra columns are ignored)."""
    from allocator.services.catalogue import catalogue

    cat = catalogue(session, actor=actor, cohort_id=cohort_id)
    rows = [dict(code=r.code or "", title=r.title, description=r.description, capacity=r.capacity,
                 min_students=r.min_students, supervisor_email=r.supervisor_email,
                 supervisor_name=r.supervisor_name if r.supervisor_email else "", tags="; ".join(r.tags),
                 status=r.status, reject_reason=r.reject_reason or "", first_choices=r.first_choices,
                 any_rank=r.any_rank) for r in sorted(cat.rows, key=lambda r: r.id)]
    record_audit(session, actor=actor, action="data.export_projects", cohort_id=cohort_id, rows=len(rows))
    return _file(rows, PROJECT_COLUMNS, fmt, "Projects")


def export_people(session: Session, *, actor: Actor, cohort_id: int, fmt: str = "csv") -> bytes:
    """The cohort's people; the file imports back on the People page."""
    from allocator.services.people import list_members

    members = list_members(session, actor=actor, cohort_id=cohort_id)
    rows = [dict(email=m.email, name=m.name, role=m.role, max_load="" if m.max_load is None else m.max_load,
                 is_admin="yes" if m.is_admin else "", choices=m.choices if m.role == "student" else "",
                 preferences_saved_at=_iso(m.preferences_saved_at)) for m in members]
    record_audit(session, actor=actor, action="data.export_people", cohort_id=cohort_id, rows=len(rows))
    return _file(rows, PEOPLE_COLUMNS, fmt, "People")


def export_preferences(session: Session, *, actor: Actor, cohort_id: int, fmt: str = "csv") -> bytes:
    """One row per ranked choice (student_email, student_name, rank, project code, project title)."""
    require_admin(session, actor)
    cohort_of(session, cohort_id)
    rows = [dict(student_email=email, student_name=name, rank=rank, project=code or "", project_title=title)
            for email, name, rank, code, title in session.execute(
                select(User.email, User.name, Preference.rank, Project.code, Project.title)
                .join(Preference, Preference.student_id == User.id)
                .join(Project, Project.id == Preference.project_id)
                .where(Preference.cohort_id == cohort_id).order_by(User.email, Preference.rank))]
    record_audit(session, actor=actor, action="data.export_preferences", cohort_id=cohort_id, rows=len(rows))
    return _file(rows, PREFERENCE_COLUMNS, fmt, "Preferences")


# --------------------------------------------------------------------------------------------------
# Backup


SETTINGS = ("proposals_open_at", "proposals_close_at", "preferences_open_at", "preferences_close_at", "phase_override",
            "min_choices", "max_choices", "allow_unranked", "default_objective", "auto_approve", "responses_locked")
DATE_SETTINGS = SETTINGS[:4]
ASSIGNMENT_COLUMNS = ["student", "project", "rank", "pinned", "manual"]
RESPONSE_COLUMNS = ["student", "accepted", "reason", "responded_at"]


def _backup_document(session: Session, cohort_id: int) -> dict:
    cohort = cohort_of(session, cohort_id)
    members = session.execute(
        select(User.id, User.email, User.name, User.is_admin, Membership.role, Membership.max_load,
               Membership.preferences_saved_at, Membership.created_at)
        .join(Membership, Membership.user_id == User.id).where(Membership.cohort_id == cohort_id)
        .order_by(User.email)).all()
    projects = session.scalars(select(Project).where(Project.cohort_id == cohort_id).order_by(Project.id)).all()
    runs = session.scalars(select(AllocationRun).where(AllocationRun.cohort_id == cohort_id)
                           .order_by(AllocationRun.id)).all()
    assignments = session.execute(
        select(Assignment.run_id, Assignment.student_id, Assignment.project_id, Assignment.rank, Assignment.pinned,
               Assignment.manual).join(AllocationRun, AllocationRun.id == Assignment.run_id)
        .where(AllocationRun.cohort_id == cohort_id)).all()
    responses = session.execute(
        select(Response.run_id, Response.student_id, Response.accepted, Response.reason, Response.responded_at)
        .join(AllocationRun, AllocationRun.id == Response.run_id).where(AllocationRun.cohort_id == cohort_id)).all()
    prefs = session.execute(select(Preference.student_id, Preference.project_id).where(Preference.cohort_id == cohort_id)
                            .order_by(Preference.student_id, Preference.rank)).all()

    email_of = {m.id: m.email for m in members}
    in_records: set[int] = set()
    for r in runs:
        try:
            in_records |= run_record.people_in(r.record)
        except run_record.DamagedRecord as err:
            raise Invalid(f"Run #{r.id} cannot be read ({err}), so the cohort cannot be backed up.") from None
    mentioned = ({p.supervisor_id for p in projects} | {r.created_by_id for r in runs}
                 | {r.published_by_id for r in runs} | {a.student_id for a in assignments}
                 | {r.student_id for r in responses} | in_records) - set(email_of) - {None}
    others = session.execute(select(User.id, User.email, User.name)
                             .where(User.id.in_(sorted(mentioned))).order_by(User.email)).all() if mentioned else []
    email_of.update({u.id: u.email for u in others})
    project_key = {p.id: f"p{i}" for i, p in enumerate(projects, 1)}
    run_key = {r.id: f"r{i}" for i, r in enumerate(runs, 1)}

    def project_ref(pid: int | None) -> str | None:
        if pid is None:
            return None
        if pid not in project_key:
            raise Invalid("A run of this cohort is assigned to another cohort's project; the backup cannot name it.")
        return project_key[pid]

    preferences: dict[str, list[str]] = {}
    for student_id, project_id in prefs:
        preferences.setdefault(email_of[student_id], []).append(project_key[project_id])
    by_run: dict[int, list] = defaultdict(list)
    for a in assignments:
        by_run[a.run_id].append([email_of[a.student_id], project_ref(a.project_id), a.rank, a.pinned, a.manual])
    answers: dict[int, list] = defaultdict(list)
    for r in responses:
        answers[r.run_id].append([email_of[r.student_id], r.accepted, r.reason or "", _iso(r.responded_at)])

    settings = {f: getattr(cohort, f) for f in SETTINGS}
    for f in DATE_SETTINGS:
        settings[f] = _iso(settings[f]) or None
    return {
        "format": BACKUP_FORMAT,
        "version": BACKUP_VERSION,
        "exported_at": utcnow().isoformat(),
        "cohort": {"name": cohort.name, "created_at": _iso(cohort.created_at), "settings": settings},
        "people": [dict(email=m.email, name=m.name, role=m.role, max_load=m.max_load,
                        joined_at=_iso(m.created_at), preferences_saved_at=_iso(m.preferences_saved_at) or None)
                   for m in members],
        "other_people": [dict(email=u.email, name=u.name) for u in others],
        "projects": [dict(key=project_key[p.id], code=p.code, title=p.title, description=p.description or "",
                          capacity=p.capacity, min_students=p.min_students,
                          supervisor=email_of.get(p.supervisor_id), tags=list(p.tags or []), status=p.status,
                          reject_reason=p.reject_reason, created_at=_iso(p.created_at),
                          updated_at=_iso(p.updated_at)) for p in projects],
        "preferences": dict(sorted(preferences.items())),
        "runs": [dict(key=run_key[r.id], kind=r.kind, parent=run_key.get(r.parent_run_id), label=r.label or "",
                      objective=r.objective, record=_portable(r, email_of, project_key), status=r.status,
                      solver=r.solver or "",
                      seconds=r.seconds, cost=r.cost, profile=list(r.profile or []), message=r.message or "",
                      created_at=_iso(r.created_at), created_by=email_of.get(r.created_by_id),
                      published_at=_iso(r.published_at) or None, published_by=email_of.get(r.published_by_id),
                      assignment_columns=ASSIGNMENT_COLUMNS, assignments=sorted(by_run[r.id]),
                      response_columns=RESPONSE_COLUMNS, responses=sorted(answers[r.id]))
                 for r in runs],
    }


def _portable(run: AllocationRun, email_of: dict[int, str], project_key: dict[int, str]) -> dict:
    try:
        return run_record.portable(run.record, email_of=email_of, project_ref=project_key)
    except run_record.DamagedRecord as err:
        raise Invalid(f"Run #{run.id} cannot be backed up: {err}.") from None


def backup_cohort(session: Session, *, actor: Actor, cohort_id: int) -> bytes:
    """The whole cohort as JSON bytes (see the module docstring for the format)."""
    require_admin(session, actor)
    document = _backup_document(session, cohort_id)
    record_audit(session, actor=actor, action="data.backup", cohort_id=cohort_id,
                 people=len(document["people"]), projects=len(document["projects"]), runs=len(document["runs"]))
    return io.to_json_bytes(document)


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
        return (f"Restored “{self.name}”: {self.people} people ({self.accounts_created} new accounts), "
                f"{self.projects} projects, {self.students_with_preferences} students' preferences, "
                f"{self.runs} allocation runs.")


class _Check:
    """Type and limit checks on the backup document; the first problem stops the restore with its path.
    The limits are the forms' and imports' own (their constants), so a file lets nothing in that a
    person typing could not."""

    @staticmethod
    def fail(path: str, what: str):
        raise Invalid(f"{DAMAGED}: {path} {what}. Nothing was restored.")

    def obj(self, value, path, keys: set[str] | None = None) -> dict:
        if not isinstance(value, dict):
            self.fail(path, "should be an object")
        if keys is not None:
            unknown = sorted(str(k) for k in value.keys() - keys)
            if unknown:
                self.fail(f"{path}.{unknown[0][:40]}", "is not part of a backup"
                          + (": a backup cannot grant coordinator rights" if unknown[0] == "is_admin" else ""))
        return value

    def new(self, value, seen, path):
        """`value`, once: a key already in `seen` (a set or dict) means a damaged file."""
        if value in seen:
            self.fail(path, "appears twice")
        return value

    def arr(self, value, path, *, max_len: int | None = None) -> list:
        if not isinstance(value, list):
            self.fail(path, "should be a list")
        if max_len is not None and len(value) > max_len:
            self.fail(path, f"should have at most {max_len:,} entries")
        return value

    def text(self, d, key, path, *, optional=False, max_len: int) -> str | None:
        value = d.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or len(value) > max_len:
            self.fail(f"{path}.{key}", f"should be text of at most {max_len:,} characters")
        return value

    def whole(self, d, key, path, *, optional=False, minimum: int = 0, maximum: int) -> int | None:
        value = d.get(key)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            self.fail(f"{path}.{key}", f"should be a whole number from {minimum} to {maximum:,}")
        return value

    def flag(self, d, key, path) -> bool:
        value = d.get(key)
        if not isinstance(value, bool):
            self.fail(f"{path}.{key}", "should be true or false")
        return value

    def when(self, value, path, *, optional=True) -> datetime | None:
        if value in (None, "") and optional:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            self.fail(path, "should be a date and time")
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)

    def email(self, value, path) -> str:
        if (not isinstance(value, str) or len(value) > EMAIL_MAX or not io.EMAIL_RE.fullmatch(value)
                or value != value.lower()):
            self.fail(path, "should be a lower-case email address")
        return value

    def one_of(self, value, options, path):
        if not isinstance(value, str) or value not in options:
            self.fail(path, f"should be one of {', '.join(str(o) for o in options)}")
        return value


DAMAGED = "This backup file is damaged or was edited by hand"
EMAIL_MAX = User.email.type.length
# More entries than any cohort has: a file this long was not written by a backup.
MAX_ENTRIES = 1_000_000
COHORT_KEYS = {"name", "created_at", "settings"}
PERSON_KEYS = {"email", "name", "role", "max_load", "joined_at", "preferences_saved_at"}
OTHER_PERSON_KEYS = {"email", "name"}
PROJECT_KEYS = {"key", "code", "title", "description", "capacity", "min_students", "supervisor", "tags", "status",
                "reject_reason", "created_at", "updated_at"}
RUN_KEYS = {"key", "kind", "parent", "label", "objective", "record", "status", "solver", "seconds", "cost", "profile",
            "message", "created_at", "created_by", "published_at", "published_by", "assignment_columns",
            "assignments", "response_columns", "responses"}
DOCUMENT_KEYS = {"format", "version", "exported_at", "cohort", "people", "other_people", "projects", "preferences",
                 "runs"}
MAX_SECONDS = 10**6
MAX_COST = 2**31 - 1


def _check_settings(c: _Check, settings: dict) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in DATE_SETTINGS:
        values[f] = c.when(settings.get(f), f"cohort.settings.{f}")
    values["phase_override"] = settings.get("phase_override")
    if values["phase_override"] is not None:
        c.one_of(values["phase_override"], PHASES, "cohort.settings.phase_override")
    values["max_choices"] = c.whole(settings, "max_choices", "cohort.settings", minimum=1, maximum=MAX_CHOICES_LIMIT)
    values["min_choices"] = c.whole(settings, "min_choices", "cohort.settings", maximum=values["max_choices"])
    for f in ("allow_unranked", "auto_approve", "responses_locked"):
        values[f] = c.flag(settings, f, "cohort.settings")
    values["default_objective"] = c.one_of(settings.get("default_objective"), OBJECTIVES,
                                           "cohort.settings.default_objective")
    for a, b in (("proposals_open_at", "proposals_close_at"), ("preferences_open_at", "preferences_close_at")):
        if values[a] and values[b] and values[b] < values[a]:
            c.fail(f"cohort.settings.{b}", "is before the window opens")
    return values


def _check_people(c: _Check, doc: dict) -> tuple[dict[str, dict], dict[str, dict]]:
    people: dict[str, dict] = {}
    for i, p in enumerate(c.arr(doc.get("people", []), "people", max_len=MAX_ENTRIES)):
        path = f"people[{i}]"
        c.obj(p, path, PERSON_KEYS)
        email = c.new(c.email(p.get("email"), f"{path}.email"), people, f"{path}.email")
        people[email] = dict(name=c.text(p, "name", path, max_len=io.PERSON_NAME_MAX),
                             role=c.one_of(p.get("role"), ROLES, f"{path}.role"),
                             max_load=c.whole(p, "max_load", path, optional=True, maximum=io.MAX_CAPACITY),
                             joined_at=c.when(p.get("joined_at"), f"{path}.joined_at"),
                             saved_at=c.when(p.get("preferences_saved_at"), f"{path}.preferences_saved_at"))
    others: dict[str, dict] = {}
    for i, p in enumerate(c.arr(doc.get("other_people", []), "other_people", max_len=MAX_ENTRIES)):
        path = f"other_people[{i}]"
        c.obj(p, path, OTHER_PERSON_KEYS)
        email = c.new(c.new(c.email(p.get("email"), f"{path}.email"), people, f"{path}.email"), others,
                      f"{path}.email")
        others[email] = dict(name=c.text(p, "name", path, max_len=io.PERSON_NAME_MAX))
    return people, others


def _check_projects(c: _Check, doc: dict, person) -> list[dict]:
    projects: list[dict] = []
    keys: set[str] = set()
    codes: set[str] = set()
    for i, p in enumerate(c.arr(doc.get("projects", []), "projects", max_len=MAX_ENTRIES)):
        path = f"projects[{i}]"
        c.obj(p, path, PROJECT_KEYS)
        key = c.new(c.text(p, "key", path, max_len=20), keys, f"{path}.key")
        keys.add(key)
        code = c.text(p, "code", path, optional=True, max_len=io.PROJECT_CODE_MAX)
        if code is not None:
            codes.add(c.new(code, codes, f"{path}.code"))
        title = c.text(p, "title", path, max_len=io.PROJECT_TITLE_MAX)
        if not title:
            c.fail(f"{path}.title", "is empty")
        capacity = c.whole(p, "capacity", path, maximum=io.MAX_CAPACITY)
        minimum = c.whole(p, "min_students", path, maximum=capacity)
        tags = c.arr(p.get("tags", []), f"{path}.tags")
        if not all(isinstance(t, str) for t in tags):
            c.fail(f"{path}.tags", "should be a list of text")
        if io.tag_problem(tags):
            c.fail(f"{path}.tags", f"breaks the tag limits ({io.tag_problem(tags)})")
        projects.append(dict(
            key=key, code=code, title=title, description=c.text(p, "description", path,
                                                                max_len=io.PROJECT_DESCRIPTION_MAX),
            capacity=capacity, min_students=minimum, supervisor=person(p.get("supervisor"), f"{path}.supervisor"),
            tags=tags, status=c.one_of(p.get("status"), PROJECT_STATUSES, f"{path}.status"),
            reject_reason=c.text(p, "reject_reason", path, optional=True, max_len=REJECT_REASON_MAX),
            created_at=c.when(p.get("created_at"), f"{path}.created_at") or utcnow(),
            updated_at=c.when(p.get("updated_at"), f"{path}.updated_at") or utcnow()))
    return projects


def _check_preferences(c: _Check, doc: dict, people: dict, project_keys: set[str],
                       max_choices: int) -> dict[str, list[str]]:
    preferences: dict[str, list[str]] = {}
    for email, keys in c.obj(doc.get("preferences", {}), "preferences").items():
        path = f"preferences[{email[:80]!r}]"
        if people.get(email, {}).get("role") != "student":
            c.fail(path, "is not a student of the cohort")
        c.arr(keys, path, max_len=max_choices)
        if not all(isinstance(k, str) for k in keys) or len(set(keys)) != len(keys) or not set(keys) <= project_keys:
            c.fail(path, "repeats a project or names one the file does not list")
        preferences[email] = keys
    return preferences


def _check_record(c: _Check, r: dict, path: str, known: list[str], project_keys: list[str], kind: str,
                  assignments: list) -> dict:
    """The run's record, checked by reading it as it will be stored (with stand-in ids for the people and
    projects the restore will create), and consistent with the run's assignments."""
    stand_in_user = {e: i for i, e in enumerate(known, 1)}
    stand_in_project = {k: i for i, k in enumerate(project_keys, 1)}
    try:
        record = run_record.from_json(run_record.local(r.get("record"), user_id=stand_in_user,
                                                       project_id=stand_in_project))
    except run_record.DamagedRecord as err:
        c.fail(f"{path}.record", str(err))
    students = {run_record.student_key(stand_in_user[a[0]]) for a in assignments}
    in_problem = {s.id for s in record.problem.students}
    projects = {p.id for p in record.problem.projects}
    if assignments and (students != in_problem or not {
            run_record.project_key(stand_in_project[a[1]]) for a in assignments if a[1] is not None} <= projects):
        c.fail(f"{path}.assignments", "do not match the run's record")
    if kind == "move" and record.move is None:
        c.fail(f"{path}.record", "has no move for a manual move")
    return r["record"]


def _check_runs(c: _Check, doc: dict, person, known: list[str], project_keys: list[str],
                max_choices: int) -> list[dict]:
    runs: list[dict] = []
    run_keys: set[str] = set()
    for i, r in enumerate(c.arr(doc.get("runs", []), "runs", max_len=MAX_ENTRIES)):
        path = f"runs[{i}]"
        c.obj(r, path, RUN_KEYS)
        run_keys.add(key := c.new(c.text(r, "key", path, max_len=20), run_keys, f"{path}.key"))
        if r.get("assignment_columns", ASSIGNMENT_COLUMNS) != ASSIGNMENT_COLUMNS or \
                r.get("response_columns", RESPONSE_COLUMNS) != RESPONSE_COLUMNS:
            c.fail(path, "has columns this app does not know")
        assignments, students = [], set()
        for j, a in enumerate(c.arr(r.get("assignments", []), f"{path}.assignments", max_len=MAX_ENTRIES)):
            apath = f"{path}.assignments[{j}]"
            if not isinstance(a, list) or len(a) != 5:
                c.fail(apath, "should be [student, project, rank, pinned, manual]")
            student = person(a[0], apath, optional=False)
            if a[1] is not None and a[1] not in project_keys:
                c.fail(apath, "names a project the file does not list")
            # A student with several places has one row per project (issue 16), never the same one twice.
            if (student, a[1]) in students:
                c.fail(apath, "assigns the same student twice")
            students.add((student, a[1]))
            if a[2] is not None and (isinstance(a[2], bool) or not isinstance(a[2], int)
                                     or not 1 <= a[2] <= MAX_CHOICES_LIMIT or a[1] is None):
                c.fail(apath, "has a bad rank")
            if not isinstance(a[3], bool) or not isinstance(a[4], bool):
                c.fail(apath, "has bad pinned/manual flags")
            assignments.append(a)
        answers, responders = [], set()
        for j, a in enumerate(c.arr(r.get("responses", []), f"{path}.responses", max_len=MAX_ENTRIES)):
            apath = f"{path}.responses[{j}]"
            if (not isinstance(a, list) or len(a) != 4 or not isinstance(a[1], bool) or not isinstance(a[2], str)
                    or len(a[2]) > RESPONSE_REASON_MAX):
                c.fail(apath, "should be [student, accepted, reason of at most "
                              f"{RESPONSE_REASON_MAX:,} characters, responded_at]")
            student = person(a[0], apath, optional=False)
            if student in responders:
                c.fail(apath, "answers twice for the same student")
            responders.add(student)
            answers.append((student, a[1], a[2], c.when(a[3], apath, optional=False)))
        kind = c.one_of(r.get("kind"), RUN_KINDS, f"{path}.kind")
        cost = c.whole(r, "cost", path, optional=True, maximum=MAX_COST)
        seconds = r.get("seconds", 0.0)
        if (isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds)
                or not 0 <= seconds <= MAX_SECONDS):
            c.fail(f"{path}.seconds", f"should be a number of seconds from 0 to {MAX_SECONDS:,}")
        profile = c.arr(r.get("profile", []), f"{path}.profile", max_len=max_choices + 2)
        if any(isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= len(assignments) for n in profile) \
                or sum(profile) > len(assignments):
            c.fail(f"{path}.profile", "should be counts of the run's students, one per rank")
        record = _check_record(c, r, path, known, project_keys, kind, assignments)
        runs.append(dict(
            key=key, kind=kind, parent=c.text(r, "parent", path, optional=True, max_len=20), label=c.text(r, "label", path, max_len=MAX_LABEL),
            objective=c.one_of(r.get("objective"), OBJECTIVES, f"{path}.objective"), record=record,
            status=c.one_of(r.get("status"), RUN_STATUSES, f"{path}.status"),
            solver=c.text(r, "solver", path, max_len=AllocationRun.solver.type.length), seconds=float(seconds),
            cost=cost, profile=profile, message=c.text(r, "message", path, max_len=run_record.MAX_MESSAGE),
            created_at=c.when(r.get("created_at"), f"{path}.created_at") or utcnow(),
            created_by=person(r.get("created_by"), f"{path}.created_by"),
            published_at=c.when(r.get("published_at"), f"{path}.published_at"),
            published_by=person(r.get("published_by"), f"{path}.published_by"),
            assignments=assignments, responses=answers))
    for i, r in enumerate(runs):
        if r["parent"] is not None and r["parent"] not in run_keys:
            c.fail(f"runs[{i}].parent", "names a run the file does not list")
    if sum(r["published_at"] is not None for r in runs) > 1:
        c.fail("runs", "publish more than one run")
    return runs


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
    c = _Check()
    c.obj(doc, "the file", DOCUMENT_KEYS)
    cohort_doc = c.obj(doc.get("cohort"), "cohort", COHORT_KEYS)
    settings = _check_settings(c, c.obj(cohort_doc.get("settings"), "cohort.settings", set(SETTINGS)))
    people, others = _check_people(c, doc)
    known = [*people, *others]
    known_set = set(known)

    def person(value, path, *, optional=True):
        if value is None and optional:
            return None
        if not isinstance(value, str) or value not in known_set:
            c.fail(path, "names a person the file does not list")
        return value

    projects = _check_projects(c, doc, person)
    project_keys = [p["key"] for p in projects]
    # Lists are held to the largest maximum a cohort can have: the cohort's own may have been lowered since.
    preferences = _check_preferences(c, doc, people, set(project_keys), MAX_CHOICES_LIMIT)
    runs = _check_runs(c, doc, person, known, project_keys, MAX_CHOICES_LIMIT)
    try:
        with session.begin_nested():
            result, created = _write_restore(session, name, settings, people, others, projects, preferences, runs)
    except (IntegrityError, DataError) as err:
        raise Invalid(f"{DAMAGED}: it breaks a rule of the database "
                      f"({str(err.orig).splitlines()[0][:200]}). Nothing was restored.") from None
    record_audit(session, actor=actor, action="data.restore", cohort_id=result.cohort_id, name=name,
                 source=str(cohort_doc.get("name", ""))[:200], people=result.people,
                 accounts_created=result.accounts_created, created_accounts=created, projects=result.projects,
                 runs=result.runs)
    return result


def _write_restore(session: Session, name: str, settings: dict, people: dict, others: dict, projects: list,
                   preferences: dict, runs: list) -> tuple[RestoreResult, list[str]]:
    now = utcnow()
    cohort = Cohort(name=name, **settings)
    session.add(cohort)
    session.flush()
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
    if people:
        session.execute(insert(Membership.__table__), [
            dict(cohort_id=cohort.id, user_id=ids[e], role=p["role"], max_load=p["max_load"],
                 preferences_saved_at=p["saved_at"], created_at=p["joined_at"] or now) for e, p in people.items()])
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
    run_ids: dict[str, int] = {}
    for r in runs:
        record = run_record.from_json(run_record.local(r["record"], user_id=ids, project_id=project_ids))
        run = AllocationRun(
            cohort_id=cohort.id, kind=r["kind"], created_by_id=ids.get(r["created_by"]), created_at=r["created_at"],
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
    session.flush()
    session.expire_all()
    notes = ()
    if differing:
        notes = (f"{differing} existing account(s) have a different name in the backup; they were left as they are.",)
    result = RestoreResult(cohort_id=cohort.id, name=name, people=len(people), accounts_created=len(new_users),
                           projects=len(projects), students_with_preferences=len(preferences), runs=len(runs),
                           notes=notes)
    return result, [u["email"] for u in new_users]
