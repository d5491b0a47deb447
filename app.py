"""Entry point: verify who is here, then build their navigation. A page not listed cannot be reached."""
import streamlit as st

from allocator import bootstrap, config, ui

st.set_page_config(page_title="Project Allocator", page_icon="🎓", layout="wide")


@st.cache_resource(show_spinner="Preparing the database…")
def _database_ready(url: str, local: bool) -> bool:
    return bootstrap.prepare_database(url, seed_demo=local)


settings = config.load()
_database_ready(settings.database_url, not settings.microsoft_configured)
ctx = ui.establish()

COMMON = [st.Page("pages/home.py", title="Home", icon="🏠", default=True),
          st.Page("pages/notifications.py", title="Notifications", icon="🔔")]
BY_ROLE = {
    "student": {"Student": [st.Page("pages/student_projects.py", title="Projects", icon="📚"),
                            st.Page("pages/student_preferences.py", title="My preferences", icon="⭐"),
                            st.Page("pages/student_allocation.py", title="My allocation", icon="🎯")]},
    "staff": {"Supervisor": [st.Page("pages/staff_projects.py", title="My projects", icon="🗂️"),
                             st.Page("pages/staff_propose.py", title="Propose", icon="✏️")]},
    "admin": {"Coordinator": [st.Page("pages/admin_cohorts.py", title="Cohort settings", icon="⚙️"),
                              st.Page("pages/admin_projects.py", title="Projects", icon="📚"),
                              st.Page("pages/admin_people.py", title="People", icon="👥"),
                              st.Page("pages/admin_studio.py", title="Allocation studio", icon="🧮"),
                              st.Page("pages/admin_data.py", title="Data", icon="💾"),
                              st.Page("pages/admin_audit.py", title="Audit log", icon="📜")]},
}

if ctx.role == "none" and not ctx.is_admin:
    pages = [st.Page("pages/not_enrolled.py", title="Not enrolled", default=True)]
else:
    pages = {"": COMMON, **BY_ROLE.get(ctx.role, {})}
ui.sign_out_button(ctx.local_mode)
st.navigation(pages).run()
