"""Home: where the cohort stands and what to do next, for every role."""
import streamlit as st

from allocator import db, services, ui

ctx = ui.page_context("student", "staff", "admin")
st.title("Project Allocator")
st.caption(f"Signed in as {ctx.actor.name} · {ctx.actor.email}" + (" · local demo mode" if ctx.local_mode else ""))

if ctx.cohort_id is None:
    st.info("There is no cohort yet. Create one under **Cohort settings**.")
    st.page_link("pages/admin_cohorts.py", label="Cohort settings", icon=":material/settings:")
    st.stop()

with db.read() as session:
    cohort = services.get_cohort(session, actor=ctx.actor, cohort_id=ctx.cohort_id)

st.header(cohort.name)
st.markdown(f"**Phase:** {cohort.phase_label}")
cols = st.columns(2)
cols[0].markdown(f"**Proposals**  \n{ui.fmt_datetime(cohort.proposals_open_at)} → "
                 f"{ui.fmt_datetime(cohort.proposals_close_at)}")
cols[1].markdown(f"**Preferences**  \n{ui.fmt_datetime(cohort.preferences_open_at)} → "
                 f"{ui.fmt_datetime(cohort.preferences_close_at)}")

NEXT = {
    "student": [("pages/student_projects.py", "Browse projects", ":material/library_books:"),
                ("pages/student_preferences.py", "Rank your choices", ":material/star:"),
                ("pages/student_allocation.py", "See your allocation", ":material/task_alt:")],
    "staff": [("pages/staff_projects.py", "Your projects and their demand", ":material/folder_open:"),
              ("pages/staff_propose.py", "Propose a project", ":material/edit_note:")],
    "admin": [("pages/admin_cohorts.py", "Dates and rules", ":material/settings:"),
              ("pages/admin_projects.py", "Approve projects", ":material/library_books:"),
              ("pages/admin_people.py", "Students and staff", ":material/group:"),
              ("pages/admin_studio.py", "Run the allocation", ":material/calculate:")],
}
st.subheader("Next steps")
for path, label, icon in NEXT[ctx.role]:
    st.page_link(path, label=label, icon=icon)
if ctx.role == "admin":
    st.caption(f"{cohort.students} students · {cohort.staff} staff")
