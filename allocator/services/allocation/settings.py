"""A run's settings: the Tune tab's pickers, the cohort's defaults, and raw values parsed and
re-validated into `RunParameters`."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from allocator import config
from allocator.domain import Objective, ProjectStatus, Role
from allocator.models import (
    Membership,
    Project,
    User,
)
from allocator.services.access import Actor, require_admin
from allocator.services.allocation.common import cohort_of, fetch, project_label
from allocator.services.allocation.views import SetupProject, SetupStudent, SetupSupervisor, StudioSetup
from allocator.services.cohorts import published_run_id
from allocator.services.errors import Invalid
from allocator.services.run_record import (
    DEFAULT_TIME_LIMIT,
    MAX_TIME_LIMIT,
    RunParameters,
    check_settings,
)

__all__ = ["MAX_TIME_LIMIT", "RunParameters", "default_parameters", "parse_weights", "studio_setup", "tune_parameters"]


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


def studio_setup(session: Session, *, actor: Actor, cohort_id: int) -> StudioSetup:
    """The cohort's approved projects, students and supervisors, for the Tune tab's pickers."""
    require_admin(session, actor)
    cohort = cohort_of(session, cohort_id)
    supervisor = aliased(User)
    projects = tuple(
        SetupProject(pid, code, title, project_label(code, title), capacity, minimum, sup_id,
                     sup_name or "(no supervisor)")
        for pid, code, title, capacity, minimum, sup_id, sup_name in fetch(session,
            select(Project.id, Project.code, Project.title, Project.capacity, Project.min_students,
                   Project.supervisor_id, supervisor.name)
            .outerjoin(supervisor, supervisor.id == Project.supervisor_id)
            .where(Project.cohort_id == cohort_id, Project.status == ProjectStatus.APPROVED)
            .order_by(Project.title, Project.id))
    )
    members = fetch(session,
        select(User.id, User.name, User.email, Membership.role, Membership.max_load)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.cohort_id == cohort_id, User.active.is_(True))
        .order_by(User.name, User.id)
    )
    students = tuple(SetupStudent(uid, name, email) for uid, name, email, role, _ in members if role == Role.STUDENT)
    staff = {uid: (name, email, load) for uid, name, email, role, load in members if role == Role.STAFF}
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
    cohort = cohort_of(session, cohort_id)
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
        weights = parse_weights(weights) if objective == Objective.WEIGHTED else None
    seed_number = _whole(seed, "The tie-breaking seed")
    try:
        limit = float(time_limit)
    except (TypeError, ValueError):
        raise Invalid("The time limit must be a number of seconds.") from None
    return check_settings(RunParameters(
        objective=objective, weights=tuple(weights) if weights else None, allow_unranked=bool(allow_unranked),
        capacity_overrides=cap_over, minimum_overrides=min_over, supervisor_capacity_overrides=sup_over,
        pins=tuple(pins), forbids=tuple(forbids), seed=seed_number, time_limit=limit))
