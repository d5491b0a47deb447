"""Allocation studio (coordinators): tune, run, see, compare, adjust, publish and export allocation runs.

Thin by design: every rule lives in `services` (allocation, allocation_publish, allocation_export); this
page draws widgets and calls them. Runs are immutable, so a move or a restore makes a new run and the
page switches to it. Every tab is drawn on every run, so each tab's widgets keep their values.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from allocator import charts, db, services, ui

RUN_KEY = "studio-run"  # the run shown in See, Adjust, Publish and Export
NEXT_RUN = "studio-next-run"  # set by an action; becomes RUN_KEY on the next script run
PINS, FORBIDS = "studio-pins", "studio-forbids"
NOTICE = "studio-notice"  # (kind, text, details) shown once after an action's rerun
EXPORT = "studio-export"
UNPLACED = 0  # the "Move to" option that leaves a student without a project
# Drag-to-zoom is off in every figure; the toolbar would only cover the legends.
CHART_CONFIG = {"displayModeBar": False}

ctx = ui.page_context("admin")
st.title("Allocation studio")
if ctx.cohort_id is None:
    st.info("There is no cohort yet: create one in **Cohort settings** first.")
    st.stop()


def pct(value: float) -> str:
    return f"{value:.1f}%"


def switch_to(run_id: int, notice: tuple[str, str, tuple[str, ...]] | None = None) -> None:
    st.session_state[NEXT_RUN] = run_id
    if notice:
        st.session_state[NOTICE] = notice
    st.rerun()


with db.read() as session:
    setup = services.studio_setup(session, actor=ctx.actor, cohort_id=ctx.cohort_id)
    defaults = services.default_parameters(session, actor=ctx.actor, cohort_id=ctx.cohort_id)
    runs = services.list_runs(session, actor=ctx.actor, cohort_id=ctx.cohort_id)

by_id = {r.id: r for r in runs}
students_by_id = {s.id: s for s in setup.students}
projects_by_id = {p.id: p for p in setup.projects}
st.caption(f"{ui.md(setup.cohort_name)} · {len(setup.students)} students · {len(setup.projects)} approved projects · "
           f"{len(runs)} run{'s' if len(runs) != 1 else ''}")

if NEXT_RUN in st.session_state:
    st.session_state[RUN_KEY] = st.session_state.pop(NEXT_RUN)
if st.session_state.get(RUN_KEY) not in by_id:
    st.session_state[RUN_KEY] = runs[0].id if runs else None


def run_name(run_id: int | None) -> str:
    if run_id is None or run_id not in by_id:
        return "—"
    run = by_id[run_id]
    flags = " · published" if run.published else ""
    state = "" if run.status == "optimal" else f" · {run.status}"
    return f"{run.name}{state}{flags} · {ui.fmt_datetime(run.created_at)}"


# One container, drawn on every run whatever is in it: an element appearing or vanishing above st.tabs
# moves the tabs, and moved tabs are redrawn with the first tab selected (a notice would send the
# coordinator from Publish back to Tune).
with st.container():
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        kind, text, details = notice
        getattr(st, kind)(text)
        for line in details:
            st.markdown(f"- {ui.md(line)}")

    if runs:
        st.selectbox("Run shown in See, Adjust, Publish and Export", [r.id for r in runs], format_func=run_name,
                     key=RUN_KEY)
current = by_id.get(st.session_state.get(RUN_KEY))

tune, run_tab, see, compare, adjust, publish, export = st.tabs(
    ["Tune", "Run", "See", "Compare", "Adjust", "Publish", "Export"])

# ------------------------------------------------------------------------------------------ Tune
with tune:
    st.subheader("Settings for the next run")
    objective = st.selectbox("Objective", list(setup.objective_labels), key="tune-objective",
                             index=list(setup.objective_labels).index(defaults.objective),
                             format_func=setup.objective_labels.get)
    if objective == "weighted":
        st.text_input("Weights per rank (1st, 2nd, …, then unranked)", key="tune-weights",
                      value=", ".join(str(w) for w in defaults.weights or ()),
                      help="Whole numbers; the run minimises the sum of each student's weight.")
    st.checkbox("Allow placing students on projects they did not rank", key="tune-unranked",
                value=defaults.allow_unranked)
    left, right = st.columns(2)
    left.number_input("Tie-breaking seed", min_value=0, value=0, step=1, key="tune-seed",
                      help="Among equally good allocations the seed picks one; the same seed gives the same one.")
    right.number_input("Time limit (seconds)", min_value=1, max_value=int(services.MAX_TIME_LIMIT), value=20,
                       step=1, key="tune-time-limit")

    st.markdown("**Project capacities and minimums for this run** (the catalogue is not changed)")
    base_projects = pd.DataFrame([{"id": p.id, "Project": p.label, "Supervisor": p.supervisor_name,
                                   "Capacity": p.capacity, "Minimum": p.min_students} for p in setup.projects],
                                 columns=["id", "Project", "Supervisor", "Capacity", "Minimum"])
    edited_projects = st.data_editor(
        base_projects, key="tune-capacities", hide_index=True, disabled=["id", "Project", "Supervisor"],
        column_order=["Project", "Capacity", "Minimum", "Supervisor"],
        column_config={"Capacity": st.column_config.NumberColumn(min_value=0, step=1),
                       "Minimum": st.column_config.NumberColumn(min_value=0, step=1)},
        height=min(420, 38 + 35 * max(1, len(setup.projects))))
    if setup.supervisors:
        st.markdown("**Supervisor capacities for this run** (blank: no limit)")
        base_supervisors = pd.DataFrame([{"id": v.id, "Supervisor": v.name, "Most students": v.max_load}
                                         for v in setup.supervisors], columns=["id", "Supervisor", "Most students"])
        edited_supervisors = st.data_editor(
            base_supervisors, key="tune-supervisors", hide_index=True, disabled=["id", "Supervisor"],
            column_order=["Supervisor", "Most students"],
            column_config={"Most students": st.column_config.NumberColumn(min_value=0, step=1)},
            height=min(320, 38 + 35 * len(setup.supervisors)))
    else:
        edited_supervisors = pd.DataFrame(columns=["id", "Most students"])

    def pair_picker(kind: str, state_key: str, verb: str) -> None:
        pairs = st.session_state.setdefault(state_key, [])
        st.markdown(f"**{kind}s** — {verb}")
        for i, (sid, pid, reason) in enumerate(pairs):
            row = st.columns([5, 1])
            student = students_by_id.get(sid)
            project = projects_by_id.get(pid)
            who = student.name if student else f"#{sid}"
            what = project.label if project else f"#{pid}"
            row[0].markdown(f"{ui.md(who)} → {ui.md(what)}" + (f" — *{ui.md(reason)}*" if reason else ""))
            if row[1].button("Remove", key=f"{kind.lower()}-remove-{i}"):
                del pairs[i]
                st.rerun()
        if not setup.students or not setup.projects:
            return
        cols = st.columns(2)
        cols[0].selectbox("Student", [s.id for s in setup.students], key=f"{kind.lower()}-student",
                          format_func=lambda s: f"{students_by_id[s].name} · {students_by_id[s].email}")
        cols[1].selectbox("Project", [p.id for p in setup.projects], key=f"{kind.lower()}-project",
                          format_func=lambda p: projects_by_id[p].label)
        st.text_input("Reason (kept in the audit log)", key=f"{kind.lower()}-reason", max_chars=500)
        if st.button(f"Add {kind.lower()}", key=f"{kind.lower()}-add"):
            pairs.append((st.session_state[f"{kind.lower()}-student"], st.session_state[f"{kind.lower()}-project"],
                          st.session_state.get(f"{kind.lower()}-reason", "").strip()))
            st.rerun()

    with st.expander("Pins and forbids", expanded=bool(st.session_state.get(PINS) or st.session_state.get(FORBIDS))):
        pair_picker("Pin", PINS, "this student must get this project")
        st.divider()
        pair_picker("Forbid", FORBIDS, "this student must not get this project")


def tuned() -> services.RunParameters:
    """The Tune tab's values as run settings (raises Invalid, shown by run_action, when a cell is wrong)."""
    return services.tune_parameters(
        setup, objective=st.session_state.get("tune-objective", defaults.objective),
        weights=st.session_state.get("tune-weights", ", ".join(str(w) for w in defaults.weights or ())),
        allow_unranked=st.session_state.get("tune-unranked", defaults.allow_unranked),
        capacities=dict(zip(edited_projects["id"], edited_projects["Capacity"])),
        minimums=dict(zip(edited_projects["id"], edited_projects["Minimum"])),
        supervisor_capacities=dict(zip(edited_supervisors["id"], edited_supervisors["Most students"])),
        pins=st.session_state.get(PINS, []), forbids=st.session_state.get(FORBIDS, []),
        seed=st.session_state.get("tune-seed", 0), time_limit=st.session_state.get("tune-time-limit", 20))


# ------------------------------------------------------------------------------------------ Run
with run_tab:
    st.subheader("Run on the current preferences")
    st.text_input("Name for this run (optional)", key="tune-label", max_chars=200,
                  placeholder="e.g. generous, Gamma raised to 6")
    if st.button("Run allocation", key="studio-run-button", type="primary"):
        with st.status("Solving on the current preferences…", expanded=False) as status:
            view = ui.run_action(lambda s: services.run_allocation(
                s, actor=ctx.actor, cohort_id=ctx.cohort_id, params=tuned(),
                label=st.session_state.get("tune-label", "")))
            if view is None:
                status.update(label="The run did not start", state="error")
            else:
                status.update(label=f"Run #{view.id}: {view.status}", state="complete")
        if view is not None and view.feasible:
            switch_to(view.id, ("success", f"Run #{view.id} is {view.status}: {view.placed} of {view.students} "
                                          f"students placed in {view.seconds:.2f} s.", ()))
        elif view is not None:
            switch_to(view.id, ("error", f"Run #{view.id} is infeasible: {view.message}",
                                tuple(f"Try: {s}" for s in view.suggestions)))
    if runs:
        st.markdown("**All runs** (newest first; runs are never changed or deleted)")
        st.dataframe(pd.DataFrame([{
            "Run": r.id, "Name": r.label, "Kind": r.kind, "Status": r.status, "Objective": r.objective,
            "Placed": f"{r.placed}/{r.students}", "Cost": r.cost, "Seconds": round(r.seconds, 3),
            "From run": str(r.parent_run_id or ""), "Published": "yes" if r.published else "", "By": r.created_by,
            "When": ui.fmt_datetime(r.created_at)} for r in runs]), hide_index=True, key="runs-table")
    else:
        st.info("No runs yet: tune the settings, then press **Run allocation**.")

# ------------------------------------------------------------------------------------------ See
with see:
    if current is None:
        st.info("No run to show yet.")
    elif not current.feasible:
        st.error(f"Run #{current.id} is infeasible: {current.message}")
        for s in current.suggestions:
            st.markdown(f"- Try: {ui.md(s)}")
    else:
        with db.read() as session:
            data = services.run_charts(session, actor=ctx.actor, run_id=current.id)
            rows = services.run_assignments(session, actor=ctx.actor, run_id=current.id)
        h = data.headline
        objective = "" if current.label.startswith(current.objective) else f" · {current.objective}"
        st.markdown(f"**{ui.md(current.name)}**{objective} · {current.status} · solver {current.solver}"
                    + (f" · {ui.md(current.message)}" if current.message else ""))
        cols = st.columns(5)
        cols[0].metric("Placed", f"{h.placed} / {h.students}", help=f"{h.unplaced} not placed")
        cols[1].metric("First choice", pct(h.pct_first))
        cols[2].metric("Top three", pct(h.pct_top3))
        cols[3].metric("Worst rank", "—" if h.worst_rank is None else
                       ("unranked" if h.unranked and h.worst_rank == len(current.profile) else h.worst_rank))
        cols[4].metric("Average rank", "—" if h.average_rank is None else f"{h.average_rank:.2f}")
        left, right = st.columns(2)
        left.plotly_chart(charts.rank_profile(current.profile, current.students, name=current.name),
                          key="see-profile", width="stretch", config=CHART_CONFIG)
        right.plotly_chart(charts.cumulative_top_k({current.name: (current.profile, current.students)}),
                           key="see-topk", width="stretch", config=CHART_CONFIG)
        fill_tab, load_tab, demand_tab = st.tabs(["Project fill", "Supervisor load", "Demand versus capacity"])
        with fill_tab, st.container(height=560):
            st.plotly_chart(charts.project_fill([charts.ProjectFill(r.title, r.assigned, r.capacity, r.minimum)
                                                 for r in data.project_fill]), key="see-fill", width="stretch",
                            config=CHART_CONFIG)
        with load_tab, st.container(height=560):
            st.plotly_chart(charts.supervisor_load([charts.SupervisorLoad(r.name, r.assigned, r.capacity)
                                                    for r in data.supervisor_load]), key="see-load", width="stretch",
                            config=CHART_CONFIG)
        with demand_tab, st.container(height=560):
            st.plotly_chart(charts.demand_vs_capacity([charts.ProjectDemand(r.title, r.first_choices, r.any_rank,
                                                                            r.capacity) for r in data.demand]),
                            key="see-demand", width="stretch", config=CHART_CONFIG)
        search = st.text_input("Find a student or project", key="see-search").strip().casefold()
        shown = [r for r in rows if not search or search in
                 f"{r.student_name} {r.student_email} {r.project_title} {r.supervisor_name}".casefold()]
        st.dataframe(pd.DataFrame([{
            "Student": r.student_name, "Email": r.student_email, "Project": r.project_title or "— unplaced —",
            "Supervisor": r.supervisor_name, "Rank": r.rank, "Pinned": r.pinned, "Moved by hand": r.manual}
            for r in shown]), hide_index=True, key="see-table")

# ------------------------------------------------------------------------------------------ Compare
with compare:
    feasible = [r.id for r in runs if r.feasible]
    if len(feasible) < 2:
        st.info("Make at least two runs to compare them.")
    else:
        picked = st.multiselect("Runs to compare", feasible, default=feasible[:2], format_func=run_name,
                                key="compare-runs")
        if len(picked) < 2:
            st.info("Pick two or more runs.")
        else:
            with db.read() as session:
                cmp = services.compare_runs(session, actor=ctx.actor, run_ids=picked)
            if cmp is not None:
                profiles = {r.name: (r.profile, r.students) for r in cmp.runs}
                st.plotly_chart(charts.profiles_overlay(profiles), key="compare-overlay", width="stretch",
                                config=CHART_CONFIG)
                st.plotly_chart(charts.cumulative_top_k(profiles), key="compare-topk", width="stretch",
                                config=CHART_CONFIG)
                st.dataframe(pd.DataFrame({
                    r.name: {"Placed": f"{h.placed}/{h.students}", "First choice": pct(h.pct_first),
                             "Top three": pct(h.pct_top3), "Worst rank": str(h.worst_rank or "—"),
                             "Average rank": "—" if h.average_rank is None else f"{h.average_rank:.2f}",
                             "Cost": str(r.cost), "Objective": r.objective}
                    for r, h in zip(cmp.runs, cmp.headlines)}), key="compare-figures")
                st.markdown(f"**{len(cmp.differences)} student{'s' if len(cmp.differences) != 1 else ''} "
                            f"with a different project**")
                if cmp.differences:
                    st.dataframe(pd.DataFrame([{"Student": d.name, "Email": d.email,
                                                **{r.name: p + (f" (choice {k})" if k else "")
                                                   for r, p, k in zip(cmp.runs, d.projects, d.ranks)}}
                                               for d in cmp.differences]), hide_index=True, key="compare-diff")

# ------------------------------------------------------------------------------------------ Adjust
with adjust:
    if current is None or not current.feasible:
        st.info("Pick a run with an allocation to adjust it.")
    else:
        st.markdown(f"Adjusting **{ui.md(current.name)}**. A move makes a new run derived from this one; this run "
                    "stays as it is, so it can always be restored.")
        with db.read() as session:
            placed_rows = {r.student_id: r for r in services.run_assignments(session, actor=ctx.actor,
                                                                             run_id=current.id)}
        student = st.selectbox(
            "Student", list(placed_rows), key="adjust-student",
            format_func=lambda s: f"{placed_rows[s].student_name} · now {placed_rows[s].project_title or 'unplaced'}")
        target = st.selectbox("Move to", [*projects_by_id, UNPLACED], key="adjust-project", index=None,
                              placeholder="Pick a project (or “no project”)",
                              format_func=lambda p: "— no project (unplaced) —" if p == UNPLACED
                              else projects_by_id[p].label)
        st.text_input("Reason (kept in the audit log)", key="adjust-reason", max_chars=500)
        cols = st.columns(3)
        if cols[0].button("Move student", key="adjust-move", type="primary", disabled=target is None):
            moved = ui.run_action(services.move_student, actor=ctx.actor, run_id=current.id, student_id=student,
                                  project_id=None if target == UNPLACED else target,
                                  reason=st.session_state.get("adjust-reason", ""))
            if moved is not None:
                switch_to(moved.id, ("success", f"Moved: {moved.message} Now showing run #{moved.id}.", ()))
        if cols[1].button("Explain this student's result", key="adjust-explain"):
            lines = ui.run_action(services.explain_student, actor=ctx.actor, run_id=current.id, student_id=student)
            if lines:
                st.session_state["adjust-explanation"] = (current.id, student, lines)
        if cols[2].button("Restore this run as the newest", key="adjust-restore"):
            restored = ui.run_action(services.restore_run, actor=ctx.actor, run_id=current.id)
            if restored is not None:
                switch_to(restored.id, ("success", f"Run #{current.id} restored as run #{restored.id}.", ()))
        explanation = st.session_state.get("adjust-explanation")
        if explanation and explanation[:2] == (current.id, student):
            st.markdown(f"**{ui.md(explanation[2][0])}**")
            for line in explanation[2][1:]:
                st.markdown(f"- {ui.md(line)}")

# ------------------------------------------------------------------------------------------ Publish
with publish:
    published = next((r for r in runs if r.published), None)
    st.markdown(f"Published now: **{ui.md(run_name(published.id)) if published else 'nothing'}**")
    if not setup.email_configured:
        st.info("Email is not set up (SMTP settings), so publishing notifies students **in the app only**.")
    if current is not None and current.feasible and not current.published:
        confirm = st.checkbox(f"Publish {current.name}: students and staff see it at once and students are "
                              "notified", key="publish-confirm")
        if st.button("Publish", key="publish-button", type="primary", disabled=not confirm):
            report = ui.run_action(services.publish_run, actor=ctx.actor, run_id=current.id)
            if report is not None:
                delivery = services.deliver_publication(report)
                if delivery.sent_user_ids:
                    ui.run_action(services.mark_emailed, actor=ctx.actor, cohort_id=ctx.cohort_id,
                                  user_ids=delivery.sent_user_ids)
                switch_to(report.run_id, ("success", f"Run #{report.run_id} is published; {report.notified} people "
                                                     f"notified in the app. {delivery.summary}",
                                          tuple(f"{a}: {why}" for a, why in delivery.failed[:20])))
    elif current is not None and current.published:
        st.success(f"{current.name} is the published allocation.")
    st.divider()
    st.subheader("Students' answers")
    with db.read() as session:
        answers = services.list_declined(session, actor=ctx.actor, cohort_id=ctx.cohort_id)
    if answers.run_id is None:
        st.caption("Students accept or decline once a run is published.")
    if answers.run_id is not None:
        cols = st.columns(3)
        cols[0].metric("Accepted", answers.accepted)
        cols[1].metric("Declined", answers.declined)
        cols[2].metric("Not answered", answers.pending)
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
                                           f"placed. Check it, then publish it.", again.suggestions))

# ------------------------------------------------------------------------------------------ Export
with export:
    if current is None:
        st.info("No run to export yet.")
    else:
        st.markdown(f"Files of **{ui.md(current.name)}**: one row per student, one per project (roster), both as an "
                    "Excel workbook, and the problem and result in the engine's file format "
                    "(`python -m allocator solve problem.json` reproduces the run).")
        if st.button("Prepare files", key="export-prepare"):
            files = ui.run_action(services.export_run, actor=ctx.actor, run_id=current.id)
            if files is not None:
                st.session_state[EXPORT] = files
        files = st.session_state.get(EXPORT)
        if files is not None and files.run_id == current.id:
            cols = st.columns(2)
            cols[0].download_button("Students (CSV)", files.students_csv, f"{files.stem}-students.csv", "text/csv",
                                    key="dl-students", on_click="ignore")
            cols[1].download_button("Projects (CSV)", files.roster_csv, f"{files.stem}-projects.csv", "text/csv",
                                    key="dl-roster", on_click="ignore")
            cols[0].download_button(
                "Both (Excel)", files.xlsx, f"{files.stem}.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="dl-xlsx", on_click="ignore")
            cols[1].download_button("Problem (JSON)", files.problem_json, f"{files.stem}-problem.json",
                                    "application/json", key="dl-problem", on_click="ignore")
            cols[0].download_button("Result (JSON)", files.result_json, f"{files.stem}-result.json",
                                    "application/json", key="dl-result", on_click="ignore")
