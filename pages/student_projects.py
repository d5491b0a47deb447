"""Projects: the cohort's approved projects, searchable and filterable; add to or remove from my list.

Add and Remove change the draft list that My preferences saves (the same `st.session_state` entry), so
a student can collect projects here and order and save them there.
"""
from __future__ import annotations

import streamlit as st

from allocator import services, ui
from allocator.domain import Role

DRAFT = ui.PREFERENCE_DRAFT_KEY
PAGE_SIZE = 25
LIMIT_KEY = "proj-limit"

# On a phone the project's row would squeeze its details into half the width: there the button goes
# under the title instead, still outside the fold.
ROW_STYLE = """<style>
@media (max-width: 640px) {
  [class*="st-key-proj-row-"] { flex-wrap: wrap; justify-content: flex-end; }
  [class*="st-key-proj-row-"] > [data-testid="stExpander"],
  [class*="st-key-proj-row-"] > div:has(> [data-testid="stExpander"]) { flex-basis: 100%; }
}
</style>"""

ctx = ui.page_context(Role.STUDENT)


def add(project_id: int) -> None:
    ids = st.session_state[DRAFT]["ids"]
    if project_id not in ids:
        ids.append(project_id)


def remove(project_id: int) -> None:
    ids = st.session_state[DRAFT]["ids"]
    if project_id in ids:
        ids.remove(project_id)


def show_more() -> None:
    st.session_state[LIMIT_KEY] = st.session_state.get(LIMIT_KEY, PAGE_SIZE) + PAGE_SIZE


st.title("Projects")

# The filters' values come from their widgets' state, so one query serves both the list and the choices.
search = st.session_state.get("proj-search", "") or ""
wanted_tags = list(st.session_state.get("proj-tags", []) or [])
supervisor = st.session_state.get("proj-supervisor")
data = ui.read(services.browse_projects, actor=ctx.actor, cohort_id=ctx.cohort_id, search=search,
               tags=wanted_tags, supervisor_id=supervisor)

ui.wrap_long_options()
st.html(ROW_STYLE)
st.text_input("Search", key="proj-search", placeholder="Words in the title, description or supervisor's name",
              icon=":material/search:")
# Drop filter values the catalogue no longer has (a widget refuses a value outside its options).
if any(t not in data.tags for t in wanted_tags):
    st.session_state["proj-tags"] = [t for t in wanted_tags if t in data.tags]
supervisor_names = dict(data.supervisors)
if supervisor is not None and supervisor not in supervisor_names:
    st.session_state["proj-supervisor"] = None
with st.container(horizontal=True):
    # No "Select all": choosing every tag is the same as choosing none.
    st.multiselect("Tags", data.tags, key="proj-tags", placeholder="Any tag", width=360, select_all=False)
    st.selectbox("Supervisor", [None, *supervisor_names], key="proj-supervisor", width=300,
                 format_func=lambda s: "All supervisors" if s is None else supervisor_names[s])

draft = ui.preference_draft(ctx.cohort_id, data.my_list)
ids: list[int] = draft["ids"]
if data.is_open:
    unsaved = tuple(ids) != data.my_list
    note = f"**Your list:** {len(ids)} of at most {data.max_choices} projects"
    if unsaved:
        st.warning(note + " — not saved yet. Order and save it under **My preferences**.", icon=":material/edit:")
        st.page_link("pages/student_preferences.py", label="Go to My preferences", icon=":material/star:")
    else:
        st.markdown(note + ".")
else:
    st.caption("Choosing is closed; the projects in your saved list are marked with a star and their rank.")

limit = st.session_state.get(LIMIT_KEY, PAGE_SIZE)
shown = data.projects[:limit]
filtered = bool(search.strip() or wanted_tags or supervisor is not None)
st.caption(f"{len(data.projects)} matching of {data.total} projects" if filtered else f"{data.total} projects")
if not data.projects:
    st.info("No project matches your search." if filtered else "There are no approved projects yet.")

full = len(ids) >= data.max_choices
for project in shown:
    if data.is_open:
        rank = ids.index(project.id) + 1 if project.id in ids else None
    else:
        rank = project.my_rank
    label = f"{ui.md(project.title)} · {ui.md(project.supervisor_name)}"
    if rank:
        label = f"#{rank} · {label}"
    # One row per project: its details fold away, Add / Remove stays on the row (no need to open it).
    with st.container(horizontal=True, vertical_alignment="top", gap="small", key=f"proj-row-{project.id}"):
        # Keyed, so adding or removing (which changes the label) leaves it open.
        with st.expander(label, key=f"proj-open-{project.id}", width="stretch"):
            places = f"{project.capacity} place{'s' if project.capacity != 1 else ''}"
            if project.min_students:
                places += f" (runs with at least {project.min_students})"
            details = [f"**Supervisor:** {ui.md(project.supervisor_name)}", f"**Capacity:** {places}"]
            if project.code:
                details.append(f"**Code:** {ui.md(project.code)}")
            if project.tags:
                details.append("**Tags:** " + ", ".join(ui.md(t) for t in project.tags))
            st.markdown("  \n".join(details))
            st.divider()
            ui.user_markdown(project.description, title=project.title)
        if data.is_open:
            if project.id in ids:
                st.button("Remove", key=f"remove-{project.id}", on_click=remove, args=(project.id,),
                          icon=":material/remove:", help="Remove from my list")
            else:
                st.button("Add to my list", key=f"add-{project.id}", on_click=add, args=(project.id,),
                          type="primary", disabled=full, icon=":material/add:",
                          help=f"Your list is full ({data.max_choices})." if full else None)

if len(data.projects) > limit:
    st.button(f"Show more ({len(data.projects) - limit} left)", key="proj-more", on_click=show_more)
