"""Solving and storing runs (one snapshot, two INSERTs), and listing them."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from allocator import engine
from allocator.domain import Objective, RunKind, RunStatus
from allocator.models import (
    AllocationRun,
    Assignment,
    Cohort,
    utcnow,
)
from allocator.services import run_record
from allocator.services.access import Actor, require_admin
from allocator.services.allocation.common import clean_label, cohort_of, humanise, run_of
from allocator.services.allocation.problem import RunProblem, build_run_problem, db_ranks, suggest_changes
from allocator.services.allocation.reading import charts_of
from allocator.services.allocation.views import RunCharts, RunView, get_view, run_query, view_of
from allocator.services.audit import record_audit
from allocator.services.errors import Invalid
from allocator.services.run_record import (
    RunParameters,
    RunRecord,
    check_settings,
    project_of,
    user_of,
)

__all__ = ["get_run", "list_runs", "run_allocation", "run_allocation_charted"]


def list_runs(session: Session, *, actor: Actor, cohort_id: int) -> list[RunView]:
    """Every run of the cohort, newest first (one query; the stored problems are not loaded)."""
    require_admin(session, actor)
    cohort_of(session, cohort_id)
    rows = session.execute(run_query().where(AllocationRun.cohort_id == cohort_id)
                           .order_by(AllocationRun.created_at.desc(), AllocationRun.id.desc())).all()
    return [view_of(row) for row in rows]


def get_run(session: Session, *, actor: Actor, run_id: int) -> RunView:
    """One run; an infeasible one with suggestions of what to change."""
    require_admin(session, actor)
    return get_view(session, run_of(session, run_id))


def store_run(session: Session, *, actor: Actor, cohort_id: int, kind: str, label: str, objective: str,
              record: RunRecord, status: str, solver: str, seconds: float, cost: int | None,
              profile: list[int], message: str, parent_run_id: int | None,
              rows: list[dict[str, Any]]) -> AllocationRun:
    """One run and its assignments: two INSERT statements, however many students (each of `rows` is
    given the new run's id)."""
    run = AllocationRun(cohort_id=cohort_id, kind=kind, parent_run_id=parent_run_id, created_by_id=actor.user_id,
                        label=label, objective=objective, students=record.students,
                        record=run_record.to_json(record), status=status, solver=solver, seconds=seconds, cost=cost,
                        profile=list(profile), message=message, created_at=utcnow())
    session.add(run)
    session.flush()
    if rows:
        # Core's executemany on the table: the ORM's bulk insert spent more on its per-row bookkeeping
        # than the database on the rows. Every row has the same keys, so it is one batch.
        for r in rows:
            r["run_id"] = run.id
        session.connection().execute(insert(Assignment.__table__), rows)
    return run


def assignment_rows(session: Session, cohort_id: int, problem: engine.Problem, result: engine.Result,
                    ranks: Mapping[tuple[int, int], int] | None = None) -> list[dict[str, Any]]:
    """One row per placement (a student with several places has several), one row with no project for
    a student placed nowhere; each with the rank the student gave the project (from `ranks` when the
    caller read them with the problem, else from the cohort's lists)."""
    ranks = db_ranks(session, cohort_id) if ranks is None else ranks
    rows: list[dict[str, Any]] = []
    for s in problem.students:
        uid = user_of(s.id)
        pins = problem.pins_of(s.id)
        keys = result.projects_of(s.id) or (None,)
        for key in keys:
            pid = project_of(key)
            # A pin fixes some of a student's places: only those rows are pinned when they have several.
            rows.append(dict(student_id=uid, project_id=pid, rank=ranks.get((uid, pid)) if pid else None,
                             pinned=bool(pins) and (key is None or key in pins), manual=False))
    return rows


class _Stored(NamedTuple):
    run: AllocationRun
    view: RunView
    built: RunProblem
    rows: list[dict[str, Any]]


def solve_and_store(session: Session, *, actor: Actor, cohort: Cohort, params: RunParameters, label: str,
                    kind: str, parent_run_id: int | None = None,
                    declined: Iterable[int] = ()) -> tuple[AllocationRun, RunView]:
    """Build the cohort's problem with `params`, solve it, check the answer and store the run;
    no role check (callers make it). Shared by a run and a re-run for the declined."""
    stored = _solve_and_store(session, actor=actor, cohort=cohort, params=params, label=label, kind=kind,
                              parent_run_id=parent_run_id, declined=declined)
    return stored.run, stored.view


def _solve_and_store(session: Session, *, actor: Actor, cohort: Cohort, params: RunParameters, label: str,
                     kind: str, parent_run_id: int | None, declined: Iterable[int]) -> _Stored:
    built = build_run_problem(session, cohort.id, params)
    problem, names = built.problem, built.names
    try:
        result = engine.solve(problem, objective=params.objective,
                              weights=list(params.weights) if params.objective == Objective.WEIGHTED else None,
                              seed=params.seed, time_limit=float(params.time_limit))
    except engine.BadOptions as err:
        raise Invalid(f"These settings cannot be used: {err}.") from None
    if result.status == RunStatus.UNKNOWN:
        raise Invalid(f"No allocation was found within the time limit of {params.time_limit:g} seconds, and "
                      f"none was ruled out: raise the time limit and run again.")
    problems = engine.validate(problem, result)
    if problems:  # a solver bug: never store an allocation that breaks a rule
        raise RuntimeError("the engine's allocation failed validation: " + "; ".join(problems[:5]))
    rows = (assignment_rows(session, cohort.id, problem, result, built.ranks)
            if result.status != RunStatus.INFEASIBLE else [])
    record = RunRecord(problem=problem, settings=params, bound=result.bound, engine_message=result.message,
                       declined=tuple(declined))
    run = store_run(session, actor=actor, cohort_id=cohort.id, kind=kind, label=label, objective=params.objective,
                    record=record, status=result.status, solver=result.solver, seconds=float(result.seconds),
                    cost=result.cost if result.status != RunStatus.INFEASIBLE else None, profile=result.profile,
                    message=humanise(result.message, names) if result.message else "",
                    parent_run_id=parent_run_id, rows=rows)
    suggestions = suggest_changes(problem, names) if result.status == RunStatus.INFEASIBLE else ()
    view = view_of(session.execute(run_query().where(AllocationRun.id == run.id)).one(), suggestions)
    return _Stored(run, view, built, rows)


def _audit_params(params: RunParameters) -> dict[str, Any]:
    return dict(
        objective=params.objective, weights=list(params.weights) if params.objective == Objective.WEIGHTED else None,
        allow_unranked=params.allow_unranked, seed=params.seed, time_limit=params.time_limit,
        capacity_overrides={str(k): v for k, v in params.capacity_overrides},
        minimum_overrides={str(k): v for k, v in params.minimum_overrides},
        supervisor_capacity_overrides={str(k): v for k, v in params.supervisor_capacity_overrides},
        pins=[{"student_id": s, "project_id": p, "reason": r} for s, p, r in params.pins],
        forbids=[{"student_id": s, "project_id": p, "reason": r} for s, p, r in params.forbids],
    )


def _auto_label(params: RunParameters) -> str:
    """A short name for an unnamed run, from what was tuned: 'greedy · 2 pins · seed 3'."""
    def n(count: int, noun: str) -> str:
        return f"{count} {noun}" + ("" if count == 1 else "s")

    parts = [params.objective]
    if params.objective == Objective.WEIGHTED and params.weights:
        parts[0] += " " + ",".join(str(w) for w in params.weights[:6]) + ("…" if len(params.weights) > 6 else "")
    if params.allow_unranked:
        parts.append("unranked allowed")
    changes = len(params.capacity_overrides) + len(params.minimum_overrides) + len(params.supervisor_capacity_overrides)
    if changes:
        parts.append(n(changes, "capacity change"))
    if params.pins:
        parts.append(n(len(params.pins), "pin"))
    if params.forbids:
        parts.append(n(len(params.forbids), "forbid"))
    if params.seed:
        parts.append(f"seed {params.seed}")
    return " · ".join(parts)


def one_snapshot(session: Session) -> None:
    """Make the rest of the caller's transaction read the database as of one moment.

    PostgreSQL's default, READ COMMITTED, gives every statement a fresh view: students saving while a
    run builds its problem (several statements) and then reads their ranks (another one) made the run
    store ranks from lists other than the ones it solved. REPEATABLE READ reads every statement from
    the snapshot of the transaction's first one; a run only inserts rows, so it never meets a
    serialisation failure. It can only be chosen before the transaction's first statement, which is
    how pages call the service (`ui.run_action`); SQLAlchemy warns if a caller has already queried. A
    session joined to an outer connection (the tests' rolled-back session) keeps that connection's
    level, and SQLite needs nothing: a writer holds the database from its first statement on.
    """
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def run_allocation(session: Session, *, actor: Actor, cohort_id: int, params: RunParameters,
                   label: str = "") -> RunView:
    """Solve the cohort's current preferences with `params` and store the run with every assignment.

    Runs in the caller's transaction, read as one snapshot (`one_snapshot`). An infeasible problem
    is stored too (status "infeasible", the engine's sentence in `message`, with names for ids) and its
    view carries suggestions of what to change.
    """
    return _run(session, actor=actor, cohort_id=cohort_id, params=params, label=label).view


def run_allocation_charted(session: Session, *, actor: Actor, cohort_id: int, params: RunParameters,
                           label: str = "") -> tuple[RunView, RunCharts | None]:
    """`run_allocation`, and what `run_charts` would read of the new run (None for an infeasible one),
    made from what the run has just stored instead of read back: the studio draws it straight away."""
    stored = _run(session, actor=actor, cohort_id=cohort_id, params=params, label=label)
    if not stored.view.feasible:
        return stored.view, None
    placements = [(r["student_id"], r["project_id"]) for r in stored.rows if r["project_id"] is not None]
    return stored.view, charts_of(stored.view, stored.built.problem, stored.built.names, placements)


def _run(session: Session, *, actor: Actor, cohort_id: int, params: RunParameters, label: str) -> _Stored:
    one_snapshot(session)  # before the guard's read: the level can only be set before the first statement
    require_admin(session, actor)
    cohort = cohort_of(session, cohort_id)
    params = check_settings(params)
    label = clean_label(label) or _auto_label(params)
    stored = _solve_and_store(session, actor=actor, cohort=cohort, params=params, label=label, kind=RunKind.SOLVE,
                              parent_run_id=None, declined=())
    run, view = stored.run, stored.view
    record_audit(session, actor=actor, action="allocation.run", cohort_id=cohort_id, run_id=run.id,
                 label=label, status=run.status, placed=view.placed, students=view.students,
                 **_audit_params(params))
    return stored
