"""Every rule the database holds is refused by the database itself, on each backend."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from allocator.models import (AllocationRun, Assignment, Cohort, Membership, Preference, Project, Response, User,
                              utcnow)
from tests import factories as f


def refused(session, statement):
    """Run `statement` in a savepoint and assert the database rejects it."""
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            session.execute(statement)


@pytest.fixture
def world(session):
    cohort = f.cohort(session)
    other = f.cohort(session)
    stu = f.student(session, cohort)
    sup = f.staff(session, cohort)
    p1, p2 = f.project(session, cohort, sup), f.project(session, cohort, sup)
    foreign = f.project(session, other)
    return dict(cohort=cohort, other=other, student=stu, supervisor=sup, p1=p1, p2=p2, foreign=foreign)


def test_user_email_is_unique_and_lowercase(session):
    f.user(session, email="a@uni.example")
    refused(session, insert(User).values(email="a@uni.example", name="Twin", is_admin=False, active=True,
                                         created_at=utcnow()))
    refused(session, insert(User).values(email="Upper@uni.example", name="U", is_admin=False, active=True,
                                         created_at=utcnow()))


def test_cohort_name_unique_and_choice_limits(session):
    c = f.cohort(session, name="MEng 2026")
    refused(session, insert(Cohort).values(name="MEng 2026", archived=False, min_choices=1, max_choices=3,
                                           allow_unranked=False, default_objective="greedy", auto_approve=False,
                                           responses_locked=False, created_at=utcnow()))
    refused(session, update(Cohort).where(Cohort.id == c.id).values(min_choices=-1))
    refused(session, update(Cohort).where(Cohort.id == c.id).values(min_choices=5, max_choices=4))
    refused(session, update(Cohort).where(Cohort.id == c.id).values(max_choices=0, min_choices=0))
    refused(session, update(Cohort).where(Cohort.id == c.id).values(default_objective="fastest"))
    refused(session, update(Cohort).where(Cohort.id == c.id).values(phase_override="whenever"))


def test_cohort_windows_are_ordered(session):
    c = f.cohort(session)
    now = utcnow()
    refused(session, update(Cohort).where(Cohort.id == c.id).values(
        preferences_open_at=now, preferences_close_at=now - timedelta(hours=1)))
    refused(session, update(Cohort).where(Cohort.id == c.id).values(
        proposals_open_at=now, proposals_close_at=now - timedelta(hours=1)))


def test_membership_unique_role_known(session, world):
    refused(session, insert(Membership).values(cohort_id=world["cohort"].id, user_id=world["student"].id,
                                               role="staff", created_at=utcnow()))
    u = f.user(session)
    refused(session, insert(Membership).values(cohort_id=world["cohort"].id, user_id=u.id, role="guest",
                                               created_at=utcnow()))
    refused(session, insert(Membership).values(cohort_id=world["cohort"].id, user_id=u.id, role="staff",
                                               max_load=-1, created_at=utcnow()))
    refused(session, insert(Membership).values(cohort_id=world["cohort"].id, user_id=999999, role="student",
                                               created_at=utcnow()))


def test_project_capacity_minimum_status(session, world):
    pid = world["p1"].id
    refused(session, update(Project).where(Project.id == pid).values(capacity=-1, min_students=0))
    refused(session, update(Project).where(Project.id == pid).values(capacity=2, min_students=3))
    refused(session, update(Project).where(Project.id == pid).values(min_students=-1))
    refused(session, update(Project).where(Project.id == pid).values(status="maybe"))
    refused(session, update(Project).where(Project.id == pid).values(title=""))
    refused(session, insert(Project).values(cohort_id=999999, title="Orphan", description="", capacity=1,
                                            min_students=0, tags=[], status="approved", created_at=utcnow(),
                                            updated_at=utcnow()))


def test_project_code_unique_within_cohort(session, world):
    session.execute(update(Project).where(Project.id == world["p1"].id).values(code="P1"))
    refused(session, update(Project).where(Project.id == world["p2"].id).values(code="P1"))
    # The same code in another cohort is fine.
    session.execute(update(Project).where(Project.id == world["foreign"].id).values(code="P1"))


def _pref(world, **kw):
    values = dict(cohort_id=world["cohort"].id, student_id=world["student"].id, project_id=world["p1"].id, rank=1)
    values.update(kw)
    return insert(Preference).values(**values)


def test_preference_rules(session, world):
    session.execute(_pref(world))
    refused(session, _pref(world, project_id=world["p2"].id))  # rank 1 twice
    refused(session, _pref(world, rank=2))  # the same project twice
    refused(session, _pref(world, project_id=world["p2"].id, rank=0))  # rank >= 1


def test_preference_project_must_be_in_the_cohort(session, world):
    refused(session, _pref(world, project_id=world["foreign"].id))


def test_preference_student_must_be_a_member(session, world):
    outsider = f.user(session)
    refused(session, _pref(world, student_id=outsider.id))


def test_preferences_go_with_membership(session, world):
    session.execute(_pref(world))
    session.execute(delete(Membership).where(Membership.user_id == world["student"].id))
    assert session.scalar(select(Preference.id).where(Preference.student_id == world["student"].id)) is None


def _run(session, world, **kw):
    values = dict(cohort_id=world["cohort"].id, kind="solve", objective="greedy", status="optimal", label="",
                  students=0, record={},
                  solver="flow", seconds=0.1, profile=[], message="", created_at=utcnow())
    values.update(kw)
    return session.execute(insert(AllocationRun).values(**values)).inserted_primary_key[0]


def test_run_objective_status_and_kind(session, world):
    values = dict(cohort_id=world["cohort"].id, kind="solve", objective="greedy", status="optimal", label="",
                  students=0, record={}, solver="", seconds=0, profile=[], message="", created_at=utcnow())
    for bad in (dict(objective="fast"), dict(status="done"), dict(kind="guess"), dict(students=-1)):
        refused(session, insert(AllocationRun).values(**{**values, **bad}))


def test_assignment_rules(session, world):
    run = _run(session, world)
    ok = dict(run_id=run, student_id=world["student"].id, project_id=world["p1"].id, rank=1, pinned=False,
              manual=False)
    session.execute(insert(Assignment).values(**ok))
    refused(session, insert(Assignment).values(**ok))  # one line per student per run
    other = f.student(session, world["cohort"])
    refused(session, insert(Assignment).values(**{**ok, "student_id": other.id, "rank": 0}))
    refused(session, insert(Assignment).values(**{**ok, "student_id": other.id, "project_id": None, "rank": 2}))
    refused(session, insert(Assignment).values(**{**ok, "student_id": other.id, "project_id": 999999}))


def test_allocated_project_cannot_be_deleted_alone(session, world):
    run = _run(session, world)
    session.execute(insert(Assignment).values(run_id=run, student_id=world["student"].id,
                                              project_id=world["p1"].id, rank=1, pinned=False, manual=False))
    refused(session, delete(Project).where(Project.id == world["p1"].id))


def test_deleting_a_cohort_takes_its_runs_and_projects(session, world):
    run = _run(session, world)
    session.execute(insert(Assignment).values(run_id=run, student_id=world["student"].id,
                                              project_id=world["p1"].id, rank=1, pinned=False, manual=False))
    session.execute(delete(Cohort).where(Cohort.id == world["cohort"].id))
    assert session.scalar(select(Project.id).where(Project.id == world["p1"].id)) is None
    assert session.scalar(select(Assignment.id).where(Assignment.run_id == run)) is None


def test_response_one_per_student_per_run(session, world):
    run = _run(session, world)
    values = dict(run_id=run, student_id=world["student"].id, accepted=True, reason="", responded_at=utcnow())
    session.execute(insert(Response).values(**values))
    refused(session, insert(Response).values(**values))


def test_datetimes_come_back_in_utc(session):
    c = f.cohort(session, phase="preferences")
    session.expire_all()
    again = session.get(Cohort, c.id)
    assert again.preferences_close_at.tzinfo is not None
    assert again.preferences_close_at.utcoffset() == timedelta(0)
