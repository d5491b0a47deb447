"""A student's ranked list of projects: browsing the catalogue, reading the list, saving it whole.

Saving replaces the list in one transaction (delete + insert) after locking the student's membership row,
so two saves of the same student (two tabs, a double tap on a phone) queue up: the stored list is always
one of them, whole. SQLite serialises writers already (`BEGIN IMMEDIATE` in `allocator.db`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, insert, select
from sqlalchemy.orm import Session, aliased

from allocator.domain import Phase, ProjectStatus, Role
from allocator.models import Cohort, Membership, Preference, Project, StudentGroup, User, utcnow
from allocator.services.access import Actor, require_member
from allocator.services.cohorts import published_run_id
from allocator.services.errors import Closed, Invalid, NotFound
from allocator.services.group_lists import group_id_of, write_group_ranking
from allocator.services.places import effective_places
from allocator.services.phases import Window, phase_of, preferences_open, window_of

__all__ = [
    "ChoiceOption", "RankedChoice", "PreferencesView", "BrowseProject", "ProjectBrowser",
    "get_preferences", "save_preferences", "check_new_order", "browse_projects",
]


@dataclass(frozen=True)
class ChoiceOption:
    """An approved project a student may put in their list."""

    id: int
    code: str | None
    title: str
    supervisor_name: str


@dataclass(frozen=True)
class RankedChoice:
    rank: int
    project_id: int
    title: str
    supervisor_name: str
    # False when the project was withdrawn after the student chose it: they must remove it to save again.
    available: bool


@dataclass(frozen=True)
class PreferencesView:
    cohort_id: int
    phase: str
    phase_label: str
    is_open: bool
    read_only: bool
    opens_at: datetime | None
    deadline: datetime | None
    # None when the window is not open or has no closing date.
    time_left: timedelta | None
    saved_at: datetime | None
    min_choices: int
    max_choices: int
    items: tuple[RankedChoice, ...]
    options: tuple[ChoiceOption, ...]
    window: Window | None = None  # what is true now of the choosing window (what the page tells the student)
    # The student's group: saving the list saves the group's shared list (and every member's).
    group_id: int | None = None
    group_name: str | None = None

    @property
    def project_ids(self) -> tuple[int, ...]:
        return tuple(item.project_id for item in self.items)

    @property
    def submitted(self) -> bool:
        return self.saved_at is not None


@dataclass(frozen=True)
class BrowseProject:
    id: int
    code: str | None
    title: str
    description: str
    capacity: int
    min_students: int
    tags: tuple[str, ...]
    supervisor_id: int | None
    supervisor_name: str
    # The project's rank in the student's saved list, None when it is not in it.
    my_rank: int | None

    @property
    def in_my_list(self) -> bool:
        return self.my_rank is not None


@dataclass(frozen=True)
class ProjectBrowser:
    cohort_id: int
    is_open: bool
    max_choices: int
    total: int  # approved projects in the cohort, before filtering
    projects: tuple[BrowseProject, ...]  # those matching the search and filters
    tags: tuple[str, ...]  # every tag in the catalogue, for the filter
    supervisors: tuple[tuple[int, str], ...]  # (id, name) of every supervisor in the catalogue
    my_list: tuple[int, ...]  # the saved list, best first


def _student_cohort(session: Session, actor: Actor, cohort_id: int, *, lock: bool = False) -> tuple[Membership, Cohort]:
    """The actor's student membership (locked FOR UPDATE when saving) and the cohort; NotAllowed otherwise."""
    membership = require_member(session, actor, cohort_id, Role.STUDENT, lock=lock)
    cohort = session.get(Cohort, cohort_id)
    if cohort is None:  # pragma: no cover - the membership's foreign key guarantees it
        raise NotFound("That cohort does not exist.")
    return membership, cohort


def _phase(session: Session, cohort: Cohort) -> str:
    return phase_of(cohort, published=published_run_id(session, cohort.id) is not None)


def _approved_options(session: Session, cohort_id: int) -> list[ChoiceOption]:
    rows = session.execute(
        select(Project.id, Project.code, Project.title, User.name)
        .outerjoin(User, User.id == Project.supervisor_id)
        .where(Project.cohort_id == cohort_id, Project.status == ProjectStatus.APPROVED)
        .order_by(Project.title, Project.id)
    ).all()
    return [ChoiceOption(pid, code, title, name or "(no supervisor)") for pid, code, title, name in rows]


def get_preferences(session: Session, *, actor: Actor, cohort_id: int) -> PreferencesView:
    """The student's saved list, the projects they may choose from, and the state of the window."""
    membership, cohort = _student_cohort(session, actor, cohort_id)
    return _view(session, membership, cohort, _phase(session, cohort))


def _view(session: Session, membership: Membership, cohort: Cohort, phase: str) -> PreferencesView:
    options = _approved_options(session, cohort.id)
    rows = session.execute(
        select(Preference.rank, Project.id, Project.title, Project.status, User.name)
        .join(Project, Project.id == Preference.project_id)
        .outerjoin(User, User.id == Project.supervisor_id)
        .where(Preference.cohort_id == cohort.id, Preference.student_id == membership.user_id)
        .order_by(Preference.rank)
    ).all()
    items = tuple(RankedChoice(rank, pid, title, name or "(no supervisor)", status == ProjectStatus.APPROVED)
                  for rank, pid, title, status, name in rows)
    is_open = preferences_open(phase)
    now = utcnow()
    deadline = cohort.preferences_close_at
    time_left = deadline - now if is_open and deadline is not None and deadline > now else None
    group_id = group_id_of(session, cohort.id, membership.user_id)
    return PreferencesView(
        cohort_id=cohort.id, phase=phase, phase_label=Phase.label_of(phase), is_open=is_open,
        read_only=not is_open, opens_at=cohort.preferences_open_at, deadline=deadline, time_left=time_left,
        saved_at=membership.preferences_saved_at, min_choices=_effective_min(cohort, len(options), membership),
        max_choices=cohort.max_choices, items=items, options=tuple(options),
        window=window_of(cohort, "preferences", phase, now=now), group_id=group_id,
        group_name=session.get(StudentGroup, group_id).name if group_id is not None else None,
    )


def _effective_min(cohort: Cohort, approved: int, membership: Membership | None = None) -> int:
    # A student ranks at least as many projects as they have places; a cohort with fewer approved
    # projects than that cannot ask for more than there are.
    places = effective_places(cohort, membership) if membership is not None else 1
    return min(max(cohort.min_choices, places), approved)


def _closed_message(phase: str) -> str:
    if phase in (Phase.SETUP, Phase.PROPOSALS):
        return "Choosing projects has not opened yet, so nothing was saved."
    return "The deadline for choosing projects has passed, so nothing was saved."


def save_preferences(session: Session, *, actor: Actor, cohort_id: int, project_ids: Sequence[int]) -> PreferencesView:
    """Replace the student's whole list with `project_ids` (best first), or change nothing and say why."""
    membership, cohort = _student_cohort(session, actor, cohort_id, lock=True)
    phase = _phase(session, cohort)
    if not preferences_open(phase):
        raise Closed(_closed_message(phase))
    if isinstance(project_ids, (str, bytes)) or not all(isinstance(p, int) and not isinstance(p, bool)
                                                        for p in project_ids):
        raise Invalid("The list must be a list of projects.")
    ids = list(project_ids)

    catalogue = {pid: (title, status) for pid, title, status in session.execute(
        select(Project.id, Project.title, Project.status).where(Project.cohort_id == cohort_id))}
    approved = sum(1 for _, status in catalogue.values() if status == ProjectStatus.APPROVED)

    seen: set[int] = set()
    for pid in ids:
        if pid in seen:
            title = catalogue.get(pid, ("that project", ""))[0]
            raise Invalid(f"“{title}” is in your list twice; each project can appear only once.")
        seen.add(pid)
    for pid in ids:
        if pid not in catalogue:
            raise Invalid("One of the projects in your list is not a project of this cohort.")
        title, status = catalogue[pid]
        if status != ProjectStatus.APPROVED:
            raise Invalid(f"“{title}” is no longer available to choose; remove it from your list and save again.")
    minimum = _effective_min(cohort, approved, membership)
    if len(ids) < minimum:
        raise Invalid(f"Please rank at least {minimum} projects; your list has {len(ids)}.")
    if len(ids) > cohort.max_choices:
        raise Invalid(f"You can rank at most {cohort.max_choices} projects; your list has {len(ids)}.")

    group_id = group_id_of(session, cohort_id, actor.user_id)
    if group_id is not None:
        write_group_ranking(session, group_id=group_id, cohort_id=cohort_id, actor_id=actor.user_id, project_ids=ids)
        return _view(session, membership, cohort, phase)
    session.execute(delete(Preference).where(Preference.cohort_id == cohort_id,
                                             Preference.student_id == actor.user_id))
    if ids:
        session.execute(insert(Preference), [
            dict(cohort_id=cohort_id, student_id=actor.user_id, project_id=pid, rank=rank)
            for rank, pid in enumerate(ids, start=1)
        ])
    membership.preferences_saved_at = utcnow()
    session.flush()
    return _view(session, membership, cohort, phase)


def check_new_order(session: Session, *, actor: Actor, cohort_id: int, draft: Sequence[int],
                    new_order: Sequence[object]) -> tuple[int, ...]:
    """`new_order` (from the drag-and-drop list, which the browser controls) as the student's new draft,
    after checking it is `draft` reordered: the same projects, each once, every one a project of the
    student's cohort that is approved or already in their saved list, no more than the cohort allows.
    Raises Invalid (the draft stays as it was) for a stale value (the list changed meanwhile, in this tab
    or another) or a forged one. Saving checks everything again, the minimum included."""
    membership, cohort = _student_cohort(session, actor, cohort_id)
    if isinstance(new_order, (str, bytes)) or not all(
            isinstance(p, int) and not isinstance(p, bool) for p in new_order):
        raise Invalid("That new order could not be read; your list is unchanged.")
    order = tuple(new_order)
    if len(set(order)) != len(order):
        raise Invalid("That new order has a project twice; your list is unchanged.")
    if sorted(order) != sorted(draft):
        raise Invalid("Your list changed while you were moving it; it is shown as it is now. Please try again.")
    if len(order) > cohort.max_choices:
        raise Invalid(f"You can rank at most {cohort.max_choices} projects; your list has {len(order)}.")
    saved = set(session.scalars(select(Preference.project_id).where(
        Preference.cohort_id == cohort_id, Preference.student_id == membership.user_id)))
    approved = set(session.scalars(select(Project.id).where(
        Project.cohort_id == cohort_id, Project.status == ProjectStatus.APPROVED, Project.id.in_(order))))
    if any(pid not in approved and pid not in saved for pid in order):
        raise Invalid("One of the projects in that order is not one you can choose; your list is unchanged.")
    return order


def _matches(project: BrowseProject, terms: list[str]) -> bool:
    haystack = f"{project.title}\n{project.code or ''}\n{project.description}\n{project.supervisor_name}".casefold()
    return all(term in haystack for term in terms)


def browse_projects(
    session: Session, *, actor: Actor, cohort_id: int, search: str = "", tags: Sequence[str] = (),
    supervisor_id: int | None = None,
) -> ProjectBrowser:
    """The cohort's approved projects matching a text search (every word must appear in the title, code,
    description or supervisor's name), any of `tags`, and `supervisor_id`; each flagged with its rank in
    the student's saved list. One query for the catalogue whatever its size; filtering is done in Python
    over that one result so the tag and supervisor choices always show the whole catalogue."""
    _, cohort = _student_cohort(session, actor, cohort_id)
    phase = _phase(session, cohort)
    supervisor = aliased(User)
    mine = aliased(Preference)
    rows = session.execute(
        select(Project.id, Project.code, Project.title, Project.description, Project.capacity,
               Project.min_students, Project.tags, Project.supervisor_id, supervisor.name, mine.rank)
        .outerjoin(supervisor, supervisor.id == Project.supervisor_id)
        .outerjoin(mine, and_(mine.project_id == Project.id, mine.cohort_id == cohort_id,
                              mine.student_id == actor.user_id))
        .where(Project.cohort_id == cohort_id, Project.status == ProjectStatus.APPROVED)
        .order_by(Project.title, Project.id)
    ).all()
    everything = [
        BrowseProject(id=pid, code=code, title=title, description=description or "", capacity=capacity,
                      min_students=min_students, tags=tuple(str(t) for t in (tags_ or ())),
                      supervisor_id=sup_id, supervisor_name=sup_name or "(no supervisor)", my_rank=rank)
        for pid, code, title, description, capacity, min_students, tags_, sup_id, sup_name, rank in rows
    ]
    all_tags = sorted({t for p in everything for t in p.tags}, key=str.casefold)
    supervisors = sorted({(p.supervisor_id, p.supervisor_name) for p in everything if p.supervisor_id is not None},
                         key=lambda s: (s[1].casefold(), s[0]))
    terms = search.casefold().split()
    wanted_tags = {t.casefold() for t in tags}
    shown = [
        p for p in everything
        if (not terms or _matches(p, terms))
        and (not wanted_tags or any(t.casefold() in wanted_tags for t in p.tags))
        and (supervisor_id is None or p.supervisor_id == supervisor_id)
    ]
    # The whole saved list, including any project withdrawn since it was chosen.
    my_list = tuple(session.scalars(
        select(Preference.project_id)
        .where(Preference.cohort_id == cohort_id, Preference.student_id == actor.user_id)
        .order_by(Preference.rank)
    ))
    return ProjectBrowser(
        cohort_id=cohort_id, is_open=preferences_open(phase), max_choices=cohort.max_choices,
        total=len(everything), projects=tuple(shown), tags=tuple(all_tags), supervisors=tuple(supervisors),
        my_list=my_list,
    )
