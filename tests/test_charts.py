"""The figures' data, as the studio draws it: categories, counts, percentages, order, highlights."""
from __future__ import annotations

import pytest

from allocator import charts
from allocator.charts import ProjectDemand, ProjectFill, SupervisorLoad


def trace(fig, name):
    (found,) = [t for t in fig.data if t.name == name]
    return found


def rows_of(t):
    """{axis label: value} of a horizontal bar or marker trace."""
    return dict(zip(t.y, t.x))


# --- headline -------------------------------------------------------------------------------------------

def test_headline_counts_unranked_as_k_plus_one():
    # 3 ranks; 5 first, 3 second, 0 third, 2 unranked; 12 students so 2 unplaced.
    h = charts.headline([5, 3, 0, 2], 12)
    assert (h.placed, h.unplaced, h.unranked, h.students) == (10, 2, 2, 12)
    assert h.pct_first == pytest.approx(100 * 5 / 12)
    assert h.pct_top3 == pytest.approx(100 * 8 / 12)
    assert h.worst_rank == 4
    assert h.average_rank == pytest.approx((5 * 1 + 3 * 2 + 2 * 4) / 10)


def test_headline_worst_rank_skips_empty_tail():
    h = charts.headline([4, 1, 0, 0, 0], 5)
    assert h.worst_rank == 2
    assert h.pct_top3 == 100.0
    assert h.unplaced == 0


def test_headline_top3_never_counts_unranked_even_with_short_lists():
    # k = 2: the unranked bucket sits at position 3 but is not anyone's choice.
    h = charts.headline([1, 1, 1], 3)
    assert h.pct_top3 == pytest.approx(200 / 3)
    assert h.worst_rank == 3


def test_headline_nobody_placed():
    h = charts.headline([0, 0, 0], 7)
    assert (h.placed, h.unplaced) == (0, 7)
    assert h.worst_rank is None and h.average_rank is None
    assert h.pct_first == 0.0 and h.pct_top3 == 0.0


def test_headline_empty_run():
    h = charts.headline([], 0)
    assert (h.placed, h.unplaced, h.pct_first, h.worst_rank, h.average_rank) == (0, 0, 0.0, None, None)


@pytest.mark.parametrize("profile, students", [([3, -1], 5), ([3, 3], 5), ([1], -1)])
def test_headline_rejects_impossible_profiles(profile, students):
    with pytest.raises(ValueError):
        charts.headline(profile, students)


# --- rank profile ---------------------------------------------------------------------------------------

def test_rank_profile_bars_and_percentages():
    fig = charts.rank_profile([5, 3, 1, 2], 12, name="Run 3")
    (bars,) = fig.data
    assert list(bars.x) == ["1st", "2nd", "3rd", "Unranked", "Unplaced"]
    assert list(bars.y) == [5, 3, 1, 2, 1]
    assert list(bars.customdata) == pytest.approx([100 * c / 12 for c in (5, 3, 1, 2, 1)])
    assert list(bars.text) == ["5 (42%)", "3 (25%)", "1 (8%)", "2 (17%)", "1 (8%)"]
    assert "Run 3" in fig.layout.title.text
    assert fig.layout.xaxis.title.text and fig.layout.yaxis.title.text == "Students"
    assert "%{customdata" in bars.hovertemplate


def test_rank_profile_ordinals_past_ten():
    fig = charts.rank_profile([1] * 13 + [0], 13)
    assert list(fig.data[0].x)[10:13] == ["11th", "12th", "13th"]
    assert list(fig.data[0].x)[:3] == ["1st", "2nd", "3rd"]


def test_rank_profile_nobody_placed_shows_everyone_unplaced():
    fig = charts.rank_profile([0, 0, 0], 4)
    assert list(fig.data[0].y) == [0, 0, 0, 4]
    assert fig.data[0].customdata[-1] == 100.0


def test_rank_profile_empty_run():
    fig = charts.rank_profile([], 0)
    assert list(fig.data[0].x) == ["Unranked", "Unplaced"]
    assert list(fig.data[0].y) == [0, 0]
    assert list(fig.data[0].customdata) == [0.0, 0.0]


def test_rank_profile_escapes_the_run_name():
    fig = charts.rank_profile([1, 0], 1, name="<b>mine</b>")
    assert "<b>mine" not in fig.layout.title.text
    assert "&lt;b&gt;mine" in fig.layout.title.text


# --- cumulative top k -----------------------------------------------------------------------------------

def test_cumulative_top_k_per_run_over_all_students():
    fig = charts.cumulative_top_k({"greedy": ([5, 3, 1, 2], 12), "generous": ([4, 6, 0, 1], 12)})
    greedy, generous = fig.data
    assert (greedy.name, generous.name) == ("greedy", "generous")
    assert list(greedy.x) == [1, 2, 3]
    assert list(greedy.y) == pytest.approx([500 / 12, 800 / 12, 900 / 12])
    assert list(generous.y) == pytest.approx([400 / 12, 1000 / 12, 1000 / 12])
    assert list(greedy.customdata) == [5, 8, 9]
    assert tuple(fig.layout.yaxis.range) == (0, 100)


def test_cumulative_top_k_pads_shorter_profiles_flat():
    fig = charts.cumulative_top_k({"long": ([1, 1, 1, 1, 0], 4), "short": ([2, 1], 4)})
    long, short = fig.data
    assert list(long.x) == list(short.x) == [1, 2, 3, 4]
    # "short" has k = 1: its unranked placement never counts, whatever k.
    assert list(short.y) == [50.0, 50.0, 50.0, 50.0]
    assert list(long.y) == [25.0, 50.0, 75.0, 100.0]


def test_cumulative_top_k_no_runs():
    fig = charts.cumulative_top_k({})
    assert len(fig.data) == 0
    assert fig.layout.annotations[0].text == "No runs to show"


def test_cumulative_top_k_empty_run_is_zero_not_an_error():
    fig = charts.cumulative_top_k({"empty": ([0, 0, 0], 0)})
    assert list(fig.data[0].y) == [0.0, 0.0]


# --- overlay --------------------------------------------------------------------------------------------

def test_profiles_overlay_aligns_ranks_and_the_unranked_bucket():
    fig = charts.profiles_overlay({"A": ([5, 3, 1, 2], 12), "B": ([6, 4], 12)})
    a, b = fig.data
    categories = ["1st", "2nd", "3rd", "Unranked", "Unplaced"]
    assert list(a.x) == list(b.x) == categories
    assert list(a.y) == [5, 3, 1, 2, 1]
    assert list(b.y) == [6, 0, 0, 4, 2]  # B's unranked 4 lands on "Unranked", not on "2nd"
    assert list(b.customdata) == pytest.approx([50.0, 0.0, 0.0, 100 * 4 / 12, 100 * 2 / 12])
    assert fig.layout.barmode == "group"
    assert list(fig.layout.xaxis.categoryarray) == categories
    assert a.marker.color != b.marker.color


def test_profiles_overlay_no_runs():
    fig = charts.profiles_overlay({})
    assert len(fig.data) == 0 and fig.layout.annotations


def test_short_legends_are_on_top_and_width_is_free():
    for fig in (charts.project_fill([ProjectFill("P", 1, 2)]), charts.supervisor_load([SupervisorLoad("A", 1, 2)])):
        assert fig.layout.legend.orientation == "h"
        assert fig.layout.legend.y > 1
        assert fig.layout.width is None


@pytest.mark.parametrize("chart", [charts.profiles_overlay, charts.cumulative_top_k])
def test_run_legends_sit_below_the_plot_clear_of_the_title(chart):
    """Three long run names wrap onto several legend lines; above the plot they grew over the title."""
    names = [f"#{i} · generous, minimums relaxed, Gamma raised to {i}" for i in range(3)]
    fig = chart({n: ([3, 1, 0], 5) for n in names})
    assert fig.layout.legend.orientation == "h"
    assert fig.layout.legend.yanchor == "top" and fig.layout.legend.y < 0  # under the plot area
    assert fig.layout.title.text and fig.layout.title.x == 0
    assert fig.layout.width is None


# --- project fill ---------------------------------------------------------------------------------------

def fill_rows():
    return [
        ProjectFill("Full", assigned=4, capacity=4, minimum=2),
        ProjectFill("Half", assigned=2, capacity=4, minimum=0),
        ProjectFill("Under", assigned=1, capacity=4, minimum=3),
        ProjectFill("Closed", assigned=0, capacity=3, minimum=2),
        ProjectFill("Over", assigned=5, capacity=4, minimum=0),
    ]


def test_project_fill_sorted_emptiest_first_with_states():
    fig = charts.project_fill(fill_rows())
    order = ["Closed", "Under", "Half", "Full", "Over"]
    assert list(fig.layout.yaxis.categoryarray) == order
    assert fig.layout.yaxis.autorange == "reversed"
    assert list(trace(fig, "Capacity").y) == order
    assert list(trace(fig, "Capacity").x) == [3, 4, 4, 4, 4]
    assert rows_of(trace(fig, "Assigned")) == {"Half": 2, "Full": 4}
    assert rows_of(trace(fig, "Below minimum")) == {"Under": 1}
    assert rows_of(trace(fig, "Over capacity")) == {"Over": 5}
    # Closed is drawn across its capacity, hatched, so it is visible.
    closed = trace(fig, "Closed (no students)")
    assert rows_of(closed) == {"Closed": 3}
    assert closed.marker.pattern.shape == "/"
    assert rows_of(trace(fig, "Minimum")) == {"Closed": 2, "Under": 3, "Full": 2}
    under_hover = dict(zip(trace(fig, "Capacity").y, trace(fig, "Capacity").hovertext))["Under"]
    assert "1 of 4" in under_hover and "minimum 3" in under_hover and "Below minimum" in under_hover
    assert fig.layout.yaxis.type == "category"


def test_project_fill_keeps_duplicate_and_hostile_titles_apart():
    fig = charts.project_fill([
        ProjectFill("Robots", 1, 2), ProjectFill("Robots", 2, 2),
        ProjectFill("<script>alert(1)</script>", 1, 4), ProjectFill("2027", 1, 1),
    ])
    labels = list(fig.layout.yaxis.categoryarray)
    assert len(set(labels)) == 4
    assert "Robots" in labels and "Robots (2)" in labels
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in labels
    assert not any("<script>" in h for t in fig.data for h in (t.hovertext or ()))


def test_project_fill_shortens_long_titles_but_hover_has_them_whole():
    title = "A very long project title about reinforcement learning for warehouse robots"
    fig = charts.project_fill([ProjectFill(title, 1, 2)])
    (label,) = fig.layout.yaxis.categoryarray
    assert len(label) <= charts.LABEL_CHARS and label.endswith("…")
    assert title in trace(fig, "Capacity").hovertext[0]


def test_project_fill_height_grows_then_caps():
    small = charts.project_fill(fill_rows())
    medium = charts.project_fill([ProjectFill(f"P{i}", i % 3, 3) for i in range(50)])
    large = charts.project_fill([ProjectFill(f"P{i}", i % 5, 4, 2) for i in range(500)])
    assert small.layout.height < medium.layout.height < large.layout.height == charts.MAX_HEIGHT
    assert len(trace(large, "Capacity").y) == 500


def test_project_fill_empty():
    fig = charts.project_fill([])
    assert all(len(t.x or ()) == 0 for t in fig.data)
    assert fig.layout.annotations[0].text == "No projects in this run"


# --- supervisor load ------------------------------------------------------------------------------------

def test_supervisor_load_busiest_first_with_over_capacity_highlighted():
    fig = charts.supervisor_load([
        SupervisorLoad("Ada", assigned=3, capacity=4),
        SupervisorLoad("Bob", assigned=6, capacity=5),
        SupervisorLoad("Cy", assigned=2, capacity=None),
        SupervisorLoad("Di", assigned=3, capacity=3),
    ])
    assert list(fig.layout.yaxis.categoryarray) == ["Bob", "Ada", "Di", "Cy"]
    assert rows_of(trace(fig, "Capacity")) == {"Bob": 5, "Ada": 4, "Di": 3}  # Cy has no limit
    assert rows_of(trace(fig, "Assigned")) == {"Ada": 3, "Di": 3, "Cy": 2}
    assert rows_of(trace(fig, "Over capacity")) == {"Bob": 6}
    hover = dict(zip(trace(fig, "Assigned").y, trace(fig, "Assigned").hovertext))
    assert "no limit" in hover["Cy"] and "3 of 4" in hover["Ada"]


def test_supervisor_load_empty():
    assert charts.supervisor_load([]).layout.annotations


# --- demand ---------------------------------------------------------------------------------------------

def test_demand_vs_capacity_most_wanted_first():
    fig = charts.demand_vs_capacity([
        ProjectDemand("Quiet", first_choices=0, any_rank=1, capacity=3),
        ProjectDemand("Hot", first_choices=9, any_rank=20, capacity=3),
        ProjectDemand("Warm", first_choices=2, any_rank=8, capacity=2),
    ])
    order = ["Hot", "Warm", "Quiet"]
    assert list(fig.layout.yaxis.categoryarray) == order
    assert list(trace(fig, "Ranked it").x) == [20, 8, 1]
    assert list(trace(fig, "1st choice").x) == [9, 2, 0]
    assert list(trace(fig, "Capacity").x) == [3, 2, 3]
    assert all(list(t.y) == order for t in fig.data)
    assert "3.0 first choices per place" in trace(fig, "1st choice").hovertext[0]


def test_demand_vs_capacity_zero_capacity_does_not_divide():
    fig = charts.demand_vs_capacity([ProjectDemand("Nowhere", 2, 3, 0)])
    assert "0 places" in fig.data[0].hovertext[0]


def test_every_figure_serialises():
    figs = [
        charts.rank_profile([1, 0], 1), charts.cumulative_top_k({"A": ([1, 0], 1)}),
        charts.profiles_overlay({"A": ([1, 0], 1)}), charts.project_fill(fill_rows()),
        charts.supervisor_load([SupervisorLoad("A", 1, 2)]),
        charts.demand_vs_capacity([ProjectDemand("P", 1, 2, 3)]),
    ]
    for fig in figs:
        assert fig.layout.title.text
        assert fig.to_json()


# --- focus, search and pages (1,400 projects) ----------------------------------------------------------

def test_focus_fill_picks_one_group_in_chart_order():
    rows = fill_rows()  # Full, Half, Under, Closed, Over
    groups = {key: [r.title for r in charts.focus_fill(rows, focus=key)] for key in charts.FILL_FOCUS}
    assert groups == {"below_minimum": ["Under"], "over_capacity": ["Over"], "closed": ["Closed"], "full": ["Full"],
                      "all": ["Closed", "Under", "Half", "Full", "Over"]}
    assert [r.title for r in charts.focus_fill(rows, search="  L")] == ["Closed", "Half", "Full"]
    assert charts.focus_fill(rows, focus="full", search="half") == []


def test_focus_load_and_demand():
    load = [SupervisorLoad("Ada", 3, 3), SupervisorLoad("Bo", 1, 4), SupervisorLoad("Cy", 0, None),
            SupervisorLoad("Di", 5, 4)]
    assert {k: [r.name for r in charts.focus_load(load, focus=k)] for k in charts.LOAD_FOCUS} == {
        "over_capacity": ["Di"], "full": ["Ada"], "none": ["Cy"], "all": ["Di", "Ada", "Bo", "Cy"]}
    assert [r.name for r in charts.focus_load(load, search="d")] == ["Di", "Ada"]
    demand = [ProjectDemand("Hot", 9, 12, 3), ProjectDemand("Fine", 2, 6, 3), ProjectDemand("Cold", 0, 0, 2)]
    assert [r.title for r in charts.focus_demand(demand, focus="oversubscribed")] == ["Hot"]
    assert [r.title for r in charts.focus_demand(demand, focus="unranked")] == ["Cold"]


def test_a_page_of_1400_projects_fits_a_screen():
    rows = [ProjectFill(f"Project {i:04d}", i % 5, 4, 2 if i % 7 == 0 else 0) for i in range(1400)]
    ordered = charts.focus_fill(rows)
    page = charts.paged(ordered, page=3)
    assert (page.page, page.pages, page.total, page.first) == (3, 56, 1400, 50)
    assert list(page.items) == ordered[50:75]
    fig = charts.project_fill(page.items)
    assert len(fig.layout.yaxis.categoryarray) == charts.PER_PAGE
    assert fig.layout.height <= 160 + charts.ROW_PX * charts.PER_PAGE  # no longer thousands of pixels
    assert charts.paged(ordered, page=99).page == 56 and charts.paged([], page=1).pages == 1


def test_tier_profiles_are_shares_of_each_tier_with_counts_on_hover():

    fig = charts.tier_profiles([(1, [3, 1, 0], 4), (2, [0, 1, 0], 3)])
    first, second = fig.data
    assert (first.name, second.name) == ("Tier 1", "Tier 2")
    assert list(first.x) == ["1st", "2nd", "Unranked", "Unplaced"]
    assert list(first.customdata) == [3, 1, 0, 0] and list(second.customdata) == [0, 1, 0, 2]
    assert [round(v, 1) for v in second.y] == [0.0, 33.3, 0.0, 66.7]


def test_every_figure_has_the_white_template():
    import plotly.io as pio

    white = pio.templates["plotly_white"].to_plotly_json()
    figures = [charts.rank_profile([3, 2, 1, 0], 6, name="x"), charts.cumulative_top_k({"x": ([3, 2, 1, 0], 6)}),
               charts.project_fill([charts.ProjectFill("A", 1, 2, 0)])]
    assert all(f.layout.template.to_plotly_json() == white for f in figures)
