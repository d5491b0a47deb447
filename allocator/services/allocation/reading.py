"""Reading a stored run: its assignments, the numbers behind its charts, and runs compared."""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from allocator import engine
from allocator.models import (
    AllocationRun,
    Assignment,
    Project,
    User,
)
from allocator.services.access import Actor, require_admin
from allocator.services.allocation.common import cohort_names, fetch, project_label, run_of, stored_record
from allocator.services.allocation.mix import mix_of
from allocator.services.allocation.views import (
    AssignmentRow,
    Comparison,
    DiffRow,
    ProjectDemandRow,
    ProjectFillRow,
    RunCharts,
    RunView,
    SupervisorLoadRow,
    get_view,
    headline_of,
    run_query,
    view_of,
)
from allocator.services.errors import Invalid, NotFound
from allocator.services.run_record import (
    project_key,
    project_of,
    student_key,
    user_of,
)

__all__ = ["charts_of", "compare_runs", "run_assignments", "run_charts"]


def _assignment_query(run_id: int):
    student, supervisor = aliased(User), aliased(User)
    return (select(Assignment.student_id, student.email, student.name, Assignment.project_id, Project.code,
                   Project.title, Project.supervisor_id, supervisor.name, supervisor.email, Assignment.rank,
                   Assignment.pinned, Assignment.manual)
            .join(student, student.id == Assignment.student_id)
            .outerjoin(Project, Project.id == Assignment.project_id)
            .outerjoin(supervisor, supervisor.id == Project.supervisor_id)
            .where(Assignment.run_id == run_id)
            .order_by(student.name, student.id))


def assignment_rows(session: Session, run_id: int) -> list[AssignmentRow]:
    """The run's assignments as rows, by student name; no role check (callers make it)."""
    return [
        AssignmentRow(sid, email, name, pid, code, title or "", sup_id,
                      (sup_name or "(no supervisor)") if pid else "", sup_email or "", rank, pinned, manual)
        for sid, email, name, pid, code, title, sup_id, sup_name, sup_email, rank, pinned, manual
        in fetch(session, _assignment_query(run_id))
    ]


def run_assignments(session: Session, *, actor: Actor, run_id: int) -> list[AssignmentRow]:
    """One row per student of the run, by name: their project, supervisor and rank (one query)."""
    require_admin(session, actor)
    run_of(session, run_id)
    return assignment_rows(session, run_id)


def run_charts(session: Session, *, actor: Actor, run_id: int) -> RunCharts:
    """The numbers behind the See tab's charts, from the stored run and the problem it solved: project
    fill against this run's capacities and minimums, supervisor loads, demand against capacity, and its
    mix of groups, places and tiers (as `run_mix`; one read of the record serves both)."""
    require_admin(session, actor)
    run = run_of(session, run_id)
    stored = stored_record(session, run)
    names = cohort_names(session, run.cohort_id)
    placements = fetch(session, select(Assignment.student_id, Assignment.project_id)
                       .where(Assignment.run_id == run_id, Assignment.project_id.is_not(None)))
    return charts_of(get_view(session, run, stored, names), stored.problem, names, placements)


def charts_of(view: RunView, problem: engine.Problem, names: Mapping[str, str],
              placements: Iterable[tuple[int, int]]) -> RunCharts:
    """`run_charts` of a run from its view, its problem, the names of its keys and its (student id,
    project id) placements: read back by `run_charts`, or kept from storing it by `run_allocation_charted`."""
    placed: Counter[int] = Counter()
    projects_of: dict[str, list[str]] = defaultdict(list)
    for sid, pid in placements:
        placed[pid] += 1
        projects_of[student_key(sid)].append(project_key(pid))
    first: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    for s in problem.students:
        if s.preferences:
            first[s.preferences[0]] += 1
        anywhere.update(s.preferences)
    fill, demand = [], []
    load: Counter[str | None] = Counter()
    for p in problem.projects:
        pid = project_of(p.id)
        title = names.get(p.id, p.id)
        fill.append(ProjectFillRow(pid, title, placed[pid], p.capacity, p.min_students))
        demand.append(ProjectDemandRow(pid, title, first[p.id], anywhere[p.id], p.capacity))
        load[p.supervisor] += placed[pid]
    # Only supervisors with a maximum load are listed in a problem; the others have no limit.
    caps = {v.id: v.capacity for v in problem.supervisors}
    supervisors = [
        SupervisorLoadRow(user_of(v) if v else None, names.get(v, v) if v else "(no supervisor)", n, caps.get(v))
        for v, n in load.items()
    ]
    return RunCharts(run=view, headline=headline_of(view.profile, view.students, view.placed), project_fill=tuple(fill),
                     supervisor_load=tuple(supervisors), demand=tuple(demand), mix=mix_of(problem, projects_of))


def compare_runs(session: Session, *, actor: Actor, run_ids: Iterable[int]) -> Comparison:
    """Two or more runs of one cohort side by side, and every student whose project differs."""
    require_admin(session, actor)
    ids = list(dict.fromkeys(int(r) for r in run_ids))
    if len(ids) < 2:
        raise Invalid("Pick at least two runs to compare.")
    rows = {row[0]: row for row in session.execute(run_query().where(AllocationRun.id.in_(ids)))}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise NotFound(f"Run #{missing[0]} does not exist.")
    if len({rows[i][1] for i in ids}) > 1:
        raise Invalid("Only runs of the same cohort can be compared.")
    views = tuple(view_of(rows[i]) for i in ids)
    student = aliased(User)
    found: dict[int, dict[int, tuple[int | None, int | None]]] = {}
    people: dict[int, tuple[str, str]] = {}
    titles: dict[int, str] = {}
    for run_id, sid, name, email, pid, code, title, rank in session.execute(
            select(Assignment.run_id, Assignment.student_id, student.name, student.email, Assignment.project_id,
                   Project.code, Project.title, Assignment.rank)
            .join(student, student.id == Assignment.student_id)
            .outerjoin(Project, Project.id == Assignment.project_id)
            .where(Assignment.run_id.in_(ids))):
        found.setdefault(sid, {})[run_id] = (pid, rank)
        people[sid] = (name, email)
        if pid is not None:
            titles[pid] = project_label(code, title)

    def shown(run: RunView, sid: int) -> str:
        if not run.feasible or run.id not in found[sid]:
            return "—"
        pid = found[sid][run.id][0]
        return titles[pid] if pid is not None else "Unplaced"

    differences = []
    feasible = [v for v in views if v.feasible]
    for sid, per_run in found.items():
        if len({per_run.get(v.id, ("absent",))[0] for v in feasible}) > 1:
            differences.append(DiffRow(sid, *people[sid], projects=tuple(shown(v, sid) for v in views),
                                       ranks=tuple(per_run.get(v.id, (None, None))[1] for v in views)))
    differences.sort(key=lambda d: (d.name.casefold(), d.student_id))
    return Comparison(runs=views, headlines=tuple(headline_of(v.profile, v.students, v.placed) for v in views),
                      differences=tuple(differences))
