"""The allocation studio: tune, run, read, compare, adjust and explain allocation runs (coordinators).

A run is immutable once stored. Its kind ("solve", "move", "restore", "rerun-declined") and its origin
(`parent_run_id`) are columns; the problem its allocation answers and the settings it was made with are
its record (`services.run_record`), which every run holds for itself, so any run can be reproduced,
charted, exported, adjusted and explained on its own, after a restore as before. A derived run's
problem is its origin's with the rules the derivation changed (a move drops the moved student's pin and
allows an unranked placement when it made one), so `engine.validate` and `engine.explain` work on it.

Keys in a problem are "S<user id>" for students, "P<project id>" for projects and "L<user id>" for
supervisors (`run_record.student_key` and friends); `problem_export.build_problem_json` writes the same.

`Assignment.rank` is the student's own rank of the project (what they are told). The run's `profile`
and `cost` are the engine's, over the problem's preference lists (which leave out projects that are no
longer approved); they only differ from the stored ranks when a ranked project was withdrawn.
"""
from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session, aliased

from allocator import config, engine
from allocator.models import (
    AllocationRun,
    Assignment,
    Cohort,
    Membership,
    Preference,
    Project,
    User,
    utcnow,
)
from allocator.services import run_record
from allocator.services.access import Actor, require_admin
from allocator.services.audit import record_audit
from allocator.services.cohorts import published_run_id
from allocator.services.errors import Invalid, NotAllowed, NotFound
from allocator.services.run_record import (
    DEFAULT_TIME_LIMIT,
    MAX_REASON,
    MAX_TIME_LIMIT,
    Move,
    RunParameters,
    RunRecord,
    check_settings,
    project_key,
    project_of,
    student_key,
    supervisor_key,
    user_of,
)

__all__ = [
    "AssignmentRow", "Comparison", "DiffRow", "Headline", "MAX_TIME_LIMIT", "ProjectDemandRow",
    "ProjectFillRow", "RunCharts", "RunParameters", "RunView", "SetupProject", "SetupStudent",
    "SetupSupervisor", "StudioSetup", "SupervisorLoadRow", "compare_runs", "default_parameters",
    "explain_for_student", "explain_student", "get_run", "headline_of", "list_runs", "move_student",
    "parse_weights", "restore_run", "run_allocation", "run_assignments", "run_charts", "studio_setup",
    "tune_parameters", "OBJECTIVE_LABELS",
]

MAX_LABEL = 200
OBJECTIVE_LABELS = {
    "generous": "Generous: nobody gets a worse choice than necessary",
    "greedy": "Greedy: as many first choices as possible, then seconds, …",
    "min-cost": "Minimum cost: the lowest sum of ranks",
    "weighted": "Weighted: the lowest sum of your weights per rank",
}
# The settings check lives with the record; the studio and the publish module call it by this name.
_checked = check_settings


# ------------------------------------------------------------------------------------------ parameters


def parse_weights(text: str) -> tuple[int, ...]:
    """'1, 2, 4, 8' as weights for ranks 1, 2, 3, 4 (and, if one more is given, unranked)."""
    parts = [p for p in re.split(r"[\s,;]+", (text or "").strip()) if p]
    if not parts:
        raise Invalid("Please give one weight per rank, for example 1, 2, 4, 8.")
    try:
        weights = tuple(int(p) for p in parts)
    except ValueError:
        raise Invalid("Weights must be whole numbers separated by commas, for example 1, 2, 4, 8.") from None
    if any(w < 0 for w in weights):
        raise Invalid("Weights cannot be negative.")
    return weights


# ------------------------------------------------------------------------------------------ read classes


@dataclass(frozen=True)
class SetupProject:
    id: int
    code: str | None
    title: str
    label: str  # "CODE · Title" when the project has a code
    capacity: int
    min_students: int
    supervisor_id: int | None
    supervisor_name: str


@dataclass(frozen=True)
class SetupStudent:
    id: int
    name: str
    email: str


@dataclass(frozen=True)
class SetupSupervisor:
    id: int
    name: str
    email: str
    max_load: int | None


@dataclass(frozen=True)
class StudioSetup:
    """What the Tune tab offers: the approved projects, the students and the supervisors of the cohort."""

    cohort_id: int
    cohort_name: str
    default_objective: str
    allow_unranked: bool
    max_choices: int
    responses_locked: bool
    email_configured: bool
    published_run_id: int | None
    projects: tuple[SetupProject, ...]
    students: tuple[SetupStudent, ...]
    supervisors: tuple[SetupSupervisor, ...]
    objective_labels: dict[str, str] = field(default_factory=lambda: dict(OBJECTIVE_LABELS))


@dataclass(frozen=True)
class Headline:
    """A run at a glance. Percentages are 0-100 of all students of the run; ranks count an unranked
    placement as k + 1 (the same definitions as `allocator.charts.headline`)."""

    students: int
    placed: int
    unplaced: int
    unranked: int
    pct_first: float
    pct_top3: float
    worst_rank: int | None
    average_rank: float | None


def headline_of(profile: Iterable[int], students: int) -> Headline:
    counts = [int(c) for c in profile]
    ranked, unranked = (counts[:-1], counts[-1]) if counts else ([], 0)
    placed = sum(counts)
    used = [r for r, c in enumerate(counts, start=1) if c]
    return Headline(
        students=students, placed=placed, unplaced=students - placed, unranked=unranked,
        pct_first=100.0 * sum(ranked[:1]) / students if students else 0.0,
        pct_top3=100.0 * sum(ranked[:3]) / students if students else 0.0,
        worst_rank=used[-1] if used else None,
        average_rank=sum(r * c for r, c in enumerate(counts, start=1)) / placed if placed else None,
    )


@dataclass(frozen=True)
class RunView:
    id: int
    cohort_id: int
    label: str
    kind: str  # "solve", "move", "restore" or "rerun-declined"
    created_at: datetime
    created_by: str
    objective: str
    status: str
    solver: str
    seconds: float
    cost: int | None
    profile: tuple[int, ...]
    message: str
    placed: int
    unplaced: int
    students: int
    parent_run_id: int | None
    published: bool
    published_at: datetime | None
    # For an infeasible run: changes that would make it solvable, in the coordinator's words.
    suggestions: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """'#12 · label' — how runs are told apart in lists and charts."""
        return f"#{self.id}" + (f" · {self.label}" if self.label else "")

    @property
    def feasible(self) -> bool:
        return self.status != "infeasible"


@dataclass(frozen=True)
class AssignmentRow:
    student_id: int
    student_email: str
    student_name: str
    project_id: int | None
    project_code: str | None
    project_title: str  # "" when unplaced
    supervisor_id: int | None
    supervisor_name: str
    supervisor_email: str
    rank: int | None  # the student's rank of the project; None when unplaced or not ranked
    pinned: bool
    manual: bool


@dataclass(frozen=True)
class ProjectFillRow:
    project_id: int
    title: str
    assigned: int
    capacity: int  # this run's capacity (overrides included)
    minimum: int


@dataclass(frozen=True)
class SupervisorLoadRow:
    supervisor_id: int | None
    name: str
    assigned: int
    capacity: int | None  # None: no limit in this run


@dataclass(frozen=True)
class ProjectDemandRow:
    project_id: int
    title: str
    first_choices: int
    any_rank: int
    capacity: int


@dataclass(frozen=True)
class RunCharts:
    """Everything the See tab draws, computed from the stored run and the problem it solved."""

    run: RunView
    headline: Headline
    project_fill: tuple[ProjectFillRow, ...]
    supervisor_load: tuple[SupervisorLoadRow, ...]
    demand: tuple[ProjectDemandRow, ...]


@dataclass(frozen=True)
class DiffRow:
    student_id: int
    name: str
    email: str
    projects: tuple[str, ...]  # per compared run, the project's title, or "Unplaced"
    ranks: tuple[int | None, ...]


@dataclass(frozen=True)
class Comparison:
    runs: tuple[RunView, ...]
    headlines: tuple[Headline, ...]
    differences: tuple[DiffRow, ...]


def _project_label(code: str | None, title: str) -> str:
    return f"{code} · {title}" if code else title


# ------------------------------------------------------------------------------------------ helpers


def _cohort(session: Session, cohort_id: int) -> Cohort:
    cohort = session.get(Cohort, cohort_id)
    if cohort is None:
        raise NotFound("That cohort does not exist.")
    return cohort


def _run(session: Session, run_id: int, *, cohort_id: int | None = None) -> AllocationRun:
    run = session.get(AllocationRun, run_id)
    if run is None or (cohort_id is not None and run.cohort_id != cohort_id):
        raise NotFound("That allocation run does not exist.")
    return run


def _label(label: str) -> str:
    label = " ".join((label or "").split())
    if len(label) > MAX_LABEL:
        raise Invalid(f"Please keep the run's name to {MAX_LABEL} characters.")
    return label


def _reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if len(reason) > MAX_REASON:
        raise Invalid(f"Please keep the reason under {MAX_REASON} characters.")
    return reason


def _names(session: Session, cohort_id: int) -> dict[str, str]:
    """Display names for every key a problem of this cohort can mention (two queries)."""
    names: dict[str, str] = {}
    supervisor = aliased(User)
    for pid, code, title, sup_id, sup_name in session.execute(
            select(Project.id, Project.code, Project.title, Project.supervisor_id, supervisor.name)
            .outerjoin(supervisor, supervisor.id == Project.supervisor_id).where(Project.cohort_id == cohort_id)):
        names[project_key(pid)] = _project_label(code, title)
        if sup_id is not None:
            names[supervisor_key(sup_id)] = sup_name
    for uid, name in session.execute(
            select(User.id, User.name).join(Membership, Membership.user_id == User.id)
            .where(Membership.cohort_id == cohort_id, Membership.role == "student")):
        names[student_key(uid)] = name
    return names


def _humanise(text: str, names: Mapping[str, str]) -> str:
    """The engine's sentence with every key it mentions replaced by a name or title."""
    present = sorted((k for k in names if k in text), key=len, reverse=True)
    if not present:
        return text
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(k) for k in present) + r")(?![\w-])")
    return pattern.sub(lambda m: names[m.group(0)], text)


# ------------------------------------------------------------------------------------------ setup


def studio_setup(session: Session, *, actor: Actor, cohort_id: int) -> StudioSetup:
    """The cohort's approved projects, students and supervisors, for the Tune tab's pickers."""
    require_admin(session, actor)
    cohort = _cohort(session, cohort_id)
    supervisor = aliased(User)
    projects = tuple(
        SetupProject(pid, code, title, _project_label(code, title), capacity, minimum, sup_id,
                     sup_name or "(no supervisor)")
        for pid, code, title, capacity, minimum, sup_id, sup_name in session.execute(
            select(Project.id, Project.code, Project.title, Project.capacity, Project.min_students,
                   Project.supervisor_id, supervisor.name)
            .outerjoin(supervisor, supervisor.id == Project.supervisor_id)
            .where(Project.cohort_id == cohort_id, Project.status == "approved")
            .order_by(Project.title, Project.id))
    )
    members = session.execute(
        select(User.id, User.name, User.email, Membership.role, Membership.max_load)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.cohort_id == cohort_id, User.active.is_(True))
        .order_by(User.name, User.id)
    ).all()
    students = tuple(SetupStudent(uid, name, email) for uid, name, email, role, _ in members if role == "student")
    staff = {uid: (name, email, load) for uid, name, email, role, load in members if role == "staff"}
    supervising = {p.supervisor_id for p in projects if p.supervisor_id is not None}
    supervisors = tuple(
        SetupSupervisor(uid, *staff[uid]) for uid in sorted(supervising & staff.keys(), key=lambda u: staff[u][0])
    )
    return StudioSetup(
        cohort_id=cohort.id, cohort_name=cohort.name, default_objective=cohort.default_objective,
        allow_unranked=cohort.allow_unranked, max_choices=cohort.max_choices,
        responses_locked=cohort.responses_locked, email_configured=config.load().email_configured,
        published_run_id=published_run_id(session, cohort_id),
        projects=projects, students=students, supervisors=supervisors,
    )


def default_parameters(session: Session, *, actor: Actor, cohort_id: int) -> RunParameters:
    """The cohort's defaults: its objective and unranked rule; weights 1, 2, 3, … for the weighted one."""
    require_admin(session, actor)
    cohort = _cohort(session, cohort_id)
    return RunParameters(objective=cohort.default_objective, allow_unranked=cohort.allow_unranked,
                         weights=tuple(range(1, cohort.max_choices + 2)))


def _whole(value: Any, what: str, *, blank_ok: bool = False) -> int | None:
    """A table cell as a whole number 0 or more (None for a blank cell when `blank_ok`)."""
    if value is None or value == "" or (isinstance(value, float) and value != value):  # NaN: a cleared cell
        if blank_ok:
            return None
        raise Invalid(f"{what} is blank; give a whole number, 0 or more.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Invalid(f"{what} must be a whole number, not “{value}”.") from None
    if not number.is_integer() or number < 0:
        raise Invalid(f"{what} must be a whole number, 0 or more, not {value}.")
    return int(number)


def tune_parameters(setup: StudioSetup, *, objective: str, weights: str | Iterable[int] | None = None,
                    allow_unranked: bool = False, capacities: Mapping[int, Any] | None = None,
                    minimums: Mapping[int, Any] | None = None,
                    supervisor_capacities: Mapping[int, Any] | None = None,
                    pins: Iterable[tuple[int, int, str]] = (), forbids: Iterable[tuple[int, int, str]] = (),
                    seed: Any = 0, time_limit: Any = DEFAULT_TIME_LIMIT) -> RunParameters:
    """Run settings from the Tune tab's raw values, re-validated here (a browser's limits are not to be
    trusted): table cells become whole numbers, and only values that differ from the catalogue become
    overrides. Raises Invalid naming the cell that is wrong."""
    projects = {p.id: p for p in setup.projects}
    supervisors = {v.id: v for v in setup.supervisors}
    cap_over, min_over, sup_over = {}, {}, {}
    for pid, value in (capacities or {}).items():
        if int(pid) in projects:
            number = _whole(value, f"The capacity of {projects[int(pid)].label}")
            if number != projects[int(pid)].capacity:
                cap_over[int(pid)] = number
    for pid, value in (minimums or {}).items():
        if int(pid) in projects:
            number = _whole(value, f"The minimum of {projects[int(pid)].label}")
            if number != projects[int(pid)].min_students:
                min_over[int(pid)] = number
    for uid, value in (supervisor_capacities or {}).items():
        if int(uid) in supervisors:
            number = _whole(value, f"The capacity of {supervisors[int(uid)].name}", blank_ok=True)
            if number != supervisors[int(uid)].max_load:
                sup_over[int(uid)] = number
    if isinstance(weights, str):
        weights = parse_weights(weights) if objective == "weighted" else None
    seed_number = _whole(seed, "The tie-breaking seed")
    try:
        limit = float(time_limit)
    except (TypeError, ValueError):
        raise Invalid("The time limit must be a number of seconds.") from None
    return _checked(RunParameters(
        objective=objective, weights=tuple(weights) if weights else None, allow_unranked=bool(allow_unranked),
        capacity_overrides=cap_over, minimum_overrides=min_over, supervisor_capacity_overrides=sup_over,
        pins=tuple(pins), forbids=tuple(forbids), seed=seed_number, time_limit=limit))


# ------------------------------------------------------------------------------------------ the problem


def _build(session: Session, cohort_id: int, params: RunParameters) -> tuple[engine.Problem, dict[str, str]]:
    """The cohort's problem as it stands (approved projects, the students and their preferences,
    supervisors' capacities) with this run's overrides, pins and forbids, built by `problem_export`.
    Every id in `params` is checked first, so a stale pick gets a sentence naming it."""
    from allocator.services.problem_export import build_problem_json, problem_keys

    found = problem_keys(session, cohort_id)
    names = _names(session, cohort_id)
    projects = set(found.projects.values())
    students = set(found.students.values())
    supervisors = set(found.supervisors.values())

    def project(pid: int, what: str) -> None:
        if pid not in projects:
            raise Invalid(f"{what}: that project is not an approved project of this cohort.")

    def student(uid: int, what: str) -> None:
        if uid not in students:
            raise Invalid(f"{what}: {names.get(student_key(uid), f'user #{uid}')} is not a student of this cohort.")

    for pid, _ in params.capacity_overrides:
        project(pid, "Capacity override")
    for pid, _ in params.minimum_overrides:
        project(pid, "Minimum override")
    for uid, _ in params.supervisor_capacity_overrides:
        if uid not in supervisors:
            raise Invalid("Supervisor capacity: that person supervises no approved project of this cohort.")
    for what, items in (("Pin", params.pins), ("Forbid", params.forbids)):
        for s, p, _ in items:
            student(s, what)
            project(p, what)
    problem = build_problem_json(session, cohort_id, overrides={
        "capacity": dict(params.capacity_overrides), "min_students": dict(params.minimum_overrides),
        "supervisor_capacity": dict(params.supervisor_capacity_overrides), "allow_unranked": params.allow_unranked,
        "pinned": [(s, p) for s, p, _ in params.pins],
        "forbidden": sorted({(s, p) for s, p, _ in params.forbids}),
    })
    for entry in problem["projects"]:
        if entry.get("min_students", 0) > entry["capacity"]:
            raise Invalid(f"{names.get(entry['id'], entry['id'])} needs at least {entry['min_students']} students "
                          f"but has room for only {entry['capacity']}; lower its minimum or raise its capacity.")
    return _engine_problem(problem), names


def _stored(session: Session, run: AllocationRun) -> RunRecord:
    """The run's record: the problem its allocation answers (as the engine reads it) and its settings."""
    try:
        return run_record.from_json(run.record)
    except run_record.DamagedRecord as err:
        raise Invalid(f"Run #{run.id} cannot be read: {err}.") from None


def _derived(problem: engine.Problem, *, unpin: str | None = None, allow_unranked: bool = False) -> engine.Problem:
    """A derived run's problem: its origin's, minus a pin a move overrode, plus unranked if a move needs it."""
    pinned = {s: p for s, p in problem.pinned.items() if s != unpin}
    return dataclasses.replace(problem, pinned=pinned, allow_unranked=problem.allow_unranked or allow_unranked)


def _engine_problem(problem: dict[str, Any]) -> engine.Problem:
    try:
        return engine.parse_problem(problem)
    except engine.MalformedProblem as err:
        raise Invalid(f"The cohort's data cannot be allocated as it stands: {err}.") from None


def _ranks_and_profile(problem: engine.Problem, placement: Mapping[str, str | None],
                       objective: str, weights: list[int] | None) -> tuple[list[int], int]:
    """The engine's profile and cost of an allocation of `problem` (for runs made by hand)."""
    prefs = {s.id: s.preferences for s in problem.students}
    k = problem.k
    profile = [0] * (k + 1)
    cost = 0
    for sid, pid in placement.items():
        if pid is None:
            continue
        p = prefs.get(sid, [])
        rank = p.index(pid) + 1 if pid in p else k + 1
        profile[rank - 1] += 1
        if objective == "weighted" and weights:
            cost += weights[rank - 1] if rank - 1 < len(weights) else 0
        else:
            cost += rank
    return profile, cost


def _db_ranks(session: Session, cohort_id: int, student_ids: Iterable[int] | None = None) -> dict[tuple[int, int], int]:
    query = select(Preference.student_id, Preference.project_id, Preference.rank).where(
        Preference.cohort_id == cohort_id)
    if student_ids is not None:
        query = query.where(Preference.student_id.in_(list(student_ids)))
    return {(s, p): r for s, p, r in session.execute(query)}


# ------------------------------------------------------------------------------------------ suggestions


def _suggestions(problem: engine.Problem, names: Mapping[str, str]) -> tuple[str, ...]:
    """Changes that would resolve an infeasible problem. Only pins make a problem infeasible (every
    objective may leave a student unplaced or a project empty), so each suggestion loosens a pin or
    what it runs into."""
    def n(key: str) -> str:
        return names.get(key, key)

    pins = list(problem.pinned.items())
    forbidden = problem.forbidden
    projects = {p.id: p for p in problem.projects}
    caps = {v.id: v.capacity for v in problem.supervisors}
    out: list[str] = []
    for s, p in pins:
        if (s, p) in forbidden:
            out.append(f"Drop the pin of {n(s)} to {n(p)}, or the forbid of the same pair: they contradict.")
    count = Counter(p for _, p in pins)
    for p, c in count.items():
        cap = projects[p].capacity
        if c > cap:
            pinned_names = sorted(n(s) for s, q in pins if q == p)
            out.append(f"Raise the capacity of {n(p)} to {c}, or drop {c - cap} of its {c} pins "
                       f"({', '.join(pinned_names[:6])}{', …' if len(pinned_names) > 6 else ''}).")
    load = Counter(projects[p].supervisor for _, p in pins)
    for v, c in load.items():
        if v in caps and c > caps[v]:
            out.append(f"Raise the capacity of supervisor {n(v)} to {c}, or drop {c - caps[v]} of the pins "
                       f"to their projects.")
    for p, c in count.items():
        minimum = projects[p].min_students
        if 0 < c < minimum and c <= projects[p].capacity:
            out.append(f"Lower the minimum of {n(p)} to {c} (pins force it to run with {c}), "
                       f"or drop its pins, or pin more students to it.")
    if not out:
        out.append("Drop some pins, or raise the capacities of the projects and supervisors they use.")
    return tuple(dict.fromkeys(out))


# ------------------------------------------------------------------------------------------ views


def _run_query():
    creator = aliased(User)
    return (select(AllocationRun.id, AllocationRun.cohort_id, AllocationRun.label,
                   AllocationRun.kind, AllocationRun.created_at, creator.name,
                   AllocationRun.objective, AllocationRun.status, AllocationRun.solver, AllocationRun.seconds,
                   AllocationRun.cost, AllocationRun.profile, AllocationRun.message,
                   AllocationRun.students, AllocationRun.parent_run_id,
                   AllocationRun.published_at)
            .outerjoin(creator, creator.id == AllocationRun.created_by_id))


def _view_of(row, suggestions: tuple[str, ...] = ()) -> RunView:
    (rid, cohort_id, label, kind, created_at, creator, objective, status, solver, seconds, cost, profile,
     message, students, parent, published_at) = row
    profile = tuple(int(c) for c in (profile or ()))
    students = int(students or 0)
    placed = sum(profile)
    return RunView(
        id=rid, cohort_id=cohort_id, label=label or "", kind=kind or "solve", created_at=created_at,
        created_by=creator or "", objective=objective, status=status, solver=solver or "",
        seconds=float(seconds or 0.0), cost=cost, profile=profile, message=message or "", placed=placed,
        unplaced=students - placed, students=students, parent_run_id=parent,
        published=published_at is not None, published_at=published_at, suggestions=suggestions,
    )


def _get_view(session: Session, run: AllocationRun, stored: RunRecord | None = None,
              names: Mapping[str, str] | None = None) -> RunView:
    row = session.execute(_run_query().where(AllocationRun.id == run.id)).one()
    suggestions: tuple[str, ...] = ()
    if run.status == "infeasible":
        stored = stored or _stored(session, run)
        names = names if names is not None else _names(session, run.cohort_id)
        suggestions = _suggestions(stored.problem, names)
    return _view_of(row, suggestions)


def list_runs(session: Session, *, actor: Actor, cohort_id: int) -> list[RunView]:
    """Every run of the cohort, newest first (one query; the stored problems are not loaded)."""
    require_admin(session, actor)
    _cohort(session, cohort_id)
    rows = session.execute(_run_query().where(AllocationRun.cohort_id == cohort_id)
                           .order_by(AllocationRun.created_at.desc(), AllocationRun.id.desc())).all()
    return [_view_of(row) for row in rows]


def get_run(session: Session, *, actor: Actor, run_id: int) -> RunView:
    """One run; an infeasible one with suggestions of what to change."""
    require_admin(session, actor)
    return _get_view(session, _run(session, run_id))


# ------------------------------------------------------------------------------------------ running


def _store(session: Session, *, actor: Actor, cohort_id: int, kind: str, label: str, objective: str,
           record: RunRecord, status: str, solver: str, seconds: float, cost: int | None,
           profile: list[int], message: str, parent_run_id: int | None,
           rows: list[dict[str, Any]]) -> AllocationRun:
    """One run and its assignments: two INSERT statements, however many students."""
    run = AllocationRun(cohort_id=cohort_id, kind=kind, parent_run_id=parent_run_id, created_by_id=actor.user_id,
                        label=label, objective=objective, students=record.students,
                        record=run_record.to_json(record), status=status, solver=solver, seconds=seconds, cost=cost,
                        profile=list(profile), message=message, created_at=utcnow())
    session.add(run)
    session.flush()
    if rows:
        # render_nulls keeps placed and unplaced rows in one batch (else each None splits the statement).
        session.execute(insert(Assignment).execution_options(render_nulls=True),
                        [{**r, "run_id": run.id} for r in rows])
    return run


def _solve_and_store(session: Session, *, actor: Actor, cohort: Cohort, params: RunParameters, label: str,
                     kind: str, parent_run_id: int | None = None,
                     declined: Iterable[int] = ()) -> tuple[AllocationRun, RunView]:
    problem, names = _build(session, cohort.id, params)
    try:
        result = engine.solve(problem, objective=params.objective,
                              weights=list(params.weights) if params.objective == "weighted" else None,
                              seed=params.seed, time_limit=float(params.time_limit))
    except engine.BadOptions as err:
        raise Invalid(f"These settings cannot be used: {err}.") from None
    if result.status == "unknown":
        raise Invalid(f"No allocation was found within the time limit of {params.time_limit:g} seconds, and "
                      f"none was ruled out: raise the time limit and run again.")
    problems = engine.validate(problem, result)
    if problems:  # a solver bug: never store an allocation that breaks a rule
        raise RuntimeError("the engine's allocation failed validation: " + "; ".join(problems[:5]))
    rows: list[dict[str, Any]] = []
    if result.status != "infeasible":
        ranks = _db_ranks(session, cohort.id)
        for s in problem.students:
            uid = user_of(s.id)
            pid = project_of(result.assignment.get(s.id))
            rows.append(dict(student_id=uid, project_id=pid, rank=ranks.get((uid, pid)) if pid else None,
                             pinned=s.id in problem.pinned, manual=False))
    record = RunRecord(problem=problem, settings=params, bound=result.bound, engine_message=result.message,
                       declined=tuple(declined))
    run = _store(session, actor=actor, cohort_id=cohort.id, kind=kind, label=label, objective=params.objective,
                 record=record, status=result.status, solver=result.solver, seconds=float(result.seconds),
                 cost=result.cost if result.status != "infeasible" else None, profile=result.profile,
                 message=_humanise(result.message, names) if result.message else "",
                 parent_run_id=parent_run_id, rows=rows)
    suggestions = _suggestions(problem, names) if result.status == "infeasible" else ()
    view = _view_of(session.execute(_run_query().where(AllocationRun.id == run.id)).one(), suggestions)
    return run, view


def _audit_params(params: RunParameters) -> dict[str, Any]:
    return dict(
        objective=params.objective, weights=list(params.weights) if params.objective == "weighted" else None,
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
    if params.objective == "weighted" and params.weights:
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


def _one_snapshot(session: Session) -> None:
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

    Runs in the caller's transaction, read as one snapshot (`_one_snapshot`). An infeasible problem
    is stored too (status "infeasible", the engine's sentence in `message`, with names for ids) and its
    view carries suggestions of what to change.
    """
    require_admin(session, actor)
    _one_snapshot(session)
    cohort = _cohort(session, cohort_id)
    params = _checked(params)
    label = _label(label) or _auto_label(params)
    run, view = _solve_and_store(session, actor=actor, cohort=cohort, params=params, label=label, kind="solve")
    record_audit(session, actor=actor, action="allocation.run", cohort_id=cohort_id, run_id=run.id,
                 label=label, status=run.status, placed=view.placed, students=view.students,
                 **_audit_params(params))
    return view


# ------------------------------------------------------------------------------------------ reading a run


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


def _rows(session: Session, run_id: int) -> list[AssignmentRow]:
    return [
        AssignmentRow(sid, email, name, pid, code, title or "", sup_id,
                      (sup_name or "(no supervisor)") if pid else "", sup_email or "", rank, pinned, manual)
        for sid, email, name, pid, code, title, sup_id, sup_name, sup_email, rank, pinned, manual
        in session.execute(_assignment_query(run_id))
    ]


def run_assignments(session: Session, *, actor: Actor, run_id: int) -> list[AssignmentRow]:
    """One row per student of the run, by name: their project, supervisor and rank (one query)."""
    require_admin(session, actor)
    _run(session, run_id)
    return _rows(session, run_id)


def run_charts(session: Session, *, actor: Actor, run_id: int) -> RunCharts:
    """The numbers behind the See tab's charts, from the stored run and the problem it solved: project
    fill against this run's capacities and minimums, supervisor loads, demand against capacity."""
    require_admin(session, actor)
    run = _run(session, run_id)
    stored = _stored(session, run)
    problem = stored.problem
    names = _names(session, run.cohort_id)
    view = _get_view(session, run, stored, names)
    placed = Counter(session.scalars(
        select(Assignment.project_id).where(Assignment.run_id == run_id, Assignment.project_id.is_not(None))))
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
    return RunCharts(run=view, headline=headline_of(view.profile, view.students), project_fill=tuple(fill),
                     supervisor_load=tuple(supervisors), demand=tuple(demand))


def compare_runs(session: Session, *, actor: Actor, run_ids: Iterable[int]) -> Comparison:
    """Two or more runs of one cohort side by side, and every student whose project differs."""
    require_admin(session, actor)
    ids = list(dict.fromkeys(int(r) for r in run_ids))
    if len(ids) < 2:
        raise Invalid("Pick at least two runs to compare.")
    rows = {row[0]: row for row in session.execute(_run_query().where(AllocationRun.id.in_(ids)))}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise NotFound(f"Run #{missing[0]} does not exist.")
    if len({rows[i][1] for i in ids}) > 1:
        raise Invalid("Only runs of the same cohort can be compared.")
    views = tuple(_view_of(rows[i]) for i in ids)
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
            titles[pid] = _project_label(code, title)

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
    return Comparison(runs=views, headlines=tuple(headline_of(v.profile, v.students) for v in views),
                      differences=tuple(differences))


# ------------------------------------------------------------------------------------------ adjusting


def move_student(session: Session, *, actor: Actor, run_id: int, student_id: int, project_id: int | None,
                 reason: str = "") -> RunView:
    """Move one student (to another project, or to unplaced) in a new run derived from `run_id`.

    Refused when the project is full (this run's capacity, overrides included) or its supervisor is, when
    the pair is forbidden in this run, or when the move would leave a project running below its minimum.
    Nothing is changed in the old run. Moving a pinned student overrides their pin in the new run; a
    project they did not rank is allowed by hand and counted as unranked.
    """
    require_admin(session, actor)
    run = _run(session, run_id)
    reason = _reason(reason)
    if run.status == "infeasible":
        raise Invalid("This run has no allocation to adjust; change its settings and run again.")
    stored = _stored(session, run)
    problem = stored.problem
    names = _names(session, run.cohort_id)
    old_rows = {s: (p, r, pin, m) for s, p, r, pin, m in session.execute(
        select(Assignment.student_id, Assignment.project_id, Assignment.rank, Assignment.pinned, Assignment.manual)
        .where(Assignment.run_id == run.id))}
    if student_id not in old_rows:
        raise NotFound("That student is not in this run.")
    sid = student_key(student_id)
    who = names.get(sid, "This student")
    projects = {project_of(p.id): p for p in problem.projects}
    if project_id is not None and project_id not in projects:
        raise Invalid("That project is not one of this run's projects.")

    def title(pid: int | None) -> str:
        return names.get(project_key(pid), f"#{pid}") if pid is not None else "unplaced"

    old = old_rows[student_id][0]
    if old == project_id:
        raise Invalid(f"{who} is already on {title(project_id)} in this run." if project_id is not None
                      else f"{who} is already unplaced in this run.")
    after = Counter(p for p, *_ in old_rows.values() if p is not None)
    if old is not None:
        after[old] -= 1
    if project_id is not None:
        after[project_id] += 1
        target = projects[project_id]
        if (sid, target.id) in problem.forbidden:
            raise Invalid(f"{title(project_id)} is forbidden for {who} in this run.")
        if after[project_id] > target.capacity:
            raise Invalid(f"{title(project_id)} is full: its capacity in this run is {target.capacity}. "
                          f"Move someone out first, or run again with a higher capacity.")
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
            raise Invalid(f"{title(pid)} needs at least {minimum} students or none; this move would leave it "
                          f"with {after[pid]}. Move the others too, or run again with a lower minimum.")
    # The new run's rules: the old run's, minus this student's pin, plus unranked if the move needs it.
    prefs = next((s.preferences for s in problem.students if s.id == sid), ())
    unranked = project_id is not None and project_key(project_id) not in prefs
    effective = _derived(problem, unpin=sid, allow_unranked=unranked)
    placement = {student_key(s): None if p is None else project_key(p) for s, (p, *_) in old_rows.items()}
    placement[sid] = None if project_id is None else project_key(project_id)
    weights = list(stored.settings.weights) if run.objective == "weighted" and stored.settings.weights else None
    profile, cost = _ranks_and_profile(effective, placement, run.objective, weights)
    result = engine.Result(
        status="feasible", objective=run.objective, assignment={s: p for s, p in placement.items() if p},
        unassigned=[s for s, p in placement.items() if p is None], profile=profile, cost=cost, seconds=0.0,
        solver="manual", weights=weights)
    problems = engine.validate(effective, result)
    if problems:
        raise Invalid("This move breaks a rule of the run: " + _humanise(problems[0], names) + ".")
    rank = None
    if project_id is not None:
        rank = _db_ranks(session, run.cohort_id, [student_id]).get((student_id, project_id))
    rows = [dict(student_id=s, project_id=p, rank=r, pinned=pin, manual=m)
            for s, (p, r, pin, m) in old_rows.items() if s != student_id]
    rows.append(dict(student_id=student_id, project_id=project_id, rank=rank, pinned=False, manual=True))
    message = (f"Derived from run #{run.id}: moved {who} from {title(old)} to {title(project_id)}"
               + (f" ({reason})" if reason else "") + ".")
    label = _label(f"{run.label or f'Run #{run.id}'} · moved {who}"[:MAX_LABEL])
    record = dataclasses.replace(stored, problem=effective, bound={}, engine_message=message,
                                 move=Move(student_id, old, project_id, reason), declined=())
    new = _store(session, actor=actor, cohort_id=run.cohort_id, kind="move", label=label, objective=run.objective,
                 record=record, status="feasible", solver="manual", seconds=0.0, cost=cost, profile=profile,
                 message=message, parent_run_id=run.id, rows=rows)
    record_audit(session, actor=actor, action="allocation.moved", cohort_id=run.cohort_id, run_id=new.id,
                 parent_run_id=run.id, student_id=student_id, from_project_id=old, to_project_id=project_id,
                 reason=reason)
    return _view_of(session.execute(_run_query().where(AllocationRun.id == new.id)).one())


def restore_run(session: Session, *, actor: Actor, run_id: int, label: str = "") -> RunView:
    """Bring an older run back as the newest: a copy derived from it (runs are never deleted or changed)."""
    require_admin(session, actor)
    run = _run(session, run_id)
    if run.status == "infeasible":
        raise Invalid("An infeasible run has no allocation to restore.")
    label = _label(label) or _label(f"Restored {run.label or f'run #{run.id}'}"[:MAX_LABEL])
    rows = [dict(student_id=s, project_id=p, rank=r, pinned=pin, manual=m) for s, p, r, pin, m in session.execute(
        select(Assignment.student_id, Assignment.project_id, Assignment.rank, Assignment.pinned, Assignment.manual)
        .where(Assignment.run_id == run.id))]
    message = f"Restored from run #{run.id}."
    record = dataclasses.replace(_stored(session, run), engine_message=message)
    new = _store(session, actor=actor, cohort_id=run.cohort_id, kind="restore", label=label,
                 objective=run.objective, record=record,
                 status=run.status, solver=run.solver, seconds=run.seconds, cost=run.cost, profile=list(run.profile),
                 message=message, parent_run_id=run.id, rows=rows)
    record_audit(session, actor=actor, action="allocation.restored", cohort_id=run.cohort_id, run_id=new.id,
                 restored_from=run.id)
    return _view_of(session.execute(_run_query().where(AllocationRun.id == new.id)).one())


# ------------------------------------------------------------------------------------------ explaining


def _explain(session: Session, run: AllocationRun, student_id: int, stored: RunRecord):
    """(project key the student got or None, its rank in their list or None, the engine's reasons)."""
    problem = stored.problem
    sid = student_key(student_id)
    prefs = next((s.preferences for s in problem.students if s.id == sid), None)
    if prefs is None:
        raise NotFound("That student is not in this run.")
    placement = {student_key(s): project_key(p) for s, p in session.execute(
        select(Assignment.student_id, Assignment.project_id)
        .where(Assignment.run_id == run.id, Assignment.project_id.is_not(None)))}
    weights = list(stored.settings.weights) if run.objective == "weighted" and stored.settings.weights else None
    result = engine.Result(
        status=run.status, objective=run.objective, assignment=placement,
        unassigned=[s.id for s in problem.students if s.id not in placement],
        profile=list(run.profile or []), cost=run.cost or 0, seconds=run.seconds, solver=run.solver,
        weights=weights, ranks={s: problem.rank(s, p) for s, p in placement.items()})
    got = placement.get(sid)
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
    seen: set[int] = set()
    while True:
        row = session.execute(select(Assignment.project_id, Assignment.manual)
                              .where(Assignment.run_id == run.id, Assignment.student_id == student_id)).one_or_none()
        if row is not None and row.manual:
            return _Source(run, by_hand=True)
        seen.add(run.id)
        parent = (session.get(AllocationRun, run.parent_run_id)
                  if run.kind != "solve" and run.parent_run_id not in (None, *seen) else None)
        if row is None or parent is None or parent.status == "infeasible":
            return _Source(run, by_hand=False)
        before = session.execute(select(Assignment.project_id).where(
            Assignment.run_id == parent.id, Assignment.student_id == student_id)).one_or_none()
        if before is None or before.project_id != row.project_id:
            return _Source(run, by_hand=False)
        run = parent


def _declined_key(session: Session, source: _Source, student_id: int, stored: RunRecord) -> str | None:
    """The project (key) the student declined, when the re-run for the declined placed them."""
    run = source.run
    if (source.by_hand or run.kind != "rerun-declined" or run.parent_run_id is None
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
    run = _run(session, run_id)
    if run.status == "infeasible":
        raise Invalid("This run is infeasible: nobody was placed, so there is nothing to explain.")
    source = _placement_source(session, run, student_id)
    stored = _stored(session, source.run)
    names = _names(session, run.cohort_id)
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
    return [head, *[_humanise(text, names) for text in _reason_texts(reasons, declined)]]


def explain_for_student(session: Session, *, actor: Actor, cohort_id: int) -> list[str]:
    """For the signed-in student: why they did not get each project they ranked above the one they got
    in the published allocation, in plain words, or that the coordinator moved them by hand. Empty
    before publication, when they are not in the published run, or when nothing on their list was better."""
    membership = session.scalar(select(Membership).where(Membership.cohort_id == cohort_id,
                                                         Membership.user_id == actor.user_id))
    if membership is None or membership.role != "student":
        raise NotAllowed("Only students of this cohort can do this.")
    run_id = published_run_id(session, cohort_id)
    if run_id is None:
        return []
    source = _placement_source(session, _run(session, run_id), actor.user_id)
    stored = _stored(session, source.run)
    try:
        got, _, reasons = _explain(session, source.run, actor.user_id, stored)
    except NotFound:
        return []
    # A student is never shown another student's name (the engine names none; this makes sure).
    names = {k: ("you" if k == student_key(actor.user_id) else "another student") if k.startswith("S") else v
             for k, v in _names(session, cohort_id).items()}
    if source.by_hand:
        return [_by_hand_sentence(names.get(got, got) if got is not None else None, student=True)]
    declined = _declined_key(session, source, actor.user_id, stored)
    return [_humanise(text, names) for text in _reason_texts(reasons, declined)]
