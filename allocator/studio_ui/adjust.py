"""Adjust: move a student by hand (a new run derived from the one on screen), explain a student's result,
or restore the run on screen as the newest."""
from __future__ import annotations

import streamlit as st

from allocator import domain, services, ui
from allocator.studio_ui.common import Studio, cached_read, switch_to

UNPLACED = 0  # the "Move to" option that leaves a student without a project


def draw(studio: Studio) -> None:
    current, actor = studio.current, studio.ctx.actor
    if current is None or not current.feasible:
        st.info("Pick a run with an allocation to adjust it.")
        return
    st.markdown(f"Adjusting **{ui.md(current.name)}**. A move makes a new run derived from this one; this run "
                "stays as it is, so it can always be restored.")
    placed_rows = {r.student_id: r for r in cached_read(studio, services.run_assignments, run_id=current.id)}
    projects = studio.projects_by_id
    student = st.selectbox(
        "Student", list(placed_rows), key="adjust-student",
        format_func=lambda s: f"{placed_rows[s].student_name} · now {placed_rows[s].project_title or 'unplaced'}")
    target = st.selectbox("Move to", [*projects, UNPLACED], key="adjust-project", index=None,
                          placeholder="Pick a project (or “no project”)",
                          format_func=lambda p: "— no project (unplaced) —" if p == UNPLACED else projects[p].label)
    st.text_input("Reason (kept in the audit log)", key="adjust-reason", max_chars=domain.MOVE_REASON_MAX)
    cols = st.columns(3)
    if cols[0].button("Move student", key="adjust-move", type="primary", disabled=target is None):
        moved = ui.run_action(services.move_student, actor=actor, run_id=current.id, student_id=student,
                              project_id=None if target == UNPLACED else target,
                              reason=st.session_state.get("adjust-reason", ""))
        if moved is not None:
            switch_to(moved.id, ("success", f"Moved: {moved.message} Now showing run #{moved.id}.", ()))
    if cols[1].button("Explain this student's result", key="adjust-explain"):
        lines = ui.run_action(services.explain_student, actor=actor, run_id=current.id, student_id=student)
        if lines:
            st.session_state["adjust-explanation"] = (current.id, student, lines)
    if cols[2].button("Restore this run as the newest", key="adjust-restore"):
        restored = ui.run_action(services.restore_run, actor=actor, run_id=current.id)
        if restored is not None:
            switch_to(restored.id, ("success", f"Run #{current.id} restored as run #{restored.id}.", ()))
    explanation = st.session_state.get("adjust-explanation")
    if explanation and explanation[:2] == (current.id, student):
        st.markdown(f"**{ui.md(explanation[2][0])}**")
        for line in explanation[2][1:]:
            st.markdown(f"- {ui.md(line)}")
