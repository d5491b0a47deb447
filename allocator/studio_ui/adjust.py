"""Adjust: move a student by hand (a new run derived from the one on screen), explain a student's result,
or restore the run on screen as the newest."""
from __future__ import annotations

import streamlit as st

from allocator import domain, services, ui
from allocator.studio_ui.common import Studio, cached_read, switch_to

UNPLACED = 0  # the "Move to" option that leaves a student without a project
FREE_PLACE = -1  # the "Which place" option that fills a place a student with several has free


def draw(studio: Studio) -> None:
    current, actor = studio.current, studio.ctx.actor
    if current is None or not current.feasible:
        st.info("Pick a run with an allocation to adjust it.")
        return
    st.markdown(f"Adjusting **{ui.md(current.name)}**. A move makes a new run derived from this one; this run "
                "stays as it is, so it can always be restored.")
    rows = cached_read(studio, services.run_assignments, run_id=current.id)
    placed: dict[int, list] = {}
    for r in rows:
        placed.setdefault(r.student_id, []).append(r)
    projects = studio.projects_by_id
    student = st.selectbox(
        "Student", list(placed), key="adjust-student",
        format_func=lambda s: f"{placed[s][0].student_name} · now "
                              f"{', '.join(r.project_title for r in placed[s] if r.project_id) or 'unplaced'}")
    choice = cached_read(studio, services.move_choices, run_id=current.id, student_id=student) if student else None
    source = _which_place(choice, student, projects) if choice else None
    target = st.selectbox("Move to", [*projects, UNPLACED], key="adjust-project", index=None,
                          placeholder="Pick a project (or “no project”)",
                          format_func=lambda p: "— no project (unplaced) —" if p == UNPLACED else projects[p].label)
    st.text_input("Reason (kept in the audit log)", key="adjust-reason", max_chars=domain.MOVE_REASON_MAX)
    cols = st.columns(3)
    label = "Move the group" if choice and choice.group else "Move student"
    if cols[0].button(label, key="adjust-move", type="primary", disabled=target is None or source is False):
        moved = ui.run_action(services.move_student, actor=actor, run_id=current.id, student_id=student,
                              project_id=None if target == UNPLACED else target,
                              from_project_id=None if source in (None, FREE_PLACE) else source,
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


def _which_place(choice: services.MoveChoice, student: int, projects) -> int | None | bool:
    """The placement a move changes: None for a student with one place (their only one), a project id,
    FREE_PLACE, or False while a student with several places has not said which; and a word on the
    group that moves along."""
    if choice.group:
        st.caption(f"{ui.md(choice.group[0])} is in a group of {len(choice.group)} ({ui.md(', '.join(choice.group))}), "
                   "which is placed together: the whole group moves.")
    if choice.places == 1:
        return None
    options = [*choice.projects] + ([FREE_PLACE] if len(choice.projects) < choice.places else [])
    picked = st.selectbox(f"Which place ({len(choice.projects)} of {choice.places} taken)", options,
                          key=f"adjust-from-{student}", index=0 if len(options) == 1 else None, placeholder="Pick a place",
                          format_func=lambda p: "— a free place —" if p == FREE_PLACE else
                          (projects[p].label if p in projects else f"project #{p}"))
    return False if picked is None else picked
