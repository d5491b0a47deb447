"""The phase a cohort is in: it follows the coordinator's dates, unless they override it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from allocator.domain import Phase
from allocator.models import Cohort, utcnow


def phase_of(cohort: Cohort, *, published: bool = False, now: datetime | None = None) -> Phase:
    if cohort.phase_override:
        return Phase(cohort.phase_override)
    if published:
        return Phase.PUBLISHED
    now = now or utcnow()

    def within(start: datetime | None, end: datetime | None) -> bool:
        return start is not None and start <= now and (end is None or now < end)

    if within(cohort.preferences_open_at, cohort.preferences_close_at):
        return Phase.PREFERENCES
    if cohort.preferences_close_at is not None and now >= cohort.preferences_close_at:
        return Phase.CLOSED
    if within(cohort.proposals_open_at, cohort.proposals_close_at):
        return Phase.PROPOSALS
    return Phase.SETUP


def proposals_open(phase: str) -> bool:
    # The catalogue freezes when students start ranking: a project must not change under their choice.
    return phase == Phase.PROPOSALS


def preferences_open(phase: str) -> bool:
    return phase == Phase.PREFERENCES


WINDOW_STATES = ("open", "opens", "passed", "closed", "published")


@dataclass(frozen=True)
class Window:
    """What is true now of one of a cohort's windows (proposals or preferences), for people to be told.

    open: open now, until `closes_at` (None: until the coordinator closes it, e.g. forced open after its
    date). opens: opens at `opens_at`, ahead. passed: its deadline `closes_at` has passed. closed: shut by
    the coordinator (a forced phase: `phase` says which one is running instead). published: the allocation
    is out, so the window is over whatever its dates say."""
    state: str
    phase: str
    opens_at: datetime | None = None
    closes_at: datetime | None = None


def window_of(cohort: Cohort, which: str, phase: str, *, now: datetime | None = None) -> Window:
    """The window `which` ("proposals" or "preferences") of `cohort` in `phase` (from `phase_of`): only
    dates still true are named, so a page never says a date is ahead when it is past, or the reverse."""
    now = now or utcnow()
    start, end = ((cohort.proposals_open_at, cohort.proposals_close_at) if which == "proposals"
                  else (cohort.preferences_open_at, cohort.preferences_close_at))
    if phase == which:
        return Window("open", phase, closes_at=end if end is not None and end > now else None)
    if phase == Phase.PUBLISHED:
        return Window("published", phase)
    if end is not None and now >= end:
        return Window("passed", phase, closes_at=end)
    if start is not None and now < start and not cohort.phase_override:  # a forced phase holds past any date
        return Window("opens", phase, opens_at=start)
    return Window("closed", phase)
