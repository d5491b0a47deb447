"""Rank-profile figures: one run's profile, and several runs side by side (top-k and overlay)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from allocator.charts.style import BLUE, ORANGE, VERMILLION, apply_layout, count_pct, esc, ordinal, run_colour, run_symbol, show_empty
from allocator.charts.rows import UNPLACED, UNRANKED, pad_to, percent, split_profile


def rank_profile(profile: Sequence[int], students: int, *, name: str = "") -> go.Figure:
    """One bar per choice (1st … kth), then Unranked and Unplaced, labelled with count and share."""
    ranked, unranked = split_profile(profile, students)
    categories = [*(ordinal(r) for r in range(1, len(ranked) + 1)), UNRANKED, UNPLACED]
    counts = [*ranked, unranked, students - sum(ranked) - unranked]
    pcts = [percent(c, students) for c in counts]
    colours = [BLUE] * len(ranked) + [ORANGE, VERMILLION]
    fig = go.Figure(go.Bar(
        x=categories, y=counts, name=esc(name) or "Students",
        marker=dict(color=colours),
        text=[count_pct(c, p) for c, p in zip(counts, pcts)], textposition="outside", textangle=0, cliponaxis=False,
        customdata=pcts,
        hovertemplate="%{x}: %{y} students (%{customdata:.1f}%)<extra></extra>",
    ))
    title = "Rank profile" + (f" — {esc(name)}" if name else "")
    apply_layout(fig, title=title, x_title="Choice the student got", y_title="Students", showlegend=False)
    fig.update_xaxes(type="category")
    return fig


def cumulative_top_k(profiles: Mapping[str, tuple[Sequence[int], int]]) -> go.Figure:
    """Per run, the share of all students placed on one of their top k choices, for k = 1 … K."""
    fig = go.Figure()
    split = {name: (split_profile(profile, students), students) for name, (profile, students) in profiles.items()}
    k_max = max((len(ranked) for (ranked, _), _ in split.values()), default=0)
    ks = list(range(1, k_max + 1))
    for i, (name, ((ranked, _), students)) in enumerate(split.items()):
        padded = pad_to(ranked, k_max)
        running = [sum(padded[:k]) for k in ks]
        fig.add_trace(go.Scatter(
            x=ks, y=[percent(c, students) for c in running], name=esc(name), mode="lines+markers",
            line=dict(color=run_colour(i), width=3), marker=dict(symbol=run_symbol(i), size=9),
            customdata=running,
            hovertemplate="Top %{x}: %{y:.1f}% (%{customdata} students)<extra>%{fullData.name}</extra>",
        ))
    apply_layout(fig, title="Students with one of their top k choices", x_title="k (top k choices)",
            y_title="% of students", legend_below=True)
    fig.update_xaxes(tickmode="linear", tick0=1, dtick=1)
    fig.update_yaxes(range=[0, 100], ticksuffix="%")
    if not profiles:
        show_empty(fig, "No runs to show")
    return fig


def profiles_overlay(profiles: Mapping[str, tuple[Sequence[int], int]]) -> go.Figure:
    """Grouped bars of several runs' profiles on shared categories: 1st … Kth, Unranked, Unplaced."""
    fig = go.Figure()
    split = {name: (split_profile(profile, students), students) for name, (profile, students) in profiles.items()}
    k_max = max((len(ranked) for (ranked, _), _ in split.values()), default=0)
    categories = [*(ordinal(r) for r in range(1, k_max + 1)), UNRANKED, UNPLACED]
    for i, (name, ((ranked, unranked), students)) in enumerate(split.items()):
        counts = [*pad_to(ranked, k_max), unranked, students - sum(ranked) - unranked]
        fig.add_trace(go.Bar(
            x=categories, y=counts, name=esc(name), marker=dict(color=run_colour(i)),
            customdata=[percent(c, students) for c in counts],
            hovertemplate="%{x}: %{y} students (%{customdata:.1f}%)<extra>%{fullData.name}</extra>",
        ))
    apply_layout(fig, title="Rank profiles compared", x_title="Choice the student got", y_title="Students",
            legend_below=True)
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=categories)
    if not profiles:
        show_empty(fig, "No runs to show")
    return fig
