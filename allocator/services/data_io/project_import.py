"""The projects import: a preview of what a CSV would add or change, then its apply in one transaction."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, aliased

from allocator import io
from allocator.domain import ProjectStatus, Role
from allocator.models import Membership, Project, User, utcnow
from allocator.services.access import Actor, require_admin
from allocator.services.audit import record_audit
from allocator.services.cohorts import cohort_of
from allocator.services.data_io.common import norm_title
from allocator.services.errors import Invalid
from allocator.services.people import read_upload, refuse_rejected, users_by_email


@dataclass
class _ProjectPlan:
    inserts: list[dict]
    updates: list[dict]


class _Existing:
    """The cohort's projects as an import matches them: by code, else by title (when it names one project)."""

    def __init__(self, session: Session, cohort_id: int):
        sup = aliased(User)
        self.rows = session.execute(
            select(Project.id, Project.code, Project.title, Project.description, Project.capacity,
                   Project.min_students, Project.supervisor_id, Project.tags, Project.status, Project.reject_reason,
                   sup.email)
            .outerjoin(sup, sup.id == Project.supervisor_id).where(Project.cohort_id == cohort_id)
            .order_by(Project.id)
        ).all()
        self.by_code = {p.code.lower(): p for p in self.rows if p.code}
        self.by_title: dict[str, list] = defaultdict(list)
        for p in self.rows:
            self.by_title[norm_title(p.title)].append(p)

    def match(self, row: io.ProjectRow):
        """(the project `row` updates or None for a new one, or the reason the row is ambiguous)."""
        if row.code:
            p = self.by_code.get(row.code.lower())
            if p is None:
                uncoded = [q for q in self.by_title.get(norm_title(row.title), []) if not q.code]
                p = uncoded[0] if len(uncoded) == 1 else None
            return p, None
        candidates = self.by_title.get(norm_title(row.title), [])
        if len(candidates) > 1:
            return None, (f"the title “{row.title}” matches {len(candidates)} projects; "
                          "add a code column to say which")
        return (candidates[0] if candidates else None), None


class _Supervisors:
    """The cohort's staff by email, and the accounts of the other supervisors a file names (for the reason)."""

    def __init__(self, session: Session, cohort_id: int, parsed: io.Parsed):
        self.staff = dict(session.execute(
            select(User.email, User.id).join(Membership, Membership.user_id == User.id)
            .where(Membership.cohort_id == cohort_id, Membership.role == Role.STAFF)).all())
        wanted = sorted({r.supervisor_email for r in parsed.rows if r.supervisor_email} - set(self.staff))
        self.accounts = users_by_email(session, wanted) if wanted else {}

    def of(self, row: io.ProjectRow, project):
        """(the supervisor id the row gives the project, or the reason it cannot)."""
        supervisor_id = project.supervisor_id if project is not None else None
        if "supervisor_email" not in row.present:
            return supervisor_id, None
        if row.supervisor_email is None:
            return None, None
        if row.supervisor_email in self.staff:
            return self.staff[row.supervisor_email], None
        why = ("is not staff in this cohort" if row.supervisor_email in self.accounts else "has no account")
        return None, f"supervisor {row.supervisor_email} {why}: add them on the People page first"


def _updated(row: io.ProjectRow, p, supervisor_id: int | None) -> dict:
    """The project's fields after the row: a column the file lacks leaves its field as it is."""
    return dict(
        code=p.code or row.code, title=row.title, capacity=row.capacity,
        min_students=row.min_students if "min_students" in row.present else p.min_students,
        description=row.description if "description" in row.present else p.description,
        supervisor_id=supervisor_id,
        tags=list(row.tags) if "tags" in row.present else list(p.tags or []),
        status=row.status or p.status,
    )


def _changes(p, new: dict, row: io.ProjectRow) -> list[str]:
    """What the preview says changes, field by field."""
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
    return notes


def _plan_projects(session: Session, cohort_id: int, parsed: io.Parsed,
                   default_status: str) -> tuple[io.ImportPreview, _ProjectPlan]:
    existing = _Existing(session, cohort_id)
    supervisors = _Supervisors(session, cohort_id, parsed)
    added, changed, unchanged, rejected = [], [], [], list(parsed.errors)
    plan = _ProjectPlan([], [])
    matched: dict[int, int] = {}
    now = utcnow()
    for row in parsed.rows:
        row: io.ProjectRow
        p, problem = existing.match(row)
        if problem is None and p is not None and p.id in matched:
            problem = f"the same project as line {matched[p.id]}"
        if problem is None:
            supervisor_id, problem = supervisors.of(row, p)
        if problem is not None:
            rejected.append(io.RowError(row.line, problem))
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
        new = _updated(row, p, supervisor_id)
        if new["min_students"] > row.capacity:
            rejected.append(io.RowError(row.line, f"capacity {row.capacity} is below the project's minimum "
                                                  f"{new['min_students']}"))
            continue
        notes = _changes(p, new, row)
        item = io.ImportItem(row.line, row.code or row.title, f"{row.title} · {row.capacity} places · "
                                                              f"{new['status']}", tuple(notes))
        if notes:
            reason = p.reject_reason if new["status"] == ProjectStatus.REJECTED else None
            plan.updates.append(dict(id=p.id, **new, reject_reason=reason, updated_at=now))
            changed.append(item)
        else:
            unchanged.append(item)
    preview = io.ImportPreview(tuple(added), tuple(changed), tuple(unchanged),
                               tuple(sorted(rejected, key=lambda e: e.line)), parsed.ignored_columns,
                               notes=("Projects are matched by code, or by title when the file has no code.",))
    return preview, plan


def _check_status(default_status: str) -> None:
    if default_status not in ProjectStatus.values():
        raise Invalid(f"Unknown project status “{default_status}”.")


def preview_projects_import(session: Session, *, actor: Actor, cohort_id: int, data: bytes,
                            default_status: str = ProjectStatus.APPROVED) -> io.ImportPreview:
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
                          valid_rows_only: bool = False, default_status: str = ProjectStatus.APPROVED) -> io.ImportResult:
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
