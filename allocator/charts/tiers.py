"""The rank profile per priority tier (issue 16): one group of bars per tier, so a coordinator sees that
tier 1 was served first."""
from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go

from allocator.charts.rows import UNPLACED, UNRANKED
from allocator.charts.style import run_colour
from allocator.engine.words import ordinal

__all__ = ["tier_profiles"]


def tier_profiles(tiers: Sequence[tuple[int, Sequence[int], int]]) -> go.Figure:
    """`tiers`: (tier, profile, slots) per tier, where the profile counts placements per rank (unranked
    last) and `slots` counts placements plus the tier's unplaced students. Bars are shares of each tier's
    slots, so tiers of different sizes compare; the hover gives the counts."""
    k = max((len(profile) - 1 for _, profile, _ in tiers), default=0)
    categories = [*(ordinal(r) for r in range(1, k + 1)), UNRANKED, UNPLACED]
    fig = go.Figure()
    for i, (tier, profile, slots) in enumerate(tiers):
        counts = [int(c) for c in profile] + [0] * (k + 1 - len(profile))
        counts = [*counts, max(0, slots - sum(counts))]
        shares = [100.0 * c / slots if slots else 0.0 for c in counts]
        fig.add_trace(go.Bar(
            x=categories, y=shares, name=f"Tier {tier}", customdata=counts,
            marker=dict(color=run_colour(i)),
            hovertemplate="%{x}: %{customdata} (%{y:.1f}%)<extra>" + html.escape(f"Tier {tier}") + "</extra>"))
    fig.update_layout(title="Rank profile per tier (tier 1 is served first)", barmode="group",
                      xaxis_title="Choice given", yaxis_title="% of the tier's placements and unplaced",
                      legend=dict(orientation="h", y=-0.25), margin=dict(t=60, b=40))
    fig.update_xaxes(type="category")
    fig.update_yaxes(ticksuffix="%")
    return fig
