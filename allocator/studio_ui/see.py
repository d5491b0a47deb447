"""See: the run on screen — its headline figures, rank profile, one per-row chart at a time (a page of
the projects or supervisors that need attention, or all, with search) and the table of students."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from allocator import charts, glossary, services, ui
from allocator.studio_ui.common import CHART_CONFIG, KEEP, Studio, cached, cached_read, pct

CHARTS = ("Project fill", "Supervisor load", "Demand versus capacity")
CHART_KEYS = {"Project fill": "see-fill", "Supervisor load": "see-load", "Demand versus capacity": "see-demand"}
FOCUS_HELP = ("Each group is what a coordinator may act on; the number is how many rows it holds. "
              "Pick **All** for every row.")


def draw(studio: Studio) -> None:
    current = studio.current
    if current is None:
        st.info("No run to show yet.")
        return
    if not current.feasible:
        st.error(f"Run #{current.id} is infeasible: {current.message}")
        for s in current.suggestions:
            st.markdown(f"- Try: {ui.md(s)}")
        return
    data = cached_read(studio, services.run_charts, run_id=current.id)
    note = studio.note(current.id)
    run_line(current)
    headline(data.headline, note, ranks=len(current.profile) - 1)
    mix_line(data.mix)
    left, right = st.columns(2)
    left.plotly_chart(cached(("profile", current.id), lambda: charts.rank_profile(
        current.profile, current.slots, name=current.name)), key="see-profile", width="stretch", config=CHART_CONFIG)
    right.plotly_chart(cached(("top-k", current.id), lambda: charts.cumulative_top_k(
        {current.name: (current.profile, current.slots)})), key="see-topk", width="stretch", config=CHART_CONFIG)
    per_row_chart(current.id, data)
    students_table(studio, current)


def run_line(run: services.RunView) -> None:
    """'#3 · greedy · optimal · cost 375 · solver min-cost-flow', with what each word means on hover."""
    objective = "" if run.label.startswith(run.objective) else f" · {run.objective}"
    cost = f" · cost {run.cost}" if run.cost is not None else ""
    st.markdown(f"**{ui.md(run.name)}**{objective} · {run.status}{cost} · solver {ui.md(run.solver)}"
                + (f" · {ui.md(run.message)}" if run.message else ""),
                help=glossary.run_words_help(run.status, run.solver))


def headline(h: services.Headline, note: services.RunNote | None, *, ranks: int) -> None:
    """Six short figures in two rows of three, so no value is cut off on a laptop screen."""
    without = note.unplaced_without_list if note else 0
    first, second = st.columns(3), st.columns(3)
    first[0].metric(f"Placed (of {h.students:,})", f"{h.placed:,}",
                    help=f"{h.placed:,} of {h.students:,} students have a project.")
    first[1].metric("Unplaced", f"{h.unplaced:,}",
                    help=f"{without:,} of the {h.unplaced:,} unplaced students did not submit a list. "
                         + glossary.UNPLACED_HELP)
    first[2].metric("First choice", pct(h.pct_first))
    second[0].metric("Top three", pct(h.pct_top3))
    second[1].metric("Worst rank", _worst(h, ranks))
    second[2].metric("Average rank", "—" if h.average_rank is None else f"{h.average_rank:.2f}")
    if h.unplaced:
        ranked = h.unplaced - without
        # The next step for those who ranked, where a coordinator reads the count (late, before a deadline).
        hint = (f" The other {ranked:,} found no room on any project they ranked: in Tune, raise places or "
                "allow placing students on projects they did not rank." if ranked and note is not None
                and not note.allow_unranked else "")
        st.caption(f"{h.unplaced:,} unplaced, of whom {without:,} did not submit a list.{hint}")


def mix_line(mix: services.RunMix) -> None:
    """Groups and several places at a glance, and the rank profile per tier, when the run has any."""
    if not mix.shown:
        return
    cols = st.columns(3)
    if mix.groups:
        cols[0].metric("Groups placed together", f"{mix.groups_placed:,} of {mix.groups:,}",
                       help=f"{mix.grouped_students:,} students are in groups. A group is placed together on one "
                            "project, or not at all.")
    if mix.multi_place_students:
        cols[1].metric("Places given", f"{mix.places_given:,} of {mix.places_wanted:,}",
                       help=f"{mix.multi_place_students:,} students have more than one place.")
    if len(mix.tiers) > 1:
        cols[2].metric("Tiers", f"{len(mix.tiers)}", help="Tier 1 is served first, then tier 2, and so on.")
        st.plotly_chart(cached(("tiers", tuple(mix.tiers)), lambda: charts.tier_profiles(
            [(t.tier, t.profile, t.slots) for t in mix.tiers])), key="see-tiers", width="stretch",
            config=CHART_CONFIG)


def _worst(h: services.Headline, ranks: int) -> str:
    """The worst rank given; "unranked" when that is a project the student did not rank (rank k + 1)."""
    if h.worst_rank is None:
        return "—"
    return "unranked" if h.unranked and h.worst_rank == ranks + 1 else str(h.worst_rank)


def per_row_chart(run_id: int, data: services.RunCharts) -> None:
    """One chart of one row per project or supervisor: a group a coordinator may act on (below minimum, full,
    no students, …), a search and a page of rows at a time, so 1,400 projects stay readable."""
    which = st.segmented_control("Chart", CHARTS, key="see-chart", required=True, default=CHARTS[0],
                                 persist_state=KEEP)
    if which == "Project fill":
        rows = [charts.ProjectFill(r.title, r.assigned, r.capacity, r.minimum) for r in data.project_fill]
        groups, pick, draw_chart, noun = charts.FILL_FOCUS, charts.focus_fill, charts.project_fill, "projects"
    elif which == "Supervisor load":
        rows = [charts.SupervisorLoad(r.name, r.assigned, r.capacity) for r in data.supervisor_load]
        groups, pick, draw_chart, noun = charts.LOAD_FOCUS, charts.focus_load, charts.supervisor_load, "supervisors"
    else:
        rows = [charts.ProjectDemand(r.title, r.first_choices, r.any_rank, r.capacity) for r in data.demand]
        groups, pick, draw_chart, noun = (charts.DEMAND_FOCUS, charts.focus_demand, charts.demand_vs_capacity,
                                          "projects")
    counts = {key: len(pick(rows, focus=key)) for key in groups}
    key = f"see-focus-{CHART_KEYS[which]}"
    if st.session_state.get(key) not in groups:  # first time: the first group with rows in it
        st.session_state[key] = next((k for k in groups if counts[k] and k != "all"), "all")
    # A row of its own: the groups' names and counts are never cut off.
    focus = st.segmented_control("Show", list(groups), key=key, required=True, help=FOCUS_HELP,
                                 format_func=lambda k: f"{groups[k]} · {counts[k]:,}", persist_state=KEEP)
    cols = st.columns([3, 1])
    search = cols[0].text_input("Search", key="see-chart-search", placeholder="A project title or a name",
                                persist_state=KEEP)
    shown = pick(rows, focus=focus, search=search)
    pages = max(1, -(-len(shown) // charts.PER_PAGE))
    if st.session_state.get("see-page", 1) > pages:  # a narrower search or group has fewer pages
        st.session_state["see-page"] = pages
    page_number = cols[1].number_input(f"Page (of {pages})", min_value=1, max_value=pages, step=1, key="see-page")
    page = charts.paged(shown, page=page_number)
    span = f"{page.first + 1}–{page.first + len(page.items)}" if page.items else "none"
    st.caption(f"Showing {span} of {page.total:,} {noun}: {groups[focus].lower()}"
               + (" matching the search" if search else "") + f" ({len(rows):,} in this run).")
    figure = cached((which, run_id, focus, search, page.page), lambda: draw_chart(page.items))
    st.plotly_chart(figure, key=CHART_KEYS[which], width="stretch", config=CHART_CONFIG)


def students_table(studio: Studio, run: services.RunView) -> None:
    frame, haystack = cached(("students", run.id), lambda: _students_frame(studio, run.id))
    search = st.text_input("Find a student or project", key="see-search").strip().casefold()
    shown = frame[haystack.str.contains(search, regex=False)] if search else frame
    # Streamlit sizes a column by its header, which would cut the members' names off after a few letters.
    wide = {"Group": st.column_config.TextColumn(width="medium")} if "Group" in frame.columns else None
    st.dataframe(shown, hide_index=True, key="see-table", column_config=wide)


def _students_frame(studio: Studio, run_id: int) -> tuple[pd.DataFrame, pd.Series]:
    """The run's students as a table, and per row the lower-cased text a search looks in. A run with
    groups has a Group column: the members of the student's group, so a search for one finds them all."""
    rows = cached_read(studio, services.run_assignments, run_id=run_id)
    groups = cached_read(studio, services.run_groups, run_id=run_id)
    # Column by column: a dict per row would allocate thousands of containers, and at 5,000 students the
    # garbage collector's passes over them cost more than the table itself.
    columns = {"Student": [r.student_name for r in rows], "Email": [r.student_email for r in rows]}
    if groups:
        columns["Group"] = [groups.get(r.student_id, "") for r in rows]
    frame = pd.DataFrame({
        **columns, "Project": [r.project_title or "— unplaced —" for r in rows],
        "Supervisor": [r.supervisor_name for r in rows], "Rank": pd.array([r.rank for r in rows], dtype="Int64"),
        "Pinned": [r.pinned for r in rows], "Moved by hand": [r.manual for r in rows]})
    haystack = pd.Series([f"{r.student_name} {r.student_email} {r.project_title} {r.supervisor_name} "
                          f"{groups.get(r.student_id, '')}".casefold() for r in rows], index=frame.index, dtype=object)
    return frame, haystack
