"""My projects: each of my projects in this cohort with its status, demand (counts only) and, once the
allocation is published, the students allocated to it and their answers."""
from __future__ import annotations

import streamlit as st

from allocator import services, ui
from allocator.domain import ProjectStatus, Role

EDIT_REQUEST = "propose-edit"  # read by the Propose page

ctx = ui.page_context(Role.STAFF)

STATUS_ICONS = {ProjectStatus.PROPOSED: ":orange[:material/hourglass_top:]",
                ProjectStatus.APPROVED: ":green[:material/check_circle:]",
                ProjectStatus.REJECTED: ":red[:material/cancel:]", ProjectStatus.WITHDRAWN: ":gray[:material/delete:]"}


st.title("My projects")

data = ui.read(services.list_my_projects, actor=ctx.actor, cohort_id=ctx.cohort_id)

line = f"**Phase:** {data.phase_label}"
if data.can_edit and data.proposals_close_at:
    line += f" · proposals close {ui.fmt_datetime(data.proposals_close_at)}"
st.markdown(line)
live = [p for p in data.projects if p.status != ProjectStatus.WITHDRAWN]
places = sum(p.capacity for p in live if p.status == ProjectStatus.APPROVED)
summary = f"{len(live)} project{'s' if len(live) != 1 else ''} · {places} approved places"
if data.max_load is not None:
    summary += f" · your maximum load: {data.max_load} students"
st.caption(summary)

if data.can_edit:
    st.page_link("pages/staff_propose.py", label="Propose a new project", icon=":material/edit:")
if not data.projects:
    st.info("You have no projects in this cohort yet.")

for project in data.projects:
    with st.container(border=True):
        icon = STATUS_ICONS.get(project.status, "")
        st.markdown(f"**{ui.md(project.title)}**  \n{icon} {project.status_label}")
        if project.status == ProjectStatus.REJECTED and project.reject_reason:
            st.warning(f"Coordinator's reason: {ui.md(project.reject_reason)}")
        facts = [f"Capacity {project.capacity}", f"minimum {project.min_students}"]
        if project.code:
            facts.append(f"code {ui.md(project.code)}")
        if project.tags:
            facts.append("tags: " + ", ".join(ui.md(t) for t in project.tags))
        st.caption(" · ".join(facts))

        if project.status != ProjectStatus.WITHDRAWN:
            if project.demand_total:
                by_rank = " · ".join(f"{ui.ordinal(r)}: {n}" for r, n in enumerate(project.demand, start=1) if n)
                st.markdown(f"**Demand:** ranked by {project.demand_total} student"
                            f"{'s' if project.demand_total != 1 else ''} — {by_rank}")
            else:
                st.markdown("**Demand:** nobody has ranked it yet.")

        if data.published and project.allocated:
            st.markdown(f"**Allocated students** ({len(project.allocated)} of {project.capacity})")
            lines = []
            for s in project.allocated:
                answer = {True: ":green[:material/check_circle:] accepted", False: ":red[:material/cancel:] declined",
                          None: ":orange[:material/hourglass_top:] no answer yet"}[s.accepted]
                rank = f"{ui.ordinal(s.rank)} choice" if s.rank else "not ranked"
                group = f" — in a group with {', '.join(ui.md(n) for n in s.group_with)}" if s.group_with else ""
                text = f"- {ui.md(s.name)} ({ui.md(s.email)}){group} — {rank} — {answer}"
                if s.accepted is False and s.reason:
                    text += f": “{ui.md(s.reason)}”"
                lines.append(text)
            st.markdown("\n".join(lines))
        elif data.published and project.status == ProjectStatus.APPROVED:
            st.caption("No students were allocated to this project.")

        with st.expander("Description"):
            ui.user_markdown(project.description, title=project.title)
        if data.can_edit and project.status != ProjectStatus.WITHDRAWN:
            if st.button("Edit or withdraw", key=f"edit-{project.id}"):
                st.session_state[EDIT_REQUEST] = project.id
                st.switch_page("pages/staff_propose.py")
