"""Backup and restore of a cohort with groups, several places and tiers (issue 16): what comes back, the
allocation a re-run gives, an older backup without these keys, and the tampering a restore refuses."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from allocator import services
from allocator.models import (Assignment, Cohort, GroupChange, GroupChoice, GroupInvitation, GroupMember, Membership,
                              Project, StudentGroup, User)
from tests import factories as f
from tests.conftest import BACKENDS
from tests.services.test_group_runs import World

DAMAGED = "damaged or was edited by hand"


@pytest.fixture
def world(session):
    return World(session)


def state(session, cohort_id) -> dict:
    """Everything of issue 16 in a cohort, by email and title (no ids), to compare two cohorts."""
    session.expire_all()
    cohort = session.get(Cohort, cohort_id)
    settings = (cohort.groups_allowed, cohort.group_min_size, cohort.group_max_size, cohort.places_per_student)
    people = {e: (p, t) for e, p, t in session.execute(
        select(User.email, Membership.places, Membership.tier).join(Membership, Membership.user_id == User.id)
        .where(Membership.cohort_id == cohort_id))}
    groups = {}
    for g in session.scalars(select(StudentGroup).where(StudentGroup.cohort_id == cohort_id)):
        members = session.scalars(select(User.email).join(GroupMember, GroupMember.user_id == User.id)
                                  .where(GroupMember.group_id == g.id).order_by(GroupMember.joined_at)).all()
        ranking = session.execute(select(Project.title, User.email).join(GroupChoice, GroupChoice.project_id == Project.id)
                                  .outerjoin(User, User.id == GroupChoice.changed_by_id)
                                  .where(GroupChoice.group_id == g.id).order_by(GroupChoice.rank)).all()
        invited = session.execute(select(GroupInvitation.email, GroupInvitation.status)
                                  .where(GroupInvitation.group_id == g.id).order_by(GroupInvitation.email)).all()
        history = session.scalars(select(GroupChange.description).where(GroupChange.group_id == g.id)
                                  .order_by(GroupChange.created_at, GroupChange.id)).all()
        groups[g.name] = (members, [tuple(r) for r in ranking], [tuple(i) for i in invited], history)
    return dict(settings=settings, people=people, groups=groups)


def allocation(session, run_id) -> list[tuple]:
    return sorted(session.execute(
        select(User.email, Project.title).join(Assignment, Assignment.student_id == User.id)
        .outerjoin(Project, Project.id == Assignment.project_id).where(Assignment.run_id == run_id)).all(),
        key=lambda r: (r[0], r[1] or ""))


def rerun(session, admin, cohort_id):
    return services.run_allocation(session, actor=admin, cohort_id=cohort_id,
                                   params=services.RunParameters(objective="generous"))


def comparable(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    doc.pop("exported_at")
    doc["cohort"].pop("name")
    doc["cohort"].pop("created_at")
    return doc


def test_groups_places_and_tiers_come_back_in_the_same_database(session, world):
    before = allocation(session, world.run().id)
    data = services.backup_cohort(session, actor=world.admin, cohort_id=world.cohort.id)
    doc = json.loads(data)
    trio = doc["groups"][0]
    assert [m["email"] for m in trio["members"]] == [world.people[n].email for n in ("Ann", "Bo", "Cy")]
    assert [row[0] for row in trio["ranking"]] == ["p1", "p2"] and len(trio["invitations"]) == 2
    assert {p["email"]: (p["places"], p["tier"]) for p in doc["people"]}[world.people["Max"].email] == (2, 1)
    assert doc["cohort"]["settings"]["groups_allowed"] is True
    assert '"id"' not in json.dumps(doc["groups"]), "a backup holds no database id"
    result = services.restore_cohort(session, actor=world.admin, data=data, name="Groups copy")
    assert state(session, result.cohort_id) == state(session, world.cohort.id)
    assert state(session, result.cohort_id)["groups"]["Trio"][0] == [world.people[n].email for n in ("Ann", "Bo", "Cy")]
    again = services.backup_cohort(session, actor=world.admin, cohort_id=result.cohort_id)
    assert comparable(json.loads(again)) == comparable(doc)
    assert allocation(session, rerun(session, world.admin, result.cohort_id).id) == before


# Each backend's backup restored into each backend's fresh database.
@pytest.mark.parametrize("fresh_database", BACKENDS, indirect=True)
def test_groups_places_and_tiers_come_back_in_a_fresh_database(session, world, fresh_database):
    from allocator import db

    before = allocation(session, world.run().id)
    expected = state(session, world.cohort.id)
    data = services.backup_cohort(session, actor=world.admin, cohort_id=world.cohort.id)
    with db.session(fresh_database) as other, other.begin():
        boss = f.actor(f.admin(other, email="boss@uni.example"))
        result = services.restore_cohort(other, actor=boss, data=data, name="Elsewhere")
        assert state(other, result.cohort_id) == expected
        again = services.backup_cohort(other, actor=boss, cohort_id=result.cohort_id)
        assert comparable(json.loads(again)) == comparable(json.loads(data))
    # A run starts its own transaction (PostgreSQL's snapshot is set by its first statement).
    with db.session(fresh_database) as other, other.begin():
        assert allocation(other, rerun(other, boss, result.cohort_id).id) == before


def test_a_backup_from_before_groups_restores_with_the_defaults(session, world):
    doc = json.loads(services.backup_cohort(session, actor=world.admin, cohort_id=world.cohort.id))
    doc.pop("groups")
    for key in ("groups_allowed", "group_min_size", "group_max_size", "places_per_student"):
        doc["cohort"]["settings"].pop(key)
    for person in doc["people"]:
        person.pop("places")
        person.pop("tier")
    result = services.restore_cohort(session, actor=world.admin, data=json.dumps(doc).encode(), name="Old file")
    restored = state(session, result.cohort_id)
    assert restored["settings"] == (False, 2, 4, 1) and restored["groups"] == {}
    assert set(restored["people"].values()) == {(None, 1)} and len(restored["people"]) == len(doc["people"])


def _second_group(doc, email):
    doc["groups"].append(dict(name="Duo", created_by=None, created_at=None, members=[
        dict(email=email, joined_at=None)], ranking=[], invitations=[], history=[]))


def _outsider_in_group(doc):
    """Someone the file names who is not in the cohort (a former supervisor, say) put into a group."""
    doc["other_people"].append(dict(email="former@uni.example", name="Former"))
    doc["groups"][0]["members"].append(dict(email="former@uni.example", joined_at=None))


def _person(doc, email) -> dict:
    return next(p for p in doc["people"] if p["email"] == email)


@pytest.mark.parametrize("change, message", [
    (lambda d, w: _second_group(d, w.people["Bo"].email), r"groups\[1\].members\[0\].email is in two groups"),
    (lambda d, w: d["groups"][0]["members"].append(dict(email="nobody@uni.example", joined_at=None)),
     r"groups\[0\].members\[3\].email names a member of the cohort the file does not list"),
    (lambda d, w: _person(d, w.people["Max"].email).update(places=0), r"people\[\d+\].places should be a whole"),
    (lambda d, w: _person(d, w.people["Tia"].email).update(tier="x"), r"people\[\d+\].tier should be a whole"),
    (lambda d, w: d["cohort"]["settings"].update(group_max_size=2), r"groups\[0\].members with the pending"),
    (lambda d, w: d["groups"][0]["invitations"].append(dict(
        email="dee@uni.example", status="pending", invited_by=None, created_at=None, answered_at=None)),
     r"groups\[0\].members with the pending invitations are more than the cohort's largest group \(3\)"),
    (lambda d, w: _person(d, w.people["Ann"].email).update(places=2), "has several places"),
    (lambda d, w: d["cohort"]["settings"].update(places_per_student=2), "in a cohort that allows groups"),
    (lambda d, w: d["cohort"]["settings"].update(group_min_size=5), r"cohort.settings.group_max_size"),
    (lambda d, w: _outsider_in_group(d),      r"members\[3\].email names a member of the cohort the file does not list"),
    (lambda d, w: d["groups"][0]["invitations"][0].update(email="Not An Email"), r"invitations\[0\].email"),
    (lambda d, w: d["groups"][0]["ranking"].append(["p99", None, None]), r"groups\[0\].ranking\[2\] names a project"),
    (lambda d, w: d["groups"][0]["ranking"].append(list(d["groups"][0]["ranking"][0])), r"ranking\[2\] appears twice"),
    (lambda d, w: d["groups"][0].update(members=[]), r"groups\[0\].members is empty"),
    (lambda d, w: d["groups"][0]["invitations"][0].update(status="maybe"), r"invitations\[0\].status"),
    (lambda d, w: d["groups"][0].update(name=""), r"groups\[0\].name is empty"),
    (lambda d, w: d["groups"][0].update(id=7), r"groups\[0\].id is not part of a backup"),
])
def test_tampered_groups_are_refused(session, world, change, message):
    doc = json.loads(services.backup_cohort(session, actor=world.admin, cohort_id=world.cohort.id))
    change(doc, world)
    counted = (Cohort, User, StudentGroup, GroupMember, GroupChoice, Membership)
    before = [session.scalar(select(func.count()).select_from(m)) for m in counted]
    with pytest.raises(services.Invalid, match=message) as err:
        services.restore_cohort(session, actor=world.admin, data=json.dumps(doc).encode(), name="Tampered")
    assert DAMAGED in str(err.value) and "Nothing was restored" in str(err.value)
    assert [session.scalar(select(func.count()).select_from(m)) for m in counted] == before
