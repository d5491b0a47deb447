"""In-app notifications: each person reads and clears only their own."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from allocator import services
from allocator.models import Notification, utcnow
from tests import factories as f


@pytest.fixture
def world(session):
    cohort = f.cohort(session, name="MEng 2026/27")
    me, other = f.student(session, cohort), f.student(session, cohort)
    services.notify(session, user_ids=[me.id, other.id], cohort_id=cohort.id, kind="published",
                    subject="Allocation published", body="See **My allocation**.")
    services.notify(session, user_ids=[me.id], cohort_id=None, kind="reminder", subject="Deadline tomorrow")
    # Make the order unambiguous: the reminder is the newer message.
    session.execute(Notification.__table__.update().where(Notification.kind == "published")
                    .values(created_at=utcnow() - timedelta(hours=1)))
    return dict(cohort=cohort, me=me, other=other)


def ids_of(session, user):
    return session.scalars(select(Notification.id).where(Notification.user_id == user.id)
                           .order_by(Notification.id)).all()


def test_notify_writes_one_message_per_person_once(session):
    person = f.user(session)
    assert services.notify(session, user_ids=[person.id, person.id], cohort_id=None, kind="x", subject="Hi") == 1
    assert services.notify(session, user_ids=[], cohort_id=None, kind="x", subject="Hi") == 0


def test_a_person_lists_their_own_messages_newest_first(session, world):
    listing = services.list_notifications(session, actor=f.actor(world["me"]))
    assert [n.subject for n in listing.items] == ["Deadline tomorrow", "Allocation published"]
    assert listing.items[1].cohort_name == "MEng 2026/27" and listing.items[0].cohort_name == ""
    assert listing.unread == 2 and not any(n.is_read for n in listing.items)
    other = services.list_notifications(session, actor=f.actor(world["other"]))
    assert [n.subject for n in other.items] == ["Allocation published"]


def test_mark_read_clears_the_unread_count(session, world):
    actor = f.actor(world["me"])
    first = ids_of(session, world["me"])[0]
    assert services.mark_read(session, actor=actor, notification_ids=[first]) == 1
    assert services.unread_count(session, actor=actor) == 1
    listing = services.list_notifications(session, actor=actor)
    assert {n.id: n.is_read for n in listing.items}[first] is True
    # Marking it again changes nothing.
    assert services.mark_read(session, actor=actor, notification_ids=[first]) == 0


def test_unread_only_hides_read_messages(session, world):
    actor = f.actor(world["me"])
    services.mark_read(session, actor=actor, notification_ids=ids_of(session, world["me"])[:1])
    listing = services.list_notifications(session, actor=actor, unread_only=True)
    assert [n.subject for n in listing.items] == ["Deadline tomorrow"] and listing.unread == 1


def test_nobody_can_mark_someone_elses_message(session, world):
    theirs = ids_of(session, world["other"])
    mine = ids_of(session, world["me"])
    with pytest.raises(services.NotAllowed):
        services.mark_read(session, actor=f.actor(world["me"]), notification_ids=[mine[0], *theirs])
    assert services.unread_count(session, actor=f.actor(world["other"])) == 1
    assert services.unread_count(session, actor=f.actor(world["me"])) == 2


def test_mark_all_read_touches_only_my_messages(session, world):
    assert services.mark_all_read(session, actor=f.actor(world["me"])) == 2
    assert services.unread_count(session, actor=f.actor(world["me"])) == 0
    assert services.unread_count(session, actor=f.actor(world["other"])) == 1


def test_mark_read_refuses_what_is_not_an_id(session, world):
    with pytest.raises(services.Invalid):
        services.mark_read(session, actor=f.actor(world["me"]), notification_ids=["1"])
