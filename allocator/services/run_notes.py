"""Notes on each run of a cohort that the studio's runs table and headline need beside `list_runs`:
what was tuned for the run (so runs can be told apart) and how many of its unplaced students never
submitted a list (so "180 / 202 placed" is not read as 22 students left out by the solver).

A run's settings are read from the run record's `settings` alone (not its stored problem), so listing every
run stays one light query however large the cohort.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from allocator.domain import Objective
from allocator.models import AllocationRun, Assignment, Preference, Project
from allocator.services.access import Actor, require_admin
from allocator.services.run_record import DamagedRecord, RunParameters, settings_from_json

__all__ = ["RunNote", "describe_tuning", "run_notes"]

NAMED_CHANGES = 3  # up to this many capacity or minimum changes are named; more are counted


@dataclass(frozen=True)
class RunNote:
    run_id: int
    tuned: str  # e.g. "capacity: Gamma 1 · 3 pins · seed 4", or "catalogue as it is"
    unplaced_without_list: int  # unplaced students with no preference list in the cohort
    allow_unranked: bool = False  # the run could place students on projects they did not rank


def _changes(what: str, pairs, titles: dict[int, str]) -> str:
    if len(pairs) > NAMED_CHANGES:
        return f"{len(pairs)} {what} changes"
    return f"{what}: " + ", ".join(f"{titles.get(pid, f'#{pid}')} {value}" for pid, value in pairs)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def describe_tuning(params: RunParameters, titles: dict[int, str] | None = None) -> str:
    """What differs from the catalogue and the defaults in one run's settings, in a few words."""
    titles = titles or {}
    parts = []
    if params.objective == Objective.WEIGHTED and params.weights:
        parts.append("weights " + ",".join(str(w) for w in params.weights[:6]) + ("…" if len(params.weights) > 6
                                                                                  else ""))
    if params.capacity_overrides:
        parts.append(_changes("capacity", params.capacity_overrides, titles))
    if params.minimum_overrides:
        parts.append(_changes("minimum", params.minimum_overrides, titles))
    if params.supervisor_capacity_overrides:
        parts.append(_count(len(params.supervisor_capacity_overrides), "supervisor capacity change"))
    if params.pins:
        parts.append(_count(len(params.pins), "pin"))
    if params.forbids:
        parts.append(_count(len(params.forbids), "forbid"))
    if params.allow_unranked:
        parts.append("unranked allowed")
    parts.append(f"seed {params.seed}")
    if len(parts) == 1:
        parts.insert(0, "catalogue as it is")
    return " · ".join(parts)


def _settings_or_default(data) -> RunParameters:
    # A record the studio cannot read says so where the run is opened; the runs table just shows defaults.
    try:
        return settings_from_json(data)
    except DamagedRecord:
        return RunParameters()


def run_notes(session: Session, *, actor: Actor, cohort_id: int,
              run_ids: Iterable[int] | None = None) -> dict[int, RunNote]:
    """A note per run of the cohort (or of those of `run_ids` that are of the cohort), by run id (two
    queries). Reading a run's settings means reading its record, so one run's note is the cheaper ask."""
    require_admin(session, actor)
    which = AllocationRun.cohort_id == cohort_id
    if run_ids is not None:
        which = which & AllocationRun.id.in_(list(run_ids))
    settings = session.execute(select(AllocationRun.id, AllocationRun.record["settings"]).where(which)).all()
    parsed = {run_id: _settings_or_default(params) for run_id, params in settings}
    mentioned = {pid for p in parsed.values() for pid, _ in (*p.capacity_overrides, *p.minimum_overrides)}
    titles = dict(session.execute(select(Project.id, Project.title).where(Project.id.in_(mentioned))).all()) \
        if mentioned else {}
    has_list = exists().where(Preference.student_id == Assignment.student_id, Preference.cohort_id == cohort_id)
    without_list = dict(session.execute(
        select(Assignment.run_id, func.count())
        .join(AllocationRun, AllocationRun.id == Assignment.run_id)
        .where(which, Assignment.project_id.is_(None), ~has_list)
        .group_by(Assignment.run_id)).all())
    return {run_id: RunNote(run_id, describe_tuning(params, titles), without_list.get(run_id, 0),
                            params.allow_unranked) for run_id, params in parsed.items()}
