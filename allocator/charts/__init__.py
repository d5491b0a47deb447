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

One module per job: `rows` (the plain numbers a chart is drawn from, and the headline), `profiles`
(rank-profile figures), `per_row` (one row per project or supervisor), `focus` (picking and paging those
rows) and `style` (palette, layout and label helpers the figures share) and `tiers` (the rank profile per priority tier).
"""
from __future__ import annotations

from allocator.charts.focus import (DEMAND_FOCUS, FILL_FOCUS, LOAD_FOCUS, PER_PAGE, Page, focus_demand, focus_fill,
                                    focus_load, paged)
from allocator.charts.per_row import demand_vs_capacity, project_fill, supervisor_load
from allocator.charts.profiles import cumulative_top_k, profiles_overlay, rank_profile
from allocator.charts.rows import Headline, ProjectDemand, ProjectFill, SupervisorLoad, headline
from allocator.charts.style import LABEL_CHARS, MAX_HEIGHT, ROW_PX
from allocator.charts.tiers import tier_profiles

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
    "tier_profiles",
    "LABEL_CHARS",
    "MAX_HEIGHT",
    "ROW_PX",
]
