"""Coordinators create, rename, archive, copy cohorts and set their dates and rules."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from allocator import services
from allocator.models import AllocationRun, AuditEvent, Cohort, Membership, Project, utcnow
from tests import factories as f


@pytest.fixture
def admin(session):
    return f.actor(f.admin(session))


@pytest.fixture(autouse=True)
def london(monkeypatch):
    monkeypatch.setenv("ALLOCATOR_TIMEZONE", "Europe/London")


def events(session, action):
    return session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_create_rename_archive_unarchive(session, admin):
    view = services.create_cohort(session, actor=admin, name="  MEng   projects 2026/27 ")
    assert view.name == "MEng projects 2026/27" and view.phase == "setup" and not view.archived
    with pytest.raises(services.Invalid, match="already exists"):
        services.create_cohort(session, actor=admin, name="meng projects 2026/27")
    with pytest.raises(services.Invalid, match="name"):
        services.create_cohort(session, actor=admin, name="   ")
    renamed = services.rename_cohort(session, actor=admin, cohort_id=view.id, name="MEng 2026")
    assert renamed.name == "MEng 2026"
    services.archive_cohort(session, actor=admin, cohort_id=view.id)
    assert view.id not in [c.id for c in services.list_cohorts(session, actor=admin)]
    assert view.id in [c.id for c in services.list_cohorts(session, actor=admin, include_archived=True)]
    services.unarchive_cohort(session, actor=admin, cohort_id=view.id)
    assert view.id in [c.id for c in services.list_cohorts(session, actor=admin)]
    assert [len(events(session, a)) for a in ("cohort.create", "cohort.rename", "cohort.archive",
                                              "cohort.unarchive")] == [1, 1, 1, 1]
    assert events(session, "cohort.rename")[0].detail == {"old": "MEng projects 2026/27", "new": "MEng 2026"}


def test_copy_takes_rules_staff_and_live_projects(session, admin):
    source = f.cohort(session, phase="preferences", min_choices=2, max_choices=5, allow_unranked=True,
                      default_objective="greedy", phase_override="closed")
    sup = f.staff(session, source, max_load=4)
    f.student(session, source)
    approved = f.project(session, source, sup, title="Boats", code="B1", tags=["sea"], capacity=3, min_students=1)
    f.project(session, source, sup, title="Kites", status="proposed")
    f.project(session, source, sup, title="Rejected", status="rejected", reject_reason="no")
    f.project(session, source, sup, title="Withdrawn", status="withdrawn")

    copy = services.copy_cohort(session, actor=admin, cohort_id=source.id, name="Next year")
    assert (copy.min_choices, copy.max_choices, copy.allow_unranked, copy.default_objective) == (2, 5, True, "greedy")
    assert copy.preferences_open_at is None and copy.phase_override is None and copy.phase == "setup"
    assert (copy.students, copy.staff) == (0, 1)
    members = session.execute(select(Membership.user_id, Membership.role, Membership.max_load)
                              .where(Membership.cohort_id == copy.id)).all()
    assert members == [(sup.id, "staff", 4)]
    projects = session.execute(select(Project.title, Project.status, Project.code, Project.tags, Project.capacity,
                                      Project.min_students, Project.supervisor_id)
                               .where(Project.cohort_id == copy.id).order_by(Project.title)).all()
    assert projects == [("Boats", "proposed", "B1", ["sea"], 3, 1, sup.id), ("Kites", "proposed", None, [], 2, 0, sup.id)]
    kept = services.copy_cohort(session, actor=admin, cohort_id=source.id, name="Kept", keep_status=True)
    statuses = session.scalars(select(Project.status).where(Project.cohort_id == kept.id)
                               .order_by(Project.title)).all()
    assert statuses == ["approved", "proposed"]
    assert approved.status == "approved"  # the source is untouched
    assert events(session, "cohort.copy")[0].detail["projects"] == 2


def test_dates_are_entered_in_local_time_and_stored_utc(session, admin):
    cohort = f.cohort(session)
    # British Summer Time: 10:00 in London is 09:00 UTC; in January it is 10:00 UTC.
    services.update_cohort_settings(
        session, actor=admin, cohort_id=cohort.id,
        proposals_open_at=datetime(2026, 6, 1, 10, 0), proposals_close_at=datetime(2026, 6, 15, 17, 0),
        preferences_open_at=datetime(2026, 12, 1, 10, 0),
        preferences_close_at=datetime(2026, 12, 8, 12, 0, tzinfo=timezone.utc))
    session.expire_all()
    stored = session.get(Cohort, cohort.id)
    assert stored.proposals_open_at == datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
    assert stored.preferences_open_at == datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
    assert stored.preferences_close_at == datetime(2026, 12, 8, 12, 0, tzinfo=timezone.utc)
    form = services.cohort_settings_form(session, actor=admin, cohort_id=cohort.id)
    assert form.proposals_open_at == datetime(2026, 6, 1, 10, 0) and form.timezone == "Europe/London"
    change = events(session, "cohort.settings")[0].detail["changes"]
    assert change["proposals_open_at"] == [None, "2026-06-01T09:00:00+00:00"]


def test_time_the_clocks_skip_is_refused(session, admin):
    cohort = f.cohort(session)
    with pytest.raises(services.Invalid, match="does not exist"):
        services.update_cohort_settings(session, actor=admin, cohort_id=cohort.id,
                                        proposals_open_at=datetime(2026, 3, 29, 1, 30))


@pytest.mark.parametrize("changes, message", [
    (dict(proposals_open_at=datetime(2026, 6, 2), proposals_close_at=datetime(2026, 6, 1)), "Proposals must close"),
    (dict(preferences_open_at=datetime(2026, 6, 2), preferences_close_at=datetime(2026, 6, 2)),
     "Preferences must close"),
    (dict(proposals_close_at=datetime(2026, 6, 10), preferences_open_at=datetime(2026, 6, 9)),
     "once proposals have closed"),
    (dict(min_choices=5, max_choices=3), r"minimum number of choices \(5\) is more than the maximum \(3\)"),
    (dict(min_choices=-1), "cannot be negative"),
    (dict(max_choices=0, min_choices=0), "between 1 and 50"),
    (dict(max_choices=2.5), "whole number"),
    (dict(default_objective="fastest"), "Unknown objective"),
    (dict(phase_override="whenever"), "Unknown phase"),
    (dict(phase_override="published"), "No allocation has been published"),
])
def test_settings_validation(session, admin, changes, message):
    cohort = f.cohort(session, name="Rules", min_choices=1, max_choices=4)
    with pytest.raises(services.Invalid, match=message):
        services.update_cohort_settings(session, actor=admin, cohort_id=cohort.id, **changes)
    session.expire_all()
    stored = session.get(Cohort, cohort.id)
    assert (stored.min_choices, stored.max_choices, stored.proposals_open_at, stored.phase_override) == (1, 4, None, None)
    assert not events(session, "cohort.settings")


def test_validation_checks_against_stored_values(session, admin):
    cohort = f.cohort(session, min_choices=2, max_choices=4)
    with pytest.raises(services.Invalid, match=r"\(5\) is more than the maximum \(4\)"):
        services.update_cohort_settings(session, actor=admin, cohort_id=cohort.id, min_choices=5)


def test_rules_override_and_phase(session, admin):
    cohort = f.cohort(session, phase="proposals")
    view = services.update_cohort_settings(
        session, actor=admin, cohort_id=cohort.id, min_choices=1, max_choices=6, allow_unranked=True,
        default_objective="min-cost", auto_approve=True, responses_locked=True, name="Renamed here")
    assert (view.min_choices, view.max_choices, view.allow_unranked, view.default_objective, view.auto_approve,
            view.responses_locked, view.name, view.phase) == (1, 6, True, "min-cost", True, True, "Renamed here",
                                                              "proposals")
    view = services.update_cohort_settings(session, actor=admin, cohort_id=cohort.id, phase_override="preferences")
    assert view.phase == "preferences"
    view = services.update_cohort_settings(session, actor=admin, cohort_id=cohort.id, phase_override=None)
    assert view.phase == "proposals"
    # Dates follow "now": moving the close into the past closes proposals.
    view = services.update_cohort_settings(session, actor=admin, cohort_id=cohort.id,
                                           proposals_close_at=utcnow() - timedelta(minutes=1))
    assert view.phase == "setup"


def test_published_override_once_a_run_is_published(session, admin):
    cohort = f.cohort(session)
    session.add(AllocationRun(cohort_id=cohort.id, objective="greedy", status="optimal", published_at=utcnow()))
    session.flush()
    view = services.update_cohort_settings(session, actor=admin, cohort_id=cohort.id, phase_override="published")
    assert view.phase == "published"


def test_unknown_cohort(session, admin):
    with pytest.raises(services.NotFound):
        services.rename_cohort(session, actor=admin, cohort_id=999999, name="x")


ADMIN_ONLY = [
    lambda s, a, c: services.create_cohort(s, actor=a, name="Mine"),
    lambda s, a, c: services.rename_cohort(s, actor=a, cohort_id=c.id, name="Mine"),
    lambda s, a, c: services.archive_cohort(s, actor=a, cohort_id=c.id),
    lambda s, a, c: services.unarchive_cohort(s, actor=a, cohort_id=c.id),
    lambda s, a, c: services.copy_cohort(s, actor=a, cohort_id=c.id, name="Mine"),
    lambda s, a, c: services.update_cohort_settings(s, actor=a, cohort_id=c.id, max_choices=9),
    lambda s, a, c: services.cohort_settings_form(s, actor=a, cohort_id=c.id),
]


@pytest.mark.parametrize("role", ["student", "staff"])
def test_students_and_staff_are_refused(session, role):
    cohort = f.cohort(session)
    person = f.member(session, cohort, role)
    for call in ADMIN_ONLY:
        with pytest.raises(services.NotAllowed):
            call(session, f.actor(person), cohort)
    assert session.get(Cohort, cohort.id).max_choices == 8
    assert not session.scalars(select(AuditEvent)).all()
