"""Adjusting by hand: moving one student, or restoring an older run, each as a new derived run."""
from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator import engine
from allocator.domain import RUN_LABEL_MAX, Objective, RunKind, RunStatus
from allocator.models import (
    AllocationRun,
    Assignment,
)
from allocator.services.access import Actor, require_admin
from allocator.services.allocation.common import (
    clean_label,
    clean_reason,
    cohort_names,
    humanise,
    run_of,
    stored_record,
)
from allocator.services.allocation.problem import db_ranks, derived_problem, ranks_and_profile
from allocator.services.allocation.runs import store_run
from allocator.services.allocation.views import RunView, run_query, view_of
from allocator.services.audit import record_audit
from allocator.services.errors import Invalid, NotFound
from allocator.services.run_record import (
    Move,
    project_key,
    project_of,
    student_key,
)

__all__ = ["move_student", "restore_run"]


def _title(names: Mapping[str, str], project_id: int | None) -> str:
    """A project's name in a move's sentences ("unplaced" for none)."""
    return names.get(project_key(project_id), f"#{project_id}") if project_id is not None else "unplaced"


def _refuse_a_move_against_the_rules(problem: engine.Problem, names: Mapping[str, str],
                                     placed: list[tuple[int, int | None]], student_id: int,
                                     project_id: int | None) -> None:
    """Raise Invalid, in words, when moving the student (placed as in `placed`, (student id, project
    id) per row) to `project_id` breaks one of the run's rules: a project or supervisor over capacity, a
    forbidden pair, a project left below its minimum."""
    sid = student_key(student_id)
    who = names.get(sid, "This student")
    projects = {project_of(p.id): p for p in problem.projects}
    if project_id is not None and project_id not in projects:
        raise Invalid("That project is not one of this run's projects.")
    old = next(p for s, p in placed if s == student_id)
    if old == project_id:
        raise Invalid(f"{who} is already on {_title(names, project_id)} in this run." if project_id is not None
                      else f"{who} is already unplaced in this run.")
    after = Counter(p for _, p in placed if p is not None)
    if old is not None:
        after[old] -= 1
    if project_id is not None:
        after[project_id] += 1
        target = projects[project_id]
        if (sid, target.id) in problem.forbidden:
            raise Invalid(f"{_title(names, project_id)} is forbidden for {who} in this run.")
        if after[project_id] > target.capacity:
            raise Invalid(f"{_title(names, project_id)} is full: its capacity in this run is "
                          f"{target.capacity}. Move someone out first, or run again with a higher capacity.")
        caps = {v.id: v.capacity for v in problem.supervisors}
        if target.supervisor in caps:
            sup = target.supervisor
            load = sum(n for p, n in after.items() if projects[p].supervisor == sup)
            if load > caps[sup]:
                raise Invalid(f"{names.get(sup, sup)} would supervise {load} students, above their capacity of "
                              f"{caps[sup]} in this run.")
    for pid in sorted({p for p in (old, project_id) if p is not None}):
        minimum = projects[pid].min_students
        if 0 < after[pid] < minimum:
            raise Invalid(f"{_title(names, pid)} needs at least {minimum} students or none; this move would "
                          f"leave it with {after[pid]}. Move the others too, or run again with a lower minimum.")


def _refuse_a_move_of_several(problem: engine.Problem, who: str, sid: str) -> None:
    """A group is placed whole and a student with several places has several rows: neither is moved alone."""
    if any(sid in g.members for g in problem.groups):
        raise Invalid(f"{who} is in a group, which is placed together: moving one member would split it. "
                      "Run again with pins or forbids instead.")
    if any(s.id == sid and s.places > 1 for s in problem.students):
        raise Invalid(f"{who} has several places, and a move changes one place only for now: run again with "
                      "pins or forbids instead.")


def _placement_of(rows: list[tuple]) -> dict[str, str | list[str] | None]:
    """Student key -> project key, a list of keys for a student with several rows, None when unplaced."""
    out: dict[str, list[str]] = {}
    for s, p, *_ in rows:
        out.setdefault(student_key(s), [])
        if p is not None:
            out[student_key(s)].append(project_key(p))
    return {s: (ps[0] if len(ps) == 1 else ps) if ps else None for s, ps in out.items()}


def move_student(session: Session, *, actor: Actor, run_id: int, student_id: int, project_id: int | None,
                 reason: str = "") -> RunView:
    """Move one student (to another project, or to unplaced) in a new run derived from `run_id`.

    Refused when the project is full (this run's capacity, overrides included) or its supervisor is, when
    the pair is forbidden in this run, or when the move would leave a project running below its minimum;
    and for a group member or a student with several places (see `_refuse_a_move_of_several`).
    Nothing is changed in the old run. Moving a pinned student overrides their pin in the new run; a
    project they did not rank is allowed by hand and counted as unranked.
    """
    require_admin(session, actor)
    run = run_of(session, run_id)
    reason = clean_reason(reason)
    if run.status == RunStatus.INFEASIBLE:
        raise Invalid("This run has no allocation to adjust; change its settings and run again.")
    stored = stored_record(session, run)
    problem = stored.problem
    names = cohort_names(session, run.cohort_id)
    old_rows = session.execute(
        select(Assignment.student_id, Assignment.project_id, Assignment.rank, Assignment.pinned, Assignment.manual)
        .where(Assignment.run_id == run.id).order_by(Assignment.id)).all()
    mine = [row for row in old_rows if row[0] == student_id]
    if not mine:
        raise NotFound("That student is not in this run.")
    sid = student_key(student_id)
    who = names.get(sid, "This student")
    _refuse_a_move_of_several(problem, who, sid)
    old = mine[0][1]
    _refuse_a_move_against_the_rules(problem, names, [(s, p) for s, p, *_ in old_rows], student_id, project_id)
    # The new run's rules: the old run's, minus this student's pin, plus unranked if the move needs it.
    prefs = next((s.preferences for s in problem.students if s.id == sid), ())
    unranked = project_id is not None and project_key(project_id) not in prefs
    effective = derived_problem(problem, unpin=sid, allow_unranked=unranked)
    placement = _placement_of(old_rows)
    placement[sid] = None if project_id is None else project_key(project_id)
    weights = list(stored.settings.weights) if run.objective == Objective.WEIGHTED and stored.settings.weights else None
    profile, cost = ranks_and_profile(effective, placement, run.objective, weights)
    result = engine.Result(
        status=RunStatus.FEASIBLE, objective=run.objective, assignment={s: p for s, p in placement.items() if p},
        unassigned=[s for s, p in placement.items() if p is None], profile=profile, cost=cost, seconds=0.0,
        solver="manual", weights=weights)
    problems = engine.validate(effective, result)
    if problems:
        raise Invalid("This move breaks a rule of the run: " + humanise(problems[0], names) + ".")
    rank = None
    if project_id is not None:
        rank = db_ranks(session, run.cohort_id, [student_id]).get((student_id, project_id))
    rows = [dict(student_id=s, project_id=p, rank=r, pinned=pin, manual=m)
            for s, p, r, pin, m in old_rows if s != student_id]
    rows.append(dict(student_id=student_id, project_id=project_id, rank=rank, pinned=False, manual=True))
    return _store_move(session, actor, run, stored, effective, Move(student_id, old, project_id, reason),
                       who=who, names=names, cost=cost, profile=profile, rows=rows)


def _store_move(session: Session, actor: Actor, run: AllocationRun, stored, effective: engine.Problem, move: Move,
                *, who: str, names: Mapping[str, str], cost: int, profile: list[int], rows: list[dict]) -> RunView:
    old, project_id, reason = move.from_project_id, move.to_project_id, move.reason
    message = (f"Derived from run #{run.id}: moved {who} from {_title(names, old)} to {_title(names, project_id)}"
               + (f" ({reason})" if reason else "") + ".")
    label = clean_label(f"{run.label or f'Run #{run.id}'} · moved {who}"[:RUN_LABEL_MAX])
    record = dataclasses.replace(stored, problem=effective, bound={}, engine_message=message,
                                 move=move, declined=())
    new = store_run(session, actor=actor, cohort_id=run.cohort_id, kind=RunKind.MOVE, label=label, objective=run.objective,
                    record=record, status=RunStatus.FEASIBLE, solver="manual", seconds=0.0, cost=cost, profile=profile,
                    message=message, parent_run_id=run.id, rows=rows)
    record_audit(session, actor=actor, action="allocation.moved", cohort_id=run.cohort_id, run_id=new.id,
                 parent_run_id=run.id, student_id=move.student_id, from_project_id=old, to_project_id=project_id,
                 reason=reason)
    return view_of(session.execute(run_query().where(AllocationRun.id == new.id)).one())


def restore_run(session: Session, *, actor: Actor, run_id: int, label: str = "") -> RunView:
    """Bring an older run back as the newest: a copy derived from it (runs are never deleted or changed)."""
    require_admin(session, actor)
    run = run_of(session, run_id)
    if run.status == RunStatus.INFEASIBLE:
        raise Invalid("An infeasible run has no allocation to restore.")
    label = clean_label(label) or clean_label(f"Restored {run.label or f'run #{run.id}'}"[:RUN_LABEL_MAX])
    rows = [dict(student_id=s, project_id=p, rank=r, pinned=pin, manual=m) for s, p, r, pin, m in session.execute(
        select(Assignment.student_id, Assignment.project_id, Assignment.rank, Assignment.pinned, Assignment.manual)
        .where(Assignment.run_id == run.id))]
    message = f"Restored from run #{run.id}."
    record = dataclasses.replace(stored_record(session, run), engine_message=message)
    new = store_run(session, actor=actor, cohort_id=run.cohort_id, kind=RunKind.RESTORE, label=label,
                    objective=run.objective, record=record,
                    status=run.status, solver=run.solver, seconds=run.seconds, cost=run.cost, profile=list(run.profile),
                    message=message, parent_run_id=run.id, rows=rows)
    record_audit(session, actor=actor, action="allocation.restored", cohort_id=run.cohort_id, run_id=new.id,
                 restored_from=run.id)
    return view_of(session.execute(run_query().where(AllocationRun.id == new.id)).one())
