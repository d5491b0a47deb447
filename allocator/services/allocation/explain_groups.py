"""Why a student got what they got when the run has groups or several places per student (issue 16):
"Your group of 3 could not fit in P7 (your 1st choice), which had 2 places left." The sentences name
projects by key; the caller replaces keys with titles (`common.humanise`), as for the engine's own
explanations, which cover the runs without groups or several places."""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from allocator import engine
from allocator.engine.words import choice, count

__all__ = ["uses_groups_or_places", "group_reasons"]


def uses_groups_or_places(problem: engine.Problem) -> bool:
    return bool(problem.groups) or any(s.places > 1 for s in problem.students)


def _better(prefs: Sequence[str], got: Sequence[str], places: int) -> list[tuple[int, str]]:
    """(rank, project) of each choice the student did not get and ranked above their worst project; every
    such choice while they have fewer projects than places (an unranked project counts as rank k + 1)."""
    ranks = [prefs.index(p) + 1 if p in prefs else len(prefs) + 1 for p in got]
    limit = len(prefs) + 1 if len(got) < places else max(ranks)
    return [(r, q) for r, q in enumerate(prefs, start=1) if r < limit and q not in got]


def group_reasons(problem: engine.Problem, placed: Mapping[str, Sequence[str]], student: str, *,
                  proven: bool) -> list[str]:
    """One sentence per choice ranked above what the student (or their group) got, best first."""
    me = next(s for s in problem.students if s.id == student)
    group = next((g.members for g in problem.groups if student in g.members), (student,))
    got = list(placed.get(student, ()))
    projects = {p.id: p for p in problem.projects}
    caps = {v.id: v.capacity for v in problem.supervisors}
    n = len(group)
    outside = Counter(p for s, ps in placed.items() if s not in group for p in ps)
    load = Counter(projects[p].supervisor for p, c in outside.items() for _ in range(c))
    you = f"your group of {n}" if n > 1 else "you"
    out = []
    for rank, q in _better(me.preferences, got, me.places):
        head = f"{q} (your {choice(rank, problem.k)})"
        project = projects[q]
        left = max(0, project.capacity - outside[q])
        if any((m, q) in problem.forbidden for m in group):
            out.append(f"{head} was ruled out by the coordinator" + (" for one of your group." if n > 1 else " for you."))
        elif left < n:
            out.append(f"Your group of {n} could not fit in {head}, which had {count(left, 'place')} left."
                       if n > 1 else f"{head} was full: its {count(project.capacity, 'place')} went to other students.")
        elif project.supervisor in caps and load[project.supervisor] + n > caps[project.supervisor]:
            out.append(f"{head} was not possible: its supervisor had no room left for {you}.")
        elif not proven:
            out.append(f"{head} had room for {you}, but the solver stopped at its time limit before it could "
                       "improve the allocation further.")
        else:
            out.append(f"{head} had room for {you}, but placing {'it' if n > 1 else 'you'} there would make the "
                       "allocation worse overall: fewer placements, or worse choices for others (priority tiers "
                       "first).")
    return out
