"""The real app in a real browser: a Streamlit server on a free port against a seeded SQLite database
that is reset to the same fresh data before each journey, and Debian's Chromium driven by Python
Playwright. No journey depends on what another one did or left behind.

Playwright is imported inside the fixtures, so without it (or without /usr/bin/chromium) the journeys
skip with the reason instead of failing to import.
"""
from __future__ import annotations

import importlib
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.engine import make_url

from allocator import db, migrate, seeding
from allocator.models import Cohort, Membership, Preference, User
from tests.appserver import Server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "e2e"

# A small deterministic demo: the same seed gives the same people, projects and preferences.
DEMO_SIZE = {"students": 40, "projects": 12, "staff": 6, "seed": 7}


def skip_reason() -> str | None:
    """Why the browser journeys cannot run here, or None when they can."""
    try:
        importlib.import_module("playwright.sync_api")
    except ImportError as err:
        return f"Python Playwright cannot be imported ({err}): browser journeys skipped"
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is missing (apt-get install chromium): browser journeys skipped"
    return None


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    user_id: int


@dataclass(frozen=True)
class Deployment:
    """The running app and what the fixture put in its database."""
    base_url: str
    database_url: str
    log_path: Path  # the server's output: no traceback may appear in it during a journey
    cohort_id: int
    student: Person
    staff: Person
    admin: Person


def _prepare_database(url: str) -> None:
    """Migrate and seed; the demo student starts with an empty list in a cohort open for preferences."""
    migrate.upgrade(url)
    seeding.seed(url, **DEMO_SIZE)
    with db.session(url) as s, s.begin():
        cohort_id = s.execute(select(Cohort.id).order_by(Cohort.id)).scalars().one()
        student_id = s.execute(select(User.id).where(User.email == seeding.DEMO_STUDENT)).scalar_one()
        # The seeder gives the demo student a ranking; the first journey builds one from nothing.
        s.execute(delete(Preference).where(Preference.cohort_id == cohort_id, Preference.student_id == student_id))
        s.execute(update(Membership).where(Membership.cohort_id == cohort_id, Membership.user_id == student_id)
                  .values(preferences_saved_at=None))
        # Preferences open whatever the clock says (the seeder's dates follow it; this pins the phase).
        s.execute(update(Cohort).where(Cohort.id == cohort_id).values(phase_override="preferences"))


@pytest.fixture(scope="session")
def browser(chromium_browser):
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    return chromium_browser


@pytest.fixture(scope="session")
def e2e_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def template_database(browser, e2e_tmp) -> Path:
    """The seeded database every journey starts from, made once (browser first: no browser, no work)."""
    path = e2e_tmp / "template.db"
    _prepare_database(f"sqlite:///{path}")
    db.dispose_all()
    return path


def reset_database(template: Path, live: Path) -> None:
    """Make the live database a copy of the template again, under the running server: SQLite's online
    backup writes it in one transaction, so the server's connections see the old data or the new, whole."""
    source = sqlite3.connect(template)
    target = sqlite3.connect(live, timeout=60)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


@pytest.fixture(scope="session")
def database_url_e2e(template_database, e2e_tmp) -> str:
    """The database the journeys' server runs on: reset to the template before each journey."""
    live = e2e_tmp / "e2e.db"
    reset_database(template_database, live)
    yield f"sqlite:///{live}"
    db.dispose_all()


@pytest.fixture(scope="session")
def e2e_server(browser, database_url_e2e, e2e_tmp):
    server = Server(database_url_e2e, e2e_tmp)
    try:
        _warm_up(browser, server.base_url)
        yield server
    finally:
        server.stop()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(server.log_path, ARTIFACTS / "streamlit.log")  # the server's side of the journeys


@pytest.fixture
def deployment(e2e_server, database_url_e2e, template_database) -> Deployment:
    """The running app on fresh data: every journey starts from the seeded template, whatever the
    journeys before it did (or left half done when they failed)."""
    db.dispose_all()  # the test process's own pooled connections must not outlive the old file
    reset_database(template_database, Path(make_url(database_url_e2e).database))
    with db.session(database_url_e2e) as s:
        cohort_id = s.execute(select(Cohort.id).order_by(Cohort.id)).scalars().first()
        people = {email: Person(name=name, email=email, user_id=uid) for uid, email, name in s.execute(
            select(User.id, User.email, User.name).where(User.email.in_(
                [seeding.DEMO_STUDENT, seeding.DEMO_STAFF, seeding.DEMO_ADMIN])))}
    return Deployment(base_url=e2e_server.base_url, database_url=database_url_e2e, log_path=e2e_server.log_path,
                      cohort_id=cohort_id, student=people[seeding.DEMO_STUDENT], staff=people[seeding.DEMO_STAFF],
                      admin=people[seeding.DEMO_ADMIN])


@pytest.fixture
def fresh_server(browser, database_url_e2e, e2e_tmp):
    """A second server process nobody has visited yet, on the same database (for first-visit tests)."""
    server = Server(database_url_e2e, e2e_tmp)
    try:
        yield server
    finally:
        server.stop()


def _warm_up(browser, base_url: str) -> None:
    """One page load, so the journeys never meet the server's very first script run.

    Until `st.navigation` has run once in the process, Streamlit treats an app with a `pages/` folder as
    a folder-driven app, and that first run behaves differently (see test_first_visit_after_restart.py);
    the journeys are about the app as everyone after the first visitor meets it.
    """
    from tests.e2e.driver import App

    context = browser.new_context()
    try:
        App(context.new_page(), base_url).open("/")
    finally:
        context.close()


@pytest.fixture
def open_app(browser, request):
    """Open the app in a new browser context (no cookies, so a new, signed-out Streamlit session)."""
    from playwright.sync_api import Error as PlaywrightError

    from tests.e2e.driver import App

    contexts = []

    def open_(base_url: str) -> App:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        contexts.append(context)
        return App(context.new_page(), base_url)

    try:
        yield open_
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            for i, context in enumerate(contexts):
                for j, page in enumerate(context.pages):
                    try:
                        page.screenshot(path=str(ARTIFACTS / f"FAILED-{request.node.name}-{i}{j}.png"),
                                        full_page=True)
                    except PlaywrightError:  # a crashed page has no picture; the failure itself is reported
                        continue
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def app(open_app, deployment):
    """The app on the shared server; afterwards, the server must not have logged a traceback (a failed
    action the page turned into "Something went wrong" is logged there with its cause)."""
    start = deployment.log_path.stat().st_size
    yield open_app(deployment.base_url)
    with deployment.log_path.open("rb") as log:
        log.seek(start)
        output = log.read().decode("utf-8", "replace")
    assert "Traceback" not in output, f"the server logged an error during the journey:\n{output[-4000:]}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session", autouse=True)
def _fresh_failure_artifacts():
    """Screenshots of failures are of this run only."""
    for old in ARTIFACTS.glob("FAILED-*.png"):
        old.unlink(missing_ok=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report  # read by the `app` fixture to keep a screenshot of a failure
    return report
