"""The cohort backup: the whole cohort as one JSON document, with no database id in it (see the package
docstring for the format)."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator import io
from allocator.models import AllocationRun, Assignment, Membership, Preference, Project, Response, User, utcnow
from allocator.services import run_record
from allocator.services.access import Actor, require_admin
from allocator.services.audit import record_audit
from allocator.services.cohorts import cohort_of
from allocator.services.data_io.backup_groups import GROUP_SETTINGS, backup_groups, group_people
from allocator.services.data_io.common import iso
from allocator.services.errors import Invalid

BACKUP_FORMAT = "project-allocator-cohort-backup"
BACKUP_VERSION = 2


SETTINGS = ("proposals_open_at", "proposals_close_at", "preferences_open_at", "preferences_close_at", "phase_override",
            "min_choices", "max_choices", "allow_unranked", "default_objective", "auto_approve", "responses_locked")
DATE_SETTINGS = SETTINGS[:4]
ASSIGNMENT_COLUMNS = ["student", "project", "rank", "pinned", "manual"]
RESPONSE_COLUMNS = ["student", "accepted", "reason", "responded_at"]


class _CohortRows:
    """Everything of one cohort a backup holds, as read from the database."""

    def __init__(self, session: Session, cohort_id: int):
        self.members = session.execute(
            select(User.id, User.email, User.name, User.is_admin, Membership.role, Membership.max_load,
                   Membership.places, Membership.tier, Membership.preferences_saved_at, Membership.created_at)
            .join(Membership, Membership.user_id == User.id).where(Membership.cohort_id == cohort_id)
            .order_by(User.email)).all()
        self.projects = session.scalars(select(Project).where(Project.cohort_id == cohort_id)
                                        .order_by(Project.id)).all()
        self.runs = session.scalars(select(AllocationRun).where(AllocationRun.cohort_id == cohort_id)
                                    .order_by(AllocationRun.id)).all()
        self.assignments = session.execute(
            select(Assignment.run_id, Assignment.student_id, Assignment.project_id, Assignment.rank,
                   Assignment.pinned, Assignment.manual).join(AllocationRun, AllocationRun.id == Assignment.run_id)
            .where(AllocationRun.cohort_id == cohort_id)).all()
        self.responses = session.execute(
            select(Response.run_id, Response.student_id, Response.accepted, Response.reason, Response.responded_at)
            .join(AllocationRun, AllocationRun.id == Response.run_id)
            .where(AllocationRun.cohort_id == cohort_id)).all()
        self.preferences = session.execute(
            select(Preference.student_id, Preference.project_id).where(Preference.cohort_id == cohort_id)
            .order_by(Preference.student_id, Preference.rank)).all()


def _other_people(session: Session, rows: _CohortRows, email_of: dict[int, str], in_groups: set[int]) -> list:
    """People the cohort mentions who are not in it: supervisors, run authors, students of past runs,
    people its groups' history or lists name."""
    in_records: set[int] = set()
    for r in rows.runs:
        try:
            in_records |= run_record.people_in(r.record)
        except run_record.DamagedRecord as err:
            raise Invalid(f"Run #{r.id} cannot be read ({err}), so the cohort cannot be backed up.") from None
    mentioned = ({p.supervisor_id for p in rows.projects} | {r.created_by_id for r in rows.runs}
                 | {r.published_by_id for r in rows.runs} | {a.student_id for a in rows.assignments}
                 | {r.student_id for r in rows.responses} | in_records | in_groups) - set(email_of) - {None}
    if not mentioned:
        return []
    return session.execute(select(User.id, User.email, User.name)
                           .where(User.id.in_(sorted(mentioned))).order_by(User.email)).all()


def _runs(rows: _CohortRows, email_of: dict[int, str], project_key: dict[int, str]) -> list[dict]:
    """The runs with their assignments and answers, people by email and projects by backup key."""
    run_key = {r.id: f"r{i}" for i, r in enumerate(rows.runs, 1)}

    def project_ref(pid: int | None) -> str | None:
        if pid is None:
            return None
        if pid not in project_key:
            raise Invalid("A run of this cohort is assigned to another cohort's project; the backup cannot name it.")
        return project_key[pid]

    by_run: dict[int, list] = defaultdict(list)
    for a in rows.assignments:
        by_run[a.run_id].append([email_of[a.student_id], project_ref(a.project_id), a.rank, a.pinned, a.manual])
    answers: dict[int, list] = defaultdict(list)
    for r in rows.responses:
        answers[r.run_id].append([email_of[r.student_id], r.accepted, r.reason or "", iso(r.responded_at)])
    return [dict(key=run_key[r.id], kind=r.kind, parent=run_key.get(r.parent_run_id), label=r.label or "",
                 objective=r.objective, record=_portable(r, email_of, project_key), status=r.status,
                 solver=r.solver or "",
                 seconds=r.seconds, cost=r.cost, profile=list(r.profile or []), message=r.message or "",
                 created_at=iso(r.created_at), created_by=email_of.get(r.created_by_id),
                 published_at=iso(r.published_at) or None, published_by=email_of.get(r.published_by_id),
                 assignment_columns=ASSIGNMENT_COLUMNS, assignments=sorted(by_run[r.id]),
                 response_columns=RESPONSE_COLUMNS, responses=sorted(answers[r.id]))
            for r in rows.runs]


def _backup_document(session: Session, cohort_id: int) -> dict:
    cohort = cohort_of(session, cohort_id)
    rows = _CohortRows(session, cohort_id)
    email_of = {m.id: m.email for m in rows.members}
    others = _other_people(session, rows, email_of, group_people(session, cohort_id))
    email_of.update({u.id: u.email for u in others})
    project_key = {p.id: f"p{i}" for i, p in enumerate(rows.projects, 1)}
    preferences: dict[str, list[str]] = {}
    for student_id, project_id in rows.preferences:
        preferences.setdefault(email_of[student_id], []).append(project_key[project_id])
    settings = {f: getattr(cohort, f) for f in (*SETTINGS, *GROUP_SETTINGS)}
    for f in DATE_SETTINGS:
        settings[f] = iso(settings[f]) or None
    return {
        "format": BACKUP_FORMAT,
        "version": BACKUP_VERSION,
        "exported_at": utcnow().isoformat(),
        "cohort": {"name": cohort.name, "created_at": iso(cohort.created_at), "settings": settings},
        "people": [dict(email=m.email, name=m.name, role=m.role, max_load=m.max_load, places=m.places, tier=m.tier,
                        joined_at=iso(m.created_at), preferences_saved_at=iso(m.preferences_saved_at) or None)
                   for m in rows.members],
        "other_people": [dict(email=u.email, name=u.name) for u in others],
        "projects": [dict(key=project_key[p.id], code=p.code, title=p.title, description=p.description or "",
                          capacity=p.capacity, min_students=p.min_students,
                          supervisor=email_of.get(p.supervisor_id), tags=list(p.tags or []), status=p.status,
                          reject_reason=p.reject_reason, created_at=iso(p.created_at),
                          updated_at=iso(p.updated_at)) for p in rows.projects],
        "preferences": dict(sorted(preferences.items())),
        "runs": _runs(rows, email_of, project_key),
        "groups": backup_groups(session, cohort_id, email_of, project_key),
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
