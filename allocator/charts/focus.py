"""Picking the rows a coordinator may act on (below minimum, full, …), matching a search, a page at a time."""
from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Sequence

from allocator.charts.rows import ProjectDemand, ProjectFill, SupervisorLoad
PER_PAGE = 25  # rows per page of a per-row chart: about a screen's height


@dataclass(frozen=True)
class Page:
    """One page of a per-row chart's rows: `items` are rows `first` … `first + len(items) - 1` (from 0) of
    `total` matching rows; `page` counts from 1."""

    items: tuple
    page: int
    pages: int
    total: int
    first: int


def paged(items: Sequence, *, page: int, per_page: int = PER_PAGE) -> Page:
    """Page `page` of `items` (clamped to the pages there are)."""
    pages = max(1, -(-len(items) // per_page))
    page = min(max(1, int(page)), pages)
    first = (page - 1) * per_page
    return Page(tuple(items[first:first + per_page]), page, pages, len(items), first)


def _matches(text: str, search: str) -> bool:
    return not search.strip() or search.strip().casefold() in " ".join(str(text).split()).casefold()


# What a coordinator may want to act on, per per-row chart: the key picks the rows, the label names them.
FILL_FOCUS = {"below_minimum": "Below minimum", "over_capacity": "Over capacity", "closed": "No students",
              "full": "Full", "all": "All"}
LOAD_FOCUS = {"over_capacity": "Over capacity", "full": "At capacity", "none": "No students", "all": "All"}
DEMAND_FOCUS = {"oversubscribed": "More first choices than places", "unranked": "Ranked by nobody", "all": "All"}


def focus_fill(rows: Sequence[ProjectFill], *, focus: str = "all", search: str = "") -> list[ProjectFill]:
    """The projects of one FILL_FOCUS group matching `search`, in the fill chart's order."""
    def state(r: ProjectFill) -> str:
        found = fill_state(r)
        return "full" if found == "ok" and r.assigned == r.capacity else found

    return [r for r in fill_order(rows) if _matches(r.title, search) and focus in ("all", state(r))]


def focus_load(rows: Sequence[SupervisorLoad], *, focus: str = "all", search: str = "") -> list[SupervisorLoad]:
    """The supervisors of one LOAD_FOCUS group matching `search`, busiest first."""
    def state(r: SupervisorLoad) -> str:
        if r.assigned == 0:
            return "none"
        if r.capacity is not None and r.assigned > r.capacity:
            return "over_capacity"
        return "full" if r.capacity is not None and r.assigned == r.capacity else "ok"

    return [r for r in load_order(rows) if _matches(r.name, search) and focus in ("all", state(r))]


def focus_demand(rows: Sequence[ProjectDemand], *, focus: str = "all", search: str = "") -> list[ProjectDemand]:
    """The projects of one DEMAND_FOCUS group matching `search`, most wanted first."""
    def state(r: ProjectDemand) -> str:
        if r.any_rank == 0:
            return "unranked"
        return "oversubscribed" if r.first_choices > r.capacity else "ok"

    return [r for r in demand_order(rows) if _matches(r.title, search) and focus in ("all", state(r))]


def fill_order(rows: Sequence[ProjectFill]) -> list[ProjectFill]:
    return sorted(rows, key=lambda r: (fill_ratio(r.assigned, r.capacity), r.title))


def load_order(rows: Sequence[SupervisorLoad]) -> list[SupervisorLoad]:
    return sorted(rows, key=lambda r: (-r.assigned, r.name))


def demand_order(rows: Sequence[ProjectDemand]) -> list[ProjectDemand]:
    return sorted(rows, key=lambda r: (-r.first_choices, -r.any_rank, r.title))


FILL_STATES = {
    "ok": "Assigned",
    "below_minimum": "Below minimum",
    "over_capacity": "Over capacity",
    "closed": "Closed (no students)",
}


def fill_state(row: ProjectFill) -> str:
    if row.assigned <= 0:
        return "closed"
    if row.assigned > row.capacity:
        return "over_capacity"
    if row.assigned < row.minimum:
        return "below_minimum"
    return "ok"


def fill_ratio(assigned: int, capacity: int) -> float:
    if capacity > 0:
        return assigned / capacity
    return float("inf") if assigned > 0 else 0.0
