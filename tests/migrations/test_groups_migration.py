"""Migration 0005 (groups, places, tiers): an existing database gains the defaults, the new constraints
hold, and the downgrade refuses to lose groups or a second placement unless told (issue 16)."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from allocator import migrate
from tests.conftest import BACKENDS


def _seed_at_0004(conn) -> None:
    conn.execute(text("INSERT INTO users (id, email, name, is_admin, active, created_at) VALUES "
                      "(1, 'a@x.example', 'A', false, true, CURRENT_TIMESTAMP), "
                      "(2, 'b@x.example', 'B', false, true, CURRENT_TIMESTAMP)"))
    conn.execute(text("INSERT INTO cohorts (id, name, archived, min_choices, max_choices, allow_unranked, "
                      "default_objective, auto_approve, responses_locked, created_at) VALUES "
                      "(1, 'C', false, 1, 3, false, 'generous', false, false, CURRENT_TIMESTAMP)"))
    conn.execute(text("INSERT INTO memberships (id, cohort_id, user_id, role, created_at) VALUES "
                      "(1, 1, 1, 'student', CURRENT_TIMESTAMP), (2, 1, 2, 'student', CURRENT_TIMESTAMP)"))
    conn.execute(text("INSERT INTO projects (id, cohort_id, title, description, capacity, min_students, tags, "
                      "status, created_at, updated_at) VALUES (1, 1, 'P', '', 2, 0, '[]', 'approved', "
                      "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP), (2, 1, 'Q', '', 2, 0, '[]', 'approved', "
                      "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"))
    conn.execute(text("INSERT INTO allocation_runs (id, cohort_id, kind, created_at, label, objective, students, "
                      "record, status, solver, seconds, profile, message) VALUES (1, 1, 'solve', CURRENT_TIMESTAMP, "
                      "'', 'generous', 2, '{}', 'optimal', 'x', 0, '[1]', '')"))
    conn.execute(text("INSERT INTO assignments (run_id, student_id, project_id, pinned, manual) VALUES "
                      "(1, 1, 1, false, false)"))


@pytest.mark.parametrize("fresh_database", BACKENDS, indirect=True)
def test_upgrade_keeps_rows_with_defaults_and_downgrade_refuses_data_loss(fresh_database):
    url = fresh_database
    migrate.downgrade(url, "0004")
    engine = create_engine(url)
    with engine.begin() as conn:
        _seed_at_0004(conn)
    migrate.upgrade(url)
    with engine.begin() as conn:
        assert conn.execute(text("SELECT groups_allowed, group_min_size, group_max_size, places_per_student "
                                 "FROM cohorts")).one() == (False, 2, 4, 1)
        assert conn.execute(text("SELECT places, tier FROM memberships WHERE id = 1")).one() == (None, 1)
        # A second placement of the same student is now allowed; the same project twice is not.
        conn.execute(text("INSERT INTO assignments (run_id, student_id, project_id, pinned, manual) "
                          "VALUES (1, 1, 2, false, false)"))
        conn.execute(text("INSERT INTO student_groups (id, cohort_id, name, created_at) "
                          "VALUES (1, 1, 'G', CURRENT_TIMESTAMP)"))
        conn.execute(text("INSERT INTO group_members (group_id, cohort_id, user_id, joined_at) "
                          "VALUES (1, 1, 1, CURRENT_TIMESTAMP)"))
    for bad in ("INSERT INTO assignments (run_id, student_id, project_id, pinned, manual) "
                "VALUES (1, 1, 2, false, false)",
                "INSERT INTO group_members (group_id, cohort_id, user_id, joined_at) "
                "VALUES (1, 1, 1, CURRENT_TIMESTAMP)",
                "UPDATE memberships SET tier = 0 WHERE id = 2",
                "UPDATE cohorts SET group_min_size = 5, group_max_size = 3"):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(bad))
    engine.dispose()
    with pytest.raises(RuntimeError, match="1 student groups and 1 placements"):
        migrate.downgrade(url, "0004")
    migrate.downgrade(url, "0004", allow_data_loss=True)
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT student_id, project_id FROM assignments")).all() == [(1, 1)]
    engine.dispose()
    migrate.upgrade(url)
    migrate.check(url)
