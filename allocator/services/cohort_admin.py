"""Coordinator's cohorts: create, rename, archive, copy to start next year's, dates and rules.

Dates are entered as wall-clock times in the deployment's time zone (`config.load().timezone`) and
stored in UTC; a naive datetime given to these functions is read in that zone, an aware one is taken
as it is. Every change is audited with what it was and what it became.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from allocator import config
from allocator.domain import Objective, Phase, ProjectStatus, Role
from allocator.models import Cohort, Membership, Project, utcnow
from allocator.services.access import Actor, require_admin
from allocator.services.audit import record_audit
from allocator.services.cohorts import CohortView, cohort_of, get_cohort, published_run_id
from allocator.services.errors import Invalid
from allocator import domain

__all__ = ["UNSET", "CohortSettingsForm", "create_cohort", "rename_cohort", "archive_cohort", "unarchive_cohort",
           "copy_cohort", "update_cohort_settings", "cohort_settings_form", "local_to_utc", "utc_to_local"]

DATE_FIELDS = ("proposals_open_at", "proposals_close_at", "preferences_open_at", "preferences_close_at")
SETTING_FIELDS = (*DATE_FIELDS, "phase_override", "min_choices", "max_choices", "allow_unranked",
                  "default_objective", "auto_approve", "responses_locked")
# Rules a copy carries into next year's cohort; dates and the phase override are per year.
COPIED_RULES = ("min_choices", "max_choices", "allow_unranked", "default_objective", "auto_approve",
                "groups_allowed", "group_min_size", "group_max_size", "places_per_student")


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True)
class CohortSettingsForm:
    """A cohort as the settings form shows it: the cohort itself, and its dates as wall-clock times in
    `timezone` (the form's date and time inputs have no zone)."""

    cohort: CohortView
    timezone: str
    proposals_open_at: datetime | None
    proposals_close_at: datetime | None
    preferences_open_at: datetime | None
    preferences_close_at: datetime | None


def _zone(tz_name: str | None = None) -> ZoneInfo:
    return ZoneInfo(tz_name or config.load().timezone)


def local_to_utc(value: datetime | None, tz_name: str | None = None) -> datetime | None:
    """A wall-clock time in the deployment's zone (naive) or an aware time, as UTC.

    A time the clocks skip (the spring-forward hour) is refused rather than silently moved.
    """
    if value is None:
        return None
    if value.tzinfo is not None:
        return value.astimezone(timezone.utc)
    zone = _zone(tz_name)
    aware = value.replace(tzinfo=zone)
    utc = aware.astimezone(timezone.utc)
    if utc.astimezone(zone).replace(tzinfo=None) != value:
        raise Invalid(f"{value:%d %b %Y %H:%M} does not exist in {zone.key}: the clocks go forward then. "
                      "Pick another time.")
    return utc


def utc_to_local(value: datetime | None, tz_name: str | None = None) -> datetime | None:
    """A stored UTC time as a naive wall-clock time in the deployment's zone (for date/time widgets)."""
    if value is None:
        return None
    return value.astimezone(_zone(tz_name)).replace(tzinfo=None)


def clean_cohort_name(session: Session, name: str, *, exclude_id: int | None = None) -> str:
    """A cohort name with its spaces tidied, refused (Invalid) when blank, too long or already taken by
    another cohort than `exclude_id` (case-insensitively); shared with the cohort import of `data_io`."""
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("Give the cohort a name.")
    if len(name) > domain.COHORT_NAME_MAX:
        raise Invalid(f"A cohort name can be at most {domain.COHORT_NAME_MAX} characters.")
    query = select(Cohort.id).where(func.lower(Cohort.name) == name.lower())
    if exclude_id is not None:
        query = query.where(Cohort.id != exclude_id)
    if session.scalar(query) is not None:
        raise Invalid(f"A cohort called “{name}” already exists. Choose another name.")
    return name


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def create_cohort(session: Session, *, actor: Actor, name: str) -> CohortView:
    """A new, empty cohort with the default rules and no dates (phase "Not yet open")."""
    require_admin(session, actor)
    cohort = Cohort(name=clean_cohort_name(session, name))
    session.add(cohort)
    session.flush()
    record_audit(session, actor=actor, action="cohort.create", cohort_id=cohort.id, name=cohort.name)
    return get_cohort(session, actor=actor, cohort_id=cohort.id)


def rename_cohort(session: Session, *, actor: Actor, cohort_id: int, name: str) -> CohortView:
    require_admin(session, actor)
    cohort = cohort_of(session, cohort_id)
    new = clean_cohort_name(session, name, exclude_id=cohort_id)
    if new != cohort.name:
        record_audit(session, actor=actor, action="cohort.rename", cohort_id=cohort_id, old=cohort.name, new=new)
        cohort.name = new
        session.flush()
    return get_cohort(session, actor=actor, cohort_id=cohort_id)


def _set_archived(session: Session, actor: Actor, cohort_id: int, archived: bool) -> CohortView:
    require_admin(session, actor)
    cohort = cohort_of(session, cohort_id)
    if cohort.archived != archived:
        cohort.archived = archived
        record_audit(session, actor=actor, action="cohort.archive" if archived else "cohort.unarchive",
                     cohort_id=cohort_id, name=cohort.name)
        session.flush()
    return get_cohort(session, actor=actor, cohort_id=cohort_id)


def archive_cohort(session: Session, *, actor: Actor, cohort_id: int) -> CohortView:
    """Hide the cohort from everyone's cohort list (its data stays; unarchive brings it back)."""
    return _set_archived(session, actor, cohort_id, True)


def unarchive_cohort(session: Session, *, actor: Actor, cohort_id: int) -> CohortView:
    return _set_archived(session, actor, cohort_id, False)


def copy_cohort(session: Session, *, actor: Actor, cohort_id: int, name: str,
                keep_status: bool = False) -> CohortView:
    """Start next year's cohort from this one: its rules, staff (with their maximum loads) and projects.

    Approved and proposed projects are copied (rejected and withdrawn ones are not); they come back as
    "proposed" so supervisors can update them and the coordinator approves the new year's catalogue,
    unless `keep_status`, which keeps approved projects approved. Students, preferences, runs and dates
    are not copied.
    """
    require_admin(session, actor)
    source = cohort_of(session, cohort_id)
    cohort = Cohort(name=clean_cohort_name(session, name), **{f: getattr(source, f) for f in COPIED_RULES})
    session.add(cohort)
    session.flush()
    staff = session.execute(
        select(Membership.user_id, Membership.max_load)
        .where(Membership.cohort_id == cohort_id, Membership.role == Role.STAFF).order_by(Membership.id)
    ).all()
    now = utcnow()
    if staff:
        session.execute(insert(Membership), [dict(cohort_id=cohort.id, user_id=uid, role=Role.STAFF, max_load=load,
                                                  created_at=now) for uid, load in staff])
    projects = session.execute(
        select(Project.code, Project.title, Project.description, Project.capacity, Project.min_students,
               Project.tags, Project.status, Project.supervisor_id)
        .where(Project.cohort_id == cohort_id, Project.status.in_(domain.LIVE_PROJECT_STATUSES)).order_by(Project.id)
    ).all()
    if projects:
        session.execute(insert(Project), [
            dict(cohort_id=cohort.id, code=p.code, title=p.title, description=p.description or "",
                 capacity=p.capacity, min_students=p.min_students, tags=list(p.tags or []),
                 status=p.status if keep_status else ProjectStatus.PROPOSED, supervisor_id=p.supervisor_id,
                 created_at=now, updated_at=now)
            for p in projects
        ])
    record_audit(session, actor=actor, action="cohort.copy", cohort_id=cohort.id, source_cohort_id=cohort_id,
                 source=source.name, name=cohort.name, staff=len(staff), projects=len(projects),
                 keep_status=keep_status)
    return get_cohort(session, actor=actor, cohort_id=cohort.id)


def _as_int(value: Any, label: str, problems: list[str]) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        problems.append(f"The {label} must be a whole number.")
        return None
    return int(value)


def _settings_problems(session: Session, cohort_id: int, *, new: dict[str, Any], given: dict[str, Any]) -> list[str]:
    """What is wrong with a cohort's settings as they would be (`new`; `given` holds the ones being
    changed), one sentence each: windows in order, choices within bounds, a known objective and phase."""
    problems: list[str] = []

    def ordered(open_field: str, close_field: str, what: str) -> None:
        start, end = new[open_field], new[close_field]
        if start is not None and end is not None and end <= start:
            problems.append(f"{what} must close after they open.")

    ordered("proposals_open_at", "proposals_close_at", "Proposals")
    ordered("preferences_open_at", "preferences_close_at", "Preferences")
    if (new["proposals_close_at"] is not None and new["preferences_open_at"] is not None
            and new["preferences_open_at"] < new["proposals_close_at"]):
        problems.append("Preferences can open only once proposals have closed: the catalogue must not change "
                        "while students rank it.")
    lo, hi = new["min_choices"], new["max_choices"]
    if lo is not None and lo < 0:
        problems.append("The minimum number of choices cannot be negative.")
    if hi is not None and not 1 <= hi <= domain.CHOICES_MAX:
        problems.append(f"The maximum number of choices must be between 1 and {domain.CHOICES_MAX}.")
    if lo is not None and hi is not None and lo > hi:
        problems.append(f"The minimum number of choices ({lo}) is more than the maximum ({hi}).")
    if new["default_objective"] not in Objective.values():
        problems.append(f"Unknown objective “{new['default_objective']}”: use one of {', '.join(Objective)}.")
    override = new["phase_override"]
    if override is not None and override not in Phase.values():
        problems.append(f"Unknown phase “{override}”: use one of {', '.join(Phase)}, or follow the dates.")
    elif (override == Phase.PUBLISHED and given.get("phase_override") == Phase.PUBLISHED
          and published_run_id(session, cohort_id) is None):
        problems.append("No allocation has been published yet: publish one in the Allocation studio first.")
    return problems


def update_cohort_settings(
    session: Session, *, actor: Actor, cohort_id: int,
    name: str = UNSET,
    proposals_open_at: datetime | None = UNSET, proposals_close_at: datetime | None = UNSET,
    preferences_open_at: datetime | None = UNSET, preferences_close_at: datetime | None = UNSET,
    phase_override: str | None = UNSET,
    min_choices: int = UNSET, max_choices: int = UNSET, allow_unranked: bool = UNSET,
    default_objective: str = UNSET, auto_approve: bool = UNSET, responses_locked: bool = UNSET,
) -> CohortView:
    """Change any of the cohort's settings; arguments left out stay as they are.

    Checked together, against the values already stored: windows close after they open, preferences
    open only once proposals have closed, 0 ≤ minimum ≤ maximum choices ≤ 50, a known objective, and a
    "published" override only once an allocation has been published. Nothing changes if any fails.
    """
    require_admin(session, actor)
    cohort = cohort_of(session, cohort_id)
    given = {k: v for k, v in dict(
        proposals_open_at=proposals_open_at, proposals_close_at=proposals_close_at,
        preferences_open_at=preferences_open_at, preferences_close_at=preferences_close_at,
        phase_override=phase_override, min_choices=min_choices, max_choices=max_choices,
        allow_unranked=allow_unranked, default_objective=default_objective, auto_approve=auto_approve,
        responses_locked=responses_locked,
    ).items() if v is not UNSET}
    problems: list[str] = []
    for f in DATE_FIELDS:
        if f in given:
            try:
                given[f] = local_to_utc(given[f])
            except Invalid as err:
                problems.append(str(err))
                given[f] = getattr(cohort, f)
    for f in ("min_choices", "max_choices"):
        if f in given:
            given[f] = _as_int(given[f], f.replace("_", " ").replace("choices", "number of choices"), problems)
    for f in ("allow_unranked", "auto_approve", "responses_locked"):
        if f in given:
            given[f] = bool(given[f])
    if "phase_override" in given:
        given["phase_override"] = given["phase_override"] or None
    new = {f: given.get(f, getattr(cohort, f)) for f in SETTING_FIELDS}

    problems += _settings_problems(session, cohort_id, new=new, given=given)
    if problems:
        raise Invalid(" ".join(problems))
    clean = clean_cohort_name(session, name, exclude_id=cohort_id) if name is not UNSET else cohort.name

    changes = {}
    for f in SETTING_FIELDS:
        if f in given and getattr(cohort, f) != new[f]:
            changes[f] = [_jsonable(getattr(cohort, f)), _jsonable(new[f])]
            setattr(cohort, f, new[f])
    if clean != cohort.name:
        changes["name"] = [cohort.name, clean]
        cohort.name = clean
    if changes:
        session.flush()
        record_audit(session, actor=actor, action="cohort.settings", cohort_id=cohort_id, changes=changes)
    return get_cohort(session, actor=actor, cohort_id=cohort_id)


def cohort_settings_form(session: Session, *, actor: Actor, cohort_id: int) -> CohortSettingsForm:
    require_admin(session, actor)
    view = get_cohort(session, actor=actor, cohort_id=cohort_id)
    tz = config.load().timezone
    return CohortSettingsForm(cohort=view, timezone=tz,
                              **{f: utc_to_local(getattr(view, f), tz) for f in DATE_FIELDS})
