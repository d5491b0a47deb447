"""The phase a cohort is in: it follows the coordinator's dates, unless they override it."""
from __future__ import annotations

from datetime import datetime

from allocator.models import Cohort, utcnow

PHASE_LABELS = {
    "setup": "Not yet open",
    "proposals": "Proposals open",
    "preferences": "Preferences open",
    "closed": "Preferences closed",
    "published": "Allocation published",
}


def phase_of(cohort: Cohort, *, published: bool = False, now: datetime | None = None) -> str:
    if cohort.phase_override:
        return cohort.phase_override
    if published:
        return "published"
    now = now or utcnow()

    def within(start: datetime | None, end: datetime | None) -> bool:
        return start is not None and start <= now and (end is None or now < end)

    if within(cohort.preferences_open_at, cohort.preferences_close_at):
        return "preferences"
    if cohort.preferences_close_at is not None and now >= cohort.preferences_close_at:
        return "closed"
    if within(cohort.proposals_open_at, cohort.proposals_close_at):
        return "proposals"
    return "setup"


def proposals_open(phase: str) -> bool:
    # The catalogue freezes when students start ranking: a project must not change under their choice.
    return phase == "proposals"


def preferences_open(phase: str) -> bool:
    return phase == "preferences"
