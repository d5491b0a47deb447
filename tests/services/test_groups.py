"""Groups that apply together: forming, inviting, answering, ranking together, leaving, dissolving, and
every refusal (issue 16)."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from allocator import services
from allocator.models import AuditEvent, GroupMember, Notification, Preference, StudentGroup
from allocator.services import Closed, Invalid, NotAllowed, NotFound
from tests import factories as f
from tests.queries import counted


class World:
    def __init__(self, session, *, allowed: bool = True, max_size: int = 3, phase: str = "preferences"):
        self.session = session
        self.cohort = f.cohort(session, phase=phase, min_choices=1, max_choices=4, groups_allowed=allowed,
                               group_min_size=2, group_max_size=max_size)
        self.admin = f.admin(session)
        self.sup = f.staff(session, self.cohort)
        self.projects = [f.project(session, self.cohort, self.sup, title=f"Project {i}", capacity=3)
                         for i in range(4)]
        self.ada, self.ben, self.cy, self.dee = (f.student(session, self.cohort, person=f.user(session, name=n))
                                                 for n in ("Ada", "Ben", "Cy", "Dee"))

    def act(self, fn, who, **kw):
        return fn(self.session, actor=f.actor(who), **kw)

    def group_of_three(self):
        f.preferences(self.session, self.cohort, self.ada, self.projects[:2])
        self.act(services.create_group, self.ada, cohort_id=self.cohort.id, name="Team A")
        for who in (self.ben, self.cy):
            self.act(services.invite_to_group, self.ada, cohort_id=self.cohort.id, email=who.email)
            view = self.act(services.my_group, who, cohort_id=self.cohort.id)
            self.act(services.answer_invitation, who, invitation_id=view.received[0].id, accept=True)
        return self.act(services.my_group, self.ada, cohort_id=self.cohort.id)


def own_list(session, cohort, who) -> list[int]:
    return list(session.scalars(select(Preference.project_id).where(
        Preference.cohort_id == cohort.id, Preference.student_id == who.id).order_by(Preference.rank)))


def test_three_students_form_a_group_and_share_the_creators_list(session):
    w = World(session)
    f.preferences(session, w.cohort, w.ben, [w.projects[3]])
    view = w.group_of_three()
    assert [m.name for m in view.members] == ["Ada", "Ben", "Cy"]
    assert [c.project_id for c in view.ranking] == [w.projects[0].id, w.projects[1].id]
    # Joining replaced Ben's own list with the group's.
    for who in (w.ada, w.ben, w.cy):
        assert own_list(session, w.cohort, who) == [w.projects[0].id, w.projects[1].id]
    assert {n.text for n in view.history} >= {"created the group “Team A”", "joined the group", "invited Ben"}
    invited = session.scalars(select(Notification.subject).where(Notification.user_id == w.ben.id)).all()
    assert any("invited you" in s for s in invited)


def test_any_member_edits_the_ranking_attributed_and_seen_by_all(session):
    w = World(session)
    w.group_of_three()
    ids = [w.projects[2].id, w.projects[0].id]
    services.save_preferences(session, actor=f.actor(w.cy), cohort_id=w.cohort.id, project_ids=ids)
    for who in (w.ada, w.ben, w.cy):
        assert own_list(session, w.cohort, who) == ids
    view = w.act(services.my_group, w.ben, cohort_id=w.cohort.id)
    assert [(c.project_id, c.changed_by) for c in view.ranking] == [(ids[0], "Cy"), (ids[1], "Cy")]
    assert view.history[0].who == "Cy" and "added “Project 2”" in view.history[0].text
    # A row that keeps its project at its rank keeps its author.
    services.save_preferences(session, actor=f.actor(w.ada), cohort_id=w.cohort.id, project_ids=ids + [w.projects[3].id])
    view = w.act(services.my_group, w.ben, cohort_id=w.cohort.id)
    assert [c.changed_by for c in view.ranking] == ["Cy", "Cy", "Ada"]
    assert w.act(services.get_preferences, w.ben, cohort_id=w.cohort.id).group_name == "Team A"


def test_declining_an_invitation_and_being_asked_again(session):
    w = World(session)
    w.act(services.create_group, w.ada, cohort_id=w.cohort.id, name="Team A")
    w.act(services.invite_to_group, w.ada, cohort_id=w.cohort.id, email=w.ben.email)
    invite = w.act(services.my_group, w.ben, cohort_id=w.cohort.id).received[0]
    w.act(services.answer_invitation, w.ben, invitation_id=invite.id, accept=False)
    assert w.act(services.my_group, w.ben, cohort_id=w.cohort.id).group_id is None
    with pytest.raises(Invalid, match="already declined"):
        w.act(services.answer_invitation, w.ben, invitation_id=invite.id, accept=True)
    w.act(services.invite_to_group, w.ada, cohort_id=w.cohort.id, email=w.ben.email.upper())
    assert w.act(services.my_group, w.ben, cohort_id=w.cohort.id).received[0].status == "pending"


def test_refusals_when_inviting(session):
    w = World(session, max_size=2)
    other = f.cohort(session, phase="preferences")
    outsider = f.student(session, other)
    with pytest.raises(NotAllowed, match="member of a group"):
        w.act(services.invite_to_group, w.ada, cohort_id=w.cohort.id, email=w.ben.email)
    w.act(services.create_group, w.ada, cohort_id=w.cohort.id, name="Team A")
    with pytest.raises(Invalid, match="not a student of this cohort"):
        w.act(services.invite_to_group, w.ada, cohort_id=w.cohort.id, email=outsider.email)
    with pytest.raises(Invalid, match="not a student of this cohort"):
        w.act(services.invite_to_group, w.ada, cohort_id=w.cohort.id, email=w.sup.email)
    w.act(services.create_group, w.cy, cohort_id=w.cohort.id, name="Team C")
    with pytest.raises(Invalid, match="already in a group"):
        w.act(services.invite_to_group, w.ada, cohort_id=w.cohort.id, email=w.cy.email)
    w.act(services.invite_to_group, w.ada, cohort_id=w.cohort.id, email=w.ben.email)
    with pytest.raises(Invalid, match="already invited"):
        w.act(services.invite_to_group, w.ada, cohort_id=w.cohort.id, email=w.ben.email)
    with pytest.raises(Invalid, match="at most 2"):
        w.act(services.invite_to_group, w.ada, cohort_id=w.cohort.id, email=w.dee.email)
    with pytest.raises(NotAllowed):
        w.act(services.invite_to_group, outsider, cohort_id=w.cohort.id, email=w.dee.email)


def test_refusals_when_answering_and_creating(session):
    w = World(session)
    w.act(services.create_group, w.ada, cohort_id=w.cohort.id, name="Team A")
    with pytest.raises(Invalid, match="already in a group"):
        w.act(services.create_group, w.ada, cohort_id=w.cohort.id, name="Another")
    with pytest.raises(Invalid, match="name"):
        w.act(services.create_group, w.ben, cohort_id=w.cohort.id, name="   ")
    w.act(services.invite_to_group, w.ada, cohort_id=w.cohort.id, email=w.ben.email)
    invite = w.act(services.my_group, w.ben, cohort_id=w.cohort.id).received[0]
    with pytest.raises(NotFound):  # not the invitee
        w.act(services.answer_invitation, w.cy, invitation_id=invite.id, accept=True)
    w.act(services.create_group, w.ben, cohort_id=w.cohort.id, name="Team B")
    with pytest.raises(Invalid, match="already in a group"):
        w.act(services.answer_invitation, w.ben, invitation_id=invite.id, accept=True)


def test_a_student_with_several_places_cannot_be_grouped(session):
    w = World(session)
    w.act(services.set_places, w.admin, cohort_id=w.cohort.id, user_id=w.ben.id, places=2)
    w.act(services.create_group, w.ada, cohort_id=w.cohort.id, name="Team A")
    with pytest.raises(Invalid, match="several places"):
        w.act(services.invite_to_group, w.ada, cohort_id=w.cohort.id, email=w.ben.email)
    with pytest.raises(Invalid, match="one place"):
        w.act(services.set_places, w.admin, cohort_id=w.cohort.id, user_id=w.ada.id, places=2)


@pytest.mark.parametrize("phase", ["closed"])
def test_groups_not_allowed_or_closed(session, phase):
    w = World(session, allowed=False)
    with pytest.raises(NotAllowed, match="does not allow groups"):
        w.act(services.create_group, w.ada, cohort_id=w.cohort.id, name="Team A")
    assert w.act(services.my_group, w.ada, cohort_id=w.cohort.id).can_change is False
    shut = World(session, phase=phase)
    with pytest.raises(Closed):
        shut.act(services.create_group, shut.ada, cohort_id=shut.cohort.id, name="Team A")


def test_leaving_keeps_the_list_and_the_last_one_out_deletes_the_group(session):
    w = World(session)
    view = w.group_of_three()
    w.act(services.leave_group, w.ben, cohort_id=w.cohort.id)
    assert own_list(session, w.cohort, w.ben) == [w.projects[0].id, w.projects[1].id]
    services.save_preferences(session, actor=f.actor(w.ben), cohort_id=w.cohort.id, project_ids=[w.projects[3].id])
    assert own_list(session, w.cohort, w.ada) == [w.projects[0].id, w.projects[1].id]
    with pytest.raises(Invalid, match="not in a group"):
        w.act(services.leave_group, w.ben, cohort_id=w.cohort.id)
    w.act(services.leave_group, w.ada, cohort_id=w.cohort.id)
    w.act(services.leave_group, w.cy, cohort_id=w.cohort.id)
    assert session.get(StudentGroup, view.group_id) is None


def test_listing_the_groups_takes_the_same_queries_for_one_group_or_many(session):
    w = World(session)
    w.group_of_three()
    session.expire_all()
    with counted(session) as one:
        first = w.act(services.list_groups, w.admin, cohort_id=w.cohort.id)
    for i in range(12):
        lead, *others = (f.student(session, w.cohort) for _ in range(2))
        w.act(services.create_group, lead, cohort_id=w.cohort.id, name=f"Team {i:02}")
        w.act(services.invite_to_group, lead, cohort_id=w.cohort.id, email=others[0].email)
    session.expire_all()
    with counted(session) as many:
        groups = w.act(services.list_groups, w.admin, cohort_id=w.cohort.id)
    assert len(many) == len(one), "\n".join(many)
    assert [(g.name, len(g.members), g.choices, g.pending) for g in first] == [("Team A", 3, 2, 0)]
    assert [(g.name, len(g.members), g.pending) for g in groups][:2] == [("Team 00", 1, 1), ("Team 01", 1, 1)]
    assert [m.name for m in groups[-1].members] == ["Ada", "Ben", "Cy"]  # in the order they joined


def test_groups_are_listed_by_name_with_their_numbers_in_order(session):
    w = World(session)
    for name, who in (("Team 10", w.ada), ("team 2", w.ben), ("Team 1", w.cy), ("Alpha", w.dee)):
        w.act(services.create_group, who, cohort_id=w.cohort.id, name=name)
    listed = w.act(services.list_groups, w.admin, cohort_id=w.cohort.id)
    assert [g.name for g in listed] == ["Alpha", "Team 1", "team 2", "Team 10"]


def test_the_coordinator_lists_and_dissolves_a_group_audited_and_members_told(session):
    w = World(session)
    view = w.group_of_three()
    with pytest.raises(NotAllowed):
        w.act(services.list_groups, w.ada, cohort_id=w.cohort.id)
    with pytest.raises(NotAllowed):
        w.act(services.dissolve_group, w.ada, group_id=view.group_id)
    groups = w.act(services.list_groups, w.admin, cohort_id=w.cohort.id)
    assert [(g.name, len(g.members), g.choices) for g in groups] == [("Team A", 3, 2)]
    w.act(services.dissolve_group, w.admin, group_id=view.group_id, reason="Too many groups on one topic")
    assert session.get(StudentGroup, view.group_id) is None
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "groups.dissolve")).one()
    assert event.detail["reason"] == "Too many groups on one topic"
    assert sorted(event.detail["user_id"]) == sorted([w.ada.id, w.ben.id, w.cy.id])
    told = session.scalars(select(Notification.user_id).where(Notification.kind == "group.dissolved")).all()
    assert sorted(told) == sorted([w.ada.id, w.ben.id, w.cy.id])
    assert own_list(session, w.cohort, w.cy) == [w.projects[0].id, w.projects[1].id]
    with pytest.raises(NotFound):
        w.act(services.dissolve_group, w.admin, group_id=view.group_id)


def test_the_database_holds_one_group_per_student_per_cohort(session):
    w = World(session)
    view = w.act(services.create_group, w.ada, cohort_id=w.cohort.id, name="Team A")
    other = StudentGroup(cohort_id=w.cohort.id, name="Team B")
    session.add(other)
    session.flush()
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(GroupMember(group_id=other.id, cohort_id=w.cohort.id, user_id=w.ada.id))
        session.flush()
    foreign = f.cohort(session)
    with pytest.raises(IntegrityError), session.begin_nested():  # a member of another cohort's group
        session.add(GroupMember(group_id=view.group_id, cohort_id=foreign.id, user_id=w.ben.id))
        session.flush()


def test_the_largest_group_size_cannot_go_below_a_group_that_exists(session):
    """Otherwise the cohort breaks its own rule, and its backup would be refused on restore."""
    w = World(session, max_size=4)
    w.group_of_three()
    w.act(services.invite_to_group, w.ada, cohort_id=w.cohort.id, email=w.dee.email)  # 3 members + 1 pending
    for smaller in (3, 2):
        with pytest.raises(Invalid, match="already has 4 people"):
            w.act(services.set_group_rules, w.admin, cohort_id=w.cohort.id, groups_allowed=True, group_min_size=2,
                  group_max_size=smaller, places_per_student=1)
    session.refresh(w.cohort)
    assert w.cohort.group_max_size == 4
    rules = w.act(services.set_group_rules, w.admin, cohort_id=w.cohort.id, groups_allowed=True, group_min_size=2,
                  group_max_size=4, places_per_student=1)
    assert rules.group_max_size == 4
