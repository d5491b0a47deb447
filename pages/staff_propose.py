"""Propose: a new project, or edit or withdraw one of mine, while proposals are open.

Title, Markdown description with a live preview, capacity, minimum and tags. Every rule is checked by the
service; the browser-side limits here are only a convenience.
"""
from __future__ import annotations

import streamlit as st

from allocator import domain, services, ui
from allocator.domain import ProjectStatus, Role

NEW = 0
WHICH = "pp-which"
FIELDS = {"pp-title": "", "pp-desc": "", "pp-capacity": 1, "pp-min": 0, "pp-tags": ""}
EDIT_REQUEST = "propose-edit"  # set by My projects' Edit button
SUBMIT = "pp-submit-request"
WITHDRAW = "pp-withdraw-request"
CONFIRM = "pp-confirm-withdraw"

ctx = ui.page_context(Role.STAFF)


def fill(project) -> None:
    """Put a project's fields (or blanks for a new one) into the form's widgets."""
    if project is None:
        values = dict(FIELDS)
    else:
        values = {"pp-title": project.title, "pp-desc": project.description, "pp-capacity": project.capacity,
                  "pp-min": project.min_students, "pp-tags": ", ".join(project.tags)}
    for key, value in values.items():
        st.session_state[key] = value
    st.session_state.pop(CONFIRM, None)


def split_tags(text: str) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


st.title("Propose a project")
messages = st.container()

# Actions requested by the buttons of the previous run, done before the form is drawn again.
submit = st.session_state.pop(SUBMIT, False)
withdraw = st.session_state.pop(WITHDRAW, False)
current = st.session_state.get(WHICH, NEW)
changed = None
if submit:
    fields = dict(title=st.session_state.get("pp-title", ""), description=st.session_state.get("pp-desc", ""),
                  capacity=st.session_state.get("pp-capacity", 1), min_students=st.session_state.get("pp-min", 0),
                  tags=split_tags(st.session_state.get("pp-tags", "")))
    with messages:
        if current == NEW:
            changed = ui.run_action(services.propose_project, actor=ctx.actor, cohort_id=ctx.cohort_id, **fields)
            if changed is not None:
                st.success(f"Proposed “{ui.md(changed.title)}”: "
                           + ("it is approved and in the catalogue." if changed.status == ProjectStatus.APPROVED
                              else "it is waiting for the coordinator's approval."))
        else:
            changed = ui.run_action(services.update_my_project, actor=ctx.actor, cohort_id=ctx.cohort_id,
                                    project_id=current, **fields)
            if changed is not None:
                st.success(f"Saved your changes to “{ui.md(changed.title)}”.")
elif withdraw and current != NEW:
    with messages:
        changed = ui.run_action(services.withdraw_my_project, actor=ctx.actor, cohort_id=ctx.cohort_id,
                                project_id=current)
        if changed is not None:
            st.success(f"Withdrew “{ui.md(changed.title)}”: students no longer see it.")
    st.session_state.pop(CONFIRM, None)

data = ui.read(services.list_my_projects, actor=ctx.actor, cohort_id=ctx.cohort_id)

if not data.can_edit:
    st.info(f"Proposals are closed for this cohort ({data.phase_label.lower()}). "
            "Contact the coordinator if one of your projects must change.")
    st.page_link("pages/staff_projects.py", label="See my projects", icon=":material/folder:")
    st.stop()

editable = {p.id: p for p in data.projects if p.status != ProjectStatus.WITHDRAWN}
if changed is not None:
    # After a proposal, keep editing it; after a withdrawal, start a new one.
    target = changed.id if changed.id in editable else NEW
    st.session_state[WHICH] = target
    fill(editable.get(target))
if EDIT_REQUEST in st.session_state:
    wanted = st.session_state.pop(EDIT_REQUEST)
    st.session_state[WHICH] = wanted if wanted in editable else NEW
    fill(editable.get(st.session_state[WHICH]))
if st.session_state.get(WHICH, NEW) not in (NEW, *editable):
    st.session_state[WHICH] = NEW
    fill(None)
for key, default in FIELDS.items():
    st.session_state.setdefault(key, default)

closes = data.proposals.closes_at if data.proposals else None
st.caption((f"Proposals close {ui.fmt_datetime(closes)}." if closes
            else "Proposals are open until the coordinator closes them.")
           + (" New projects are approved at once." if data.auto_approve else " The coordinator approves each project."))

labels = {NEW: "New project"} | {
    pid: f"{p.title} ({p.status_label.lower()})" for pid, p in editable.items()}
st.selectbox("Project", list(labels), format_func=labels.get, key=WHICH,
             on_change=lambda: fill(editable.get(st.session_state[WHICH])))
current = st.session_state[WHICH]
project = editable.get(current)
if project is not None and project.status == ProjectStatus.REJECTED and project.reject_reason:
    st.warning(f"Rejected by the coordinator: {ui.md(project.reject_reason)}  \n"
               "Saving your changes sends it back for approval.")

st.text_input("Title", key="pp-title", max_chars=domain.PROJECT_TITLE_MAX)
write, preview = st.tabs(["Description", "Preview"])
with write:
    st.text_area("Description (Markdown)", key="pp-desc", height=260,
                 max_chars=domain.PROJECT_DESCRIPTION_MAX,
                 help="Markdown: **bold**, *italic*, lists with -, links as [text](https://…), # headings.")
with preview:
    ui.user_markdown(st.session_state.get("pp-desc"), empty="_Nothing to preview yet._")
with st.container(horizontal=True):
    st.number_input("Capacity (students)", key="pp-capacity", min_value=domain.PROJECT_CAPACITY_MIN,
                    max_value=domain.PROJECT_CAPACITY_MAX, step=1, width=200)
    st.number_input("Minimum to run", key="pp-min", min_value=0, max_value=domain.PROJECT_CAPACITY_MAX, step=1,
                    width=200, help="The project only runs with at least this many students (0: any number).")
st.text_input("Tags (comma-separated)", key="pp-tags", placeholder="e.g. robotics, machine learning",
              help=f"Up to {domain.PROJECT_TAGS_MAX} tags of up to {domain.PROJECT_TAG_LENGTH_MAX} characters each.")
if data.cohort_tags:
    st.caption("Tags already used in this cohort: " + ", ".join(ui.md(t) for t in data.cohort_tags))

with st.container(horizontal=True):
    st.button("Submit proposal" if current == NEW else "Save changes", key="pp-submit", type="primary",
              on_click=lambda: st.session_state.__setitem__(SUBMIT, True))
    if current != NEW:
        st.button("Withdraw…", key="pp-withdraw", on_click=lambda: st.session_state.__setitem__(CONFIRM, True))
if current != NEW and st.session_state.get(CONFIRM):
    st.warning("Withdraw this project? Students will no longer see it, and it cannot be edited afterwards.")
    with st.container(horizontal=True):
        st.button("Yes, withdraw it", key="pp-withdraw-confirm", type="primary",
                  on_click=lambda: st.session_state.__setitem__(WITHDRAW, True))
        st.button("Cancel", key="pp-withdraw-cancel", on_click=lambda: st.session_state.pop(CONFIRM, None))
