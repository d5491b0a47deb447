"""Sign-in and the role-dependent navigation, driven through the real app.py."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from allocator import auth, db
from tests import factories as f
from tests.conftest import APP_PATH

ROOT = Path(APP_PATH).parent

ADMIN_PAGES = ("pages/admin_cohorts.py", "pages/admin_projects.py", "pages/admin_people.py",
               "pages/admin_studio.py", "pages/admin_data.py", "pages/admin_audit.py")


@pytest.fixture
def people(app_database):
    with db.session(app_database) as s, s.begin():
        cohort = f.cohort(s, name="MEng 2026/27", phase="preferences")
        f.admin(s, email="coord@uni.example", name="Casey Coordinator")
        f.student(s, cohort, person=f.user(s, email="stu@uni.example", name="Sam Student"))
        f.staff(s, cohort, person=f.user(s, email="sup@uni.example", name="Pat Supervisor"))
        f.user(s, email="nobody@uni.example", name="Nobody")
    return app_database


def signed_in(email: str | None) -> AppTest:
    at = AppTest.from_file(APP_PATH, default_timeout=30)
    if email:
        at.session_state["local_user_email"] = email
    at.run()
    return at


def texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.title, *at.header, *at.markdown, *at.info, *at.error, *at.caption,
                               *at.warning, *at.subheader)]
    parts += [link.proto.label for link in at.get("page_link")]
    return "\n".join(str(p) for p in parts)


def test_local_mode_lists_demo_people_by_role_and_signs_in(people):
    at = signed_in(None)
    assert "Local demo mode" in texts(at)
    labels = [b.label for b in at.button]
    assert any("Casey Coordinator" in label for label in labels)
    assert any("Sam Student" in label for label in labels)
    at.button(key="signin-stu@uni.example").click().run()
    assert at.session_state["local_user_email"] == "stu@uni.example"
    assert "Sam Student" in texts(at)


@pytest.mark.parametrize("email,role", [("stu@uni.example", "student"), ("sup@uni.example", "staff"),
                                        ("coord@uni.example", "admin")])
def test_each_role_gets_its_context(people, email, role):
    at = signed_in(email)
    assert not at.exception
    assert at.session_state["_allocator_context"].role == role


def registered_pages(at: AppTest) -> set[str]:
    """The pages this run's st.navigation holds: the only ones a URL can reach."""
    return {Path(info["script_path"]).relative_to(ROOT).as_posix()
            for info in at._registered_pages.values() if info.get("script_path")}


@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_student_requesting_an_admin_page_gets_none_of_it(people, page):
    at = signed_in("stu@uni.example")
    assert page not in registered_pages(at)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(page)
    at.run()
    shown = texts(at)
    assert "Rank your choices" in shown
    assert not {"Cohort settings", "Allocation studio", "Audit log"} & {t.value for t in at.title}


def test_each_role_navigation_holds_its_own_pages(people):
    student = registered_pages(signed_in("stu@uni.example"))
    staff = registered_pages(signed_in("sup@uni.example"))
    admin = registered_pages(signed_in("coord@uni.example"))
    assert {"pages/student_preferences.py", "pages/student_projects.py"} <= student
    assert not student & set(ADMIN_PAGES) and "pages/staff_propose.py" not in student
    assert {"pages/staff_projects.py", "pages/staff_propose.py"} <= staff
    assert not staff & set(ADMIN_PAGES) and "pages/student_preferences.py" not in staff
    assert set(ADMIN_PAGES) <= admin and "pages/student_preferences.py" not in admin


def test_pages_check_the_role_at_their_top(people):
    # Even if a page were reached, its own guard refuses a role it is not for.
    import ast

    for page in ADMIN_PAGES:
        tree = ast.parse((ROOT / page).read_text())
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "page_context"]
        assert calls and all(c.args and all(is_admin_role(a) for a in c.args) for c in calls), page


def is_admin_role(node) -> bool:
    """`"admin"` or `Role.ADMIN` (allocator.domain) as a call argument."""
    import ast

    if isinstance(node, ast.Constant):
        return node.value == "admin"
    return (isinstance(node, ast.Attribute) and node.attr == "ADMIN" and isinstance(node.value, ast.Name)
            and node.value.id == "Role")


def test_admin_pages_open_for_the_coordinator(people):
    at = signed_in("coord@uni.example")
    at.switch_page("pages/admin_cohorts.py").run()
    assert not at.exception
    assert "not available" not in texts(at)


def test_unknown_local_user_is_signed_out(people):
    at = signed_in("ghost@uni.example")
    assert "not enrolled" in texts(at).lower()


def test_person_in_no_cohort_sees_only_not_enrolled(people):
    at = signed_in("nobody@uni.example")
    shown = texts(at)
    assert "not enrolled" in shown.lower()
    assert "Rank your choices" not in shown
    assert registered_pages(at) == {"pages/not_enrolled.py"}


@pytest.fixture
def microsoft(people, monkeypatch):
    monkeypatch.setenv("MS_CLIENT_ID", "client-id")
    monkeypatch.setenv("MS_TENANT_ID", "11111111-2222-3333-4444-555555555555")
    calls = []

    def as_person(email):
        def identity(settings):
            calls.append(email)
            if email is None:
                return None
            return auth.VerifiedIdentity(oid=f"oid-{email}", email=email, name=email.split("@")[0],
                                         tenant_id=settings.ms_tenant_id,
                                         expires_at=datetime(2030, 1, 1, tzinfo=timezone.utc))
        monkeypatch.setattr(auth, "microsoft_identity", identity)
    return as_person, calls


def test_microsoft_identity_is_verified_on_every_run(microsoft):
    as_person, calls = microsoft
    as_person("stu@uni.example")
    at = signed_in(None)
    at.run()
    assert len(calls) == 2
    assert at.session_state["_allocator_context"].actor.email == "stu@uni.example"


def test_microsoft_mode_ignores_a_local_sign_in_in_session_state(microsoft):
    as_person, _ = microsoft
    as_person(None)  # not signed in with Microsoft
    at = signed_in("coord@uni.example")  # a forged local choice
    assert "_allocator_context" not in at.session_state
    assert "Casey Coordinator" not in texts(at)


def test_local_mode_refused_while_microsoft_is_configured(microsoft, monkeypatch):
    as_person, _ = microsoft
    as_person(None)
    monkeypatch.setenv("LOCAL_MODE", "1")
    at = signed_in("coord@uni.example")
    assert "Local sign-in is disabled because Microsoft sign-in is configured." in texts(at)
    assert not any("signin-" in (b.key or "") for b in at.button)


def test_configured_admin_email_becomes_coordinator_on_first_sign_in(microsoft, monkeypatch):
    as_person, _ = microsoft
    monkeypatch.setenv("ADMIN_EMAILS", "new.coord@uni.example")
    as_person("new.coord@uni.example")
    at = signed_in(None)
    assert at.session_state["_allocator_context"].role == "admin"


def test_verified_stranger_sees_not_enrolled(microsoft):
    as_person, _ = microsoft
    as_person("stranger@elsewhere.example")
    at = signed_in(None)
    assert "not enrolled" in texts(at).lower()


@pytest.mark.parametrize("page", ADMIN_PAGES + ("pages/student_preferences.py", "pages/staff_projects.py"))
def test_a_page_run_without_app_py_draws_nothing(people, page):
    # Streamlit can run a page file on its own (the pages/ folder mode, before st.navigation first runs
    # in a new process); without this run's verified context the page must refuse.
    at = AppTest.from_file(str(ROOT / page), default_timeout=30)
    at.session_state["local_user_email"] = "coord@uni.example"  # a choice alone is not a verified identity
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["This page is not available to you."]
    assert len(at.title) == 0 or all("not available" not in t.value for t in at.title)
    assert not at.button and not at.get("plotly_chart") and not at.dataframe
