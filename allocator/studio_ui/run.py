"""Run: start a run with the tuned settings, and the table of every run with what was tuned for it."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from allocator import domain, glossary, services, ui
from allocator.studio_ui.common import KEEP, RUN_ASKED, Studio, remember_read, switch_to
from allocator.studio_ui.tune import tuned


def draw(studio: Studio) -> None:
    st.subheader("Run on the current preferences")
    st.caption(f"With the settings in **Tune**: {ui.md(_tuned_summary(studio))}.")
    st.text_input("Name for this run (optional)", key="tune-label", max_chars=domain.RUN_LABEL_MAX, persist_state=KEEP,
                  placeholder="e.g. generous, Gamma raised to 6")
    st.button("Run allocation", key="studio-run-button", type="primary", on_click=_ask)
    if studio.runs:
        _runs_table(studio)
    else:
        st.info("No runs yet: tune the settings, then press **Run allocation**.")


def _tuned_summary(studio: Studio) -> str:
    try:
        params = tuned(studio)
    except services.DomainError as err:
        return f"not usable yet ({err})"
    return f"{params.objective}, " + services.describe_tuning(params, {p.id: p.title for p in studio.setup.projects})


def _ask() -> None:
    # Only records the click: the run is made in the page body, once the identity is verified (`start`).
    st.session_state[RUN_ASKED] = True


def start(studio: Studio) -> None:
    """Make the run the Run button asked for, with the tuned settings, and show it in See from the view
    selector on. Called before the studio's runs are read (`load`), so the page needs no second script run.
    A refused run's reason is shown plainly above the views, never folded away, and Run stays on screen."""
    with st.spinner("Solving on the current preferences…"):
        made = ui.run_action(lambda s: services.run_allocation_charted(
            s, actor=studio.ctx.actor, cohort_id=studio.ctx.cohort_id, params=tuned(studio),
            label=st.session_state.get("tune-label", "")))
    if made is None:
        return
    view, charts = made
    if charts is not None:  # See draws it next: no need to read back what the run has just stored
        remember_read(services.run_charts, charts, run_id=view.id)
    if view.feasible:
        switch_to(view.id, ("success", f"Run #{view.id} is {view.status}: {view.placed:,} of {view.students:,} "
                                       f"students placed in {view.seconds:.2f} s.", ()), view="See", rerun=False)
    else:
        switch_to(view.id, ("error", f"Run #{view.id} is infeasible: {view.message}",
                            tuple(f"Try: {s}" for s in view.suggestions)), view="See", rerun=False)


def placed_text(run: services.RunView, note: services.RunNote | None) -> str:
    """'180 / 202 (22 unplaced: 22 without a list)': the unplaced who never submitted are not the solver's."""
    text = f"{run.placed} / {run.students}"
    if run.feasible and run.unplaced:
        without = note.unplaced_without_list if note else 0
        text += f" ({run.unplaced} unplaced: {without} without a list)"
    return text


def _runs_table(studio: Studio) -> None:
    st.markdown("**All runs** (newest first; runs are never changed or deleted)")
    st.dataframe(pd.DataFrame([{
        "Run": r.id, "Name": r.label, "Kind": r.kind, "Status": r.status, "Objective": r.objective,
        "Tuned": studio.notes[r.id].tuned if r.id in studio.notes else "",
        "Placed": placed_text(r, studio.notes.get(r.id)), "Cost": r.cost, "Seconds": round(r.seconds, 3),
        "Solver": r.solver, "From run": str(r.parent_run_id or ""), "Published": "yes" if r.published else "",
        "By": r.created_by, "When": ui.fmt_datetime(r.created_at)} for r in studio.runs]),
        hide_index=True, key="runs-table",
        column_config={
            "Status": st.column_config.TextColumn(help=" ".join(glossary.STATUS_HELP.values())),
            "Cost": st.column_config.NumberColumn(help=glossary.COST_HELP),
            "Solver": st.column_config.TextColumn(help=" ".join(glossary.SOLVER_HELP.values())),
            "Tuned": st.column_config.TextColumn(help="What this run changed from the catalogue and the defaults: "
                                                      "capacities, minimums, pins, forbids, seed."),
            "Placed": st.column_config.TextColumn(help=glossary.UNPLACED_HELP)})
