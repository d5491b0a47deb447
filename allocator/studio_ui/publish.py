"""Publish: make the run on screen the one students and staff see, and follow the students' answers."""
from __future__ import annotations

import streamlit as st

from allocator import services, ui
from allocator.studio_ui.common import Studio, switch_to


def draw(studio: Studio) -> None:
    current, published = studio.current, studio.published
    st.markdown(f"Published now: **{ui.md(studio.run_name(published.id)) if published else 'nothing'}**")
    if not studio.setup.email_configured:
        st.info("Email is not set up (SMTP settings), so publishing notifies students **in the app only**.")
    if current is not None and current.feasible and not current.published:
        if published is not None:
            st.warning(f"You are about to replace the published run, {ui.md(published.name)}, with "
                       f"{ui.md(current.name)}.")
        confirm = st.checkbox(f"Publish {current.name}: students and staff see it at once and students are "
                              "notified", key="publish-confirm")
        if st.button("Publish", key="publish-button", type="primary", disabled=not confirm):
            _publish(studio, current)
    elif current is not None and current.published:
        st.success(f"{current.name} is the published allocation.")
    st.divider()
    _answers(studio)


def _publish(studio: Studio, run: services.RunView) -> None:
    ctx = studio.ctx
    report = ui.run_action(services.publish_run, actor=ctx.actor, run_id=run.id)
    if report is None:
        return
    delivery = services.deliver_publication(report)
    if delivery.sent_user_ids:
        ui.run_action(services.mark_emailed, actor=ctx.actor, cohort_id=ctx.cohort_id,
                      user_ids=delivery.sent_user_ids)
    switch_to(report.run_id, ("success", f"Run #{report.run_id} is published; {report.notified:,} people "
                                         f"notified in the app. {delivery.summary}",
                              tuple(f"{a}: {why}" for a, why in delivery.failed[:20])))


def _answers(studio: Studio) -> None:
    ctx = studio.ctx
    st.subheader("Students' answers")
    answers = ui.read(services.list_declined, actor=ctx.actor, cohort_id=ctx.cohort_id)
    if answers.run_id is None:
        st.caption("Students accept or decline once a run is published.")
    else:
        cols = st.columns(3)
        cols[0].metric("Accepted", f"{answers.accepted:,}")
        cols[1].metric("Declined", f"{answers.declined:,}")
        cols[2].metric("Not answered", f"{answers.pending:,}")
    if answers.locked:
        st.warning("Responses are locked: students cannot accept or decline.")
        if st.button("Unlock responses", key="responses-unlock"):
            if ui.run_action(services.set_responses_locked, actor=ctx.actor, cohort_id=ctx.cohort_id,
                             locked=False) is not None:
                st.rerun()
    elif st.button("Lock responses", key="responses-lock"):
        if ui.run_action(services.set_responses_locked, actor=ctx.actor, cohort_id=ctx.cohort_id,
                         locked=True) is not None:
            st.rerun()
    if answers.declined_rows:
        st.markdown("**Declined**")
        for d in answers.declined_rows:
            st.markdown(f"- **{ui.md(d.name)}** declined {ui.md(d.project_title)}"
                        + (f": “{ui.md(d.reason)}”" if d.reason else " (no reason given)"))
        if st.button("Re-run for the declined students only", key="rerun-declined",
                     help="Everyone else keeps their project; each decliner is kept off the project they declined."):
            again = ui.run_action(services.rerun_declined, actor=ctx.actor, cohort_id=ctx.cohort_id)
            if again is not None:
                kind = "success" if again.feasible else "error"
                switch_to(again.id, (kind, f"Run #{again.id} ({again.status}): {again.placed} of {again.students} "
                                           f"placed. Check it, then publish it.", again.suggestions), view="See")
