"""The pages of issue 16 driven through the real app.py: a student's My group (start, invite, accept,
the shared list with its authors, leave) and the coordinator's People page (group rules, places and
tiers, dissolving a group)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update
from streamlit.testing.v1 import AppTest

from allocator import db, services
from allocator.models import (AllocationRun, Assignment, AuditEvent, Cohort, GroupChange, Membership, Project,
                              StudentGroup, User, utcnow)
from tests import factories as f
from tests.conftest import APP_PATH


@pytest.fixture
def world(app_database):
    with db.session(app_database) as s, s.begin():
        f.admin(s, email="coord@uni.example", name="Casey Coordinator")
        cohort = f.cohort(s, name="MEng 2026/27", phase="preferences", min_choices=1, max_choices=3,
                          groups_allowed=True)
        sup = f.staff(s, cohort, person=f.user(s, email="sup@uni.example", name="Pat Supervisor"))
        ann = f.student(s, cohort, person=f.user(s, email="ann@uni.example", name="Ann Able"))
        bob = f.student(s, cohort, person=f.user(s, email="bob@uni.example", name="Bob Baker"))
        robots = f.project(s, cohort, sup, title="Robot arms", capacity=3)
        f.preferences(s, cohort, ann, [robots])
        return dict(url=app_database, cohort_id=cohort.id, ann=ann.id, bob=bob.id)


def page(path: str, email: str) -> AppTest:
    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.session_state["local_user_email"] = email
    at.run()
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def run(node) -> AppTest:
    at = node.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.title, *at.subheader, *at.markdown, *at.caption, *at.success,
                                           *at.info, *at.warning, *at.error))


def test_a_student_starts_a_group_invites_and_the_invitee_accepts(world):
    at = page("pages/student_group.py", "ann@uni.example")
    assert "You are not in a group." in texts(at)
    at.text_input(key="group-name").input("Robo pair")
    at = run(at.button(key="group-create-submit").click())
    assert "Your group is started" in texts(at) and "Robo pair" in texts(at)
    at.text_input(key="group-invite-email").input("bob@uni.example")
    at = run(at.button(key="group-invite-submit").click())
    assert "Invitation sent to bob@uni.example" in texts(at)
    at.text_input(key="group-invite-email").input("nobody@uni.example")
    at = run(at.button(key="group-invite-submit").click())
    assert "not a student of this cohort" in texts(at)

    bob = page("pages/student_group.py", "bob@uni.example")
    assert "Ann Able** invited you to **Robo pair" in texts(bob)
    accept = [b for b in bob.button if b.key and b.key.startswith("group-accept-")]
    bob = run(accept[0].click())
    assert "You joined Robo pair." in texts(bob)
    assert "Ann Able (ann@uni.example)" in texts(bob) and "joined the group" in texts(bob)
    ranking = next(str(m.value) for m in bob.markdown if str(m.value).startswith("1. "))
    assert ranking.startswith("1. Robot arms  \n   *put here by Ann Able, ")
    prefs = page("pages/student_preferences.py", "bob@uni.example")
    assert any("You rank for your group" in str(i.value) for i in prefs.info)
    bob = page("pages/student_group.py", "bob@uni.example")
    bob = run(bob.button(key="group-leave").click())
    assert "You left the group." in texts(bob) and "You are not in a group." in texts(bob)


def test_the_link_to_the_list_says_edit_only_while_preferences_are_open(world):
    """While groups may form (proposals) the list cannot be edited yet, and after the deadline not at all:
    the link then says See. A group whose history is empty says what will appear there."""
    with db.session(world["url"]) as s, s.begin():
        ann = services.resolve_actor(s, email="ann@uni.example")
        services.create_group(s, actor=ann, cohort_id=world["cohort_id"], name="Robo pair")
        s.execute(delete(GroupChange))

    def link(phase: str) -> list[str]:
        # The preferences window moved around now: not yet open (proposals), open, passed (closed).
        start = {"proposals": 2, "preferences": -1, "closed": -3}[phase]
        with db.session(world["url"]) as s, s.begin():
            day, now = timedelta(days=1), utcnow()
            s.execute(update(Cohort).where(Cohort.id == world["cohort_id"]).values(
                proposals_open_at=now + (start - 3) * day, proposals_close_at=now + (start - 1) * day,
                preferences_open_at=now + start * day, preferences_close_at=now + (start + 2) * day))
        at = page("pages/student_group.py", "ann@uni.example")
        assert "Nothing yet: joins, leaves and changes to the list appear here" in texts(at)
        return [str(e.proto.label) for e in at.get("page_link") if "group's list" in str(e.proto.label)]

    assert link("preferences") == ["Edit the group's list on My preferences"]
    assert link("proposals") == ["See the group's list on My preferences"]
    assert link("closed") == ["See the group's list on My preferences"]


def test_a_cohort_without_groups_says_so(world):
    with db.session(world["url"]) as s, s.begin():
        services.set_group_rules(s, actor=services.resolve_actor(s, email="coord@uni.example"),
                                 cohort_id=world["cohort_id"], groups_allowed=False, group_min_size=2,
                                 group_max_size=4, places_per_student=1)
    at = page("pages/student_group.py", "ann@uni.example")
    assert "does not use groups" in texts(at)


def test_the_coordinator_sets_places_and_tier_and_dissolves_a_group(world):
    with db.session(world["url"]) as s, s.begin():
        ann = services.resolve_actor(s, email="ann@uni.example")
        services.create_group(s, actor=ann, cohort_id=world["cohort_id"], name="Robo pair")
    at = page("pages/admin_people.py", "coord@uni.example")
    assert "1 group(s), 1 student(s) in groups" in texts(at)
    table = next(d.value for d in at.dataframe if "Who" in d.value.columns)
    assert list(table["Group"]) == ["Robo pair"] and list(table["Who"]) == ["Ann Able"]
    at = run(at.button(key="group-dissolve").click())
    assert "Pick the group to dissolve first." in [str(e.value) for e in at.error]
    with db.session(world["url"]) as s:
        gid = s.scalar(select(StudentGroup.id))
    assert gid is not None  # nothing picked, nothing dissolved
    at.selectbox(key="group-dissolve-pick").set_value(gid)
    at.text_input(key="group-dissolve-reason").input("Formed by mistake")
    at = run(at.button(key="group-dissolve").click())
    assert "was dissolved" in texts(at)
    at.selectbox(key="people-pick").set_value(world["bob"])
    at = run(at)
    at.number_input(key=f"people-{world['bob']}-places").set_value(2)
    at.number_input(key=f"people-{world['bob']}-tier").set_value(2)
    at.text_input(key=f"people-{world['bob']}-tier-reason").input("Support plan")
    at = run(at.button(key=f"people-{world['bob']}-save-places").click())
    assert "Saved Bob Baker's places and tier." in texts(at)
    with db.session(world["url"]) as s:
        assert s.scalar(select(StudentGroup.id)) is None
        assert s.execute(select(Membership.places, Membership.tier)
                         .where(Membership.user_id == world["bob"])).one() == (2, 2)
        reasons = s.scalars(select(AuditEvent.detail).where(AuditEvent.action.in_(("people.tier",
                                                                                   "groups.dissolve")))).all()
        assert sorted(r["reason"] for r in reasons) == ["Formed by mistake", "Support plan"]
    at.checkbox(key="rules-allowed").uncheck()
    at = run(at.button(key="FormSubmitter:people-group-rules-Save rules").click())
    assert "Saved the group and places rules." in texts(at)


def test_the_studio_moves_a_group_whole_and_asks_which_place_of_a_student_with_two(world):
    url, cid = world["url"], world["cohort_id"]
    with db.session(url) as s, s.begin():
        admin = f.actor(s.scalar(select(User).where(User.email == "coord@uni.example")))
        sup = s.scalar(select(User).where(User.email == "sup@uni.example"))
        cohort = s.get(Cohort, cid)
        drones = f.project(s, cohort, sup, title="Drones", capacity=3)
        cy = f.student(s, cohort, person=f.user(s, email="cy@uni.example", name="Cy Cole"))
        robots = s.scalar(select(Project).where(Project.title == "Robot arms"))
        f.preferences(s, cohort, cy, [robots, drones])
        services.set_places(s, actor=admin, cohort_id=cid, user_id=cy.id, places=2)
        ann, bob = (f.actor(s.get(User, world[n])) for n in ("ann", "bob"))
        services.create_group(s, actor=ann, cohort_id=cid, name="Duo")
        services.invite_to_group(s, actor=ann, cohort_id=cid, email="bob@uni.example")
        invite = services.my_group(s, actor=bob, cohort_id=cid).received[0]
        services.answer_invitation(s, actor=bob, invitation_id=invite.id, accept=True)
        cohort.phase_override = "closed"
        s.flush()
        run_id = services.run_allocation(s, actor=admin, cohort_id=cid,
                                         params=services.RunParameters(objective="generous")).id
        cy_id, drones_id = cy.id, drones.id
    at = page("pages/admin_studio.py", "coord@uni.example")
    at = run(at.segmented_control(key="studio-view").set_value("See"))
    table = next(d.value for d in at.dataframe if "Group" in d.value.columns)
    together = dict(zip(table["Student"], table["Group"]))
    assert together["Ann Able"] == together["Bob Baker"] and together["Cy Cole"] == ""
    assert sorted(together["Ann Able"].split("; ")) == ["Ann Able", "Bob Baker"]
    at.text_input(key="see-search").input("bob baker")
    at = run(at)
    found = next(d.value for d in at.dataframe if "Group" in d.value.columns)
    assert sorted(found["Student"]) == ["Ann Able", "Bob Baker"]  # a search for one member finds the group
    at = run(at.segmented_control(key="studio-view").set_value("Adjust"))
    at = run(at.selectbox(key="adjust-student").set_value(world["bob"]))
    assert "is in a group of 2 (Bob Baker, Ann Able), which is placed together" in texts(at)
    assert at.button(key="adjust-move").label == "Move the group"
    at = run(at.selectbox(key="adjust-project").set_value(0))
    at = run(at.button(key="adjust-move").click())
    with db.session(url) as s:
        newest = s.scalar(select(AllocationRun.id).order_by(AllocationRun.id.desc()).limit(1))
        rows = dict(s.execute(select(Assignment.student_id, Assignment.project_id)
                              .where(Assignment.run_id == newest)).all())
    assert newest != run_id and rows[world["ann"]] is None and rows[world["bob"]] is None
    at = run(at.selectbox(key="adjust-student").set_value(cy_id))
    assert at.selectbox(key=f"adjust-from-{cy_id}").options  # which of Cy's two places
    at = run(at.selectbox(key="adjust-project").set_value(drones_id))
    assert at.button(key="adjust-move").disabled  # not until the place is named
