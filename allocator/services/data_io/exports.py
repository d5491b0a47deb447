"""CSV/Excel downloads of a cohort's projects, people and preferences; each file imports back."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator import io
from allocator.domain import Role
from allocator.models import Preference, Project, User
from allocator.services.access import Actor, require_admin
from allocator.services.audit import record_audit
from allocator.services.cohorts import cohort_of
from allocator.services.data_io.common import iso
from allocator.services.errors import Invalid

EXPORT_FORMATS = ("csv", "xlsx")


def _file(rows: list[dict], columns: list[str], fmt: str, sheet: str) -> bytes:
    if fmt == "csv":
        return io.to_csv_bytes(rows, columns)
    if fmt == "xlsx":
        return io.to_xlsx_bytes({sheet: rows}, {sheet: columns})
    raise Invalid(f"Unknown format “{fmt}”: use csv or xlsx.")


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
                 is_admin="yes" if m.is_admin else "", choices=m.choices if m.role == Role.STUDENT else "",
                 preferences_saved_at=iso(m.preferences_saved_at)) for m in members]
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
