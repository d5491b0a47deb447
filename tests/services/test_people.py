"""A cohort's people: CSV import (preview, apply), listing, roles, removal, coordinators, reminders."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from allocator import services
from allocator.models import AuditEvent, Membership, Notification, Preference, User
from tests import factories as f


@pytest.fixture
def world(session):
    cohort = f.cohort(session, phase="preferences", name="People cohort")
    me = f.admin(session, email="coord@uni.example", name="Coordinator")
    return dict(cohort=cohort, admin=f.actor(me), me=me)


def people(session, cohort_id) -> dict[str, tuple[str, str, int | None]]:
    session.expire_all()
    return {email: (name, role, load) for email, name, role, load in session.execute(
        select(User.email, User.name, Membership.role, Membership.max_load)
        .join(Membership, Membership.user_id == User.id).where(Membership.cohort_id == cohort_id))}


def preview(session, w, data, **kw):
    return services.preview_people_import(session, actor=w["admin"], cohort_id=w["cohort"].id, data=data, **kw)


def apply(session, w, data, **kw):
    return services.apply_people_import(session, actor=w["admin"], cohort_id=w["cohort"].id, data=data, **kw)


def test_clean_file_preview_then_apply(session, world):
    c = world["cohort"]
    existing = f.student(session, c, person=f.user(session, email="old@uni.example", name="Old Name"))
    f.staff(session, c, person=f.user(session, email="same@uni.example", name="Same Person"))
    f.user(session, email="elsewhere@uni.example", name="Has Account")
    data = (b"email,name,role\n"
            b"new@uni.example,New Student,student\n"
            b"old@uni.example,New Name,staff\n"
            b"same@uni.example,Same Person,staff\n"
            b"elsewhere@uni.example,,student\n")
    report = preview(session, world, data)
    assert report.ok and report.summary == "2 to add, 1 to change, 1 unchanged"
    assert [(i.line, i.key) for i in report.added] == [(2, "new@uni.example"), (5, "elsewhere@uni.example")]
    assert report.added[0].changes == ("new account",)
    assert report.changed[0].changes == ("name: Old Name → New Name", "role: student → staff")
    assert people(session, c.id) == {"old@uni.example": ("Old Name", "student", None),
                                     "same@uni.example": ("Same Person", "staff", None)}  # preview wrote nothing
    result = apply(session, world, data)
    assert (result.added, result.changed, result.unchanged, result.skipped) == (2, 1, 1, 0)
    assert people(session, c.id) == {
        "new@uni.example": ("New Student", "student", None), "old@uni.example": ("New Name", "staff", None),
        "same@uni.example": ("Same Person", "staff", None), "elsewhere@uni.example": ("Has Account", "student", None)}
    assert existing.id == session.scalar(select(User.id).where(User.email == "old@uni.example"))
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "people.import")).one()
    assert event.detail["added"] == 2 and event.detail["accounts_created"] == 1
    # Importing the same file again changes nothing.
    assert preview(session, world, data).summary == "0 to add, 0 to change, 4 unchanged"


def test_unicode_names_bom_and_crlf(session, world):
    data = ("\ufeffEmail,Name,Role\r\nzoe@uni.example,Zoë Ångström,student\r\n"
            "li@uni.example,李小龙,staff\r\nnour@uni.example,نور الهدى,student\r\n").encode("utf-8")
    apply(session, world, data)
    assert people(session, world["cohort"].id) == {
        "zoe@uni.example": ("Zoë Ångström", "student", None), "li@uni.example": ("李小龙", "staff", None),
        "nour@uni.example": ("نور الهدى", "student", None)}


def test_every_bad_row_is_reported_and_nothing_is_written(session, world):
    c = world["cohort"]
    ranked = f.student(session, c, person=f.user(session, email="ranked@uni.example", name="Ranked"))
    f.preferences(session, c, ranked, [f.project(session, c)])
    sup = f.staff(session, c, person=f.user(session, email="sup@uni.example", name="Sup"))
    f.project(session, c, sup)
    data = (b"email,name,role\n"
            b"good@uni.example,Good,student\n"          # 2
            b"bad-address,Bad,student\n"                 # 3 bad email
            b"good@uni.example,Good Twin,student\n"      # 4 duplicate
            b"odd@uni.example,Odd,wizard\n"              # 5 unknown role
            b"noname@uni.example,,student\n"             # 6 no name for a new account
            b"ranked@uni.example,Ranked,staff\n"         # 7 student with preferences → staff
            b"sup@uni.example,Sup,student\n")   # 8 supervisor → student
    report = preview(session, world, data)
    assert [i.key for i in report.added] == ["good@uni.example"]
    reasons = {e.line: e.message for e in report.rejected}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8]
    assert "bad email" in reasons[3]
    assert "duplicate" in reasons[4] and "line 2" in reasons[4]
    assert "unknown role “wizard”" in reasons[5]
    assert "missing name" in reasons[6]
    assert "has ranked 1 project" in reasons[7]
    assert "supervises 1 project" in reasons[8]
    before = people(session, c.id)
    with pytest.raises(services.Invalid, match=r"6 row\(s\) .* rejected \(line 3, 4, 5, 6, 7, 8\); nothing was imported"):
        apply(session, world, data)
    assert people(session, c.id) == before
    assert session.scalar(select(func.count()).select_from(User).where(User.email == "good@uni.example")) == 0
    result = apply(session, world, data, valid_rows_only=True)
    assert (result.added, result.skipped) == (1, 6)
    assert people(session, c.id)["good@uni.example"] == ("Good", "student", None)


def test_a_file_that_is_not_csv_is_invalid(session, world):
    with pytest.raises(services.Invalid, match="Excel"):
        preview(session, world, b"PK\x03\x04....")
    with pytest.raises(services.Invalid, match="no “role” column"):
        preview(session, world, b"email,name\na@uni.example,A\n")


def test_default_role_and_max_load(session, world):
    c = world["cohort"]
    data = b"email,name,max_load\nsup1@uni.example,Sup One,4\nsup2@uni.example,Sup Two,\n"
    apply(session, world, data, default_role="staff")
    assert people(session, c.id) == {"sup1@uni.example": ("Sup One", "staff", 4),
                                     "sup2@uni.example": ("Sup Two", "staff", None)}
    report = preview(session, world, b"email,name,max_load\nsup1@uni.example,Sup One,6\n", default_role="staff")
    assert report.changed[0].changes == ("max load: 4 → 6",)


def test_five_thousand_rows(session, world):
    c = world["cohort"]
    rows = [f"s{i:05d}@uni.example,Student Nummer {i} Ødegård,student" for i in range(4900)]
    rows += [f"t{i:03d}@uni.example,Staff {i},staff" for i in range(100)]
    data = ("email,name,role\n" + "\n".join(rows) + "\n").encode()
    report = preview(session, world, data)
    assert len(report.added) == 5000 and report.ok
    result = apply(session, world, data)
    assert result.added == 5000
    counts = dict(session.execute(select(Membership.role, func.count()).where(Membership.cohort_id == c.id)
                                  .group_by(Membership.role)).all())
    assert counts == {"student": 4900, "staff": 100}
    assert session.scalar(select(User.name).where(User.email == "s04899@uni.example")) == \
        "Student Nummer 4899 Ødegård"


def test_list_search_change_role_max_load_remove(session, world):
    c, admin = world["cohort"], world["admin"]
    ada = f.student(session, c, person=f.user(session, email="ada@uni.example", name="Ada Lovelace"))
    bob = f.student(session, c, person=f.user(session, email="bob@uni.example", name="Bob Jones"))
    sup = f.staff(session, c, person=f.user(session, email="sup@uni.example", name="Zed Sup"))
    p = f.project(session, c, sup)
    f.preferences(session, c, ada, [p])

    members = services.list_members(session, actor=admin, cohort_id=c.id)
    assert [m.email for m in members] == ["sup@uni.example", "ada@uni.example", "bob@uni.example"]
    assert {m.email: (m.choices, m.projects) for m in members}["ada@uni.example"] == (1, 0)
    assert {m.email: m.projects for m in members}["sup@uni.example"] == 1
    assert [m.email for m in services.list_members(session, actor=admin, cohort_id=c.id, search="LOVE")] == [
        "ada@uni.example"]
    assert [m.email for m in services.list_members(session, actor=admin, cohort_id=c.id, role="staff")] == [
        "sup@uni.example"]

    view = services.change_role(session, actor=admin, cohort_id=c.id, user_id=bob.id, role="staff")
    assert view.role == "staff"
    with pytest.raises(services.Invalid, match="has ranked 1 project"):
        services.change_role(session, actor=admin, cohort_id=c.id, user_id=ada.id, role="staff")
    view = services.set_max_load(session, actor=admin, cohort_id=c.id, user_id=sup.id, max_load=3)
    assert view.max_load == 3
    with pytest.raises(services.Invalid, match="Only staff"):
        services.set_max_load(session, actor=admin, cohort_id=c.id, user_id=ada.id, max_load=3)
    with pytest.raises(services.Invalid, match="0 or more"):
        services.set_max_load(session, actor=admin, cohort_id=c.id, user_id=sup.id, max_load=-2)

    message = services.remove_member(session, actor=admin, cohort_id=c.id, user_id=ada.id)
    assert "1 ranked choice" in message
    assert session.scalar(select(func.count()).select_from(Preference).where(Preference.student_id == ada.id)) == 0
    message = services.remove_member(session, actor=admin, cohort_id=c.id, user_id=sup.id)
    assert "still supervise 1 project" in message
    assert set(people(session, c.id)) == {"bob@uni.example"}
    with pytest.raises(services.NotFound):
        services.remove_member(session, actor=admin, cohort_id=c.id, user_id=ada.id)
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["people.role", "people.max_load", "people.remove", "people.remove"]


def test_add_member(session, world):
    c, admin = world["cohort"], world["admin"]
    view = services.add_member(session, actor=admin, cohort_id=c.id, email=" New@Uni.Example ", name="Nia",
                               role="staff", max_load=2)
    assert (view.email, view.name, view.role, view.max_load) == ("new@uni.example", "Nia", "staff", 2)
    with pytest.raises(services.Invalid, match="already in this cohort"):
        services.add_member(session, actor=admin, cohort_id=c.id, email="new@uni.example", name="", role="student")
    with pytest.raises(services.Invalid, match="not an email"):
        services.add_member(session, actor=admin, cohort_id=c.id, email="nope", name="X", role="student")


def test_promote_and_demote(session, world, monkeypatch):
    admin, me = world["admin"], world["me"]
    other = f.user(session, email="other@uni.example")
    assert services.set_admin(session, actor=admin, user_id=other.id, is_admin=True) is True
    assert services.set_admin(session, actor=admin, user_id=other.id, is_admin=False) is False
    with pytest.raises(services.NotAllowed, match="your own"):
        services.set_admin(session, actor=admin, user_id=me.id, is_admin=False)
    monkeypatch.setenv("ADMIN_EMAILS", "other@uni.example")
    services.set_admin(session, actor=admin, user_id=other.id, is_admin=True)
    with pytest.raises(services.Invalid, match="ADMIN_EMAILS"):
        services.set_admin(session, actor=admin, user_id=other.id, is_admin=False)
    session.expire_all()
    assert session.get(User, me.id).is_admin and session.get(User, other.id).is_admin
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["people.promote", "people.demote", "people.promote"]


def test_not_submitted_and_reminders(session, world):
    c, admin = world["cohort"], world["admin"]
    p = f.project(session, c)
    done = f.student(session, c)
    f.preferences(session, c, done, [p])
    lazy = [f.student(session, c) for _ in range(3)]
    f.staff(session, c)
    waiting = services.not_submitted(session, actor=admin, cohort_id=c.id)
    assert sorted(m.user_id for m in waiting) == sorted(u.id for u in lazy)
    assert services.send_reminders(session, actor=admin, cohort_id=c.id) == 3
    notes = session.scalars(select(Notification).where(Notification.kind == "reminder")).all()
    assert sorted(n.user_id for n in notes) == sorted(u.id for u in lazy)
    assert "People cohort" in notes[0].subject and "before preferences close on" in notes[0].body
    assert services.send_reminders(session, actor=admin, cohort_id=c.id, user_ids=[lazy[0].id, done.id]) == 1
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "people.remind")).first()
    assert event.detail == {"count": 3}


ADMIN_ONLY = [
    lambda s, a, c, u: services.list_members(s, actor=a, cohort_id=c.id),
    lambda s, a, c, u: services.add_member(s, actor=a, cohort_id=c.id, email="x@uni.example", name="X",
                                           role="student"),
    lambda s, a, c, u: services.change_role(s, actor=a, cohort_id=c.id, user_id=u.id, role="staff"),
    lambda s, a, c, u: services.set_max_load(s, actor=a, cohort_id=c.id, user_id=u.id, max_load=1),
    lambda s, a, c, u: services.remove_member(s, actor=a, cohort_id=c.id, user_id=u.id),
    lambda s, a, c, u: services.set_admin(s, actor=a, user_id=a.user_id, is_admin=True),
    lambda s, a, c, u: services.not_submitted(s, actor=a, cohort_id=c.id),
    lambda s, a, c, u: services.send_reminders(s, actor=a, cohort_id=c.id),
    lambda s, a, c, u: services.preview_people_import(s, actor=a, cohort_id=c.id,
                                                      data=b"email,name,role\nx@uni.example,X,student\n"),
    lambda s, a, c, u: services.apply_people_import(s, actor=a, cohort_id=c.id,
                                                    data=b"email,name,role\nx@uni.example,X,student\n"),
]


@pytest.mark.parametrize("role", ["student", "staff"])
def test_students_and_staff_are_refused(session, role):
    cohort = f.cohort(session)
    person = f.member(session, cohort, role)
    victim = f.student(session, cohort)
    for call in ADMIN_ONLY:
        with pytest.raises(services.NotAllowed):
            call(session, f.actor(person), cohort, victim)
    assert len(people(session, cohort.id)) == 2
    assert not session.get(User, person.id).is_admin
    assert not session.scalars(select(Notification)).all()
