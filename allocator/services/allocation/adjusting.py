"""Adjusting by hand: moving one student, or restoring an older run, each as a new derived run."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
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
    user_of,
)

__all__ = ["MoveChoice", "move_choices", "move_student", "restore_run"]


def _title(names: Mapping[str, str], project_id: int | None) -> str:
    """A project's name in a move's sentences ("unplaced" for none)."""
    return names.get(project_key(project_id), f"#{project_id}") if project_id is not None else "unplaced"


@dataclass(frozen=True)
class _Mover:
    """Who one move takes along: a student, or their whole group (placed together, so moved together),
    from one of their placements (`old`, a project id; None is unplaced or, with several places, a free
    place) to another."""

    ids: tuple[int, ...]  # user ids
    keys: tuple[str, ...]  # their keys in the run's problem
    old: int | None
    several: bool  # a student with several places: one of their placements moves
    label: str  # in the run's message: "Ann", or "Ann's group of 3 (Ann, Bo, Cy)"


def _mover_of(problem: engine.Problem, names: Mapping[str, str], rows: list[tuple], student_id: int,
              from_project_id: int | None, strict: bool = True) -> _Mover:
    """The students a move of `student_id` takes along, and which placement it changes (`strict`:
    refuse a placement that is not theirs, or none named when all their places are taken)."""
    sid = student_key(student_id)
    who = names.get(sid, "This student")
    theirs = [p for s, p, *_ in rows if s == student_id and p is not None]
    group = next((g for g in problem.groups if sid in g.members), None)
    if group is not None:
        members = tuple(sorted(group.members, key=lambda k: (k != sid, names.get(k, k))))
        label = f"{who}'s group of {len(members)} ({', '.join(names.get(k, k) for k in members)})"
        return _Mover(tuple(user_of(k) for k in members), members, next(iter(theirs), None), False, label)
    places = next((s.places for s in problem.students if s.id == sid), 1)
    if places == 1:
        return _Mover((student_id,), (sid,), next(iter(theirs), None), False, who)
    if strict and from_project_id is not None and from_project_id not in theirs:
        raise Invalid(f"{who} has no place on {_title(names, from_project_id)} in this run.")
    if strict and from_project_id is None and len(theirs) >= places:
        raise Invalid(f"{who} has {len(theirs)} places in this run: say which one to move.")
    return _Mover((student_id,), (sid,), from_project_id, True, who)


@dataclass(frozen=True)
class MoveChoice:
    """What a move of one student in a run would take along, for the form that asks for it."""

    group: tuple[str, ...]  # the names of their group, them first; () when they are not in one
    places: int  # how many projects they may have in this run
    projects: tuple[int, ...]  # the projects they have in this run, in the order they were stored


def move_choices(session: Session, *, actor: Actor, run_id: int, student_id: int) -> MoveChoice:
    """Whether moving `student_id` in `run_id` moves a group, and which of their places it could move."""
    require_admin(session, actor)
    run = run_of(session, run_id)
    rows = session.execute(select(Assignment.student_id, Assignment.project_id).where(
        Assignment.run_id == run.id, Assignment.student_id == student_id).order_by(Assignment.id)).all()
    if not rows:
        raise NotFound("That student is not in this run.")
    problem = stored_record(session, run).problem
    names = cohort_names(session, run.cohort_id)
    mover = _mover_of(problem, names, rows, student_id, None, strict=False)
    group = tuple(names.get(k, k) for k in mover.keys) if len(mover.keys) > 1 else ()
    places = next((s.places for s in problem.students if s.id == mover.keys[0]), 1)
    return MoveChoice(group, places, tuple(p for _, p in rows if p is not None))


def _refuse_a_move_against_the_rules(problem: engine.Problem, names: Mapping[str, str],
                                     placed: list[tuple[int, int | None]], mover: _Mover,
                                     project_id: int | None) -> None:
    """Raise Invalid, in words, when moving `mover` (everyone placed as in `placed`, (student id,
    project id) per row) to `project_id` breaks one of the run's rules: a project or supervisor over
    capacity, a forbidden pair, a project left below its minimum, a student twice on one project."""
    who = mover.label
    projects = {project_of(p.id): p for p in problem.projects}
    if project_id is not None and project_id not in projects:
        raise Invalid("That project is not one of this run's projects.")
    old = mover.old
    if old == project_id:
        raise Invalid(f"{who} is already on {_title(names, project_id)} in this run." if project_id is not None
                      else f"{who} is already unplaced in this run.")
    if mover.several and (mover.ids[0], project_id) in placed:
        raise Invalid(f"{who} already has a place on {_title(names, project_id)} in this run.")
    n = len(mover.ids)
    after = Counter(p for _, p in placed if p is not None)
    if old is not None:
        after[old] -= n
    if project_id is not None:
        after[project_id] += n
        target = projects[project_id]
        barred = [k for k in mover.keys if (k, target.id) in problem.forbidden]
        if barred:
            raise Invalid(f"{_title(names, project_id)} is forbidden for {names.get(barred[0], barred[0])} in this run.")
        if after[project_id] > target.capacity:
            room = target.capacity - (after[project_id] - n)
            raise Invalid((f"{_title(names, project_id)} is full: its capacity in this run is {target.capacity}. "
                           if n == 1 else f"{_title(names, project_id)} has room for {room} more (capacity "
                           f"{target.capacity} in this run) and {who} needs {n} places together. ")
                          + "Move someone out first, or run again with a higher capacity.")
        caps = {v.id: v.capacity for v in problem.supervisors}
        if target.supervisor in caps:
            sup = target.supervisor
            load = sum(k for p, k in after.items() if projects[p].supervisor == sup)
            if load > caps[sup]:
                raise Invalid(f"{names.get(sup, sup)} would supervise {load} students, above their capacity of "
                              f"{caps[sup]} in this run.")
    for pid in sorted({p for p in (old, project_id) if p is not None}):
        minimum = projects[pid].min_students
        if 0 < after[pid] < minimum:
            raise Invalid(f"{_title(names, pid)} needs at least {minimum} students or none; this move would "
                          f"leave it with {after[pid]}. Move the others too, or run again with a lower minimum.")


def _placement_of(rows: list[tuple], several: set[str]) -> dict[str, str | list[str] | None]:
    """Student key -> project key (a list for a student with several places), None when unplaced."""
    out: dict[str, list[str]] = {}
    for s, p, *_ in rows:
        out.setdefault(student_key(s), [])
        if p is not None:
            out[student_key(s)].append(project_key(p))
    return {s: (ps if s in several else ps[0]) if ps else None for s, ps in out.items()}


def _moved_rows(rows: list[tuple], mover: _Mover, project_id: int | None,
                ranks: Mapping[tuple[int, int], int]) -> list[dict]:
    """The new run's rows: everyone else's as they were; the movers' `old` row now on `project_id`, set
    by hand (a student with several places keeps their other rows, and one with none left gets an
    unplaced row)."""
    out = [dict(student_id=s, project_id=p, rank=r, pinned=pin, manual=m)
           for s, p, r, pin, m in rows if s not in mover.ids]
    for uid in mover.ids:
        kept = [dict(student_id=s, project_id=p, rank=r, pinned=pin, manual=m) for s, p, r, pin, m in rows
                if s == uid and p is not None and p != mover.old] if mover.several else []
        if project_id is not None:
            kept.append(dict(student_id=uid, project_id=project_id, rank=ranks.get((uid, project_id)),
                             pinned=False, manual=True))
        out += kept or [dict(student_id=uid, project_id=None, rank=None, pinned=False, manual=True)]
    return out


def move_student(session: Session, *, actor: Actor, run_id: int, student_id: int, project_id: int | None,
                 reason: str = "", from_project_id: int | None = None) -> RunView:
    """Move one student (to another project, or to unplaced) in a new run derived from `run_id`.

    A group member takes their whole group along (a group is placed together). A student with several
    places moves one of them: the one on `from_project_id` (None: fill a free place). Refused when the
    project is full (this run's capacity, overrides included) or its supervisor is, when a pair is
    forbidden in this run, or when the move would leave a project running below its minimum.
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
    if not any(row[0] == student_id for row in old_rows):
        raise NotFound("That student is not in this run.")
    mover = _mover_of(problem, names, old_rows, student_id, from_project_id)
    _refuse_a_move_against_the_rules(problem, names, [(s, p) for s, p, *_ in old_rows], mover, project_id)
    # The new run's rules: the old run's, minus the movers' pins, plus unranked if the move needs it.
    target = project_key(project_id) if project_id is not None else None
    prefs = {s.id: s.preferences for s in problem.students}
    unranked = target is not None and any(target not in prefs.get(k, ()) for k in mover.keys)
    # A student with several places keeps the pins of the places that do not move.
    unpin = tuple((k, p) for k in mover.keys for p in problem.pins_of(k)
                  if not mover.several or p == _key(mover.old))
    effective = derived_problem(problem, unpin=unpin, allow_unranked=unranked)
    several = {s.id for s in problem.students if s.places > 1}
    placement = _placement_of(old_rows, several)
    rows = _moved_rows(old_rows, mover, project_id, db_ranks(session, run.cohort_id, list(mover.ids)))
    placement.update(_placement_of([(r["student_id"], r["project_id"]) for r in rows if r["student_id"] in mover.ids],
                                   several))
    weights = list(stored.settings.weights) if run.objective == Objective.WEIGHTED and stored.settings.weights else None
    profile, cost = ranks_and_profile(effective, placement, run.objective, weights)
    result = engine.Result(
        status=RunStatus.FEASIBLE, objective=run.objective, assignment={s: p for s, p in placement.items() if p},
        unassigned=[s for s, p in placement.items() if p is None], profile=profile, cost=cost, seconds=0.0,
        solver="manual", weights=weights)
    problems = engine.validate(effective, result)
    if problems:
        raise Invalid("This move breaks a rule of the run: " + humanise(problems[0], names) + ".")
    return _store_move(session, actor, run, stored, effective, Move(student_id, mover.old, project_id, reason),
                       mover=mover, names=names, cost=cost, profile=profile, rows=rows)


def _key(project_id: int | None) -> str | None:
    return project_key(project_id) if project_id is not None else None


def _store_move(session: Session, actor: Actor, run: AllocationRun, stored, effective: engine.Problem, move: Move,
                *, mover: _Mover, names: Mapping[str, str], cost: int, profile: list[int], rows: list[dict]) -> RunView:
    old, project_id, reason = move.from_project_id, move.to_project_id, move.reason
    who = mover.label
    where = "a free place" if mover.several and old is None else _title(names, old)
    message = (f"Derived from run #{run.id}: moved {who} from {where} to {_title(names, project_id)}"
               + (f" ({reason})" if reason else "") + ".")
    label = clean_label(f"{run.label or f'Run #{run.id}'} · moved {names.get(mover.keys[0], mover.keys[0])}"
                        [:RUN_LABEL_MAX])
    record = dataclasses.replace(stored, problem=effective, bound={}, engine_message=message,
                                 move=move, declined=())
    new = store_run(session, actor=actor, cohort_id=run.cohort_id, kind=RunKind.MOVE, label=label, objective=run.objective,
                    record=record, status=RunStatus.FEASIBLE, solver="manual", seconds=0.0, cost=cost, profile=profile,
                    message=message, parent_run_id=run.id, rows=rows)
    record_audit(session, actor=actor, action="allocation.moved", cohort_id=run.cohort_id, run_id=new.id,
                 parent_run_id=run.id, student_id=move.student_id, from_project_id=old, to_project_id=project_id,
                 reason=reason, **({"group": list(mover.ids)} if len(mover.ids) > 1 else {}))
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
