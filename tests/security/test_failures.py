"""What people see when something fails, and what the log keeps (issue 12, points 3 and 8).

A database outage or an unreadable settings file shows a calm sentence, never a traceback with hosts,
ports, database names or file paths; the details go to the log, and the log never holds the SQL
parameters (people's emails and names) of a failed statement.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from sqlalchemy import insert
from streamlit.testing.v1 import AppTest

from allocator import config, db
from allocator.models import User
from tests import factories as f
from tests.appserver import free_port
from tests.conftest import APP_PATH

CALM = "The service is unavailable right now."
# Built, not written out, so the log's stack lines (which quote the source) cannot contain them.
PRIVATE_EMAIL, PRIVATE_NAME = "-".join(("zoe", "private@uni.example")), " ".join(("Zoë", "Private"))


def shown(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.title, *at.markdown, *at.error, *at.warning, *at.info,
                                           *at.exception))


def assert_calm(at: AppTest, *secrets: str) -> None:
    assert not at.exception, [e.value for e in at.exception]
    text = shown(at)
    assert CALM in text and "Nothing you entered was lost" in text
    for secret in ("Traceback", "sqlalchemy", "OperationalError", *secrets):
        assert secret not in text


def test_the_database_failing_between_two_runs_shows_the_calm_page(app_database, caplog):
    with db.session(app_database) as s, s.begin():
        f.admin(s, email="coord@uni.example", name="Casey Coordinator")
    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.session_state["local_user_email"] = "coord@uni.example"
    at.run()
    assert not at.exception and "Casey Coordinator" in "\n".join(c.value for c in at.sidebar.caption)

    path = Path(app_database.removeprefix("sqlite:///"))
    db.dispose_all()
    path.unlink()
    path.mkdir()  # the database file is gone and cannot be made again: every query now fails
    try:
        with caplog.at_level(logging.ERROR, logger="allocator.ui"):
            at.run()
        assert_calm(at, str(path.parent), path.name)
        logged = [r.getMessage() for r in caplog.records if "sign-in lookup" in r.getMessage()]
        assert logged and "OperationalError" in logged[0] and 'File "' in logged[0]  # the cause and its stack
    finally:
        db.dispose_all()
        shutil.rmtree(path)


def test_an_unreachable_database_server_shows_the_calm_page(app_database, monkeypatch):
    port = free_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql+psycopg2://allocator@127.0.0.1:{port}/allocator_prod")
    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.run()
    assert_calm(at, str(port), "allocator_prod", "127.0.0.1")


@pytest.fixture
def secrets_file(app_database, monkeypatch, tmp_path):
    path = tmp_path / "secrets.toml"
    monkeypatch.setenv("ALLOCATOR_SECRETS", str(path))
    with db.session(app_database) as s, s.begin():
        f.admin(s, email="real.coordinator@uni.example", name="Real Coordinator")
    return path


@pytest.mark.parametrize("content, problem", [
    (b'\xef\xbb\xbfDATABASE_URL = "sqlite:///x.db"\n', "byte-order mark"),
    (b'MS_CLIENT_ID = "abc\n', "not valid TOML"),
    (b'[allocator\nMS_CLIENT_ID = "abc"\n', "not valid TOML"),
    (b'ADMIN_EMAILS = "caf\xe9@uni.example"\n', "line 1 is not UTF-8"),
    (b'[microsoft]\nclient_id = "11111111-2222-3333-4444-555555555555"\ntenant_id = "contoso"\n', "[microsoft]"),
    (b'[auth]\nMS_TENANT_ID = "contoso"\n', "[auth]"),
])
def test_an_unreadable_settings_file_stops_the_app_with_one_line(secrets_file, content, problem):
    secrets_file.write_bytes(content)
    with pytest.raises(config.SettingsError) as info:
        config.load()
    line = str(info.value)
    assert "\n" not in line and str(secrets_file) in line and problem in line

    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [f"The app cannot start: {line}"]
    assert not at.button  # in particular no local sign-in listing real coordinators
    assert "Real Coordinator" not in shown(at)


def test_other_tables_streamlit_reads_are_left_alone(secrets_file, monkeypatch):
    monkeypatch.delenv("MS_CLIENT_ID", raising=False)
    secrets_file.write_text('[connections.backup]\nurl = "s3://bucket"\n[allocator]\nSMTP_HOST = "mail.uni"\n')
    assert config.load().smtp_host == "mail.uni"


def test_a_failed_action_logs_neither_parameters_nor_the_row_it_collided_with(database_url, monkeypatch, caplog):
    from allocator import ui

    monkeypatch.setenv("DATABASE_URL", database_url)
    engine = db.engine(database_url)
    with engine.begin() as conn:
        conn.execute(insert(User).values(email=PRIVATE_EMAIL, name=PRIVATE_NAME))

    def add_the_same_person(session):
        session.execute(insert(User).values(email=PRIVATE_EMAIL, name=PRIVATE_NAME))

    try:
        with caplog.at_level(logging.DEBUG):
            assert ui.run_action(add_the_same_person) is None
        assert "add_the_same_person failed" in caplog.text and "IntegrityError" in caplog.text
        assert PRIVATE_EMAIL not in caplog.text and PRIVATE_NAME not in caplog.text
    finally:
        with engine.begin() as conn:
            conn.execute(User.__table__.delete().where(User.email == PRIVATE_EMAIL))
