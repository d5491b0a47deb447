"""Tune: the settings of the next run (objective, capacities and minimums for this run, pins, forbids).

The values live in session state, not only in the widgets, so the Run view can start a run with them
while Tune is not on screen: simple widgets persist for the session, and the two tables keep their
changed cells in PROJECT_EDITS / SUPERVISOR_EDITS (a table's own state is lost when it is not drawn).
"""
from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from allocator import domain, services, ui
from allocator.domain import Objective
from allocator.studio_ui.common import FORBIDS, KEEP, PINS, PROJECT_EDITS, SUPERVISOR_EDITS, Studio

PAIRS_SHOWN = "tune-pairs-shown"


def init_state(studio: Studio) -> None:
    """The defaults of the tune widgets, set once per session (widgets then take no default of their own)."""
    d = studio.defaults
    st.session_state.setdefault("tune-objective", d.objective)
    st.session_state.setdefault("tune-weights", ", ".join(str(w) for w in d.weights or ()))
    st.session_state.setdefault("tune-unranked", d.allow_unranked)
    st.session_state.setdefault("tune-seed", 0)
    st.session_state.setdefault("tune-time-limit", int(d.time_limit))
    st.session_state.setdefault(PROJECT_EDITS, {})
    st.session_state.setdefault(SUPERVISOR_EDITS, {})


def draw(studio: Studio) -> None:
    setup = studio.setup
    st.subheader("Settings for the next run")
    st.selectbox("Objective", list(setup.objective_labels), key="tune-objective",
                 format_func=setup.objective_labels.get, persist_state=KEEP)
    if st.session_state["tune-objective"] == Objective.WEIGHTED:
        st.text_input("Weights per rank (1st, 2nd, …, then unranked)", key="tune-weights", persist_state=KEEP,
                      help="Whole numbers; the run minimises the sum of each student's weight.")
    st.checkbox("Allow placing students on projects they did not rank", key="tune-unranked", persist_state=KEEP)
    left, right = st.columns(2)
    left.number_input("Tie-breaking seed", min_value=0, step=1, key="tune-seed", persist_state=KEEP,
                      help="Among equally good allocations the seed picks one; the same seed gives the same one.")
    right.number_input("Time limit (seconds)", min_value=1, max_value=int(services.MAX_TIME_LIMIT), step=1,
                       key="tune-time-limit", persist_state=KEEP)
    _project_table(studio)
    _supervisor_table(studio)
    # A toggle, not an expander: an expander's body is drawn (and its pickers of every student and project
    # sent to the browser) even when folded; at 5,000 students that made Tune slow to open.
    st.session_state.setdefault(PAIRS_SHOWN, bool(st.session_state.get(PINS) or st.session_state.get(FORBIDS)))
    if st.toggle("Pins and forbids", key=PAIRS_SHOWN, persist_state=KEEP,
                 help="Pin: this student must get this project. Forbid: this student must not get it."):
        with st.container(border=True):
            _pair_picker(studio, "Pin", PINS, "this student must get this project")
            st.divider()
            _pair_picker(studio, "Forbid", FORBIDS, "this student must not get this project")
    elif st.session_state.get(PINS) or st.session_state.get(FORBIDS):
        st.caption(f"{len(st.session_state.get(PINS, []))} pins and {len(st.session_state.get(FORBIDS, []))} "
                   "forbids apply to the next run.")


def _project_table(studio: Studio) -> None:
    edits = st.session_state[PROJECT_EDITS]
    st.markdown("**Project capacities and minimums for this run** (the catalogue is not changed)")
    base = pd.DataFrame([{"id": p.id, "Project": p.label, "Supervisor": p.supervisor_name,
                          "Capacity": edits.get(p.id, {}).get("Capacity", p.capacity),
                          "Minimum": edits.get(p.id, {}).get("Minimum", p.min_students)}
                         for p in studio.setup.projects], columns=["id", "Project", "Supervisor", "Capacity", "Minimum"])
    edited = st.data_editor(
        base, key="tune-capacities", hide_index=True, disabled=["id", "Project", "Supervisor"],
        column_order=["Project", "Capacity", "Minimum", "Supervisor"],
        column_config={"Capacity": st.column_config.NumberColumn(min_value=0, step=1),
                       "Minimum": st.column_config.NumberColumn(min_value=0, step=1)},
        height=min(420, 38 + 35 * max(1, len(studio.setup.projects))))
    catalogue = studio.projects_by_id
    st.session_state[PROJECT_EDITS] = {
        int(pid): {"Capacity": cap, "Minimum": minimum}
        for pid, cap, minimum in zip(edited["id"], edited["Capacity"], edited["Minimum"])
        if (cap, minimum) != (catalogue[int(pid)].capacity, catalogue[int(pid)].min_students)}


def _supervisor_table(studio: Studio) -> None:
    if not studio.setup.supervisors:
        return
    edits = st.session_state[SUPERVISOR_EDITS]
    st.markdown("**Supervisor capacities for this run** (blank: no limit)")
    base = pd.DataFrame([{"id": v.id, "Supervisor": v.name, "Most students": edits.get(v.id, v.max_load)}
                         for v in studio.setup.supervisors], columns=["id", "Supervisor", "Most students"])
    edited = st.data_editor(
        base, key="tune-supervisors", hide_index=True, disabled=["id", "Supervisor"],
        column_order=["Supervisor", "Most students"],
        column_config={"Most students": st.column_config.NumberColumn(min_value=0, step=1)},
        height=min(320, 38 + 35 * len(studio.setup.supervisors)))
    loads = {v.id: v.max_load for v in studio.setup.supervisors}
    st.session_state[SUPERVISOR_EDITS] = {
        int(uid): value for uid, value in zip(edited["id"], edited["Most students"])
        if not _same_load(value, loads[int(uid)])}


def _same_load(value, catalogue: int | None) -> bool:
    blank = value is None or (isinstance(value, float) and math.isnan(value))  # a cleared cell
    return (catalogue is None and blank) or (not blank and catalogue is not None and value == catalogue)


def _pair_picker(studio: Studio, kind: str, state_key: str, verb: str) -> None:
    pairs = st.session_state.setdefault(state_key, [])
    prefix = kind.lower()
    st.markdown(f"**{kind}s** — {verb}")
    for i, (sid, pid, reason) in enumerate(pairs):
        row = st.columns([5, 1])
        student = studio.students_by_id.get(sid)
        project = studio.projects_by_id.get(pid)
        who = student.name if student else f"#{sid}"
        what = project.label if project else f"#{pid}"
        row[0].markdown(f"{ui.md(who)} → {ui.md(what)}" + (f" — *{ui.md(reason)}*" if reason else ""))
        if row[1].button("Remove", key=f"{prefix}-remove-{i}"):
            del pairs[i]
            st.rerun()
    if not studio.setup.students or not studio.setup.projects:
        return
    students, projects = studio.students_by_id, studio.projects_by_id
    cols = st.columns(2)
    cols[0].selectbox("Student", list(students), key=f"{prefix}-student",
                      format_func=lambda s: f"{students[s].name} · {students[s].email}")
    cols[1].selectbox("Project", list(projects), key=f"{prefix}-project", format_func=lambda p: projects[p].label)
    st.text_input("Reason (kept in the audit log)", key=f"{prefix}-reason", max_chars=domain.MOVE_REASON_MAX)
    if st.button(f"Add {prefix}", key=f"{prefix}-add"):
        pairs.append((st.session_state[f"{prefix}-student"], st.session_state[f"{prefix}-project"],
                      st.session_state.get(f"{prefix}-reason", "").strip()))
        st.rerun()


def tuned(studio: Studio) -> services.RunParameters:
    """The tuned values as run settings (raises Invalid, shown by run_action, when a cell is wrong)."""
    edits, loads = st.session_state.get(PROJECT_EDITS, {}), st.session_state.get(SUPERVISOR_EDITS, {})
    projects = studio.setup.projects
    return services.tune_parameters(
        studio.setup, objective=st.session_state.get("tune-objective", studio.defaults.objective),
        weights=st.session_state.get("tune-weights", ""),
        allow_unranked=st.session_state.get("tune-unranked", studio.defaults.allow_unranked),
        capacities={p.id: edits.get(p.id, {}).get("Capacity", p.capacity) for p in projects},
        minimums={p.id: edits.get(p.id, {}).get("Minimum", p.min_students) for p in projects},
        supervisor_capacities={v.id: loads.get(v.id, v.max_load) for v in studio.setup.supervisors},
        pins=st.session_state.get(PINS, []), forbids=st.session_state.get(FORBIDS, []),
        seed=st.session_state.get("tune-seed", 0), time_limit=st.session_state.get("tune-time-limit", 20))
