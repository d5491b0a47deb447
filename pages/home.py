"""Home: where the cohort stands and what to do next, for every role."""
import streamlit as st

from allocator import services, ui
from allocator.domain import Phase, Role

ctx = ui.page_context(Role.STUDENT, Role.STAFF, Role.ADMIN)
st.title("Project Allocator")
st.caption(f"Signed in as {ctx.actor.name} · {ctx.actor.email}" + (" · local demo mode" if ctx.local_mode else ""))

if ctx.cohort_id is None:
    st.info("There is no cohort yet. Create one under **Cohort settings**.")
    st.page_link("pages/admin_cohorts.py", label="Cohort settings", icon=":material/settings:")
    st.stop()

cohort = ui.read(services.get_cohort, actor=ctx.actor, cohort_id=ctx.cohort_id)

st.header(cohort.name)
st.markdown(f"**Phase:** {cohort.phase_label}")
cols = st.columns(2)
cols[0].markdown(f"**Proposals**  \n{ui.fmt_datetime(cohort.proposals_open_at)} → "
                 f"{ui.fmt_datetime(cohort.proposals_close_at)}")
cols[1].markdown(f"**Preferences**  \n{ui.fmt_datetime(cohort.preferences_open_at)} → "
                 f"{ui.fmt_datetime(cohort.preferences_close_at)}")


def next_steps(role: str, phase: str) -> list[tuple[str, str, str]]:
    """What this person can do now, most useful first: a step the phase does not allow is not offered."""
    if role == Role.STUDENT:
        browse = ("pages/student_projects.py", "Browse projects", ":material/library_books:")
        if phase == Phase.PUBLISHED:
            return [("pages/student_allocation.py", "See your allocation", ":material/task_alt:"), browse]
        if services.preferences_open(phase):
            return [browse, ("pages/student_preferences.py", "Rank your choices", ":material/star:")]
        return [browse, ("pages/student_preferences.py", "See your list", ":material/star:")]
    if role == Role.STAFF:
        mine = ("pages/staff_projects.py", "Your projects and their demand", ":material/folder_open:")
        if services.proposals_open(phase):
            return [mine, ("pages/staff_propose.py", "Propose a project", ":material/edit_note:")]
        return [mine]
    return [("pages/admin_cohorts.py", "Dates and rules", ":material/settings:"),
            ("pages/admin_projects.py", "Approve projects", ":material/library_books:"),
            ("pages/admin_people.py", "Students and staff", ":material/group:"),
            ("pages/admin_studio.py", "Run the allocation", ":material/calculate:")]


st.subheader("Next steps")
for path, label, icon in next_steps(ctx.role, cohort.phase):
    st.page_link(path, label=label, icon=icon)
if ctx.role == Role.ADMIN:
    st.caption(f"{cohort.students} students · {cohort.staff} staff")
