"""Models and migrations never drift, and every migration goes down as well as up."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect

from allocator import migrate
from allocator.models import Base
from tests.conftest import BACKENDS


@pytest.mark.parametrize("fresh_database", BACKENDS, indirect=True)
def test_round_trip_and_no_drift(fresh_database):
    url = fresh_database  # already at head
    migrate.check(url)
    migrate.downgrade(url, "base")
    engine = create_engine(url)
    with engine.connect() as conn:
        left = set(inspect(conn).get_table_names()) - {"alembic_version"}
    assert left == set()
    migrate.upgrade(url)
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert set(Base.metadata.tables) <= tables
    migrate.check(url)


def test_app_brings_an_empty_database_to_head(tmp_path):
    from allocator import bootstrap

    url = f"sqlite:///{tmp_path / 'new.db'}"
    bootstrap.prepare_database(url, seed_demo=False)
    migrate.check(url)
