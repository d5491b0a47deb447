"""A student's published allocation and their accept or decline."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from allocator import domain, services
from allocator.models import AllocationRun, Assignment, AuditEvent, Response, utcnow
from tests import factories as f


def run(session, cohort, assignments, *, published=True, when=None):
    """An allocation run as the allocation service would write it: {student: (project or None, rank)}."""
    row = AllocationRun(cohort_id=cohort.id, objective="generous", status="optimal",
                        published_at=(when or utcnow()) if published else None)
    session.add(row)
    session.flush()
    for student, (project, rank) in assignments.items():
        session.add(Assignment(run_id=row.id, student_id=student.id, project_id=project.id if project else None,
                               rank=rank))
    session.flush()
    return row


def responses(session, student):
    return session.execute(select(Response.run_id, Response.accepted, Response.reason)
                           .where(Response.student_id == student.id)).all()


@pytest.fixture
def world(session):
    cohort = f.cohort(session, phase="closed")
    sup = f.staff(session, cohort, person=f.user(session, name="Grace Hopper", email="grace@uni.example"))
    stu = f.student(session, cohort)
    a, b, c = (f.project(session, cohort, sup, title=t) for t in ("Alpha", "Beta", "Gamma"))
    f.preferences(session, cohort, stu, [a, b, c])
    return dict(cohort=cohort, sup=sup, student=stu, a=a, b=b, c=c, actor=f.actor(stu))


def mine(session, w):
    return services.get_my_allocation(session, actor=w["actor"], cohort_id=w["cohort"].id)


def respond(session, w, accept, reason=""):
    return services.respond_to_allocation(session, actor=w["actor"], cohort_id=w["cohort"].id, accept=accept,
                                          reason=reason)


def test_before_publication_there_is_nothing_to_see(session, world):
    run(session, world["cohort"], {world["student"]: (world["a"], 1)}, published=False)
    view = mine(session, world)
    assert not view.published and not view.placed and view.project_title == "" and not view.can_respond
    assert view.choices == 3


def test_after_publication_the_student_sees_project_supervisor_and_rank(session, world):
    r = run(session, world["cohort"], {world["student"]: (world["b"], 2)})
    view = mine(session, world)
    assert view.published and view.placed and view.run_id == r.id
    assert (view.project_title, view.supervisor_name, view.supervisor_email, view.rank) == \
        ("Beta", "Grace Hopper", "grace@uni.example", 2)
    assert view.accepted is None and view.can_respond


def test_the_newest_published_run_counts_and_unpublished_runs_are_ignored(session, world):
    now = utcnow()
    run(session, world["cohort"], {world["student"]: (world["c"], 3)}, when=now - timedelta(hours=2))
    run(session, world["cohort"], {world["student"]: (world["b"], 2)}, when=now - timedelta(hours=1))
    run(session, world["cohort"], {world["student"]: (world["a"], 1)}, published=False)
    assert mine(session, world).project_title == "Beta"


def test_a_student_placed_on_an_unranked_project_sees_no_rank(session, world):
    extra = f.project(session, world["cohort"], world["sup"], title="Delta")
    run(session, world["cohort"], {world["student"]: (extra, None)})
    view = mine(session, world)
    assert view.project_title == "Delta" and view.rank is None


def test_accept_records_the_answer(session, world):
    r = run(session, world["cohort"], {world["student"]: (world["a"], 1)})
    view = respond(session, world, True)
    assert view.accepted is True and view.responded_at is not None
    assert responses(session, world["student"]) == [(r.id, True, "")]


def test_decline_with_a_reason_replaces_an_earlier_accept(session, world):
    r = run(session, world["cohort"], {world["student"]: (world["a"], 1)})
    respond(session, world, True)
    view = respond(session, world, False, "  I am going on exchange.  ")
    assert view.accepted is False and view.reason == "I am going on exchange."
    assert responses(session, world["student"]) == [(r.id, False, "I am going on exchange.")]


def test_responding_is_audited(session, world):
    run(session, world["cohort"], {world["student"]: (world["a"], 1)})
    respond(session, world, False, "Clash")
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == world["student"].id)).all()
    assert actions == ["allocation.declined"]


def test_responding_before_publication_is_refused(session, world):
    run(session, world["cohort"], {world["student"]: (world["a"], 1)}, published=False)
    with pytest.raises(services.Closed, match="not been published"):
        respond(session, world, True)
    assert responses(session, world["student"]) == []


def test_responding_after_the_coordinator_locks_responses_is_refused(session, world):
    run(session, world["cohort"], {world["student"]: (world["a"], 1)})
    respond(session, world, True)
    world["cohort"].responses_locked = True
    session.flush()
    assert not mine(session, world).can_respond
    with pytest.raises(services.Closed, match="locked"):
        respond(session, world, False, "Changed my mind")
    assert [a for _, a, _ in responses(session, world["student"])] == [True]


def test_an_unplaced_student_has_nothing_to_answer(session, world):
    run(session, world["cohort"], {world["student"]: (None, None)})
    view = mine(session, world)
    assert view.published and not view.placed and not view.can_respond
    with pytest.raises(services.Invalid, match="no project"):
        respond(session, world, True)


def test_a_student_missing_from_the_run_has_nothing_to_answer(session, world):
    other = f.student(session, world["cohort"])
    run(session, world["cohort"], {other: (world["a"], None)})
    assert not mine(session, world).placed
    with pytest.raises(services.Invalid):
        respond(session, world, True)


def test_a_very_long_reason_is_refused(session, world):
    run(session, world["cohort"], {world["student"]: (world["a"], 1)})
    with pytest.raises(services.Invalid, match="reason"):
        respond(session, world, False, "x" * (domain.RESPONSE_REASON_MAX + 1))
    assert responses(session, world["student"]) == []


def test_staff_cannot_see_or_answer_as_a_student(session, world):
    run(session, world["cohort"], {world["student"]: (world["a"], 1)})
    staff = f.actor(world["sup"])
    with pytest.raises(services.NotAllowed):
        services.get_my_allocation(session, actor=staff, cohort_id=world["cohort"].id)
    with pytest.raises(services.NotAllowed):
        services.respond_to_allocation(session, actor=staff, cohort_id=world["cohort"].id, accept=False)


def test_a_non_member_cannot_answer(session, world):
    run(session, world["cohort"], {world["student"]: (world["a"], 1)})
    outsider = f.actor(f.student(session, f.cohort(session)))
    with pytest.raises(services.NotAllowed):
        services.respond_to_allocation(session, actor=outsider, cohort_id=world["cohort"].id, accept=True)


def test_a_student_sees_and_answers_only_for_themselves(session, world):
    other = f.student(session, world["cohort"])
    run(session, world["cohort"], {world["student"]: (world["a"], 1), other: (world["c"], 1)})
    respond(session, world, False, "No")
    assert mine(session, world).project_title == "Alpha"
    assert responses(session, other) == []
    other_view = services.get_my_allocation(session, actor=f.actor(other), cohort_id=world["cohort"].id)
    assert other_view.project_title == "Gamma" and other_view.accepted is None


# --- a decline reaches the coordinators ------------------------------------------------------------------

def coordinator_messages(session, person):
    from allocator.models import Notification
    return session.execute(select(Notification.kind, Notification.subject, Notification.body)
                           .where(Notification.user_id == person.id)).all()


def test_a_decline_notifies_every_active_coordinator_in_the_app(session, world):
    boss = f.admin(session, name="Cora Coordinator")
    retired = f.admin(session, name="Old Coordinator", active=False)
    run(session, world["cohort"], {world["student"]: (world["b"], 2)})
    respond(session, world, True)
    assert coordinator_messages(session, boss) == []  # accepting tells nobody
    respond(session, world, False, "I am going on exchange.")
    [(kind, subject, body)] = coordinator_messages(session, boss)
    assert kind == services.DECLINED_KIND
    assert world["student"].name in subject and "declined" in subject
    assert "“Beta”" in body and "I am going on exchange." in body and world["student"].email in body
    assert coordinator_messages(session, retired) == []
    assert coordinator_messages(session, world["student"]) == []


def test_a_decline_without_a_reason_says_so(session, world):
    boss = f.admin(session)
    run(session, world["cohort"], {world["student"]: (world["a"], 1)})
    respond(session, world, False)
    [(_, _, body)] = coordinator_messages(session, boss)
    assert "They gave no reason." in body


def test_the_decline_email_goes_after_the_commit_and_not_after_a_rollback(fresh_database, monkeypatch):
    from allocator import db
    from tests.test_mail import Sink, free_port
    from aiosmtpd.controller import Controller

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        for name, value in (("SMTP_HOST", "127.0.0.1"), ("SMTP_PORT", str(controller.port)),
                            ("SMTP_FROM", "Project Allocator <noreply@uni.example>"), ("SMTP_STARTTLS", "false")):
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("ALLOCATOR_SECRETS", "/nonexistent/secrets.toml")
        with db.session(fresh_database) as s, s.begin():
            cohort = f.cohort(s, phase="closed", name="MEng 2026/27")
            sup = f.staff(s, cohort)
            stu = f.student(s, cohort, person=f.user(s, name="Zoë Student", email="zoe@uni.example"))
            project = f.project(s, cohort, sup, title="Robots")
            f.admin(s, name="Cora", email="cora@uni.example")
            run(s, cohort, {stu: (project, 1)})
            w = dict(actor=f.actor(stu), cohort=cohort)
        with db.session(fresh_database) as s:
            with pytest.raises(RuntimeError), s.begin():
                respond(s, w, False, "changed my mind")
                raise RuntimeError("the page failed after the answer: the transaction rolls back")
        assert sink.envelopes == []
        with db.session(fresh_database) as s, s.begin():
            respond(s, w, False, "I am going on exchange.")
        [message] = sink.messages()
        assert message["To"] == "cora@uni.example"
        assert "Zoë Student declined their project in MEng 2026/27" == message["Subject"]
        text = message.get_body(("plain",)).get_content()
        assert "“Robots”" in text and "I am going on exchange." in text
    finally:
        controller.stop()
