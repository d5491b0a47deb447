"""Any allocation run as files: CSV per student and per project, an Excel workbook of both, and the
problem and result in the engine's JSON file format (so `python -m allocator solve` reproduces it)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator import engine, io
from allocator.domain import Objective
from allocator.models import Cohort, Project, Response, User, utcnow
from allocator.services.access import Actor, require_admin
from allocator.services.allocation.common import cohort_names, run_of, stored_record
from allocator.services.allocation.mix import groups_of
from allocator.services.allocation.reading import assignment_rows
from allocator.services.run_record import project_key, project_of, student_key, user_of
from allocator.services.audit import record_audit

__all__ = ["RunExport", "STUDENT_COLUMNS", "ROSTER_COLUMNS", "RANK_NOTES", "ANSWERS", "PLACED_BY",
           "export_run", "run_roster_rows", "run_student_rows"]

# rank_note says why `rank` is empty; answer and answer_reason are the student's reply to the published
# allocation; placed_by says whether the solver chose the placement or the coordinator did; group names
# the members of the student's group in this run (empty when alone), last so no earlier column moves.
STUDENT_COLUMNS = ("email", "name", "project_code", "project", "supervisor", "supervisor_email", "rank",
                   "rank_note", "placed_by", "answer", "answer_reason", "group")
RANK_NOTES = {"no_list": "did not submit a list", "outside": "placed outside their list",
              "unplaced": "not placed"}
ANSWERS = {True: "accepted", False: "declined", None: "none"}
PLACED_BY = {"solver": "solver", "pinned": "pinned by the coordinator", "manual": "moved by hand"}
ROSTER_COLUMNS = ("project_code", "project", "supervisor", "supervisor_email", "capacity", "minimum",
                  "allocated", "students")


@dataclass(frozen=True)
class RunExport:
    run_id: int
    stem: str  # file name without extension, e.g. "allocation-run-12"
    students_csv: bytes
    roster_csv: bytes
    xlsx: bytes
    problem_json: bytes
    result_json: bytes


def _rank_note(row, submitted: bool) -> str:
    if row.rank is not None:
        return ""
    if row.project_id is None:
        return RANK_NOTES["unplaced"]
    return RANK_NOTES["outside"] if submitted else RANK_NOTES["no_list"]


def _placed_by(row) -> str:
    if row.project_id is None:
        return ""
    if row.manual:
        return PLACED_BY["manual"]
    return PLACED_BY["pinned"] if row.pinned else PLACED_BY["solver"]


def run_student_rows(rows, *, submitted: set[int] | frozenset[int] = frozenset(),
                     answers: dict[int, tuple[bool, str]] | None = None,
                     groups: Mapping[int, str] | None = None) -> list[dict[str, Any]]:
    """One row per student: their project and rank; why the rank is empty (`submitted` holds the students
    who ranked projects in this run's problem); who placed them; their answer (`answers`: student id ->
    (accepted, reason), from the published run) and its reason; their group's members (`groups`, as
    `allocation.groups_of`)."""
    answers, groups = answers or {}, groups or {}
    out = []
    for r in rows:
        accepted, reason = answers.get(r.student_id, (None, ""))
        out.append(dict(email=r.student_email, name=r.student_name, project_code=r.project_code or "",
                        project=r.project_title, supervisor=r.supervisor_name, supervisor_email=r.supervisor_email,
                        rank=r.rank if r.rank is not None else "",
                        rank_note=_rank_note(r, r.student_id in submitted),
                        placed_by=_placed_by(r), answer=ANSWERS[accepted], answer_reason=reason or "",
                        group=groups.get(r.student_id, "")))
    return out


def run_roster_rows(problem: engine.Problem, rows, titles: dict[int, tuple[str | None, str]],
                    supervisors: dict[int, tuple[str, str]]) -> list[dict[str, Any]]:
    """One row per project of the run, emptiest last: who supervises it, its places and its students."""
    by_project: dict[int, list] = {}
    for r in rows:
        if r.project_id is not None:
            by_project.setdefault(r.project_id, []).append(r)
    out = []
    for p in problem.projects:
        pid = project_of(p.id)
        code, title = titles.get(pid, (None, p.id))
        members = by_project.get(pid, [])
        first = members[0] if members else None
        sup_id = user_of(p.supervisor) if p.supervisor else None
        sup_name, sup_email = supervisors.get(sup_id, ("(no supervisor)", "")) if sup_id else ("(no supervisor)", "")
        if first is not None:
            sup_name, sup_email = first.supervisor_name, first.supervisor_email
        out.append(dict(project_code=code or "", project=title, supervisor=sup_name, supervisor_email=sup_email,
                        capacity=p.capacity, minimum=p.min_students, allocated=len(members),
                        students="; ".join(f"{m.student_name} <{m.student_email}>" for m in members)))
    out.sort(key=lambda d: (-d["allocated"], d["project"].casefold()))
    return out


def export_run(session: Session, *, actor: Actor, run_id: int) -> RunExport:
    """Every file of one run, built at once (a few queries whatever the size); the export is audited."""
    require_admin(session, actor)
    run = run_of(session, run_id)
    cohort = session.get(Cohort, run.cohort_id)
    stored = stored_record(session, run)
    problem = stored.problem
    rows = assignment_rows(session, run.id)
    titles = {pid: (code, title) for pid, code, title in session.execute(
        select(Project.id, Project.code, Project.title).where(Project.cohort_id == run.cohort_id))}
    sup_ids = {user_of(p.supervisor) for p in problem.projects if p.supervisor}
    supervisors = {uid: (name, email) for uid, name, email in session.execute(
        select(User.id, User.name, User.email).where(User.id.in_(sorted(sup_ids))))} if sup_ids else {}
    submitted = {user_of(st.id) for st in problem.students if st.preferences}
    answers = {sid: (accepted, reason) for sid, accepted, reason in session.execute(
        select(Response.student_id, Response.accepted, Response.reason).where(Response.run_id == run.id))}
    names = cohort_names(session, run.cohort_id)
    grouped = groups_of(([user_of(m) for m in g.members] for g in problem.groups), names)
    students = run_student_rows(rows, submitted=submitted, answers=answers, groups=grouped)
    roster = run_roster_rows(problem, rows, titles, supervisors)
    settings = stored.settings
    placed = {student_key(r.student_id): project_key(r.project_id) for r in rows if r.project_id is not None}
    result = {
        "status": run.status, "objective": run.objective, "assignment": placed,
        "unassigned": [s.id for s in problem.students if s.id not in placed],
        "profile": list(run.profile) if run.profile else [0] * (problem.k + 1), "cost": run.cost or 0,
        "seconds": run.seconds, "solver": run.solver, "message": stored.engine_message,
        "bound": dict(stored.bound), "seed": settings.seed,
        "weights": list(settings.weights) if run.objective == Objective.WEIGHTED and settings.weights else None,
    }
    # The result must read back against the problem, as the CLI would read it.
    engine.parse_result(result, problem)
    problem_dict = engine.problem_to_dict(problem)
    problem_file = {**problem_dict, "meta": {
        "run_id": run.id, "cohort": cohort.name, "label": run.label,
        "exported_at": utcnow().isoformat(),
        "ids": "S<user id> students, P<project id> projects, L<user id> supervisors; names below",
        "names": {key: names[key] for key in _mentioned(problem) if key in names},
    }}
    stem = f"allocation-run-{run.id}"
    record_audit(session, actor=actor, action="allocation.exported", cohort_id=run.cohort_id, run_id=run.id)
    return RunExport(
        run_id=run.id, stem=stem,
        students_csv=io.to_csv_bytes(students, STUDENT_COLUMNS),
        roster_csv=io.to_csv_bytes(roster, ROSTER_COLUMNS),
        xlsx=io.to_xlsx_bytes({"Students": students, "Projects": roster},
                              {"Students": STUDENT_COLUMNS, "Projects": ROSTER_COLUMNS}),
        problem_json=io.to_json_bytes(problem_file),
        result_json=io.to_json_bytes(result),
    )


def _mentioned(problem: engine.Problem) -> list[str]:
    keys = [p.id for p in problem.projects] + [v.id for v in problem.supervisors]
    keys += [p.supervisor for p in problem.projects if p.supervisor]
    return list(dict.fromkeys(keys))
