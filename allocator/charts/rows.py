"""The plain numbers a chart is drawn from (one row per project or supervisor), and a run's headline."""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence


UNRANKED = "Unranked"
UNPLACED = "Unplaced"


@dataclass(frozen=True)
class Headline:
    """The run's figures at a glance. Percentages are 0-100 of all students; ranks count an unranked
    placement as k + 1, as the engine's cost does."""

    placed: int
    unplaced: int
    pct_first: float
    pct_top3: float
    worst_rank: int | None
    average_rank: float | None
    unranked: int = 0
    students: int = 0


@dataclass(frozen=True)
class ProjectFill:
    title: str
    assigned: int
    capacity: int
    minimum: int = 0


@dataclass(frozen=True)
class SupervisorLoad:
    name: str
    assigned: int
    capacity: int | None = None


@dataclass(frozen=True)
class ProjectDemand:
    title: str
    first_choices: int
    any_rank: int
    capacity: int


def headline(profile: Sequence[int], students: int) -> Headline:
    ranked, unranked = split_profile(profile, students)
    placed = sum(ranked) + unranked
    rank_counts = [*ranked, unranked]  # position i holds rank i + 1; unranked lands on k + 1
    used = [rank for rank, count in enumerate(rank_counts, start=1) if count]
    return Headline(
        placed=placed,
        unplaced=students - placed,
        pct_first=percent(sum(ranked[:1]), students),
        pct_top3=percent(sum(ranked[:3]), students),
        worst_rank=used[-1] if used else None,
        average_rank=(sum(rank * count for rank, count in enumerate(rank_counts, start=1)) / placed
                      if placed else None),
        unranked=unranked,
        students=students,
    )


def split_profile(profile: Sequence[int], students: int) -> tuple[list[int], int]:
    """(counts at ranks 1..k, unranked count), rejecting numbers no run can produce."""
    counts = [int(c) for c in profile]
    if any(c < 0 for c in counts) or students < 0:
        raise ValueError(f"A profile cannot hold negative counts: {counts}, {students} students.")
    if sum(counts) > students:
        raise ValueError(f"The profile places {sum(counts)} students but the run has only {students}.")
    if not counts:
        return [], 0
    return counts[:-1], counts[-1]


def pad_to(counts: list[int], length: int) -> list[int]:
    return counts + [0] * (length - len(counts))


def percent(count: int, total: int) -> float:
    return 100.0 * count / total if total else 0.0
