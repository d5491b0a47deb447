"""The coordinator console driven through app.py with AppTest: cohort settings, the project catalogue,
people, data in and out, the audit log; and students and staff kept out."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from allocator import db, services
from allocator.models import (AuditEvent, Cohort, Membership, Notification, Preference, Project, User)
from tests import factories as f
from tests.conftest import APP_PATH

ADMIN_PAGES = ("pages/admin_cohorts.py", "pages/admin_projects.py", "pages/admin_people.py",
               "pages/admin_data.py", "pages/admin_audit.py")


@pytest.fixture
def site(app_database, monkeypatch):
    monkeypatch.setenv("ALLOCATOR_TIMEZONE", "Europe/London")
    with db.session(app_database) as s, s.begin():
        f.admin(s, email="coord@uni.example", name="Casey Coordinator")
    return app_database


@pytest.fixture
def cohort(site):
    with db.session(site) as s, s.begin():
        c = f.cohort(s, name="MEng 2026/27", phase="proposals")
        sup = f.staff(s, c, person=f.user(s, email="sup@uni.example", name="Pat Supervisor"))
        f.student(s, c, person=f.user(s, email="stu@uni.example", name="Sam Student"))
        for title, code in (("Boats", "B1"), ("Kites", "K1"), ("Quantum", "Q1")):
            f.project(s, c, sup, title=title, code=code, status="proposed", capacity=1)
        return c.id


def page(path: str, email: str = "coord@uni.example") -> AppTest:
    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.session_state["local_user_email"] = email
    at.run()
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.title, *at.header, *at.subheader, *at.markdown, *at.caption,
                                           *at.success, *at.info, *at.warning, *at.error))


def run(node) -> AppTest:
    """Run the app (from the AppTest or from a widget just set) and insist nothing raised."""
    at = node.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def query(url, statement):
    with db.session(url) as s:
        return s.execute(statement).all()


# ------------------------------------------------------------------------------------------ cohorts


def test_create_a_cohort_and_set_its_dates_and_rules(site):
    at = page("pages/admin_cohorts.py")
    assert "There is no cohort yet" in texts(at)
    at.text_input(key="cohort-new-name").input("MEng 2026/27")
    run(at.button(key="cohort-new-create").click())
    assert "Created “MEng 2026/27”" in texts(at)
    (cid,), = query(site, select(Cohort.id))
    assert at.session_state["cohort_id"] == cid

    at.datetime_input(key=f"settings-{cid}-proposals-open").set_value(datetime(2026, 6, 1, 9, 0))
    at.datetime_input(key=f"settings-{cid}-proposals-close").set_value(datetime(2026, 6, 20, 17, 0))
    at.number_input(key=f"settings-{cid}-min").set_value(2)
    at.number_input(key=f"settings-{cid}-max").set_value(6)
    at.selectbox(key=f"settings-{cid}-objective").set_value("greedy")
    at.checkbox(key=f"settings-{cid}-unranked").check()
    run(at.button(key=f"settings-{cid}-save").click())
    assert "Settings saved" in texts(at)
    (c,), = query(site, select(Cohort))
    assert c.proposals_open_at == datetime(2026, 6, 1, 8, 0, tzinfo=timezone.utc)  # BST
    assert (c.min_choices, c.max_choices, c.default_objective, c.allow_unranked) == (2, 6, "greedy", True)

    # A rule broken: the message is shown and nothing changes.
    at.number_input(key=f"settings-{cid}-min").set_value(6)
    at.number_input(key=f"settings-{cid}-max").set_value(3)
    run(at.button(key=f"settings-{cid}-save").click())
    assert any("(6) is more than the maximum (3)" in e.value for e in at.error)
    (c,), = query(site, select(Cohort))
    assert (c.min_choices, c.max_choices) == (2, 6)


def test_copy_archive_and_unarchive(cohort, site):
    at = page("pages/admin_cohorts.py")
    at.text_input(key="cohort-new-name").input("MEng 2027/28")
    at.selectbox(key="cohort-new-source").set_value(cohort)
    run(at.button(key="cohort-new-create").click())
    (new_id,), = query(site, select(Cohort.id).where(Cohort.name == "MEng 2027/28"))
    assert query(site, select(func.count()).select_from(Project).where(Project.cohort_id == new_id)) == [(3,)]
    assert at.session_state["cohort_id"] == new_id

    run(at.button(key=f"settings-{new_id}-archive").click())
    assert "was archived" in texts(at)
    assert query(site, select(Cohort.archived).where(Cohort.id == new_id)) == [(True,)]
    at.selectbox(key="cohort-unarchive-pick").set_value(new_id)
    run(at.button(key="cohort-unarchive").click())
    assert query(site, select(Cohort.archived).where(Cohort.id == new_id)) == [(False,)]


# ------------------------------------------------------------------------------------------ projects


def editor(at: AppTest):
    (table,) = at.data_editor
    return table


def edit(at: AppTest, changes: dict[str, dict]) -> AppTest:
    """Type into the catalogue editor, rows picked by title (the table's order follows status)."""
    table = editor(at)
    titles = list(table.value["title"])
    at.session_state[table.key] = {"edited_rows": {titles.index(t): c for t, c in changes.items()},
                                   "added_rows": [], "deleted_rows": []}
    return run(at)


def test_catalogue_warning_approve_reject_and_bulk_edit(cohort, site):
    at = page("pages/admin_projects.py")
    assert any("0 places for 1 students" in w.value for w in at.warning)
    assert list(editor(at).value["title"]) == ["Boats", "Kites", "Quantum"]

    # Tick two rows in the editor and approve them.
    edit(at, {"Boats": {"select": True}, "Kites": {"select": True}})
    run(at.button(key="projects-approve-selected").click())
    assert "2 project(s) updated" in texts(at)
    statuses = dict(query(site, select(Project.title, Project.status)))
    assert statuses == {"Boats": "approved", "Kites": "approved", "Quantum": "proposed"}
    assert not at.warning  # 2 places for 1 student

    # Reject the third with a reason.
    edit(at, {"Quantum": {"select": True}})
    at.text_area(key="projects-reject-reason").input("Overlaps with Boats.")
    run(at.button(key="projects-reject-selected").click())
    assert query(site, select(Project.status, Project.reject_reason).where(Project.title == "Quantum")) == [
        ("rejected", "Overlaps with Boats.")]

    # Bulk edit: capacity, minimum and tags typed into the table.
    edit(at, {"Boats": {"capacity": 4, "min_students": 2, "tags": "sea; wind"}})
    run(at.button(key="projects-save-edits").click())
    assert query(site, select(Project.capacity, Project.min_students, Project.tags)
                 .where(Project.title == "Boats")) == [(4, 2, ["sea", "wind"])]

    # The browser's limits are not trusted: a bad row is refused whole, with its row number.
    assert list(editor(at).value["title"]) == ["Boats", "Kites", "Quantum"]
    edit(at, {"Boats": {"capacity": 9}, "Kites": {"capacity": -3}})
    run(at.button(key="projects-save-edits").click())
    assert any("Row 2 (“Kites”): capacity must be a whole number" in e.value for e in at.error)
    assert dict(query(site, select(Project.title, Project.capacity))) == {"Boats": 4, "Kites": 1, "Quantum": 1}


def test_one_project_at_a_time(cohort, site):
    at = page("pages/admin_projects.py")
    (pid,), = query(site, select(Project.id).where(Project.title == "Kites"))
    at.selectbox(key="projects-pick").set_value(pid)
    run(at)
    run(at.button(key=f"project-{pid}-approve").click())
    assert query(site, select(Project.status).where(Project.id == pid)) == [("approved",)]
    at.selectbox(key="projects-pick").set_value(pid)
    run(at)
    at.number_input(key=f"project-{pid}-cap").set_value(3)
    run(at.button(key=f"project-{pid}-save").click())
    assert query(site, select(Project.capacity).where(Project.id == pid)) == [(3,)]


def test_edit_a_projects_details_and_give_it_to_another_supervisor(cohort, site):
    with db.session(site) as s, s.begin():
        c = s.get(Cohort, cohort)
        alan = f.staff(s, c, person=f.user(s, email="alan@uni.example", name="Alan Turing")).id
    at = page("pages/admin_projects.py")
    (pid,), = query(site, select(Project.id).where(Project.title == "Kites"))
    at.selectbox(key="projects-pick").set_value(pid)
    run(at)
    at.text_input(key=f"project-{pid}-title").input("Kites over the bay")
    at.text_input(key=f"project-{pid}-code").input("K-02")
    at.text_area(key=f"project-{pid}-description").input("Fly **kites**.")
    at.selectbox(key=f"project-{pid}-supervisor").set_value(alan)
    run(at.button(key=f"project-{pid}-save-details").click())
    assert not at.error
    assert query(site, select(Project.title, Project.code, Project.description, Project.supervisor_id)
                 .where(Project.id == pid)) == [("Kites over the bay", "K-02", "Fly **kites**.", alan)]
    assert "Saved “Kites over the bay”." in texts(at)
    # A code another project has is refused, with the reason, and nothing changes.
    at.selectbox(key="projects-pick").set_value(pid)
    run(at)
    at.text_input(key=f"project-{pid}-code").input("B1")
    run(at.button(key=f"project-{pid}-save-details").click())
    assert any("already used by “Boats”" in e.value for e in at.error)
    assert query(site, select(Project.code).where(Project.id == pid)) == [("K-02",)]


# ------------------------------------------------------------------------------------------- people


def test_people_import_preview_then_apply(cohort, site):
    at = page("pages/admin_people.py")
    bad = ("\ufeffEmail,Name,Role\r\nnew@uni.example,Zoë Ångström,student\r\n"
           "broken,Nobody,student\r\nsup@uni.example,Pat Supervisor,wizard\r\n").encode("utf-8")
    at.file_uploader(key="people-file-0").upload("people.csv", bad, "text/csv")
    run(at)
    shown = texts(at)
    assert "1 to add" in shown and "2 rejected" in shown
    assert any("Line 3: bad email" in e.value and "Line 4: unknown role" in e.value for e in at.error)
    assert at.button(key="people-import").disabled
    assert query(site, select(func.count()).select_from(User).where(User.email == "new@uni.example")) == [(0,)]
    run(at.button(key="people-import-valid").click())
    assert "Imported: 1 added" in texts(at)
    assert query(site, select(User.name).where(User.email == "new@uni.example")) == [("Zoë Ångström",)]

    clean = b"email,name,role\nlee@uni.example,Lee,staff\n"
    at.file_uploader(key="people-file-1").upload("more.csv", clean, "text/csv")
    run(at)
    assert not at.button(key="people-import").disabled
    run(at.button(key="people-import").click())
    assert query(site, select(Membership.role).join(User, User.id == Membership.user_id)
                 .where(User.email == "lee@uni.example")) == [("staff",)]


def test_people_search_role_promote_remove_and_remind(cohort, site):
    at = page("pages/admin_people.py")
    at.text_input(key="people-search").input("sam")
    run(at)
    (uid,), = query(site, select(User.id).where(User.email == "stu@uni.example"))
    assert at.selectbox(key="people-pick").value == uid
    run(at.button(key=f"people-{uid}-promote").click())
    assert query(site, select(User.is_admin).where(User.id == uid)) == [(True,)]
    run(at.button(key="people-remind").click())
    assert "Reminder sent to 1 student" in texts(at)
    assert query(site, select(Notification.user_id).where(Notification.kind == "reminder")) == [(uid,)]
    at.text_input(key="people-search").input("sam")
    run(at)
    run(at.selectbox(key=f"people-{uid}-role").set_value("staff"))
    run(at.button(key=f"people-{uid}-change-role").click())
    assert query(site, select(Membership.role).where(Membership.user_id == uid)) == [("staff",)]
    at.text_input(key="people-search").input("sam")
    run(at)
    run(at.button(key=f"people-{uid}-remove").click())
    assert query(site, select(Membership.id).where(Membership.user_id == uid)) == []


# --------------------------------------------------------------------------------------------- data


def test_each_import_offers_its_template_with_the_accepted_values(cohort, site):
    at = page("pages/admin_data.py")
    keys = [d.proto.id for d in at.get("download_button")]
    assert all(any(f"data-template-{kind}" in k for k in keys) for kind in ("people", "projects", "preferences"))
    helps = [t.value for t in at.dataframe if "Accepted values" in t.value.columns]
    assert [list(t["Column"]) for t in helps] == [
        ["code", "title", "description", "capacity", "min_students", "supervisor_email", "tags", "status"],
        ["student_email", "project", "rank"], ["email", "name", "role", "max_load", "places", "tier"]]


def test_imports_downloads_backup_and_restore(cohort, site):
    at = page("pages/admin_data.py")
    projects = b"code,title,capacity,supervisor_email\nB1,Boats,2,sup@uni.example\nN1,New,3,\nX,,1,\n"
    at.file_uploader(key="data-projects-file-0").upload("projects.csv", projects, "text/csv")
    run(at)
    assert any("Line 4: missing title" in e.value for e in at.error)
    run(at.button(key="data-projects-import-valid").click())
    assert "Imported: 1 added, 1 changed" in texts(at)
    assert dict(query(site, select(Project.title, Project.status).where(Project.cohort_id == cohort))) == {
        "Boats": "proposed", "Kites": "proposed", "Quantum": "proposed", "New": "approved"}

    prefs = b"student_email,project,rank\nstu@uni.example,N1,1\n"
    at.file_uploader(key="data-preferences-file-0").upload("prefs.csv", prefs, "text/csv")
    run(at)
    run(at.button(key="data-preferences-import").click())
    assert query(site, select(func.count()).select_from(Preference)) == [(1,)]

    at.selectbox(key="data-export-what").set_value("people")
    run(at.button(key="data-prepare").click())
    _, name, mime, data = at.session_state["data-download"]
    assert name == "meng-2026-27-people.csv" and data.startswith(b"\xef\xbb\xbf")
    assert "stu@uni.example,Sam Student,student" in data.decode("utf-8-sig")
    assert at.download_button(key="data-download-button").label.startswith("Download meng-2026-27-people.csv")

    at.selectbox(key="data-export-what").set_value("backup")
    run(at.button(key="data-prepare").click())
    backup = at.session_state["data-download"][3]
    assert json.loads(backup)["cohort"]["name"] == "MEng 2026/27"

    at.selectbox(key="data-export-what").set_value("problem")
    run(at.button(key="data-prepare").click())
    problem = json.loads(at.session_state["data-download"][3])
    assert [p["id"] for p in problem["projects"]] == [p["id"] for p in problem["projects"] if p["id"].startswith("P")]
    assert len(problem["students"]) == 1

    at.file_uploader(key="data-restore-file-0").upload("backup.json", backup, "application/json")
    at.text_input(key="data-restore-name").input("Restored")
    run(at.button(key="data-restore").click())
    assert "Restored “Restored”" in texts(at)
    (restored,), = query(site, select(Cohort.id).where(Cohort.name == "Restored"))
    assert at.session_state["cohort_id"] == restored
    assert query(site, select(func.count()).select_from(Project).where(Project.cohort_id == restored)) == [(4,)]


# -------------------------------------------------------------------------------------------- audit


def test_audit_log_lists_and_filters(cohort, site):
    with db.session(site) as s, s.begin():
        admin = f.actor(s.scalar(select(User).where(User.email == "coord@uni.example")))
        services.rename_cohort(s, actor=admin, cohort_id=cohort, name="Renamed cohort")
        services.send_reminders(s, actor=admin, cohort_id=cohort)
    at = page("pages/admin_audit.py")
    table = at.dataframe[0].value
    assert list(table["Action"]) == ["people.remind", "cohort.rename"]
    assert set(table["Who"]) == {"coord@uni.example"} and set(table["Cohort"]) == {"Renamed cohort"}
    at.selectbox(key="audit-action").set_value("cohort.rename")
    run(at)
    table = at.dataframe[0].value
    assert list(table["Action"]) == ["cohort.rename"]
    # Details read as a sentence, not as the stored JSON.
    assert list(table["What happened"]) == ["Renamed the cohort “MEng 2026/27” to “Renamed cohort”."]
    assert "Details" not in table.columns


# ------------------------------------------------------------------------------------ others kept out


@pytest.mark.parametrize("email", ["stu@uni.example", "sup@uni.example"])
def test_students_and_staff_cannot_reach_admin_pages(cohort, site, email):
    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.session_state["local_user_email"] = email
    run(at)
    for path in ADMIN_PAGES:
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(path)
    run(at)
    assert not {"Cohort settings", "Projects", "People", "Data", "Audit log"} & {t.value for t in at.title}
    assert query(site, select(func.count()).select_from(AuditEvent)) == [(0,)]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_page_refuses_a_student_context_even_if_reached(cohort, path):
    # The page's own guard: run the page file directly with a student's context in session state.
    from allocator import ui

    at = AppTest.from_file(APP_PATH.replace("app.py", path), default_timeout=30)
    at.session_state[ui.CONTEXT_KEY] = ui.Context(services.Actor(99, "stu@uni.example", "Sam", False),
                                                   services.Roles(False, ()), cohort, "MEng", "student", True)
    run(at)
    assert [e.value for e in at.error] == ["This page is not available to you."]
    assert not at.button and not at.data_editor and not at.file_uploader
