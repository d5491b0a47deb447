"""Publishing a run, notifying students, responses, and re-running for the declined."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from allocator.models import AllocationRun, Assignment, AuditEvent, Notification
from allocator.services import (
    Closed,
    Invalid,
    NotAllowed,
    deliver_publication,
    get_my_allocation,
    list_declined,
    mark_emailed,
    move_student,
    publish_run,
    rerun_declined,
    respond_to_allocation,
    set_responses_locked,
)
from allocator.services.cohorts import published_run_id
from tests import factories as f
from tests.services.test_allocation import World


@pytest.fixture
def world(session, monkeypatch):
    for name in ("SMTP_HOST", "SMTP_FROM", "APP_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALLOCATOR_SECRETS", "/nonexistent/secrets.toml")
    return World(session)


def test_publishing_makes_one_run_the_published_one_and_notifies_everyone(world):
    one, two = world.run(seed=1), world.run(seed=2)
    report = publish_run(world.session, actor=world.actor, run_id=one.id)
    assert published_run_id(world.session, world.cohort.id) == one.id
    assert report.in_app_only and len(report.emails) == 6
    notes = world.session.scalars(select(Notification).where(Notification.kind == "allocation.published")).all()
    assert sorted(n.user_id for n in notes) == sorted(s.id for s in world.students)
    staff_notes = world.session.scalars(select(Notification.user_id)
                                        .where(Notification.kind == "allocation.published.staff")).all()
    assert set(staff_notes) <= {world.ann.id, world.bob.id} and world.ann.id in staff_notes
    # Publishing another run moves the flag: only one is ever published.
    publish_run(world.session, actor=world.actor, run_id=two.id)
    flags = dict(world.session.execute(select(AllocationRun.id, AllocationRun.published_at)).all())
    assert flags[one.id] is None and flags[two.id] is not None
    assert world.session.get(AllocationRun, two.id).published_by_id == world.admin.id
    with pytest.raises(Invalid, match="already the published"):
        publish_run(world.session, actor=world.actor, run_id=two.id)
    # The student sees the published run at once.
    mine = get_my_allocation(world.session, actor=f.actor(world.students[0]), cohort_id=world.cohort.id)
    placed = world.placement(two.id)[world.students[0].id]
    assert mine.run_id == two.id and mine.project_id == placed


def test_each_email_names_the_students_own_project(world):
    view = world.run()
    report = publish_run(world.session, actor=world.actor, run_id=view.id)
    titles = {world.a.id: "Alpha", world.b.id: "Beta", world.c.id: "Gamma"}
    placement = world.placement(view.id)
    by_user = {e.user_id: e.email for e in report.emails}
    for s in world.students:
        mail = by_user[s.id]
        assert mail.to == s.email and titles[placement[s.id]] in mail.text and s.name in mail.text


def test_an_infeasible_run_cannot_be_published(world):
    bad = world.run(pins=[(s.id, world.a.id, "") for s in world.students[:3]])
    with pytest.raises(Invalid, match="infeasible"):
        publish_run(world.session, actor=world.actor, run_id=bad.id)


def test_without_smtp_settings_delivery_is_in_app_only(world):
    view = world.run()
    report = publish_run(world.session, actor=world.actor, run_id=view.id)
    delivery = deliver_publication(report)
    assert delivery.in_app_only and delivery.sent == 0 and "in the app only" in delivery.summary


def test_mark_emailed_sets_the_time_on_the_publication_notices(world):
    view = world.run()
    publish_run(world.session, actor=world.actor, run_id=view.id)
    ids = [s.id for s in world.students[:2]]
    assert mark_emailed(world.session, actor=world.actor, cohort_id=world.cohort.id, user_ids=ids) == 2
    emailed = world.session.scalars(select(Notification.user_id).where(Notification.emailed_at.is_not(None))).all()
    assert sorted(emailed) == sorted(ids)


def test_locking_responses_stops_students_answering(world):
    view = world.run()
    publish_run(world.session, actor=world.actor, run_id=view.id)
    assert set_responses_locked(world.session, actor=world.actor, cohort_id=world.cohort.id, locked=True)
    with pytest.raises(Closed):
        respond_to_allocation(world.session, actor=f.actor(world.students[0]), cohort_id=world.cohort.id,
                              accept=False)
    set_responses_locked(world.session, actor=world.actor, cohort_id=world.cohort.id, locked=False)
    respond_to_allocation(world.session, actor=f.actor(world.students[0]), cohort_id=world.cohort.id, accept=True)
    actions = world.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("responses.%"))).all()
    assert actions == ["responses.locked", "responses.unlocked"]


def test_declines_are_listed_with_reasons_and_rerun_keeps_everyone_else(world):
    base = world.run(capacity_overrides={world.b.id: 4}, supervisor_capacity_overrides={world.ann.id: None})
    publish_run(world.session, actor=world.actor, run_id=base.id)
    before = world.placement(base.id)
    decliner = next(s for s in world.students if before[s.id] == world.a.id)
    respond_to_allocation(world.session, actor=f.actor(decliner), cohort_id=world.cohort.id, accept=False,
                          reason="I have changed my mind about Alpha")
    accepter = next(s for s in world.students if s.id != decliner.id)
    respond_to_allocation(world.session, actor=f.actor(accepter), cohort_id=world.cohort.id, accept=True)
    responses = list_declined(world.session, actor=world.actor, cohort_id=world.cohort.id)
    assert (responses.accepted, responses.declined, responses.pending) == (1, 1, 4)
    [row] = responses.declined_rows
    assert (row.student_id, row.project_title) == (decliner.id, "Alpha")
    assert row.reason == "I have changed my mind about Alpha"

    again = rerun_declined(world.session, actor=world.actor, cohort_id=world.cohort.id)
    assert again.kind == "rerun-declined" and again.parent_run_id == base.id and again.status == "optimal"
    after = world.placement(again.id)
    assert after[decliner.id] != world.a.id
    assert {s: p for s, p in after.items() if s != decliner.id} == {s: p for s, p in before.items() if s != decliner.id}
    pinned = dict(world.session.execute(select(Assignment.student_id, Assignment.pinned)
                                        .where(Assignment.run_id == again.id)).all())
    assert not pinned[decliner.id] and all(pinned[s] for s in before if s != decliner.id and before[s])
    audit = world.session.scalars(select(AuditEvent).where(AuditEvent.action == "allocation.rerun_declined")).one()
    assert audit.detail["declined"][0]["reason"] == "I have changed my mind about Alpha"


def test_rerun_needs_a_published_run_with_declines(world):
    with pytest.raises(Invalid, match="Nothing is published"):
        rerun_declined(world.session, actor=world.actor, cohort_id=world.cohort.id)
    publish_run(world.session, actor=world.actor, run_id=world.run().id)
    with pytest.raises(Invalid, match="Nobody has declined"):
        rerun_declined(world.session, actor=world.actor, cohort_id=world.cohort.id)


@pytest.mark.parametrize("service", ["publish_run", "mark_emailed", "set_responses_locked", "list_declined",
                                     "rerun_declined"])
def test_students_and_staff_are_refused(world, service):
    run_id = world.run().id
    c = world.cohort.id
    calls = {
        "publish_run": lambda a: publish_run(world.session, actor=a, run_id=run_id),
        "mark_emailed": lambda a: mark_emailed(world.session, actor=a, cohort_id=c, user_ids=[a.user_id]),
        "set_responses_locked": lambda a: set_responses_locked(world.session, actor=a, cohort_id=c, locked=True),
        "list_declined": lambda a: list_declined(world.session, actor=a, cohort_id=c),
        "rerun_declined": lambda a: rerun_declined(world.session, actor=a, cohort_id=c),
    }
    for person in (world.students[0], world.ann):
        with pytest.raises(NotAllowed):
            calls[service](f.actor(person))
    assert published_run_id(world.session, c) is None and not world.cohort.responses_locked


# ------------------------------------------------------------------------------------------ republishing


def _published_notes(world, student) -> list[Notification]:
    return list(world.session.scalars(select(Notification).where(
        Notification.user_id == student.id, Notification.kind == "allocation.published").order_by(Notification.id)))


def _answer(world, student, accept: bool, reason: str = "") -> None:
    respond_to_allocation(world.session, actor=f.actor(student), cohort_id=world.cohort.id, accept=accept,
                          reason=reason)


def test_republishing_after_a_rerun_for_decliners_keeps_every_unchanged_answer(world):
    base = world.run(capacity_overrides={world.b.id: 4}, supervisor_capacity_overrides={world.ann.id: None})
    publish_run(world.session, actor=world.actor, run_id=base.id)
    before = world.placement(base.id)
    decliner = next(s for s in world.students if before[s.id] == world.a.id)
    accepter = next(s for s in world.students if s.id != decliner.id and before[s.id] is not None)
    _answer(world, decliner, False, "not Alpha")
    _answer(world, accepter, True)

    again = rerun_declined(world.session, actor=world.actor, cohort_id=world.cohort.id)
    report = publish_run(world.session, actor=world.actor, run_id=again.id)
    assert (report.changed, report.answers_kept) == (1, 1)

    after = world.placement(again.id)
    assert after[decliner.id] not in (None, world.a.id)  # placed, and not on the project they declined
    responses = list_declined(world.session, actor=world.actor, cohort_id=world.cohort.id)
    assert (responses.run_id, responses.accepted, responses.declined) == (again.id, 1, 0)
    assert responses.pending == sum(1 for p in after.values() if p is not None) - 1
    mine = get_my_allocation(world.session, actor=f.actor(accepter), cohort_id=world.cohort.id)
    assert mine.run_id == again.id and mine.accepted is True
    theirs = get_my_allocation(world.session, actor=f.actor(decliner), cohort_id=world.cohort.id)
    assert theirs.accepted is None and theirs.can_respond  # a new project: asked again
    # Only the student whose project changed hears about it again, and is told what changed.
    assert [e.user_id for e in report.emails] == [decliner.id]
    for s in world.students:
        assert len(_published_notes(world, s)) == (2 if s.id == decliner.id else 1), s.name
    news = _published_notes(world, decliner)[-1]
    titles = {world.a.id: "Alpha", world.b.id: "Beta", world.c.id: "Gamma"}
    assert "changed" in news.subject and "Alpha" in news.body and titles[after[decliner.id]] in news.body
    email = report.emails[0].email
    assert "Alpha" in email.text and titles[after[decliner.id]] in email.text


def test_republishing_a_manual_move_asks_only_the_moved_student_again(world):
    base = world.run(capacity_overrides={world.b.id: 3})
    publish_run(world.session, actor=world.actor, run_id=base.id)
    before = world.placement(base.id)
    for s in world.students:
        if before[s.id] is not None:
            _answer(world, s, s.id != world.students[0].id, "")
    mover = next(s for s in world.students if before[s.id] == world.a.id)
    moved = move_student(world.session, actor=world.actor, run_id=base.id, student_id=mover.id,
                         project_id=world.b.id)
    report = publish_run(world.session, actor=world.actor, run_id=moved.id)
    assert [e.user_id for e in report.emails] == [mover.id]
    for s in world.students:
        mine = get_my_allocation(world.session, actor=f.actor(s), cohort_id=world.cohort.id)
        if s.id == mover.id:
            assert mine.accepted is None
        elif before[s.id] is not None:
            assert mine.accepted is (s.id != world.students[0].id), s.name
    # Publishing the first run back: the mover's project changes again (asked again, told again); an
    # answer the mover gave on the moved run does not leak back into the first run's placement.
    _answer(world, mover, True)
    report = publish_run(world.session, actor=world.actor, run_id=base.id)
    assert [e.user_id for e in report.emails] == [mover.id]
    assert get_my_allocation(world.session, actor=f.actor(mover), cohort_id=world.cohort.id).accepted is None
    assert len(_published_notes(world, mover)) == 3
    assert all(len(_published_notes(world, s)) == 1 for s in world.students if s.id != mover.id)


def test_a_decline_that_would_leave_a_project_below_its_minimum_is_still_re_placed(world):
    base = world.run(capacity_overrides={world.b.id: 4}, supervisor_capacity_overrides={world.ann.id: None})
    before = world.placement(base.id)
    on_gamma = [s for s in world.students if before[s.id] == world.c.id]
    assert len(on_gamma) == 2  # Gamma runs with its minimum of 2
    publish_run(world.session, actor=world.actor, run_id=base.id)
    ranks_beta = {world.students[i].id for i in (0, 1, 2, 4, 5)}  # Beta has room for whoever ranks it
    decliner = next(s for s in on_gamma if s.id in ranks_beta)
    _answer(world, decliner, False, "not Gamma")
    again = rerun_declined(world.session, actor=world.actor, cohort_id=world.cohort.id)
    # Pinning Gamma's other student alone would break its minimum: that student is re-placed too.
    assert again.feasible
    after = world.placement(again.id)
    assert after[decliner.id] not in (None, world.c.id)
    moved = {s for s in before if before[s] != after[s]}
    assert moved <= {s.id for s in on_gamma}


def test_a_decliner_is_told_their_higher_choice_is_the_one_they_declined(world):
    from allocator.services import explain_for_student

    base = world.run(capacity_overrides={world.b.id: 4}, supervisor_capacity_overrides={world.ann.id: None})
    publish_run(world.session, actor=world.actor, run_id=base.id)
    before = world.placement(base.id)
    decliner = next(s for s in world.students if before[s.id] == world.a.id)
    _answer(world, decliner, False)
    publish_run(world.session, actor=world.actor,
                run_id=rerun_declined(world.session, actor=world.actor, cohort_id=world.cohort.id).id)
    lines = explain_for_student(world.session, actor=f.actor(decliner), cohort_id=world.cohort.id)
    assert lines[0] == "Alpha (your 1st choice) is the project you declined."
