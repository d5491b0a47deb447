"""Plotly figures of an allocation run, built from plain numbers so they are testable without a browser.

A profile is the engine's: `profile[r - 1]` counts students placed at their r-th choice and the last entry
counts students placed on a project they did not rank. Students not placed at all are not in the profile;
they are `students - sum(profile)`. Every percentage is of all students in the run, placed or not, so
runs that place different numbers of students compare fairly.

Plotly renders a subset of HTML in every label, legend and hover text, so each user-supplied string
(project titles, names, run names) is HTML-escaped before it reaches a figure: a title such as
"<b>AI</b>" then reads literally instead of turning bold, and no title can become a link.

Figures set no width: the page draws them with `st.plotly_chart(fig, width="stretch")` so they follow
the screen. Legends of fixed, short names sit above the plot, where a phone has room for them; legends of
run names (which are long, and wrap onto more lines as runs are added) sit below the plot, where a taller
legend pushes the margin down instead of growing over the title. Drag-to-zoom is off so a finger scrolls
the page instead of zooming the chart.

Per-row charts (one row per project or supervisor) stay readable at a university's size by showing a page
of rows at a time: `focus_fill`, `focus_load` and `focus_demand` pick one group of rows a coordinator may
act on (FILL_FOCUS, LOAD_FOCUS, DEMAND_FOCUS: below minimum, full, no students, …, or all), matching a
search, in the chart's own order, and `paged` cuts one page of them.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

__all__ = [
    "DEMAND_FOCUS",
    "FILL_FOCUS",
    "Headline",
    "LOAD_FOCUS",
    "PER_PAGE",
    "Page",
    "ProjectDemand",
    "ProjectFill",
    "SupervisorLoad",
    "cumulative_top_k",
    "demand_vs_capacity",
    "focus_demand",
    "focus_fill",
    "focus_load",
    "headline",
    "paged",
    "profiles_overlay",
    "project_fill",
    "rank_profile",
    "supervisor_load",
]

# Okabe & Ito's palette: distinguishable with every common colour-vision deficiency and in greyscale.
BLUE = "#0072B2"
SKY = "#56B4E9"
ORANGE = "#E69F00"
GREEN = "#009E73"
VERMILLION = "#D55E00"
PURPLE = "#CC79A7"
YELLOW = "#F0E442"
BLACK = "#000000"
GREY = "#BBBBBB"
# Yellow last: it is the hardest to read on white.
RUN_COLOURS = (BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILLION, BLACK, YELLOW)

UNRANKED = "Unranked"
UNPLACED = "Unplaced"

# Per-row charts grow with their rows up to a cap; the page wraps them in a scrolling container.
ROW_PX = 24
MAX_HEIGHT = 6000
LABEL_CHARS = 40
PER_PAGE = 25  # rows per page of a per-row chart: about a screen's height


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
    ranked, unranked = _split(profile, students)
    placed = sum(ranked) + unranked
    rank_counts = [*ranked, unranked]  # position i holds rank i + 1; unranked lands on k + 1
    used = [rank for rank, count in enumerate(rank_counts, start=1) if count]
    return Headline(
        placed=placed,
        unplaced=students - placed,
        pct_first=_pct(sum(ranked[:1]), students),
        pct_top3=_pct(sum(ranked[:3]), students),
        worst_rank=used[-1] if used else None,
        average_rank=(sum(rank * count for rank, count in enumerate(rank_counts, start=1)) / placed
                      if placed else None),
        unranked=unranked,
        students=students,
    )


def rank_profile(profile: Sequence[int], students: int, *, name: str = "") -> go.Figure:
    """One bar per choice (1st … kth), then Unranked and Unplaced, labelled with count and share."""
    ranked, unranked = _split(profile, students)
    categories = [*(_ordinal(r) for r in range(1, len(ranked) + 1)), UNRANKED, UNPLACED]
    counts = [*ranked, unranked, students - sum(ranked) - unranked]
    pcts = [_pct(c, students) for c in counts]
    colours = [BLUE] * len(ranked) + [ORANGE, VERMILLION]
    fig = go.Figure(go.Bar(
        x=categories, y=counts, name=_esc(name) or "Students",
        marker=dict(color=colours),
        text=[_count_pct(c, p) for c, p in zip(counts, pcts)], textposition="outside", textangle=0, cliponaxis=False,
        customdata=pcts,
        hovertemplate="%{x}: %{y} students (%{customdata:.1f}%)<extra></extra>",
    ))
    title = "Rank profile" + (f" — {_esc(name)}" if name else "")
    _layout(fig, title=title, x_title="Choice the student got", y_title="Students", showlegend=False)
    fig.update_xaxes(type="category")
    return fig


def cumulative_top_k(profiles: Mapping[str, tuple[Sequence[int], int]]) -> go.Figure:
    """Per run, the share of all students placed on one of their top k choices, for k = 1 … K."""
    fig = go.Figure()
    split = {name: (_split(profile, students), students) for name, (profile, students) in profiles.items()}
    k_max = max((len(ranked) for (ranked, _), _ in split.values()), default=0)
    ks = list(range(1, k_max + 1))
    for i, (name, ((ranked, _), students)) in enumerate(split.items()):
        padded = _pad(ranked, k_max)
        running = [sum(padded[:k]) for k in ks]
        fig.add_trace(go.Scatter(
            x=ks, y=[_pct(c, students) for c in running], name=_esc(name), mode="lines+markers",
            line=dict(color=_run_colour(i), width=3), marker=dict(symbol=_run_symbol(i), size=9),
            customdata=running,
            hovertemplate="Top %{x}: %{y:.1f}% (%{customdata} students)<extra>%{fullData.name}</extra>",
        ))
    _layout(fig, title="Students with one of their top k choices", x_title="k (top k choices)",
            y_title="% of students", legend_below=True)
    fig.update_xaxes(tickmode="linear", tick0=1, dtick=1)
    fig.update_yaxes(range=[0, 100], ticksuffix="%")
    if not profiles:
        _empty(fig, "No runs to show")
    return fig


def profiles_overlay(profiles: Mapping[str, tuple[Sequence[int], int]]) -> go.Figure:
    """Grouped bars of several runs' profiles on shared categories: 1st … Kth, Unranked, Unplaced."""
    fig = go.Figure()
    split = {name: (_split(profile, students), students) for name, (profile, students) in profiles.items()}
    k_max = max((len(ranked) for (ranked, _), _ in split.values()), default=0)
    categories = [*(_ordinal(r) for r in range(1, k_max + 1)), UNRANKED, UNPLACED]
    for i, (name, ((ranked, unranked), students)) in enumerate(split.items()):
        counts = [*_pad(ranked, k_max), unranked, students - sum(ranked) - unranked]
        fig.add_trace(go.Bar(
            x=categories, y=counts, name=_esc(name), marker=dict(color=_run_colour(i)),
            customdata=[_pct(c, students) for c in counts],
            hovertemplate="%{x}: %{y} students (%{customdata:.1f}%)<extra>%{fullData.name}</extra>",
        ))
    _layout(fig, title="Rank profiles compared", x_title="Choice the student got", y_title="Students",
            legend_below=True)
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=categories)
    if not profiles:
        _empty(fig, "No runs to show")
    return fig


def project_fill(rows: Sequence[ProjectFill]) -> go.Figure:
    """Assigned against capacity per project, emptiest first, since those are the ones to act on.

    Traces, all on the same project axis: "Capacity" (grey), then the assigned students split by state —
    "Assigned", "Below minimum" (0 < assigned < minimum), "Over capacity" — then "Closed (no students)",
    drawn hatched over the capacity because a zero-length bar would be invisible, and "Minimum" markers.
    """
    ordered = _fill_order(rows)
    labels = _labels([r.title for r in ordered])
    state = [_fill_state(r) for r in ordered]
    hover = [
        f"<b>{_esc(r.title)}</b><br>{r.assigned} of {r.capacity} places"
        f"{_share(r.assigned, r.capacity)}"
        + (f"<br>minimum {r.minimum}" if r.minimum else "")
        + f"<br>{'Full' if s == 'ok' and r.assigned == r.capacity else _FILL_STATES[s]}"
        for r, s in zip(ordered, state)
    ]
    fig = go.Figure()
    fig.add_trace(_hbar("Capacity", labels, [r.capacity for r in ordered], hover, GREY, width=0.8))
    for key, colour in (("ok", BLUE), ("below_minimum", VERMILLION), ("over_capacity", PURPLE)):
        picked = [i for i, s in enumerate(state) if s == key]
        fig.add_trace(_hbar(_FILL_STATES[key], _at(labels, picked), [ordered[i].assigned for i in picked],
                            _at(hover, picked), colour, width=0.45))
    closed = [i for i, s in enumerate(state) if s == "closed"]
    fig.add_trace(_hbar(_FILL_STATES["closed"], _at(labels, closed), [ordered[i].capacity for i in closed],
                        _at(hover, closed), "rgba(0,0,0,0)", width=0.8,
                        pattern=dict(shape="/", fgcolor=BLACK, solidity=0.3)))
    with_min = [i for i, r in enumerate(ordered) if r.minimum > 0]
    fig.add_trace(go.Scatter(
        x=[ordered[i].minimum for i in with_min], y=_at(labels, with_min), name="Minimum", mode="markers",
        marker=dict(symbol="line-ns-open", size=18, color=BLACK, line=dict(width=3, color=BLACK)),
        hovertext=_at(hover, with_min), hovertemplate="%{hovertext}<extra></extra>",
    ))
    _per_row_layout(fig, "Project fill", "Students", labels)
    if not rows:
        _empty(fig, "No projects in this run")
    return fig


def supervisor_load(rows: Sequence[SupervisorLoad]) -> go.Figure:
    """Students per supervisor against their capacity (when they have one), busiest first.

    Traces: "Capacity" (grey, only supervisors with a limit), "Assigned", "Over capacity".
    """
    ordered = _load_order(rows)
    labels = _labels([r.name for r in ordered])
    over = [r.capacity is not None and r.assigned > r.capacity for r in ordered]
    hover = [
        f"<b>{_esc(r.name)}</b><br>"
        + (f"{r.assigned} of {r.capacity} students{_share(r.assigned, r.capacity)}" if r.capacity is not None
           else f"{r.assigned} students (no limit)")
        + ("<br>over capacity" if o else "")
        for r, o in zip(ordered, over)
    ]
    limited = [i for i, r in enumerate(ordered) if r.capacity is not None]
    within = [i for i, o in enumerate(over) if not o]
    beyond = [i for i, o in enumerate(over) if o]
    fig = go.Figure()
    fig.add_trace(_hbar("Capacity", _at(labels, limited), [ordered[i].capacity for i in limited],
                        _at(hover, limited), GREY, width=0.8))
    fig.add_trace(_hbar("Assigned", _at(labels, within), [ordered[i].assigned for i in within],
                        _at(hover, within), BLUE, width=0.45))
    fig.add_trace(_hbar("Over capacity", _at(labels, beyond), [ordered[i].assigned for i in beyond],
                        _at(hover, beyond), VERMILLION, width=0.45))
    _per_row_layout(fig, "Supervisor load", "Students", labels)
    if not rows:
        _empty(fig, "No supervisors in this run")
    return fig


def demand_vs_capacity(rows: Sequence[ProjectDemand]) -> go.Figure:
    """How many students ranked each project (at all, and first) against its places, most wanted first.

    Traces: "Ranked it" (wide bar), "1st choice" (narrow bar inside), "Capacity" (marker).
    """
    ordered = _demand_order(rows)
    labels = _labels([r.title for r in ordered])
    hover = [
        f"<b>{_esc(r.title)}</b><br>1st choice of {r.first_choices} · ranked by {r.any_rank}"
        f"<br>{r.capacity} places"
        + (f" · {r.first_choices / r.capacity:.1f} first choices per place" if r.capacity else "")
        for r in ordered
    ]
    fig = go.Figure()
    fig.add_trace(_hbar("Ranked it", labels, [r.any_rank for r in ordered], hover, SKY, width=0.8))
    fig.add_trace(_hbar("1st choice", labels, [r.first_choices for r in ordered], hover, BLUE, width=0.4))
    fig.add_trace(go.Scatter(
        x=[r.capacity for r in ordered], y=labels, name="Capacity", mode="markers",
        marker=dict(symbol="line-ns-open", size=18, color=BLACK, line=dict(width=3, color=BLACK)),
        hovertext=hover, hovertemplate="%{hovertext}<extra></extra>",
    ))
    _per_row_layout(fig, "Demand versus capacity", "Students", labels)
    if not rows:
        _empty(fig, "No projects in this run")
    return fig


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
        found = _fill_state(r)
        return "full" if found == "ok" and r.assigned == r.capacity else found

    return [r for r in _fill_order(rows) if _matches(r.title, search) and focus in ("all", state(r))]


def focus_load(rows: Sequence[SupervisorLoad], *, focus: str = "all", search: str = "") -> list[SupervisorLoad]:
    """The supervisors of one LOAD_FOCUS group matching `search`, busiest first."""
    def state(r: SupervisorLoad) -> str:
        if r.assigned == 0:
            return "none"
        if r.capacity is not None and r.assigned > r.capacity:
            return "over_capacity"
        return "full" if r.capacity is not None and r.assigned == r.capacity else "ok"

    return [r for r in _load_order(rows) if _matches(r.name, search) and focus in ("all", state(r))]


def focus_demand(rows: Sequence[ProjectDemand], *, focus: str = "all", search: str = "") -> list[ProjectDemand]:
    """The projects of one DEMAND_FOCUS group matching `search`, most wanted first."""
    def state(r: ProjectDemand) -> str:
        if r.any_rank == 0:
            return "unranked"
        return "oversubscribed" if r.first_choices > r.capacity else "ok"

    return [r for r in _demand_order(rows) if _matches(r.title, search) and focus in ("all", state(r))]


def _fill_order(rows: Sequence[ProjectFill]) -> list[ProjectFill]:
    return sorted(rows, key=lambda r: (_fill(r.assigned, r.capacity), r.title))


def _load_order(rows: Sequence[SupervisorLoad]) -> list[SupervisorLoad]:
    return sorted(rows, key=lambda r: (-r.assigned, r.name))


def _demand_order(rows: Sequence[ProjectDemand]) -> list[ProjectDemand]:
    return sorted(rows, key=lambda r: (-r.first_choices, -r.any_rank, r.title))


_FILL_STATES = {
    "ok": "Assigned",
    "below_minimum": "Below minimum",
    "over_capacity": "Over capacity",
    "closed": "Closed (no students)",
}


def _fill_state(row: ProjectFill) -> str:
    if row.assigned <= 0:
        return "closed"
    if row.assigned > row.capacity:
        return "over_capacity"
    if row.assigned < row.minimum:
        return "below_minimum"
    return "ok"


def _fill(assigned: int, capacity: int) -> float:
    if capacity > 0:
        return assigned / capacity
    return float("inf") if assigned > 0 else 0.0


def _split(profile: Sequence[int], students: int) -> tuple[list[int], int]:
    """(counts at ranks 1..k, unranked count), rejecting numbers no run can produce."""
    counts = [int(c) for c in profile]
    if any(c < 0 for c in counts) or students < 0:
        raise ValueError(f"A profile cannot hold negative counts: {counts}, {students} students.")
    if sum(counts) > students:
        raise ValueError(f"The profile places {sum(counts)} students but the run has only {students}.")
    if not counts:
        return [], 0
    return counts[:-1], counts[-1]


def _pad(counts: list[int], length: int) -> list[int]:
    return counts + [0] * (length - len(counts))


def _pct(count: int, total: int) -> float:
    return 100.0 * count / total if total else 0.0


def _count_pct(count: int, pct: float) -> str:
    share = "<1" if 0 < pct < 1 else f"{pct:.0f}"
    return f"{count} ({share}%)"


def _share(part: int, whole: int) -> str:
    return f" ({100 * part / whole:.0f}%)" if whole else ""


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _esc(text: str) -> str:
    return html.escape(str(text), quote=False)


def _labels(names: Sequence[str]) -> list[str]:
    """Short, escaped, unique axis labels: plotly merges equal categories, and two projects may share a
    title (or a prefix, once shortened)."""
    labels: list[str] = []
    seen: set[str] = set()
    for name in names:
        name = " ".join(str(name).split())
        short = name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1].rstrip() + "…"
        label, n = _esc(short), 1
        while label in seen:
            n += 1
            label = f"{_esc(short)} ({n})"
        seen.add(label)
        labels.append(label)
    return labels


def _at(values: Sequence, indices: Sequence[int]) -> list:
    return [values[i] for i in indices]


def _run_colour(i: int) -> str:
    return RUN_COLOURS[i % len(RUN_COLOURS)]


def _run_symbol(i: int) -> str:
    # A second cue besides colour, for lines that cross.
    return ("circle", "square", "diamond", "triangle-up", "x", "cross", "star", "hexagon")[i % 8]


def _hbar(name: str, labels: list[str], values: list[int], hover: list[str], colour: str, *, width: float,
          pattern: dict | None = None) -> go.Bar:
    marker: dict = dict(color=colour)
    if pattern:
        marker["pattern"] = pattern
        marker["line"] = dict(color=BLACK, width=1)
    return go.Bar(x=values, y=labels, name=name, orientation="h", width=width, marker=marker,
                  hovertext=hover, hovertemplate="%{hovertext}<extra></extra>")


def _layout(fig: go.Figure, *, title: str, x_title: str, y_title: str, showlegend: bool = True,
            height: int | None = None, legend_below: bool = False) -> None:
    # Below: anchored by its top edge under the x axis title (plotly pushes the bottom margin down to fit
    # every line of it). Above: one short line, in a top margin kept for it.
    legend = (dict(orientation="h", x=0, xanchor="left", y=-0.26, yanchor="top") if legend_below
              else dict(orientation="h", x=0, xanchor="left", y=1.02, yanchor="bottom"))
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left"),
        template="plotly_white",
        colorway=list(RUN_COLOURS),
        font=dict(size=13),
        showlegend=showlegend,
        legend=legend,
        margin=dict(l=8, r=8, t=96 if showlegend and not legend_below else 64, b=8),
        autosize=True,
        height=height,
        dragmode=False,
        hovermode="closest",
    )
    fig.update_xaxes(title_text=x_title, automargin=True)
    fig.update_yaxes(title_text=y_title, automargin=True)


def _per_row_layout(fig: go.Figure, title: str, x_title: str, labels: list[str]) -> None:
    height = min(MAX_HEIGHT, 160 + ROW_PX * len(labels))
    _layout(fig, title=title, x_title=x_title, y_title="", height=height)
    fig.update_layout(barmode="overlay")
    # Explicit category order keeps rows in the sorted order whichever trace mentions them first, and
    # stops plotly reading titles such as "2027" as numbers. Reversed so the first row is at the top.
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=labels, autorange="reversed")
    fig.update_xaxes(rangemode="tozero")


def _empty(fig: go.Figure, message: str) -> None:
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font=dict(size=16))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
