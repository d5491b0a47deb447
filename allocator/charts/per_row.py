"""Per-row figures: project fill, supervisor load, demand against capacity."""
from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from allocator.charts.style import BLACK, BLUE, GREY, PURPLE, SKY, VERMILLION, axis_labels, esc, hbar, per_row_layout, share_of, show_empty, take_at
from allocator.charts.rows import ProjectDemand, ProjectFill, SupervisorLoad
from allocator.charts.focus import FILL_STATES, demand_order, fill_order, fill_state, load_order


def project_fill(rows: Sequence[ProjectFill]) -> go.Figure:
    """Assigned against capacity per project, emptiest first, since those are the ones to act on.

    Traces, all on the same project axis: "Capacity" (grey), then the assigned students split by state —
    "Assigned", "Below minimum" (0 < assigned < minimum), "Over capacity" — then "Closed (no students)",
    drawn hatched over the capacity because a zero-length bar would be invisible, and "Minimum" markers.
    """
    ordered = fill_order(rows)
    labels = axis_labels([r.title for r in ordered])
    state = [fill_state(r) for r in ordered]
    hover = [
        f"<b>{esc(r.title)}</b><br>{r.assigned} of {r.capacity} places"
        f"{share_of(r.assigned, r.capacity)}"
        + (f"<br>minimum {r.minimum}" if r.minimum else "")
        + f"<br>{'Full' if s == 'ok' and r.assigned == r.capacity else FILL_STATES[s]}"
        for r, s in zip(ordered, state)
    ]
    fig = go.Figure()
    fig.add_trace(hbar("Capacity", labels, [r.capacity for r in ordered], hover, GREY, width=0.8))
    for key, colour in (("ok", BLUE), ("below_minimum", VERMILLION), ("over_capacity", PURPLE)):
        picked = [i for i, s in enumerate(state) if s == key]
        fig.add_trace(hbar(FILL_STATES[key], take_at(labels, picked), [ordered[i].assigned for i in picked],
                            take_at(hover, picked), colour, width=0.45))
    closed = [i for i, s in enumerate(state) if s == "closed"]
    fig.add_trace(hbar(FILL_STATES["closed"], take_at(labels, closed), [ordered[i].capacity for i in closed],
                        take_at(hover, closed), "rgba(0,0,0,0)", width=0.8,
                        pattern=dict(shape="/", fgcolor=BLACK, solidity=0.3)))
    with_min = [i for i, r in enumerate(ordered) if r.minimum > 0]
    fig.add_trace(go.Scatter(
        x=[ordered[i].minimum for i in with_min], y=take_at(labels, with_min), name="Minimum", mode="markers",
        marker=dict(symbol="line-ns-open", size=18, color=BLACK, line=dict(width=3, color=BLACK)),
        hovertext=take_at(hover, with_min), hovertemplate="%{hovertext}<extra></extra>",
    ))
    per_row_layout(fig, "Project fill", "Students", labels)
    if not rows:
        show_empty(fig, "No projects in this run")
    return fig


def supervisor_load(rows: Sequence[SupervisorLoad]) -> go.Figure:
    """Students per supervisor against their capacity (when they have one), busiest first.

    Traces: "Capacity" (grey, only supervisors with a limit), "Assigned", "Over capacity".
    """
    ordered = load_order(rows)
    labels = axis_labels([r.name for r in ordered])
    over = [r.capacity is not None and r.assigned > r.capacity for r in ordered]
    hover = [
        f"<b>{esc(r.name)}</b><br>"
        + (f"{r.assigned} of {r.capacity} students{share_of(r.assigned, r.capacity)}" if r.capacity is not None
           else f"{r.assigned} students (no limit)")
        + ("<br>over capacity" if o else "")
        for r, o in zip(ordered, over)
    ]
    limited = [i for i, r in enumerate(ordered) if r.capacity is not None]
    within = [i for i, o in enumerate(over) if not o]
    beyond = [i for i, o in enumerate(over) if o]
    fig = go.Figure()
    fig.add_trace(hbar("Capacity", take_at(labels, limited), [ordered[i].capacity for i in limited],
                        take_at(hover, limited), GREY, width=0.8))
    fig.add_trace(hbar("Assigned", take_at(labels, within), [ordered[i].assigned for i in within],
                        take_at(hover, within), BLUE, width=0.45))
    fig.add_trace(hbar("Over capacity", take_at(labels, beyond), [ordered[i].assigned for i in beyond],
                        take_at(hover, beyond), VERMILLION, width=0.45))
    per_row_layout(fig, "Supervisor load", "Students", labels)
    if not rows:
        show_empty(fig, "No supervisors in this run")
    return fig


def demand_vs_capacity(rows: Sequence[ProjectDemand]) -> go.Figure:
    """How many students ranked each project (at all, and first) against its places, most wanted first.

    Traces: "Ranked it" (wide bar), "1st choice" (narrow bar inside), "Capacity" (marker).
    """
    ordered = demand_order(rows)
    labels = axis_labels([r.title for r in ordered])
    hover = [
        f"<b>{esc(r.title)}</b><br>1st choice of {r.first_choices} · ranked by {r.any_rank}"
        f"<br>{r.capacity} places"
        + (f" · {r.first_choices / r.capacity:.1f} first choices per place" if r.capacity else "")
        for r in ordered
    ]
    fig = go.Figure()
    fig.add_trace(hbar("Ranked it", labels, [r.any_rank for r in ordered], hover, SKY, width=0.8))
    fig.add_trace(hbar("1st choice", labels, [r.first_choices for r in ordered], hover, BLUE, width=0.4))
    fig.add_trace(go.Scatter(
        x=[r.capacity for r in ordered], y=labels, name="Capacity", mode="markers",
        marker=dict(symbol="line-ns-open", size=18, color=BLACK, line=dict(width=3, color=BLACK)),
        hovertext=hover, hovertemplate="%{hovertext}<extra></extra>",
    ))
    per_row_layout(fig, "Demand versus capacity", "Students", labels)
    if not rows:
        show_empty(fig, "No projects in this run")
    return fig
