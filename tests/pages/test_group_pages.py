"""The pages of issue 16 driven through the real app.py: a student's My group (start, invite, accept,
the shared list with its authors, leave) and the coordinator's People page (group rules, places and
tiers, dissolving a group)."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from allocator import db, services
from allocator.models import AuditEvent, Membership, StudentGroup
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
    ranking = bob.dataframe[0].value
    assert list(ranking["Project"]) == ["Robot arms"] and list(ranking["Put here by"]) == ["Ann Able"]
    prefs = page("pages/student_preferences.py", "bob@uni.example")
    assert any("You rank for your group" in str(i.value) for i in prefs.info)
    bob = page("pages/student_group.py", "bob@uni.example")
    bob = run(bob.button(key="group-leave").click())
    assert "You left the group." in texts(bob) and "You are not in a group." in texts(bob)


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
    assert "Robo pair" in texts(at) and "1 group(s), 1 student(s) in groups" in texts(at)
    gid = next(int(b.key.split("-")[1]) for b in at.button if b.key and b.key.endswith("-dissolve"))
    at.text_input(key=f"group-{gid}-reason").input("Formed by mistake")
    at = run(at.button(key=f"group-{gid}-dissolve").click())
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
