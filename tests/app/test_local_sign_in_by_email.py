"""Local mode lists six people per role; anyone else signs in by typing their email (issue 17: the load
test signs in hundreds of different students, as a demo user tries a student beyond the first six)."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from allocator import db
from tests import factories as f
from tests.conftest import APP_PATH


def test_a_student_not_listed_signs_in_by_email(app_database):
    with db.session(app_database) as s, s.begin():
        cohort = f.cohort(s, name="MEng 2026/27", phase="preferences")
        for i in range(8):
            f.student(s, cohort, person=f.user(s, email=f"s{i}@uni.example", name=f"Student {i}"))
    at = AppTest.from_file(APP_PATH, default_timeout=30).run()
    assert not any(b.key == "signin-s7@uni.example" for b in at.button)  # beyond the listed six
    at.text_input(key="signin-email").input("  S7@uni.example ")
    at.button(key="signin-by-email").click().run()
    assert not at.exception
    assert at.session_state["local_user_email"] == "s7@uni.example"
    assert any("Student 7" in c.value for c in at.caption)
