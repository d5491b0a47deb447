"""The preferences import: students' ranked lists from a CSV (long or wide), previewed, then applied."""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from allocator import io
from allocator.domain import ProjectStatus, Role
from allocator.models import Membership, Preference, Project, User, utcnow
from allocator.services.access import Actor, require_admin
from allocator.services.audit import record_audit
from allocator.services.cohorts import cohort_of
from allocator.services.data_io.common import norm_title, short_list
from allocator.services.people import chunks, read_upload, refuse_rejected


@dataclass
class _PreferencePlan:
    students: list[int]  # whose lists are replaced
    memberships: list[int]  # their membership ids
    rows: list[dict]  # new preference rows (Core inserts: tens of thousands, no ORM bookkeeping)


class _Catalogue:
    """The cohort's projects as a preferences file names them: by code, by title, or as P<id>."""

    def __init__(self, session: Session, cohort_id: int):
        projects = session.execute(select(Project.id, Project.code, Project.title, Project.status)
                                   .where(Project.cohort_id == cohort_id).order_by(Project.id)).all()
        self.by_code = {p.code.lower(): p for p in projects if p.code}
        self.by_title: dict[str, list] = defaultdict(list)
        for p in projects:
            self.by_title[norm_title(p.title)].append(p)
        self.by_id = {p.id: p for p in projects}

    def resolve(self, ref: str):
        """(the project `ref` names, None) or (None, why it names none)."""
        p = self.by_code.get(ref.lower())
        if p is not None:
            return p, None
        candidates = self.by_title.get(norm_title(ref), [])
        if len(candidates) == 1:
            return candidates[0], None
        if len(candidates) > 1:
            return None, f"“{ref}” is the title of {len(candidates)} projects; use the project code"
        match = re.fullmatch(r"[Pp](\d+)", ref)
        if match and int(match.group(1)) in self.by_id:
            return self.by_id[int(match.group(1))], None
        return None, f"unknown project “{ref}”"

    @staticmethod
    def label(p) -> str:
        return p.code or p.title


def _current_lists(session: Session, cohort_id: int) -> dict[int, list[int]]:
    current: dict[int, list[int]] = defaultdict(list)
    for student_id, project_id in session.execute(
        select(Preference.student_id, Preference.project_id).where(Preference.cohort_id == cohort_id)
        .order_by(Preference.student_id, Preference.rank)
    ):
        current[student_id].append(project_id)
    return current


def _choices(entry: io.StudentChoices, catalogue: _Catalogue, max_choices: int) -> tuple[list, list[io.RowError]]:
    """The projects of one student's list, best first, and the problems that reject it."""
    chosen, problems, seen = [], [], {}
    for line, ref in entry.choices:
        p, problem = catalogue.resolve(ref)
        if problem:
            problems.append(io.RowError(line, problem))
        elif p.status != ProjectStatus.APPROVED:
            problems.append(io.RowError(line, f"project “{catalogue.label(p)}” is {p.status}, not approved"))
        elif p.id in seen:
            problems.append(io.RowError(line, f"“{ref}” is the same project as line {seen[p.id]} for "
                                              f"{entry.email}"))
        else:
            seen[p.id] = line
            chosen.append(p)
    if not problems and len(chosen) > max_choices:
        problems.append(io.RowError(entry.line, f"{entry.email} has {len(chosen)} choices; this cohort allows "
                                                f"at most {max_choices} (see Cohort settings)"))
    return chosen, problems


def _plan_preferences(session: Session, cohort_id: int, parsed: io.Parsed) -> tuple[io.ImportPreview, _PreferencePlan]:
    cohort = cohort_of(session, cohort_id)
    members = {email: (uid, mid, role) for email, uid, mid, role in session.execute(
        select(User.email, User.id, Membership.id, Membership.role).join(Membership, Membership.user_id == User.id)
        .where(Membership.cohort_id == cohort_id))}
    catalogue = _Catalogue(session, cohort_id)
    label = catalogue.label
    current = _current_lists(session, cohort_id)
    added, changed, unchanged, rejected = [], [], [], list(parsed.errors)
    plan = _PreferencePlan([], [], [])
    for entry in parsed.rows:
        entry: io.StudentChoices
        member = members.get(entry.email)
        if member is None or member[2] != Role.STUDENT:
            why = "is staff, not a student, in this cohort" if member else "is not a student in this cohort"
            rejected.append(io.RowError(entry.line, f"{entry.email} {why}"))
            continue
        uid, mid, _ = member
        chosen, problems = _choices(entry, catalogue, cohort.max_choices)
        if problems:
            rejected.extend(problems)
            continue
        new_ids = [p.id for p in chosen]
        old_ids = current.get(uid, [])
        description = short_list([f"{rank}. {label(p)}" for rank, p in enumerate(chosen, 1)])
        if new_ids == old_ids:
            unchanged.append(io.ImportItem(entry.line, entry.email, description))
            continue
        plan.students.append(uid)
        plan.memberships.append(mid)
        plan.rows.extend(dict(cohort_id=cohort_id, student_id=uid, project_id=pid, rank=rank)
                         for rank, pid in enumerate(new_ids, 1))
        if old_ids:
            was = short_list([label(catalogue.by_id[pid]) for pid in old_ids])
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
