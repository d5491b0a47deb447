"""Projects (coordinators): the whole catalogue with demand; approve or reject, one by one or in bulk;
edit capacity, minimum and tags in a table; edit one project's title, description, code and supervisor
(reassign it); capacity against the number of students."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from allocator import domain, services, ui
from allocator.domain import ProjectStatus, Role

FLASH = "projects-flash"
VERSION = "projects-editor-version"  # bumped after a write, so the table starts clean from the database

ctx = ui.page_context(Role.ADMIN)
st.title("Projects")
if ctx.cohort_id is None:
    st.info("There is no cohort yet: create one in **Cohort settings** first.")
    st.stop()
cid = ctx.cohort_id


def done(result, verb: str) -> None:
    """After a successful write: say what happened and redraw from the database."""
    if result is None:
        return
    st.session_state[FLASH] = result.summary if hasattr(result, "summary") else verb
    st.session_state[VERSION] = st.session_state.get(VERSION, 0) + 1
    st.rerun()


if message := st.session_state.pop(FLASH, None):
    st.success(message)

everything = ui.read(services.catalogue, actor=ctx.actor, cohort_id=cid)
cohort = ui.read(services.get_cohort, actor=ctx.actor, cohort_id=cid)

left, middle, right = st.columns(3)
left.metric("Approved places", f"{everything.approved_capacity:,}", help=f"{everything.approved:,} approved projects")
middle.metric("Students", f"{everything.students:,}")
right.metric("Awaiting approval", f"{everything.proposed:,}", help=f"{everything.proposed_capacity:,} places")
if everything.warning:
    st.warning(everything.warning)

auto = st.toggle("Approve new proposals automatically", value=cohort.auto_approve, key=f"projects-auto-{cid}")
if auto != cohort.auto_approve:
    if ui.run_action(services.update_cohort_settings, actor=ctx.actor, cohort_id=cid, auto_approve=auto):
        st.session_state[FLASH] = "New proposals are now approved automatically." if auto else \
            "New proposals now wait for your approval."
        st.rerun()

f1, f2 = st.columns([2, 3])
statuses = f1.multiselect("Status", ProjectStatus.values(), format_func=ProjectStatus.label_of, key="projects-status",
                          placeholder="All statuses")
search = f2.text_input("Search", placeholder="Code, title, supervisor or tag", key="projects-search")
cat = ui.read(services.catalogue, actor=ctx.actor, cohort_id=cid, statuses=statuses or None, search=search)

st.caption(f"{len(cat.rows)} of {cat.total} projects")
if not cat.rows:
    st.info("No projects match." if cat.total else
            "No projects yet: supervisors propose them, or import a CSV on the **Data** page.")
    st.stop()

version = st.session_state.get(VERSION, 0)
table = pd.DataFrame([{
    "id": r.id, "select": False, "code": r.code or "", "title": r.title, "status": ProjectStatus.label_of(r.status),
    "supervisor": r.supervisor_name, "capacity": r.capacity, "min_students": r.min_students,
    "tags": "; ".join(r.tags), "first": r.first_choices, "ranked": r.any_rank,
} for r in cat.rows]).set_index("id")
st.markdown("**Catalogue** — tick projects to approve or reject them together; edit capacity, minimum and "
            "tags in the table, then save. Title, description, code and supervisor are edited one project at a "
            "time, under **One project** below.")
edited = st.data_editor(
    table, key=f"catalogue-editor-{cid}-{version}", hide_index=True, width="stretch", num_rows="fixed",
    column_order=["select", "title", "status", "capacity", "min_students", "tags", "first", "ranked", "code",
                  "supervisor"],
    disabled=["code", "title", "status", "supervisor", "first", "ranked"],
    column_config={
        "select": st.column_config.CheckboxColumn("✓", width="small"),
        "code": st.column_config.TextColumn("Code", width="small"),
        "title": st.column_config.TextColumn("Title", width="large"),
        "status": st.column_config.TextColumn("Status", width="small"),
        "supervisor": st.column_config.TextColumn("Supervisor"),
        "capacity": st.column_config.NumberColumn("Capacity", min_value=domain.PROJECT_CAPACITY_MIN,
                                                   max_value=domain.PROJECT_CAPACITY_MAX, step=1),
        "min_students": st.column_config.NumberColumn("Minimum", min_value=0, step=1),
        "tags": st.column_config.TextColumn("Tags", help="Separate tags with ; or ,"),
        "first": st.column_config.NumberColumn("1st choices", width="small"),
        "ranked": st.column_config.NumberColumn("Ranked by", width="small"),
    },
)
selected = [int(i) for i in edited.index[edited["select"].fillna(False).astype(bool)]]
editable = ["capacity", "min_students", "tags"]
dirty = not edited[editable].astype(object).equals(table[editable].astype(object))

b1, b2 = st.columns(2)
if b1.button("Save table edits", key="projects-save-edits", type="primary", disabled=not dirty):
    # Every shown row goes to the service, so its "Row n" matches the table; it writes only what changed.
    rows = [{"id": int(pid), "capacity": row["capacity"], "min_students": row["min_students"], "tags": row["tags"]}
            for pid, row in edited.iterrows()]
    done(ui.run_action(services.bulk_edit_projects, actor=ctx.actor, cohort_id=cid, rows=rows), "Saved")
if b2.button(f"Approve selected ({len(selected)})", key="projects-approve-selected", disabled=not selected):
    done(ui.run_action(services.approve_projects, actor=ctx.actor, cohort_id=cid, project_ids=selected), "")
with st.expander(f"Reject selected ({len(selected)})"):
    reason = st.text_area("Reason (the supervisor sees it)", key="projects-reject-reason",
                          max_chars=domain.REJECT_REASON_MAX)
    if st.button("Reject selected", key="projects-reject-selected", disabled=not selected):
        done(ui.run_action(services.reject_projects, actor=ctx.actor, cohort_id=cid, project_ids=selected,
                           reason=reason), "")

# One project at a time: the same actions without the wide table (phones).
st.subheader("One project")
by_id = {r.id: r for r in cat.rows}
staff = ui.read(services.supervisor_choices, actor=ctx.actor, cohort_id=cid)
pid = st.selectbox("Project", list(by_id), key="projects-pick",
                   format_func=lambda i: f"{by_id[i].title} · {ProjectStatus.label_of(by_id[i].status)}")
p = by_id[pid]
with st.container(border=True):
    st.markdown(f"**{ui.md(p.title)}**" + (f" · `{ui.md(p.code)}`" if p.code else ""))
    st.caption(f"{ProjectStatus.label_of(p.status)} · {ui.md(p.supervisor_name)} · capacity {p.capacity} · minimum "
               f"{p.min_students} · {p.first_choices} first choices · ranked by {p.any_rank}"
               + (f" · tags: {ui.md(', '.join(p.tags))}" if p.tags else ""))
    if p.supervisor_id is not None and p.supervisor_id not in {c.user_id for c in staff}:
        st.warning(f"{ui.md(p.supervisor_name)} is no longer staff of this cohort: give the project to someone "
                   "else under **Details**.")
    if p.status == ProjectStatus.REJECTED and p.reject_reason:
        st.markdown(f"Rejected because: {ui.md(p.reject_reason)}")
    with st.expander("Description"):
        ui.user_markdown(p.description, title=p.title)
    c1, c2 = st.columns(2)
    if p.status in (ProjectStatus.PROPOSED, ProjectStatus.REJECTED) and c1.button("Approve", key=f"project-{p.id}-approve", type="primary"):
        done(ui.run_action(services.approve_project, actor=ctx.actor, cohort_id=cid, project_id=p.id), "")
    if p.status in domain.LIVE_PROJECT_STATUSES:
        with c2.popover("Reject…"):
            why = st.text_area("Reason (the supervisor sees it)", key=f"project-{p.id}-reason",
                               max_chars=domain.REJECT_REASON_MAX)
            if st.button("Reject", key=f"project-{p.id}-reject"):
                done(ui.run_action(services.reject_project, actor=ctx.actor, cohort_id=cid, project_id=p.id,
                                   reason=why), "")
    with st.form(f"project-{p.id}-details", border=False):
        st.markdown("**Details**")
        supervisor_names = {c.user_id: f"{c.name} · {c.email}" for c in staff}
        choices = [None, *supervisor_names]
        if p.supervisor_id is not None and p.supervisor_id not in supervisor_names:
            # Their supervisor has left the cohort: the project keeps them until it is given to someone else.
            choices.insert(1, p.supervisor_id)
            supervisor_names[p.supervisor_id] = f"{p.supervisor_name} (no longer staff of this cohort)"
        d1, d2 = st.columns([3, 1])
        new_title = d1.text_input("Title", value=p.title, max_chars=domain.PROJECT_TITLE_MAX,
                                  key=f"project-{p.id}-title")
        new_code = d2.text_input("Code", value=p.code or "", max_chars=domain.PROJECT_CODE_MAX,
                                 key=f"project-{p.id}-code")
        new_supervisor = st.selectbox("Supervisor", choices, index=choices.index(p.supervisor_id),
                                      format_func=lambda i: "Nobody yet" if i is None else supervisor_names[i],
                                      key=f"project-{p.id}-supervisor")
        new_description = st.text_area("Description (Markdown)", value=p.description, height=200,
                                       max_chars=domain.PROJECT_DESCRIPTION_MAX,
                                       key=f"project-{p.id}-description")
        if st.form_submit_button("Save details", key=f"project-{p.id}-save-details", type="primary"):
            done(ui.run_action(services.edit_project, actor=ctx.actor, cohort_id=cid, project_id=p.id,
                               title=new_title, description=new_description, code=new_code,
                               supervisor_id=new_supervisor), f"Saved “{new_title.strip()}”.")
    with st.form(f"project-{p.id}-edit"):
        e1, e2 = st.columns(2)
        capacity = e1.number_input("Capacity", min_value=domain.PROJECT_CAPACITY_MIN,
                                   max_value=domain.PROJECT_CAPACITY_MAX, step=1, value=p.capacity, key=f"project-{p.id}-cap")
        minimum = e2.number_input("Minimum", min_value=0, step=1, value=p.min_students, key=f"project-{p.id}-min")
        tags = st.text_input("Tags", value="; ".join(p.tags), key=f"project-{p.id}-tags")
        if st.form_submit_button("Save", key=f"project-{p.id}-save"):
            done(ui.run_action(services.bulk_edit_projects, actor=ctx.actor, cohort_id=cid,
                               rows=[{"id": p.id, "capacity": capacity, "min_students": minimum, "tags": tags}]), "")
