"""Compare: two or more runs side by side — profiles, top-k shares, figures, and who moved between them.

The picks follow new runs: when a run appears that the coordinator has not seen here, it joins the
picks at the front (the oldest pick beyond two drops out), so a fresh run is compared at once.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from allocator import charts, glossary, services
from allocator.studio_ui.common import CHART_CONFIG, KEEP, Studio, cached, cached_read, pct

PICKS = "compare-runs"
SEEN = "compare-seen"  # the feasible runs there were when the picks were last set


def follow_new_runs(studio: Studio) -> None:
    """Called on every script run, whichever view is on screen, before the picker is drawn."""
    feasible = [r.id for r in studio.runs if r.feasible]
    seen = st.session_state.get(SEEN)
    picks = [r for r in st.session_state.get(PICKS, []) if r in feasible]
    if seen is None:
        current = studio.current
        first = current.id if current is not None and current.feasible else None
        picks = list(dict.fromkeys(r for r in (first, *feasible) if r is not None))[:2]
    else:
        new = [r for r in feasible if r not in seen]
        if new:
            picks = list(dict.fromkeys([*new, *picks]))[:max(2, len(picks))]
    st.session_state[SEEN] = feasible
    st.session_state[PICKS] = picks


def draw(studio: Studio) -> None:
    feasible = [r.id for r in studio.runs if r.feasible]
    if len(feasible) < 2:
        st.info("Make at least two runs to compare them.")
        return
    picked = st.multiselect("Runs to compare", feasible, format_func=studio.run_name, key=PICKS, persist_state=KEEP,
                            help="A new run joins the comparison as soon as it is made.")
    if len(picked) < 2:
        st.info("Pick two or more runs.")
        return
    cmp = cached_read(studio, services.compare_runs, run_ids=tuple(picked))
    profiles = {r.name: (r.profile, r.slots) for r in cmp.runs}
    picks = tuple(picked)
    st.plotly_chart(cached(("overlay", picks), lambda: charts.profiles_overlay(profiles)), key="compare-overlay",
                    width="stretch", config=CHART_CONFIG)
    st.plotly_chart(cached(("compare-top-k", picks), lambda: charts.cumulative_top_k(profiles)), key="compare-topk",
                    width="stretch", config=CHART_CONFIG)
    st.dataframe(pd.DataFrame({
        r.name: {"Placed": f"{h.placed}/{h.students}", "Unplaced without a list":
                 str(studio.notes[r.id].unplaced_without_list) if r.id in studio.notes else "—",
                 "First choice": pct(h.pct_first), "Top three": pct(h.pct_top3), "Worst rank": str(h.worst_rank or "—"),
                 "Average rank": "—" if h.average_rank is None else f"{h.average_rank:.2f}",
                 "Cost": str(r.cost), "Status": r.status, "Objective": r.objective,
                 "Tuned": studio.notes[r.id].tuned if r.id in studio.notes else ""}
        for r, h in zip(cmp.runs, cmp.headlines)}), key="compare-figures")
    st.caption(" ".join((glossary.COST_HELP, *(glossary.status_help(s) for s in sorted({r.status for r in cmp.runs})))))
    moved = len(cmp.differences)
    st.markdown(f"**{moved} student{'s' if moved != 1 else ''} with a different project**")
    if cmp.differences:
        st.dataframe(pd.DataFrame([{"Student": d.name, "Email": d.email,
                                    **{r.name: p + (f" (choice {k})" if k else "")
                                       for r, p, k in zip(cmp.runs, d.projects, d.ranks)}}
                                   for d in cmp.differences]), hide_index=True, key="compare-diff")
