"""What a run did with groups, several places and tiers (issue 16), for the studio's headline: how many
groups were placed together, how many students have several places and how many projects they got, and
the rank profile of each tier; and who was grouped with whom. Read from the run's own problem and rows, so
an old run reads the same."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator import engine
from allocator.models import Assignment
from allocator.services.access import Actor, require_admin
from allocator.services.allocation.common import cohort_names, run_groups_ids, run_of, stored_record, unreadable
from allocator.services.run_record import DamagedRecord, project_key, student_key

__all__ = ["TierProfile", "RunMix", "run_mix", "mix_of", "groups_of", "run_groups"]


@dataclass(frozen=True)
class TierProfile:
    tier: int
    students: int
    slots: int  # placements plus students of the tier left unplaced (what its profile chart counts)
    profile: tuple[int, ...]  # placements per rank, unranked last (shaped like the run's profile)


@dataclass(frozen=True)
class RunMix:
    groups: int
    groups_placed: int  # placed together (a group is never split: the rest are unplaced whole)
    grouped_students: int
    multi_place_students: int  # students with more than one place
    places_wanted: int  # the places of those students
    places_given: int  # the projects those students got
    tiers: tuple[TierProfile, ...]

    @property
    def shown(self) -> bool:
        """Whether the run uses any of it (else the studio shows nothing more)."""
        return bool(self.groups or self.multi_place_students or len(self.tiers) > 1)


def mix_of(problem: engine.Problem, placed: dict[str, list[str]]) -> RunMix:
    """The mix of `problem` allocated as `placed` (student key -> project keys)."""
    prefs = {s.id: s.preferences for s in problem.students}
    k = problem.k
    together = sum(1 for g in problem.groups if all(placed.get(m) for m in g.members)
                   and len({tuple(placed[m]) for m in g.members}) == 1)
    multi = [s for s in problem.students if s.places > 1]
    by_tier: dict[int, list] = defaultdict(list)
    for s in problem.students:
        by_tier[s.tier].append(s)
    tiers = []
    for tier in sorted(by_tier):
        profile = [0] * (k + 1)
        unplaced = 0
        for s in by_tier[tier]:
            got = placed.get(s.id, [])
            unplaced += not got
            for p in got:
                rank = prefs[s.id].index(p) + 1 if p in prefs[s.id] else k + 1
                profile[rank - 1] += 1
        tiers.append(TierProfile(tier, len(by_tier[tier]), sum(profile) + unplaced, tuple(profile)))
    return RunMix(groups=len(problem.groups), groups_placed=together,
                  grouped_students=sum(len(g.members) for g in problem.groups), multi_place_students=len(multi),
                  places_wanted=sum(s.places for s in multi),
                  places_given=sum(len(placed.get(s.id, [])) for s in multi), tiers=tuple(tiers))


def run_mix(session: Session, *, actor: Actor, run_id: int) -> RunMix:
    """The run's groups, places and tiers at a glance (coordinators only)."""
    require_admin(session, actor)
    run = run_of(session, run_id)
    problem = stored_record(session, run).problem
    placed: dict[str, list[str]] = defaultdict(list)
    for sid, pid in session.execute(select(Assignment.student_id, Assignment.project_id)
                                    .where(Assignment.run_id == run_id, Assignment.project_id.is_not(None))):
        placed[student_key(sid)].append(project_key(pid))
    return mix_of(problem, placed)


def groups_of(groups: Iterable[Sequence[int]], names: Mapping[str, str]) -> dict[int, str]:
    """Each grouped student (user id) of `groups` (each a group's user ids, in its order) and their group
    as its members' names ("Ann Able; Bob Baker"), names keyed as in a problem (`student_key`)."""
    out: dict[int, str] = {}
    for members in groups:
        text = "; ".join(names.get(student_key(u), student_key(u)) for u in members)
        out.update((u, text) for u in members)
    return out


def run_groups(session: Session, *, actor: Actor, run_id: int) -> dict[int, str]:
    """Who was grouped with whom in the run (`groups_of`; coordinators only). From the run's own problem,
    not the groups as they are now: a group dissolved or changed since, or a run restored from a backup,
    reads as the run solved it. Only the record's groups are read (a run without any costs one query)."""
    require_admin(session, actor)
    run = run_of(session, run_id)
    try:
        groups = run_groups_ids(session, run_id)
    except DamagedRecord as err:
        raise unreadable(run, err) from None
    return groups_of(groups, cohort_names(session, run.cohort_id)) if groups else {}
