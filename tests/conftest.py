"""Databases for the tests: a fresh SQLite file always, and a fresh PostgreSQL database when
TEST_DATABASE_URL names a server. Data tests take `session` and run once per backend, each test in a
transaction that is rolled back."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from allocator import db, folder_mode, migrate

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
# AppTest resolves relative paths against the calling file, so tests hand it this absolute one.
APP_PATH = str(Path(__file__).resolve().parent.parent / "app.py")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]


def pytest_collection_modifyitems(config, items):
    if PG_URL:
        return
    skip = pytest.mark.skip(reason="TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    for item in items:
        if "postgresql" in item.keywords:
            item.add_marker(skip)


def pytest_configure(config):
    config.addinivalue_line("markers", "postgresql: needs TEST_DATABASE_URL")
    config.addinivalue_line("markers", "e2e: real browser")


@pytest.fixture(autouse=True, scope="session")
def _navigation_always_through_app_py():
    """Make AppTest run app.py on every run, as the server does (see allocator/folder_mode.py)."""
    from streamlit.testing.v1 import app_test

    original = app_test.PagesManager
    folder_mode.apptest_runs_app_py()
    yield
    app_test.PagesManager = original


@pytest.fixture(scope="session")
def chromium_browser():
    """One Playwright and one headless Debian Chromium for the whole run: Playwright's sync API cannot
    start a second time while the first is alive, so every browser test shares this one."""
    from tests.load.browser import HAVE_CHROMIUM, NO_CHROMIUM, chromium

    if not HAVE_CHROMIUM:
        pytest.skip(NO_CHROMIUM)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = chromium(p)
        try:
            yield browser
        finally:
            browser.close()


def create_postgres_database(prefix: str = "alloc") -> str:
    """A new, empty database on the TEST_DATABASE_URL server; parallel runs never share one."""
    server = make_url(PG_URL)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    db.dispose_all()
    name = make_url(url).database
    admin = create_engine(make_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def new_database_url(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / f'test_{uuid.uuid4().hex[:8]}.db'}"
    return create_postgres_database()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """A migrated database per backend, for the whole run."""
    url = new_database_url(request.param, tmp_path_factory.mktemp("db"))
    migrate.upgrade(url)
    yield url
    db.dispose_all()
    if request.param == "postgresql":
        drop_postgres_database(url)


@pytest.fixture
def session(database_url):
    """A session whose work, commits included, is rolled back after the test."""
    engine = db.engine(database_url)
    with engine.connect() as connection:
        transaction = connection.begin()
        with Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
            yield s
        transaction.rollback()


@pytest.fixture
def fresh_database(tmp_path, request):
    """A migrated database of its own, committed for real (for concurrency and app tests); SQLite
    unless the test is parametrised with `backend`."""
    kind = getattr(request, "param", "sqlite")
    url = new_database_url(kind, tmp_path)
    migrate.upgrade(url)
    yield url
    db.dispose_all()
    if kind == "postgresql":
        drop_postgres_database(url)


@pytest.fixture
def app_database(tmp_path, monkeypatch):
    """A committed SQLite database the Streamlit app under AppTest reads through DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    for name in ("MS_CLIENT_ID", "MS_TENANT_ID", "SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALLOCATOR_SECRETS", str(tmp_path / "no-secrets.toml"))
    monkeypatch.setenv("ALLOCATOR_NO_DEMO", "1")
    yield url
    db.dispose_all()
