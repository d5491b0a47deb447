"""Entry point: verify who is here, then build their navigation. A page not listed cannot be reached."""
import streamlit as st

from allocator import bootstrap, config, migrate, ui
from allocator.domain import Role

st.set_page_config(page_title="Project Allocator", page_icon="🎓", layout="wide")


@st.cache_resource(show_spinner="Preparing the database…")
def _database_ready(url: str, local: bool, migrate_on_start: bool) -> bool:
    ready = bootstrap.prepare_database(url, seed_demo=local, migrate_on_start=migrate_on_start)
    bootstrap.freeze_startup_objects()  # once per process, as this is cached
    return ready


try:
    settings = config.load()
except config.SettingsError as err:
    ui.settings_unreadable(err)
try:
    _database_ready(settings.database_url, not settings.microsoft_configured, settings.migrate_on_start)
except migrate.SchemaMismatch as refusal:  # not cached: the next visit checks again, once migrated it serves
    st.error(f"This server cannot serve pages yet. {refusal.message}")
    st.stop()
except Exception:
    ui.service_unavailable("Preparing the database")
ctx = ui.establish(settings)

COMMON = [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
          st.Page("pages/notifications.py", title="Notifications", icon=":material/notifications:")]
BY_ROLE = {
    Role.STUDENT: {Role.STUDENT.label: [st.Page("pages/student_projects.py", title="Projects", icon=":material/library_books:"),
                            st.Page("pages/student_preferences.py", title="My preferences", icon=":material/star:"),
                            st.Page("pages/student_group.py", title="My group", icon=":material/groups:"),
                            st.Page("pages/student_allocation.py", title="My allocation", icon=":material/task_alt:")]},
    Role.STAFF: {Role.STAFF.label: [st.Page("pages/staff_projects.py", title="My projects", icon=":material/folder_open:"),
                             st.Page("pages/staff_propose.py", title="Propose", icon=":material/edit_note:")]},
    Role.ADMIN: {Role.ADMIN.label: [st.Page("pages/admin_cohorts.py", title="Cohort settings", icon=":material/settings:"),
                              st.Page("pages/admin_projects.py", title="Projects", icon=":material/library_books:"),
                              st.Page("pages/admin_people.py", title="People", icon=":material/group:"),
                              st.Page("pages/admin_studio.py", title="Allocation studio", icon=":material/calculate:"),
                              st.Page("pages/admin_data.py", title="Data", icon=":material/database:"),
                              st.Page("pages/admin_audit.py", title="Audit log", icon=":material/history:")]},
}

if ctx.role == "none" and not ctx.is_admin:
    sections = {"": [st.Page("pages/not_enrolled.py", title="Not enrolled", default=True)]}
else:
    sections = {"": COMMON, **BY_ROLE.get(ctx.role, {})}
# A top bar: on a narrow screen it becomes the sidebar menu, which ui closes after a choice.
page = st.navigation(sections, position="top")
ui.go_to_requested_page(sections, page)
ui.sidebar_account(ctx)
ui.close_menu_after_choice()
try:
    page.run()
except Exception:  # st.stop/st.rerun are not Exceptions, so they pass through
    ui.service_unavailable(f"The page {page.url_path or 'home'}")
