"""The rules of places, tiers, pins and groups, checked when a `Problem` is built (see its docstring)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from .words import count

if TYPE_CHECKING:
    from .model import Group, Problem, Student


def _malformed(message: str) -> Exception:
    from .model import MalformedProblem

    return MalformedProblem(message)


def _known(value: object, pos: dict) -> bool:
    try:
        return value in pos
    except TypeError:  # unhashable
        return False


def counts(students: tuple[Student, ...], key: str) -> np.ndarray:
    values = [s.places for s in students] if key == "places" else [s.tier for s in students]
    # One pass in C for the usual case (all whole numbers); the culprit is looked for only when needed.
    if values and (set(map(type, values)) != {int} or min(values) < 1):
        s, v = next((s, v) for s, v in zip(students, values) if type(v) is not int or v < 1)
        raise _malformed(f"student {s.id} has {key} {v!r}; it must be a whole number, 1 or more")
    # Beyond any cohort's number of projects a count cannot bind; clipping keeps sums inside int64.
    if values and max(values) > 2**20:
        values = [min(v, 2**20) for v in values]
    return np.array(values, np.int64)


def pins(raw: object) -> dict:
    """`Problem.pinned` in its one shape: a project id, or a tuple of several for one student.
    (student, project) pairs are accepted too, several for a student with several places."""
    if isinstance(raw, Mapping):
        items = raw.items()
    else:
        grouped: dict = {}
        try:
            for s, p in raw:
                grouped.setdefault(s, []).append(p)
        except (TypeError, ValueError):
            raise _malformed("pinned: expected (student, project) pairs") from None
        items = grouped.items()
    out = {}
    for s, got in items:
        got = tuple(got) if isinstance(got, (tuple, list)) else (got,)
        if not got:
            raise _malformed(f"pinned: student {s} has an empty list of pins")
        out[s] = got[0] if len(got) == 1 and type(got[0]) is str else got
    return out


def check_pins(problem: Problem, places: np.ndarray, student_pos: dict[str, int]) -> None:
    """A student's pins name distinct projects, no more than their places."""
    for s, got in problem.pinned.items():
        if type(got) is str:
            continue
        twice = next((p for p in got if got.count(p) > 1), None)
        if twice is not None:
            raise _malformed(f"pinned: student {s} is pinned to {twice} twice")
        n = int(places[student_pos[s]])
        if len(got) > n:
            what = "twice" if len(got) == 2 else f"to {len(got)} projects"
            raise _malformed(f"pinned: student {s} is pinned {what} ({', '.join(got)}) but has {count(n, 'place')}")


def check_places(problem: Problem, places: np.ndarray) -> None:
    if problem.allow_unranked:
        return
    for i in np.flatnonzero(places > 1).tolist():
        s = problem.students[i]
        if 0 < len(s.preferences) < s.places:
            raise _malformed(f"student {s.id} has {s.places} places but ranks only {len(s.preferences)} "
                             f"project{'s' if len(s.preferences) > 1 else ''}")


def group_index(problem: Problem, student_pos: dict[str, int], places: np.ndarray):
    group_of = np.full(len(student_pos), -1, np.int32)
    members_of = []
    for g, group in enumerate(problem.groups):
        if not group.members:
            raise _malformed(f"group {group.id} has no members")
        rows = []
        for s in group.members:
            if not _known(s, student_pos):
                raise _malformed(f"group {group.id}: {s!r} is not a student")
            i = student_pos[s]
            if group_of[i] >= 0:
                other = problem.groups[group_of[i]].id
                raise _malformed(f"student {s} is in two groups ({other} and {group.id})"
                                       if other != group.id else f"group {group.id} lists {s} twice")
            if places[i] != 1:
                raise _malformed(f"group {group.id}: member {s} has {places[i]} places; group members have 1")
            group_of[i] = g
            rows.append(i)
        first = problem.students[rows[0]]
        for i in rows[1:]:
            if problem.students[i].preferences != first.preferences:
                raise _malformed(f"group {group.id}: {problem.students[i].id} ranks other projects than "
                                       f"{first.id}; members rank one list together")
        check_group_pins(problem, group)
        members_of.append(np.array(rows, np.int32))
    return group_of, members_of


def check_group_pins(problem: Problem, group: Group) -> None:
    pins = [problem.pinned.get(s) for s in group.members]
    if any(p is not None for p in pins) and len(set(pins)) > 1:
        loose = next(s for s, p in zip(group.members, pins) if p != pins[0] or p is None)
        raise _malformed(f"group {group.id}: pin every member to the same project or none ({loose} differs)")
