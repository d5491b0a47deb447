"""Local mode: a tab's sign-in survives a reload (issue 15), and nothing but a token this server issued
and has not revoked brings it back.

The tab keeps the token in its sessionStorage; a new session's sign-in screen asks the tab for it (one
rerun request, sent by the page itself) and the server looks it up. The tests put tokens there by hand to
play a forger, and one that replays a token after its sign-out.
"""
from __future__ import annotations

import secrets
import time

import pytest

from tests.e2e.conftest import skip_reason

if skip_reason():  # no Playwright or no /usr/bin/chromium: one clean skip for the whole module
    pytest.skip(skip_reason(), allow_module_level=True)

from playwright.sync_api import expect
from sqlalchemy import update

from allocator import db
from allocator.demo_sign_in import STORAGE_KEY
from allocator.models import User
from tests.e2e.driver import RUN_TIMEOUT_MS, App, assert_no_admin_content

pytestmark = pytest.mark.e2e


def stored_token(app: App) -> str | None:
    return app.page.evaluate("key => window.sessionStorage.getItem(key)", STORAGE_KEY)


def put_token(app: App, token: str) -> None:
    app.page.evaluate("([key, token]) => window.sessionStorage.setItem(key, token)", [STORAGE_KEY, token])


def reload_offering_the_token(app: App) -> None:
    """Reload a tab that holds a token, and wait until the server has answered the token: the page load's
    run, then the run the tab's answer asks for (its second rerun request)."""
    requests = app.requests
    app.page.reload()
    deadline = time.monotonic() + RUN_TIMEOUT_MS / 1000
    while app.requests < requests + 2:
        assert time.monotonic() < deadline, "the tab never handed its token to the app"
        app.page.wait_for_timeout(20)
    app.wait_for_runs(app.runs_at_request)


def expect_sign_in_screen(app: App) -> None:
    expect(app.page.get_by_text("Sign in as", exact=True)).to_be_visible()
    app.wait_idle()
    expect(app.sidebar.get_by_role("button", name="Sign out")).to_have_count(0)


def test_a_local_sign_in_survives_reloads_of_its_tab_and_only_its_tab(app, deployment):
    dep = deployment
    app.open("/")
    app.sign_in(dep.student.name, dep.student.email)
    app.go("My preferences")
    for _ in range(2):
        app.reload()
        app.expect_signed_in(dep.student.name, dep.student.email)
        expect(app.main.get_by_role("heading", name="My preferences")).to_be_visible()

    # Another tab of the same browser is another session: it asks who is there.
    other = App(app.page.context.new_page(), dep.base_url)
    other.open("/")
    expect_sign_in_screen(other)
    assert stored_token(other) is None


def test_signing_out_ends_the_remembered_sign_in_and_its_token(app, deployment):
    dep = deployment
    app.open("/")
    app.sign_in(dep.admin.name, dep.admin.email)
    token = stored_token(app)
    assert token

    app.click("sign-out")
    expect_sign_in_screen(app)
    app.page.wait_for_function("key => window.sessionStorage.getItem(key) === null", arg=STORAGE_KEY)
    app.reload()
    expect_sign_in_screen(app)

    # The signed-out token, replayed by hand, is refused: the server revoked it.
    put_token(app, token)
    reload_offering_the_token(app)
    expect_sign_in_screen(app)
    assert_no_admin_content(app, signed_in=False)


FORGED = {"well-formed": lambda: secrets.token_urlsafe(32), "oversized": lambda: "x" * 5000,
          "markup": lambda: '"><img src=x onerror=alert(1)>'}


@pytest.mark.parametrize("forged", sorted(FORGED))
def test_a_forged_token_is_refused_quietly(app, deployment, forged):
    app.open("/")
    put_token(app, FORGED[forged]())
    reload_offering_the_token(app)
    expect_sign_in_screen(app)  # no error box either: `wait_idle` fails on one, the fixture on a traceback
    assert_no_admin_content(app, signed_in=False)


def test_a_remembered_coordinator_loses_what_the_database_took_away(app, deployment):
    dep = deployment
    app.open("/")
    app.sign_in(dep.admin.name, dep.admin.email)
    app.go("Audit log")

    with db.session(dep.database_url) as s, s.begin():  # no longer a coordinator
        s.execute(update(User).where(User.id == dep.admin.user_id).values(is_admin=False))
    app.reload()
    app.expect_signed_in(dep.admin.name, dep.admin.email)
    assert_no_admin_content(app)

    with db.session(dep.database_url) as s, s.begin():  # then made inactive: the token goes too
        s.execute(update(User).where(User.id == dep.admin.user_id).values(active=False))
    reload_offering_the_token(app)
    expect(app.main.get_by_role("heading", name="You are not enrolled")).to_be_visible()
    assert_no_admin_content(app)
    app.reload()
    expect_sign_in_screen(app)
