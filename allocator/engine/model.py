"""The allocation problem and its result as typed, immutable values.

A `Problem` checks its own invariants when it is built, so every solver, validator and explainer can
rely on them; the numpy view the solvers need (`Problem.index`) is derived once, at that moment, since
the checks need most of it anyway.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import chain
from typing import NamedTuple
from collections.abc import Iterable, Mapping

import numpy as np

from allocator.domain import Objective, RunStatus

from . import members

# The names in problem and result files; the vocabulary (and each name's label) is `allocator.domain`'s.
OBJECTIVES = Objective.values()
STATUSES = RunStatus.values()


class MalformedProblem(ValueError):
    """The problem breaks a rule of the format; the message is one line that names the culprit."""


class BadOptions(ValueError):
    """The solve options (objective, weights, time limit) do not fit the problem."""


# Named tuples rather than dataclasses: a cohort has thousands of students, and building a frozen
# dataclass costs several times more per instance, on the path whose speed the CLI is judged by.
class Student(NamedTuple):
    """`places`: how many distinct projects the student may be given (elective modules, lab places).
    `tier`: 1 is served first; the objective is optimal for tier 1, then for tier 2 given tier 1, …"""

    id: str
    preferences: tuple[str, ...] = ()  # rank 1 first
    places: int = 1
    tier: int = 1


class Group(NamedTuple):
    """Students placed together on one project, or not at all. Its members rank the same list and
    have one place each; a project's capacity (and its supervisor's) counts every member."""

    id: str
    members: tuple[str, ...]


class Project(NamedTuple):
    id: str
    capacity: int
    min_students: int = 0
    supervisor: str | None = None


class Supervisor(NamedTuple):
    id: str
    capacity: int


class Index(NamedTuple):
    """Positions and numpy arrays derived from a problem; read-only by convention."""

    student_ids: list[str]
    project_ids: list[str]
    supervisor_ids: list[str]
    student_pos: dict[str, int]
    project_pos: dict[str, int]
    pref_student: np.ndarray  # one entry per ranked (student, project) pair, students in order
    pref_project: np.ndarray
    pref_rank: np.ndarray  # 1 = favourite
    k: int  # longest preference list; an unranked placement counts as rank k + 1
    capacity: np.ndarray
    minimum: np.ndarray
    supervisor_of: np.ndarray  # -1: no supervisor with a listed capacity
    supervisor_capacity: np.ndarray
    pinned_student: np.ndarray
    pinned_project: np.ndarray
    forbidden_student: np.ndarray
    forbidden_project: np.ndarray
    places: np.ndarray  # per student
    tier: np.ndarray  # per student, 1 first
    group_of: np.ndarray  # per student: position of their group in `Problem.groups`, -1 if none
    group_members: list[np.ndarray]  # per group: its members' positions

    @property
    def unranked_rank(self) -> int:
        return self.k + 1


@dataclass(frozen=True)
class Problem:
    """Students with ranked preferences, projects with capacities and optional minimums, and rules.

    A project's `supervisor` that is not among `supervisors` has no capacity limit of their own.
    A `min_students` of 0 or 1 never binds, since a project with one student has at least one.

    Places, tiers and groups (rules checked here, each broken one a one-line MalformedProblem):
    - `places` and `tier` are whole numbers from 1. A student with more than one place who ranks any
      project must rank at least `places` of them unless `allow_unranked` (an empty list is a student
      who has not ranked yet, as with one place).
    - A student is in at most one group; a group has at least one member, every member has one place
      and the same preference list. Members may have different tiers: each member's placement counts in
      their own tier.
    - `pinned` maps a student to the project they are fixed on, or, for a student with several places,
      to a tuple of distinct projects (at most their places); the solver chooses their other places.
      `pins_of` and `pin_pairs` read both shapes alike. A group's members are pinned all to the same
      project or none of them.
    - A forbidden (member, project) pair keeps the whole group off that project.
    """

    students: tuple[Student, ...]
    projects: tuple[Project, ...]
    supervisors: tuple[Supervisor, ...] = ()
    pinned: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    forbidden: frozenset[tuple[str, str]] = frozenset()
    allow_unranked: bool = False
    groups: tuple[Group, ...] = ()
    index: Index = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "students", _students(self.students))
        set_(self, "projects", _as_tuple(self.projects, "projects"))
        set_(self, "supervisors", _as_tuple(self.supervisors, "supervisors"))
        set_(self, "pinned", members.pins(self.pinned))
        set_(self, "forbidden", frozenset(self.forbidden))
        set_(self, "groups", _groups(self.groups))
        set_(self, "index", _build_index(self))

    def pins_of(self, student: str) -> tuple[str, ...]:
        """The projects the student is pinned to; () when none."""
        got = self.pinned.get(student)
        return () if got is None else (got,) if type(got) is str else got

    def pin_pairs(self) -> list[tuple[str, str]]:
        """Every (student, project) pin, a student with several pins once per project."""
        return [(s, p) for s, got in self.pinned.items() for p in ((got,) if type(got) is str else got)]

    @property
    def k(self) -> int:
        """The longest preference list."""
        return self.index.k

    @property
    def extended(self) -> bool:
        """Whether the problem uses groups, several places or tiers beyond 1."""
        ix = self.index
        return bool(self.groups) or bool((ix.places > 1).any()) or bool((ix.tier > 1).any())

    def rank(self, student: str, project: str) -> int:
        """The rank `student` gave `project`, or k + 1 when they did not rank it."""
        prefs = self.students[self.index.student_pos[student]].preferences
        try:
            return prefs.index(project) + 1
        except ValueError:
            return self.index.k + 1


@dataclass(frozen=True)
class Result:
    """What a solve produced.

    `assignment` maps a placed student to a project id, or, for a student with more than one place,
    to the list of their project ids (best rank first, possibly fewer than their places); unplaced
    students are in `unassigned`. `projects_of` reads both shapes alike. Counts are of placements: a
    student with two places placed twice counts twice in `placed` and in `profile`, whose entry
    `profile[r - 1]` counts placements at rank r and whose last entry counts unranked placements.
    `students_placed` counts students with at least one placement. `cost` is the sum over placements
    of their ranks (unranked counts k + 1), or of the weights for the `weighted` objective. `ranks`
    mirrors `assignment`: an int, or a list of ints parallel to the student's projects. `bound` holds
    proven limits when the solver stopped before proving optimality, e.g. {"placed": 1995} (no
    allocation places more) or {"cost": 4210} (none costs less)."""

    status: str
    objective: str
    assignment: dict[str, str | list[str]]
    unassigned: list[str]
    profile: list[int]
    cost: int
    seconds: float
    solver: str
    message: str = ""
    bound: dict[str, int] = field(default_factory=dict)
    seed: int = 0
    weights: list[int] | None = None
    ranks: dict[str, int | list[int]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def proven(self) -> bool:
        return self.status == RunStatus.OPTIMAL

    @property
    def placed(self) -> int:
        """The number of placements (students, when everyone has one place)."""
        return sum(1 if type(p) is str else len(p) for p in self.assignment.values())

    @property
    def students_placed(self) -> int:
        return len(self.assignment)

    def projects_of(self, student: str) -> tuple[str, ...]:
        """The student's projects, best rank first; () when unplaced."""
        got = self.assignment.get(student)
        if got is None:
            return ()
        return (got,) if type(got) is str else tuple(got)

    def placements(self) -> list[tuple[str, str]]:
        """Every (student, project) pair, students in assignment order."""
        return [(s, p) for s in self.assignment for p in self.projects_of(s)]

    def rank_of(self, student: str) -> int | list[int] | None:
        """The rank of the student's project in their list (k + 1 when unranked), None if unplaced; a
        list of ranks for a student with several places."""
        return self.ranks.get(student)

    def ranks_of(self, student: str) -> tuple[int, ...]:
        """The ranks of the student's projects, parallel to `projects_of`."""
        got = self.ranks.get(student)
        if got is None:
            return ()
        return (got,) if type(got) is int else tuple(got)

    def profile_by_tier(self, problem: Problem) -> dict[int, list[int]]:
        """Per tier present in the problem, its placements counted by rank (shaped like `profile`)."""
        tier_of = {s.id: s.tier for s in problem.students}
        out = {t: [0] * len(self.profile) for t in sorted(set(tier_of.values()))}
        for s in self.assignment:
            for r in self.ranks_of(s) or (problem.rank(s, p) for p in self.projects_of(s)):
                out[tier_of[s]][r - 1] += 1
        return out


def _as_tuple(value: object, what: str) -> tuple:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise MalformedProblem(f"{what}: expected a list")
    return tuple(value)


def _students(students: object) -> tuple[Student, ...]:
    students = _as_tuple(students, "students")
    if any(type(s) is not Student or type(s.preferences) is not tuple for s in students):
        students = tuple(
            s._replace(preferences=_as_tuple(s.preferences, f"student {s.id}")) if isinstance(s, Student) else s
            for s in students
        )
    return students


def _groups(groups: object) -> tuple[Group, ...]:
    groups = _as_tuple(groups, "groups")
    out = []
    for g in groups:
        if not isinstance(g, Group):
            raise MalformedProblem(f"expected a group, got {type(g).__name__}")
        out.append(g if type(g.members) is tuple else g._replace(members=_as_tuple(g.members, f"group {g.id}")))
    return tuple(out)


def _build_index(problem: Problem) -> Index:
    student_ids = _ids(problem.students, Student, "student")
    project_ids = _ids(problem.projects, Project, "project")
    supervisor_ids = _ids(problem.supervisors, Supervisor, "supervisor")
    student_pos = {s: i for i, s in enumerate(student_ids)}
    project_pos = {p: j for j, p in enumerate(project_ids)}
    pref_student, pref_project, pref_rank, k = _preferences(problem.students, project_pos, len(project_ids))
    capacity, minimum = _project_sizes(problem.projects)
    supervisor_capacity = _whole_numbers(
        [v.capacity for v in problem.supervisors], supervisor_ids, "supervisor", "capacity"
    )
    supervisor_of = _supervisor_of(problem.projects, {v: i for i, v in enumerate(supervisor_ids)})
    pinned_student, pinned_project = _pairs(problem.pin_pairs(), student_pos, project_pos, "pinned")
    forbidden_student, forbidden_project = _pairs(problem.forbidden, student_pos, project_pos, "forbidden")
    if type(problem.allow_unranked) is not bool:
        raise MalformedProblem("allow_unranked must be true or false")
    places = members.counts(problem.students, "places")
    tier = members.counts(problem.students, "tier")
    members.check_places(problem, places)
    members.check_pins(problem, places, student_pos)
    _ids(problem.groups, Group, "group")
    group_of, group_members = members.group_index(problem, student_pos, places)
    return Index(
        student_ids, project_ids, supervisor_ids, student_pos, project_pos,
        pref_student, pref_project, pref_rank, k, capacity, minimum, supervisor_of, supervisor_capacity,
        pinned_student, pinned_project, forbidden_student, forbidden_project,
        places, tier, group_of, group_members,
    )


def _ids(items: tuple, kind: type, what: str) -> list[str]:
    ids = []
    for item in items:
        if not isinstance(item, kind):
            raise MalformedProblem(f"expected a {what}, got {type(item).__name__}")
        ids.append(item.id)
    for i in ids:
        if type(i) is not str or not i:
            raise MalformedProblem(f"{what} id {i!r}: ids must be non-empty text")
    if len(set(ids)) != len(ids):
        twice = next(i for i, c in Counter(ids).items() if c > 1)
        raise MalformedProblem(f"two {what}s have the id {twice}")
    return ids


def _preferences(students: tuple[Student, ...], project_pos: dict[str, int], m: int):
    lens = np.fromiter(map(len, (s.preferences for s in students)), np.int64, len(students))
    total = int(lens.sum())
    try:
        flat = np.fromiter(map(project_pos.__getitem__, chain.from_iterable(s.preferences for s in students)),
                           np.int32, total)
    except (KeyError, TypeError):
        _raise_unknown_preference(students, project_pos)
    k = int(lens.max()) if lens.size else 0
    pref_student = np.repeat(np.arange(len(students), dtype=np.int32), lens)
    pref_rank = (np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(lens) - lens, lens) + 1).astype(np.int32)
    _check_no_repeats(students, pref_student, pref_rank, flat, k, project_pos)
    return pref_student, flat, pref_rank, k


def _check_no_repeats(students, pref_student, pref_rank, flat, k, project_pos) -> None:
    # Sorting the (student, project) codes costs memory in the number of ranked pairs; a grid of
    # students × longest list would grow with one student who ranks everything.
    codes = pref_student.astype(np.int64) * max(len(project_pos), 1) + flat
    codes.sort()
    twice = np.flatnonzero(codes[1:] == codes[:-1])
    if twice.size:
        code = int(codes[int(twice[0])])
        student = students[code // max(len(project_pos), 1)]
        j = code % max(len(project_pos), 1)
        raise MalformedProblem(f"student {student.id} ranks {_project_name(student, project_pos, j)} twice")


def _project_name(student: Student, project_pos: dict[str, int], j: int) -> str:
    return next(p for p in student.preferences if project_pos[p] == j)


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _raise_unknown_preference(students: tuple[Student, ...], project_pos: dict[str, int]) -> None:
    for s in students:
        for p in s.preferences:
            if not _hashable(p) or p not in project_pos:
                raise MalformedProblem(f"student {s.id} ranks {p!r}, which is not a project")


def _project_sizes(projects: tuple[Project, ...]) -> tuple[np.ndarray, np.ndarray]:
    ids = [p.id for p in projects]
    capacity = _whole_numbers([p.capacity for p in projects], ids, "project", "capacity")
    minimum = _whole_numbers([p.min_students for p in projects], ids, "project", "min_students")
    over = np.flatnonzero(minimum > capacity)
    if over.size:
        j = int(over[0])
        raise MalformedProblem(
            f"project {ids[j]} needs at least {minimum[j]} students but has room for only {capacity[j]}"
        )
    return capacity, minimum


def _whole_numbers(values: list, ids: list[str], what: str, key: str) -> np.ndarray:
    for i, v in zip(ids, values):
        if type(v) is not int or v < 0:
            raise MalformedProblem(f"{what} {i} has {key} {v!r}; it must be a whole number, 0 or more")
    # Beyond any cohort's size a capacity cannot bind; clipping keeps every sum inside int64.
    return np.array([min(v, 2**40) for v in values], np.int64)


def _supervisor_of(projects: tuple[Project, ...], supervisor_pos: dict[str, int]) -> np.ndarray:
    for p in projects:
        if p.supervisor is not None and (type(p.supervisor) is not str or not p.supervisor):
            raise MalformedProblem(f"project {p.id}: supervisor must be an id or absent")
    return np.array([supervisor_pos.get(p.supervisor, -1) for p in projects], np.int32)


def _pairs(pairs: Iterable, student_pos: dict[str, int], project_pos: dict[str, int], what: str):
    students, projects = [], []
    for pair in pairs:
        if type(pair) is not tuple or len(pair) != 2:
            raise MalformedProblem(f"{what}: expected (student, project) pairs")
        s, p = pair
        if not _hashable(s) or s not in student_pos:
            raise MalformedProblem(f"{what}: {s!r} is not a student")
        if not _hashable(p) or p not in project_pos:
            raise MalformedProblem(f"{what}: {p!r} is not a project")
        students.append(student_pos[s])
        projects.append(project_pos[p])
    return np.array(students, np.int32), np.array(projects, np.int32)
