"""Local mode's remembered sign-in, through the real app.py: a sign-in gets a token, sign-out revokes it,
and a session whose token no longer holds (revoked, or naming another account) signs in afresh.
The browser half (the tab's sessionStorage, a reload) is tests/e2e/test_remembered_sign_in.py."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from allocator import db
from allocator.demo_sign_in import TOKEN_KEY, TOKENS
from allocator.models import User
from tests import factories as f
from tests.conftest import APP_PATH


@pytest.fixture
def people(app_database):
    with db.session(app_database) as s, s.begin():
        cohort = f.cohort(s, name="MEng 2026/27", phase="preferences")
        f.admin(s, email="coord@uni.example", name="Casey Coordinator")
        f.student(s, cohort, person=f.user(s, email="stu@uni.example", name="Sam Student"))
    return app_database


def user_id(url: str, email: str) -> int:
    with db.session(url) as s:
        return s.scalar(select(User.id).where(User.email == email))


def on_sign_in_screen(at: AppTest) -> bool:
    return any(s.value == "Sign in as" for s in at.subheader)


def signed_in_as(people, email: str) -> AppTest:
    at = AppTest.from_file(APP_PATH, default_timeout=30).run()
    at.button(key=f"signin-{email}").click().run()
    assert not at.exception
    return at


def test_a_sign_in_gets_a_token_naming_that_account_and_sign_out_revokes_it(people):
    at = signed_in_as(people, "coord@uni.example")
    token = at.session_state[TOKEN_KEY]
    assert TOKENS.resume(token).user_id == user_id(people, "coord@uni.example")
    at.run()
    assert at.session_state[TOKEN_KEY] == token  # one token for the session, not one per run

    at.button(key="sign-out").click().run()
    assert not at.exception
    assert on_sign_in_screen(at)
    assert TOKENS.resume(token) is None
    assert TOKEN_KEY not in at.session_state


def test_a_session_whose_token_was_revoked_signs_in_afresh(people):
    at = signed_in_as(people, "stu@uni.example")
    TOKENS.revoke(at.session_state[TOKEN_KEY])
    at.run()
    assert not at.exception
    assert on_sign_in_screen(at)
    assert "local_user_email" not in at.session_state


def test_a_token_naming_another_account_than_the_email_now_has_is_refused(people):
    """An email re-used by a new account does not inherit the old account's remembered sign-in."""
    at = AppTest.from_file(APP_PATH, default_timeout=30)
    stale = TOKENS.issue(user_id=user_id(people, "coord@uni.example") + 1000, email="coord@uni.example")
    at.session_state["local_user_email"] = "coord@uni.example"
    at.session_state[TOKEN_KEY] = stale
    at.run()
    assert not at.exception
    assert on_sign_in_screen(at)
    assert TOKENS.resume(stale) is None
