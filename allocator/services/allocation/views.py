"""The studio's read classes (frozen), and a run as a `RunView` read from its row."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session, aliased

from allocator.domain import Objective, RunStatus
from allocator.models import (
    AllocationRun,
    Assignment,
    User,
)
from allocator.services.allocation.common import cohort_names, stored_record
from allocator.services.allocation.mix import RunMix
from allocator.services.allocation.problem import suggest_changes
from allocator.services.run_record import (
    RunRecord,
)

__all__ = ["AssignmentRow", "Comparison", "DiffRow", "Headline", "ProjectDemandRow", "ProjectFillRow", "RunCharts",
           "RunView", "SetupProject", "SetupStudent", "SetupSupervisor", "StudioSetup", "SupervisorLoadRow",
           "headline_of"]


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
    objective_labels: dict[str, str] = field(default_factory=Objective.labels)


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


def headline_of(profile: Iterable[int], students: int, placed_students: int | None = None) -> Headline:
    """The headline figures of a run's profile (placements per rank, unranked last): students placed and
    unplaced, the share of placements at a first choice and in the top three, the worst and the average
    rank. With several places per student the profile counts placements, so `placed_students` (students
    with at least one project) gives placed and unplaced, and the shares are of every placement made or
    student left unplaced (of the students when each has one place)."""
    counts = [int(c) for c in profile]
    ranked, unranked = (counts[:-1], counts[-1]) if counts else ([], 0)
    placements = sum(counts)
    placed = placements if placed_students is None else placed_students
    whole = placements + (students - placed)
    used = [r for r, c in enumerate(counts, start=1) if c]
    return Headline(
        students=students, placed=placed, unplaced=students - placed, unranked=unranked,
        pct_first=100.0 * sum(ranked[:1]) / whole if whole else 0.0,
        pct_top3=100.0 * sum(ranked[:3]) / whole if whole else 0.0,
        worst_rank=used[-1] if used else None,
        average_rank=sum(r * c for r, c in enumerate(counts, start=1)) / placements if placements else None,
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
    placed: int  # students with a project
    unplaced: int
    students: int
    parent_run_id: int | None
    published: bool
    published_at: datetime | None
    # For an infeasible run: changes that would make it solvable, in the coordinator's words.
    suggestions: tuple[str, ...] = ()
    placements: int = 0  # projects given (more than `placed` when students have several places)

    @property
    def name(self) -> str:
        """'#12 · label' — how runs are told apart in lists and charts."""
        return f"#{self.id}" + (f" · {self.label}" if self.label else "")

    @property
    def feasible(self) -> bool:
        return self.status != RunStatus.INFEASIBLE

    @property
    def slots(self) -> int:
        """What a rank-profile chart counts: every placement, and every student left unplaced (the
        students, when each has one place)."""
        return self.placements + self.unplaced


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
    mix: RunMix  # groups, several places and tiers (`run_mix`), read with the rest


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


def run_query():
    """The SELECT of every column a `RunView` shows (the creator's name joined in)."""
    creator = aliased(User)
    return (select(AllocationRun.id, AllocationRun.cohort_id, AllocationRun.label,
                   AllocationRun.kind, AllocationRun.created_at, creator.name,
                   AllocationRun.objective, AllocationRun.status, AllocationRun.solver, AllocationRun.seconds,
                   AllocationRun.cost, AllocationRun.profile, AllocationRun.message,
                   AllocationRun.students, AllocationRun.parent_run_id,
                   AllocationRun.published_at, _placed_students())
            .outerjoin(creator, creator.id == AllocationRun.created_by_id))


def _placed_students():
    """How many students the run gives at least one project (its profile counts placements)."""
    return (select(func.count(distinct(Assignment.student_id)))
            .where(Assignment.run_id == AllocationRun.id, Assignment.project_id.is_not(None))
            .correlate(AllocationRun).scalar_subquery())


def view_of(row, suggestions: tuple[str, ...] = ()) -> RunView:
    """A row of `run_query` as a `RunView`, with the suggestions an infeasible run carries."""
    (rid, cohort_id, label, kind, created_at, creator, objective, status, solver, seconds, cost, profile,
     message, students, parent, published_at, placed) = row
    profile = tuple(int(c) for c in (profile or ()))
    students = int(students or 0)
    placed = int(placed or 0)
    return RunView(
        id=rid, cohort_id=cohort_id, label=label or "", kind=kind or "solve", created_at=created_at,
        created_by=creator or "", objective=objective, status=status, solver=solver or "",
        seconds=float(seconds or 0.0), cost=cost, profile=profile, message=message or "", placed=placed,
        unplaced=students - placed, students=students, parent_run_id=parent,
        published=published_at is not None, published_at=published_at, suggestions=suggestions,
        placements=sum(profile),
    )


def get_view(session: Session, run: AllocationRun, stored: RunRecord | None = None,
             names: Mapping[str, str] | None = None) -> RunView:
    """The run's view; an infeasible run's with suggestions (its record and names are read unless given)."""
    row = session.execute(run_query().where(AllocationRun.id == run.id)).one()
    suggestions: tuple[str, ...] = ()
    if run.status == RunStatus.INFEASIBLE:
        stored = stored or stored_record(session, run)
        names = names if names is not None else cohort_names(session, run.cohort_id)
        suggestions = suggest_changes(stored.problem, names)
    return view_of(row, suggestions)
