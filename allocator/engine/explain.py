"""Why a student did not get each choice they ranked above the one they got, in plain words.

A group member hears about their group ("could not fit your group of 3: it had 2 places left"); a
student with several places hears about every choice above their worst placement that they did not
get, or about every choice they did not get while a place is left empty."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from collections.abc import Mapping

from allocator.domain import RunStatus

from .model import Problem, Result
from .words import choice, count

REASONS = (
    "pinned", "forbidden", "no_places", "closed", "full", "full_tie", "full_tradeoff", "group_too_big",
    "supervisor_full",
    "needed_for_minimum", "objective", "not_proven", "no_allocation",
)


@dataclass(frozen=True, slots=True)
class Reason:
    project: str
    rank: int
    reason: str  # one of REASONS, for a program; `text` says it to the student
    text: str


def explain(problem: Problem, result: Result, student: str, names: Mapping[str, str] | None = None) -> list[Reason]:
    """One reason per project the student ranked above the one they got (all of them when unplaced),
    best choice first. `names` may give display names for project and supervisor ids."""
    ix = problem.index
    if student not in ix.student_pos:
        raise KeyError(f"{student} is not a student of this problem")
    prefs = problem.students[ix.student_pos[student]].preferences
    if result.status not in (RunStatus.OPTIMAL, RunStatus.FEASIBLE):
        # Nobody was placed: every choice has the same reason, the one the solver gave.
        why = result.message or "no allocation was found within the time limit"
        return [Reason(q, r, "no_allocation", f"{(names or {}).get(q, q)} (your {choice(r, problem.k)}) could not "
                       f"be given: no allocation was made, because {why}.") for r, q in enumerate(prefs, start=1)]
    got = result.projects_of(student)
    places = problem.students[ix.student_pos[student]].places
    if len(got) >= places and all(p in prefs for p in got):
        better = [q for q in prefs[: max(prefs.index(p) for p in got)] if q not in got]
    else:
        better = [q for q in prefs if q not in got]
    ctx = _Context(problem, result, names or {})
    return [ctx.reason(student, q, prefs.index(q) + 1) for q in better]


class _Context:
    def __init__(self, problem: Problem, result: Result, names: Mapping[str, str]):
        self.problem, self.result, self.names = problem, result, names
        self.k = problem.k
        self.projects = {p.id: p for p in problem.projects}
        self.supervisor_cap = {v.id: v.capacity for v in problem.supervisors}
        placements = result.placements()
        self.count = Counter(p for _, p in placements)
        self.load = Counter(self.projects[p].supervisor for _, p in placements)
        self.group = {s: g for g in problem.groups for s in g.members}

    def name(self, id_: str) -> str:
        return self.names.get(id_, id_)

    def reason(self, student: str, q: str, rank: int) -> Reason:
        code, text = self._why(student, q, rank)
        return Reason(q, rank, code, f"{self.name(q)} (your {choice(rank, self.k)}) {text}")

    def _why(self, student: str, q: str, rank: int) -> tuple[str, str]:
        problem, project = self.problem, self.projects[q]
        mine = self.result.projects_of(student)
        got = mine[0] if mine else None
        group = self.group.get(student)
        seats = len(group.members) if group is not None else 1
        pins = problem.pins_of(student)
        if pins and len(pins) >= problem.students[problem.index.student_pos[student]].places:
            where = " and ".join(self.name(p) for p in pins)
            return "pinned", f"was not considered: the coordinator fixed your place{'s' * (len(pins) > 1)} on {where}."
        if (student, q) in problem.forbidden:
            return "forbidden", "was ruled out for you by the coordinator."
        if group is not None and any((s, q) in problem.forbidden for s in group.members):
            return "forbidden", "was ruled out for someone in your group by the coordinator."
        if project.capacity == 0:
            return "no_places", "had no places."
        if seats > 1 and self.count[q] + seats > project.capacity:
            left = project.capacity - self.count[q]
            room = (f"it has only {count(left, 'place')}" if left == project.capacity
                    else f"it had {count(left, 'place')} left" if left else "it had no places left")
            return "group_too_big", f"could not fit your group of {seats}: {room}."
        if self.count[q] == 0 and project.min_students > 1:
            return "closed", (f"did not run: it needed at least {project.min_students} students and not "
                              f"enough could be placed on it without a worse allocation overall.")
        if self.count[q] >= project.capacity:
            return self._full(q, rank, project.capacity)
        sup = project.supervisor
        # Moving between two projects of one supervisor leaves their load as it is: then the
        # supervisor is no block, and the minimum of the student's own project may be.
        same_supervisor = got is not None and self.projects[got].supervisor == sup
        if sup in self.supervisor_cap and self.load[sup] >= self.supervisor_cap[sup] and not same_supervisor:
            return "supervisor_full", (f"was not possible: its supervisor {self.name(sup)} had no places left "
                                       f"across their projects ({self.supervisor_cap[sup]} in all).")
        if got is not None:
            current = self.projects[got]
            if current.min_students > 1 and self.count[got] == current.min_students:
                return "needed_for_minimum", (f"was not possible: you were needed on {self.name(got)} to keep it "
                                              f"at its minimum of {current.min_students} students.")
        if self.result.status != RunStatus.OPTIMAL:
            return "not_proven", ("had room, but the solver stopped at its time limit before it could "
                                  "improve the allocation further.")
        return "objective", "had room, but moving you there would make the allocation worse under the chosen objective."

    def _full(self, q: str, rank: int, capacity: int) -> tuple[str, str]:
        ranks = [self.problem.rank(s, p) for s, p in self.result.placements() if p == q]
        places = count(capacity, "place")
        if all(r < rank for r in ranks):
            return "full", f"was full: its {places} went to students who ranked it higher than you did."
        if all(r <= rank for r in ranks):
            return "full_tie", (f"was full: its {places} went to students who ranked it at least as high as "
                                "you did, and a fair lottery decided between equally good allocations.")
        return "full_tradeoff", ("was full. Some of its students ranked it lower than you did, but giving you "
                                 "a place there would leave the allocation worse overall: fewer students "
                                 "placed, or others moved to worse choices.")
