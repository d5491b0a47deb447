"""What every figure shares: the colour-blind-safe palette, sizes, escaped labels and the layout."""
from __future__ import annotations

import html
from collections.abc import Sequence

import plotly.graph_objects as go
import plotly.io as pio

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

# Every figure's template, made plotly's default: a new figure takes the default as it is, while naming a
# template in its layout copies and checks the whole template again (10 ms a figure, three per run drawn).
TEMPLATE = "plotly_white"
pio.templates.default = TEMPLATE

# Per-row charts grow with their rows up to a cap; the page wraps them in a scrolling container.
ROW_PX = 24
MAX_HEIGHT = 6000
LABEL_CHARS = 40


def count_pct(count: int, pct: float) -> str:
    share = "<1" if 0 < pct < 1 else f"{pct:.0f}"
    return f"{count} ({share}%)"


def share_of(part: int, whole: int) -> str:
    return f" ({100 * part / whole:.0f}%)" if whole else ""


def esc(text: str) -> str:
    return html.escape(str(text), quote=False)


def axis_labels(names: Sequence[str]) -> list[str]:
    """Short, escaped, unique axis labels: plotly merges equal categories, and two projects may share a
    title (or a prefix, once shortened)."""
    labels: list[str] = []
    seen: set[str] = set()
    for name in names:
        name = " ".join(str(name).split())
        short = name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1].rstrip() + "…"
        label, n = esc(short), 1
        while label in seen:
            n += 1
            label = f"{esc(short)} ({n})"
        seen.add(label)
        labels.append(label)
    return labels


def take_at(values: Sequence, indices: Sequence[int]) -> list:
    return [values[i] for i in indices]


def run_colour(i: int) -> str:
    return RUN_COLOURS[i % len(RUN_COLOURS)]


def run_symbol(i: int) -> str:
    # A second cue besides colour, for lines that cross.
    return ("circle", "square", "diamond", "triangle-up", "x", "cross", "star", "hexagon")[i % 8]


def hbar(name: str, labels: list[str], values: list[int], hover: list[str], colour: str, *, width: float,
          pattern: dict | None = None) -> go.Bar:
    marker: dict = dict(color=colour)
    if pattern:
        marker["pattern"] = pattern
        marker["line"] = dict(color=BLACK, width=1)
    return go.Bar(x=values, y=labels, name=name, orientation="h", width=width, marker=marker,
                  hovertext=hover, hovertemplate="%{hovertext}<extra></extra>")


def apply_layout(fig: go.Figure, *, title: str, x_title: str, y_title: str, showlegend: bool = True,
            height: int | None = None, legend_below: bool = False) -> None:
    # Below: anchored by its top edge under the x axis title (plotly pushes the bottom margin down to fit
    # every line of it). Above: one short line, in a top margin kept for it.
    legend = (dict(orientation="h", x=0, xanchor="left", y=-0.26, yanchor="top") if legend_below
              else dict(orientation="h", x=0, xanchor="left", y=1.02, yanchor="bottom"))
    if pio.templates.default != TEMPLATE:  # changed since this module was imported
        fig.update_layout(template=TEMPLATE)
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left"),
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


def per_row_layout(fig: go.Figure, title: str, x_title: str, labels: list[str]) -> None:
    height = min(MAX_HEIGHT, 160 + ROW_PX * len(labels))
    apply_layout(fig, title=title, x_title=x_title, y_title="", height=height)
    fig.update_layout(barmode="overlay")
    # Explicit category order keeps rows in the sorted order whichever trace mentions them first, and
    # stops plotly reading titles such as "2027" as numbers. Reversed so the first row is at the top.
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=labels, autorange="reversed")
    fig.update_xaxes(rangemode="tozero")


def show_empty(fig: go.Figure, message: str) -> None:
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font=dict(size=16))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
