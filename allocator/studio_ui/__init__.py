"""The allocation studio's views, one module each, drawn by `pages/admin_studio.py` through `draw`.

Only the view on screen is drawn (a view selector, not `st.tabs`, whose every body runs on every click):
at 5,000 students drawing all seven took two seconds a click. Values a coordinator sets in one view
(Tune's settings, the compared runs) persist in session state while another view is on screen.
"""
from __future__ import annotations

import streamlit as st

from allocator import glossary, ui
from allocator.studio_ui import adjust, compare, export, publish, run, see, tune
from allocator.studio_ui.common import KEEP, NEXT_VIEW, NOTICE, RUN_ASKED, RUN_KEY, VIEW_KEY, choose_run, load

VIEWS = {"Tune": tune.draw, "Run": run.draw, "See": see.draw, "Compare": compare.draw, "Adjust": adjust.draw,
         "Publish": publish.draw, "Export": export.draw}
RUN_VIEWS = ("See", "Adjust", "Publish", "Export")  # the views about the run on screen

__all__ = ["VIEWS", "draw"]


def draw(ctx: ui.Context) -> None:
    # A run asked for by the Run button is made before the runs are read and the view is chosen, so this
    # script run draws its charts in See; made in the Run view, it would take a second script run.
    studio = load(ctx, run.start if st.session_state.pop(RUN_ASKED, False) else None)
    runs = studio.runs
    st.caption(f"{ui.md(studio.setup.cohort_name)} · {len(studio.setup.students):,} students · "
               f"{len(studio.setup.projects):,} approved projects · {len(runs)} run{'s' if len(runs) != 1 else ''}")
    choose_run(studio)
    tune.init_state(studio)
    compare.follow_new_runs(studio)
    _notice()
    if NEXT_VIEW in st.session_state:
        st.session_state[VIEW_KEY] = st.session_state.pop(NEXT_VIEW)
    st.session_state.setdefault(VIEW_KEY, "See" if runs else "Tune")
    view = st.segmented_control("View", list(VIEWS), key=VIEW_KEY, required=True, persist_state=KEEP,
                                label_visibility="collapsed")
    if runs and view in RUN_VIEWS:
        st.selectbox(f"Run shown in {', '.join(RUN_VIEWS)}", [r.id for r in runs], format_func=studio.run_name,
                     key=RUN_KEY, persist_state=KEEP,
                     help="The studio opens on the published run, when there is one. "
                          + " ".join(glossary.STATUS_HELP.values()))
    VIEWS[view](studio)


def _notice() -> None:
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        kind, text, details = notice
        getattr(st, kind)(text)
        for line in details:
            st.markdown(f"- {ui.md(line)}")
