"""Several replicas starting at once migrate a database exactly once, and a replica that does not
migrate refuses a database whose schema is not its own, saying why (issue 17)."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from allocator import bootstrap, migrate
from tests.conftest import PG_URL, create_postgres_database, drop_postgres_database

ROOT = Path(__file__).resolve().parents[2]
REPLICAS = 4


@pytest.fixture
def empty_postgres():
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
    url = create_postgres_database("mig")
    yield url
    drop_postgres_database(url)


def _revisions(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    finally:
        engine.dispose()


# Each process imports alembic and the models, says it is ready, then waits for the signal to upgrade.
RACE = """
import sys, time
from pathlib import Path
from allocator import migrate
url, folder, me = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
(folder / f"ready-{me}").touch()
while not (folder / "go").exists():
    time.sleep(0.005)
migrate.upgrade(url)
"""


@pytest.mark.postgresql
def test_replicas_starting_together_migrate_once(empty_postgres, tmp_path):
    """Replicas (or `alembic upgrade head` in each container) that a deployment starts together all
    upgrade the same empty database at the same instant."""
    procs = [subprocess.Popen([sys.executable, "-c", RACE, empty_postgres, str(tmp_path), str(i)], cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i in range(REPLICAS)]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("ready-*"))) < REPLICAS and time.monotonic() < deadline:
        time.sleep(0.05)
    (tmp_path / "go").touch()
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    failed = [out[-2000:] for p, out in zip(procs, outputs) if p.returncode != 0]
    assert failed == []
    assert _revisions(empty_postgres) == [migrate.head_revision()]
    migrate.check(empty_postgres)


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'replica.db'}"


def test_a_replica_that_does_not_migrate_refuses_an_older_schema(sqlite_url, caplog):
    with pytest.raises(migrate.SchemaMismatch) as refused:
        bootstrap.prepare_database(sqlite_url, seed_demo=False, migrate_on_start=False)
    assert "no schema yet" in refused.value.message
    assert "alembic upgrade head" in refused.value.message
    assert any("refusing to serve" in r.getMessage() for r in caplog.records)


def test_a_replica_refuses_a_schema_from_a_newer_release(sqlite_url):
    migrate.upgrade(sqlite_url)
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffffffffffff'"))
    engine.dispose()
    with pytest.raises(migrate.SchemaMismatch) as refused:
        bootstrap.prepare_database(sqlite_url, seed_demo=False, migrate_on_start=False)
    assert "ffffffffffff" in refused.value.message
    assert "newer release" in refused.value.message


def test_a_replica_serves_a_current_schema_without_migrating(sqlite_url):
    migrate.upgrade(sqlite_url)
    assert bootstrap.prepare_database(sqlite_url, seed_demo=False, migrate_on_start=False) is False


def test_the_app_says_why_it_refuses_instead_of_a_traceback(sqlite_url, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import APP_PATH

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("MIGRATE_ON_START", "false")
    monkeypatch.setenv("ALLOCATOR_SECRETS", str(tmp_path / "none.toml"))
    monkeypatch.setenv("ALLOCATOR_NO_DEMO", "1")
    for name in ("MS_CLIENT_ID", "MS_TENANT_ID"):
        monkeypatch.delenv(name, raising=False)
    at = AppTest.from_file(APP_PATH, default_timeout=30).run()
    assert not at.exception
    assert any("no schema yet" in e.value for e in at.error)
    migrate.upgrade(sqlite_url)  # the migrate job has run: the same server now serves
    at.run()
    assert not at.error and not at.exception
