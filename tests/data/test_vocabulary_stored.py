"""The domain's words go into the migrated database as the strings stored before `allocator.domain`
existed, and come back as those strings: no migration was needed, on either backend."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from allocator import domain
from allocator.domain import Objective, ProjectStatus
from allocator.models import AllocationRun, Cohort, Membership, Project
from tests import factories as f
from tests.test_domain import CHECKED_COLUMNS


@pytest.mark.parametrize("table, constraint, words", CHECKED_COLUMNS)
def test_the_migrated_check_constraints_allow_exactly_the_vocabulary(session, table, constraint, words):
    checks = inspect(session.connection()).get_check_constraints(table)
    sql = next(c["sqltext"] for c in checks if c["name"].endswith(constraint))
    assert set(re.findall(r"'([^']*)'", sql)) == set(words)


def test_members_are_written_and_read_back_as_the_stored_strings(session):
    cohort = f.cohort(session)
    sup = f.staff(session, cohort)
    project = f.project(session, cohort, sup)
    for status in ProjectStatus:
        project.status = status
        session.flush()
        raw = session.execute(text("SELECT status FROM projects WHERE id = :id"), {"id": project.id}).scalar_one()
        assert type(raw) is str and raw == status.value
        assert session.scalar(select(Project.id).where(Project.status == status)) == project.id
    for objective in Objective:
        session.execute(update(Cohort).where(Cohort.id == cohort.id).values(default_objective=objective))
        raw = session.execute(text("SELECT default_objective FROM cohorts WHERE id = :id"),
                              {"id": cohort.id}).scalar_one()
        assert raw == objective.value
    role = session.scalar(select(Membership.role).where(Membership.user_id == sup.id))
    assert type(role) is str and role == domain.Role.STAFF


def test_defaults_are_the_stored_strings(session):
    cohort = f.cohort(session)
    session.expire_all()
    assert session.get(Cohort, cohort.id).default_objective == "generous"
    project = Project(cohort_id=cohort.id, title="Plain")
    session.add(project)
    session.flush()
    assert type(project.status) is str and project.status == "proposed"
    run = AllocationRun(cohort_id=cohort.id, objective=Objective.GREEDY, status="optimal")
    session.add(run)
    session.flush()
    assert type(run.kind) is str and run.kind == "solve"


def test_a_word_outside_the_vocabulary_is_refused_by_the_database(session):
    project = f.project(session, f.cohort(session))
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            session.execute(update(Project).where(Project.id == project.id).values(status="archived"))
