"""Why a student got what they got, for the coordinator and for the student, from the solve
that placed them (or that the coordinator moved them by hand)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator import engine
from allocator.domain import Objective, Role, RunKind, RunStatus
from allocator.models import (
    AllocationRun,
    Assignment,
    Membership,
)
from allocator.services.access import Actor, require_admin
from allocator.services.allocation.common import cohort_names, humanise, run_of, stored_record
from allocator.services.cohorts import published_run_id
from allocator.services.errors import Invalid, NotAllowed, NotFound
from allocator.services.run_record import (
    RunRecord,
    project_key,
    student_key,
)

__all__ = ["explain_for_student", "explain_student"]


def _explain(session: Session, run: AllocationRun, student_id: int, stored: RunRecord):
    """(project key the student got or None (their best one, with several places), its rank in their
    list or None, the engine's reasons, which speak of a group member's group)."""
    problem = stored.problem
    sid = student_key(student_id)
    prefs = next((s.preferences for s in problem.students if s.id == sid), None)
    if prefs is None:
        raise NotFound("That student is not in this run.")
    several = {s.id for s in problem.students if s.places > 1}
    placed: dict[str, list[str]] = {}
    for s, p in session.execute(select(Assignment.student_id, Assignment.project_id).where(
            Assignment.run_id == run.id, Assignment.project_id.is_not(None)).order_by(Assignment.id)):
        placed.setdefault(student_key(s), []).append(project_key(p))
    for key, got in placed.items():  # best rank first, as the engine gives them
        got.sort(key=lambda p, key=key: problem.rank(key, p))
    placement = {s: (ps if s in several else ps[0]) for s, ps in placed.items()}
    ranks = {s: ([problem.rank(s, p) for p in ps] if s in several else problem.rank(s, ps[0]))
             for s, ps in placed.items()}
    weights = list(stored.settings.weights) if run.objective == Objective.WEIGHTED and stored.settings.weights else None
    result = engine.Result(
        status=run.status, objective=run.objective, assignment=placement,
        unassigned=[s.id for s in problem.students if s.id not in placement],
        profile=list(run.profile or []), cost=run.cost or 0, seconds=run.seconds, solver=run.solver,
        weights=weights, ranks=ranks)
    got = next(iter(placed.get(sid, [])), None)
    return got, (prefs.index(got) + 1 if got in prefs else None), engine.explain(problem, result, sid)


@dataclass(frozen=True)
class _Source:
    """How a student's placement in a run was made: by the solve of `run`, or by hand (`by_hand`)."""
    run: AllocationRun
    by_hand: bool


def _placement_source(session: Session, run: AllocationRun, student_id: int) -> _Source:
    """The one place that decides how a student's placement in `run` was made.

    A row the coordinator set by hand is `manual` (a restore copies the flag). A derived run (a move, a
    restore, a re-run for the declined) leaves most students where its parent had them, and then their
    placement, and so its explanation, is the parent's: a move's own status ("feasible", solver
    "manual") says nothing about the solve that placed everyone else."""
    def rows_in(run_id: int) -> list:
        # One row per placement (several for a student with several places).
        return session.execute(select(Assignment.project_id, Assignment.manual).where(
            Assignment.run_id == run_id, Assignment.student_id == student_id)).all()

    seen: set[int] = set()
    while True:
        rows = rows_in(run.id)
        if any(row.manual for row in rows):
            return _Source(run, by_hand=True)
        seen.add(run.id)
        parent = (session.get(AllocationRun, run.parent_run_id)
                  if run.kind != RunKind.SOLVE and run.parent_run_id not in (None, *seen) else None)
        if not rows or parent is None or parent.status == RunStatus.INFEASIBLE:
            return _Source(run, by_hand=False)
        before = rows_in(parent.id)
        if not before or {r.project_id for r in before} != {r.project_id for r in rows}:
            return _Source(run, by_hand=False)
        run = parent


def _declined_key(session: Session, source: _Source, student_id: int, stored: RunRecord) -> str | None:
    """The project (key) the student declined, when the re-run for the declined placed them."""
    run = source.run
    if (source.by_hand or run.kind != RunKind.RERUN_DECLINED or run.parent_run_id is None
            or student_id not in stored.declined):
        return None
    project_id = session.scalar(select(Assignment.project_id).where(Assignment.run_id == run.parent_run_id,
                                                                   Assignment.student_id == student_id))
    key = project_key(project_id) if project_id is not None else None
    # None when the project has left the run's problem.
    return key if key is not None and any(p.id == key for p in stored.problem.projects) else None


def _reason_texts(reasons, declined: str | None) -> list[str]:
    """The engine's sentences; the project the student declined is called that, not "ruled out"."""
    # The engine writes "<project key> (your <choice>) <why>"; the choice words hold no ")".
    return [f"{r.text[:r.text.index(') ', len(r.project))]}) is the project you declined."
            if r.reason == "forbidden" and r.project == declined else r.text for r in reasons]


def _by_hand_sentence(project: str | None, *, student: bool) -> str:
    if student:
        return (f"The coordinator moved you to {project} by hand." if project is not None
                else "The coordinator took you off your project by hand.")
    return ("The coordinator moved them here by hand: no allocation weighed their choices against it."
            if project is not None else "The coordinator moved them off their project by hand.")


def explain_student(session: Session, *, actor: Actor, run_id: int, student_id: int) -> list[str]:
    """Why the student got what they got in this run, for the coordinator: their placement, then one
    sentence per project they ranked higher (in the words the student would read), from the solve that
    placed them; a student moved by hand is said to be."""
    require_admin(session, actor)
    run = run_of(session, run_id)
    if run.status == RunStatus.INFEASIBLE:
        raise Invalid("This run is infeasible: nobody was placed, so there is nothing to explain.")
    source = _placement_source(session, run, student_id)
    stored = stored_record(session, source.run)
    names = cohort_names(session, run.cohort_id)
    got, rank, reasons = _explain(session, source.run, student_id, stored)
    who = names.get(student_key(student_id), "The student")
    if got is None:
        head = f"{who} is not placed in this run."
    elif rank is None:
        head = f"{who} is placed on {names.get(got, got)}, a project they did not rank."
    else:
        head = f"{who} is placed on {names.get(got, got)}, their choice number {rank}."
    if source.by_hand:
        return [head, _by_hand_sentence(got, student=False)]
    if not reasons:
        return [head, "Nothing on their list was better: there is nothing more to explain."]
    declined = _declined_key(session, source, student_id, stored)
    return [head, *[humanise(text, names) for text in _reason_texts(reasons, declined)]]


def explain_for_student(session: Session, *, actor: Actor, cohort_id: int) -> list[str]:
    """For the signed-in student: why they did not get each project they ranked above the one they got
    in the published allocation, in plain words, or that the coordinator moved them by hand. Empty
    before publication, when they are not in the published run, or when nothing on their list was better."""
    membership = session.scalar(select(Membership).where(Membership.cohort_id == cohort_id,
                                                         Membership.user_id == actor.user_id))
    if membership is None or membership.role != Role.STUDENT:
        raise NotAllowed("Only students of this cohort can do this.")
    run_id = published_run_id(session, cohort_id)
    if run_id is None:
        return []
    source = _placement_source(session, run_of(session, run_id), actor.user_id)
    stored = stored_record(session, source.run)
    try:
        got, _, reasons = _explain(session, source.run, actor.user_id, stored)
    except NotFound:
        return []
    # A student is never shown another student's name (the engine names none; this makes sure).
    names = {k: ("you" if k == student_key(actor.user_id) else "another student") if k.startswith("S") else v
             for k, v in cohort_names(session, cohort_id).items()}
    if source.by_hand:
        return [_by_hand_sentence(names.get(got, got) if got is not None else None, student=True)]
    declined = _declined_key(session, source, actor.user_id, stored)
    return [humanise(text, names) for text in _reason_texts(reasons, declined)]
