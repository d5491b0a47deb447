"""Cohort settings (coordinators): the selected cohort's dates and rules, new cohorts (empty or copied
from another), renaming, archiving. Dates are typed in the deployment's time zone."""
from __future__ import annotations

import streamlit as st

from allocator import domain, services, ui
from allocator.domain import Objective, Phase, Role

FLASH = "cohorts-flash"

ctx = ui.page_context(Role.ADMIN)
st.title("Cohort settings")


def _create() -> None:
    """Runs in the page body, under the identity app.py verified in this run (never in a callback)."""
    name = st.session_state.get("cohort-new-name", "")
    source = st.session_state.get("cohort-new-source")
    if source:
        view = ui.run_action(services.copy_cohort, actor=ctx.actor, cohort_id=source, name=name,
                             keep_status=st.session_state.get("cohort-new-keep", False))
    else:
        view = ui.run_action(services.create_cohort, actor=ctx.actor, name=name)
    if view is not None:
        ui.select_cohort_next_run(view.id)
        st.session_state[FLASH] = f"Created “{view.name}”; it is now the selected cohort."
        st.rerun()


def _unarchive(cohort_id: int) -> None:
    view = ui.run_action(services.unarchive_cohort, actor=ctx.actor, cohort_id=cohort_id)
    if view is not None:
        ui.select_cohort_next_run(view.id)
        st.session_state[FLASH] = f"“{view.name}” is back in everyone's cohort list."
        st.rerun()


if message := st.session_state.pop(FLASH, None):
    st.success(message)

cohorts = ui.read(services.list_cohorts, actor=ctx.actor, include_archived=True)
form = (ui.read(services.cohort_settings_form, actor=ctx.actor, cohort_id=ctx.cohort_id)
        if ctx.cohort_id is not None else None)

if form is not None:
    cid = form.cohort.id
    st.subheader(ui.md(form.cohort.name))
    st.markdown(f"**Phase now:** {form.cohort.phase_label}"
                + (" (set by hand)" if form.cohort.phase_override else " (from the dates)"))
    with st.form(f"settings-{cid}"):
        name = st.text_input("Name", value=form.cohort.name, max_chars=domain.COHORT_NAME_MAX, key=f"settings-{cid}-name")
        st.markdown(f"**Dates** — in {form.timezone} time. Leave a date empty while it is not decided.")
        left, right = st.columns(2)
        proposals_open = left.datetime_input("Proposals open", value=form.proposals_open_at,
                                             key=f"settings-{cid}-proposals-open", format="DD/MM/YYYY")
        proposals_close = right.datetime_input("Proposals close", value=form.proposals_close_at,
                                               key=f"settings-{cid}-proposals-close", format="DD/MM/YYYY")
        preferences_open = left.datetime_input("Preferences open", value=form.preferences_open_at,
                                               key=f"settings-{cid}-preferences-open", format="DD/MM/YYYY")
        preferences_close = right.datetime_input("Preferences close", value=form.preferences_close_at,
                                                 key=f"settings-{cid}-preferences-close", format="DD/MM/YYYY")
        overrides = [None, *Phase.values()]
        override = st.selectbox(
            "Phase", overrides, index=overrides.index(form.cohort.phase_override),
            key=f"settings-{cid}-override",
            format_func=lambda p: "Follow the dates" if p is None else f"Force: {Phase.label_of(p)}",
            help="Forcing a phase beats the dates, e.g. to reopen preferences for a day.")
        st.markdown("**Rules**")
        left, right = st.columns(2)
        min_choices = left.number_input("Fewest choices a student ranks", min_value=0, max_value=domain.CHOICES_MAX, step=1,
                                        value=form.cohort.min_choices, key=f"settings-{cid}-min")
        max_choices = right.number_input("Most choices a student ranks", min_value=1, max_value=domain.CHOICES_MAX, step=1,
                                         value=form.cohort.max_choices, key=f"settings-{cid}-max")
        objectives = Objective.values()
        objective = st.selectbox("Default objective", objectives,
                                 index=objectives.index(form.cohort.default_objective),
                                 format_func=Objective.label_of, key=f"settings-{cid}-objective")
        allow_unranked = st.checkbox("Allow placing a student on a project they did not rank (as a last resort)",
                                     value=form.cohort.allow_unranked, key=f"settings-{cid}-unranked")
        auto_approve = st.checkbox("Approve new proposals automatically", value=form.cohort.auto_approve,
                                   key=f"settings-{cid}-auto-approve")
        responses_locked = st.checkbox("Lock students' accept/decline answers", value=form.cohort.responses_locked,
                                       key=f"settings-{cid}-locked")
        if st.form_submit_button("Save settings", type="primary", key=f"settings-{cid}-save"):
            view = ui.run_action(
                services.update_cohort_settings, actor=ctx.actor, cohort_id=cid, name=name,
                proposals_open_at=proposals_open, proposals_close_at=proposals_close,
                preferences_open_at=preferences_open, preferences_close_at=preferences_close,
                phase_override=override, min_choices=int(min_choices), max_choices=int(max_choices),
                default_objective=objective, allow_unranked=allow_unranked, auto_approve=auto_approve,
                responses_locked=responses_locked, success="Settings saved")
            if view is not None:
                st.session_state[FLASH] = f"Settings saved. Phase now: {view.phase_label}."
                st.rerun()

    with st.expander("Archive this cohort"):
        st.caption("An archived cohort disappears from everyone's cohort list; nothing is deleted and you can "
                   "bring it back below.")
        if st.button("Archive", key=f"settings-{cid}-archive"):
            view = ui.run_action(services.archive_cohort, actor=ctx.actor, cohort_id=cid)
            if view is not None:
                st.session_state[FLASH] = f"“{view.name}” was archived."
                st.rerun()
else:
    st.info("There is no cohort yet: create the first one below.")

st.subheader("New cohort")
active = [c for c in cohorts if not c.archived]
with st.form("cohort-new", clear_on_submit=False):
    st.text_input("Name", placeholder="MEng individual projects 2027/28", max_chars=domain.COHORT_NAME_MAX, key="cohort-new-name")
    names = {c.id: c.name for c in cohorts}
    st.selectbox("Start from", [None, *names], key="cohort-new-source",
                 format_func=lambda i: "An empty cohort" if i is None else f"A copy of {names[i]}",
                 help="A copy takes the rules, the staff (with their maximum loads) and the approved and "
                      "proposed projects; not the students, preferences, runs or dates.")
    st.checkbox("Keep copied projects approved (otherwise they come back as proposals to re-approve)",
                key="cohort-new-keep")
    create = st.form_submit_button("Create cohort", key="cohort-new-create")
if create:
    _create()

if cohorts:
    st.subheader("All cohorts")
    st.dataframe(
        [{"Cohort": c.name, "Phase": c.phase_label, "Students": c.students, "Staff": c.staff,
          "Archived": c.archived} for c in cohorts],
        hide_index=True, width="stretch", key="cohorts-table")
    archived = [c for c in cohorts if c.archived]
    if archived:
        by_id = {c.id: c.name for c in archived}
        chosen = st.selectbox("Archived cohorts", list(by_id), format_func=by_id.get, key="cohort-unarchive-pick")
        if st.button("Unarchive", key="cohort-unarchive"):
            _unarchive(chosen)
