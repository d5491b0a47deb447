"""Project and preference imports, CSV/Excel downloads, JSON backup and restore, the engine problem file."""
from __future__ import annotations

import dataclasses
import io as std_io
import json
import re
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import func, select

from allocator import engine, services
from allocator.models import (AuditEvent, Cohort, Membership, Preference, Project,
                              User, utcnow)
from tests import factories as f


@pytest.fixture
def world(session):
    cohort = f.cohort(session, phase="preferences", name="Data cohort", max_choices=4)
    sup = f.staff(session, cohort, person=f.user(session, email="grace@uni.example", name="Grace Hopper"))
    return dict(cohort=cohort, sup=sup, admin=f.actor(f.admin(session, email="coord@uni.example")))


def projects_of(session, cohort_id):
    session.expire_all()
    return {p.title: p for p in session.scalars(select(Project).where(Project.cohort_id == cohort_id))}


def lists_of(session, cohort_id) -> dict[str, list[str]]:
    session.expire_all()
    out: dict[str, list[str]] = {}
    for email, title in session.execute(
        select(User.email, Project.title).join(Preference, Preference.student_id == User.id)
        .join(Project, Project.id == Preference.project_id).where(Preference.cohort_id == cohort_id)
        .order_by(User.email, Preference.rank)
    ):
        out.setdefault(email, []).append(title)
    return out


# -------------------------------------------------------------------------------------- projects import


def test_projects_import_adds_and_updates(session, world):
    c, admin = world["cohort"], world["admin"]
    old = f.project(session, c, None, title="Old boats", code="B1", capacity=1, tags=["sea"])
    by_title = f.project(session, c, world["sup"], title="Kites", capacity=2, status="proposed")
    data = ("Code,Title,Capacity,Min students,Supervisor email,Tags,Description\r\n"
            "B1,Boats,3,1,grace@uni.example,\"sea; robots\",Sail **away**.\r\n"
            ",Kites,2,0,grace@uni.example,,About kites\r\n"
            "Q1,Quantum toys ⚛,4,,grace@uni.example,quantum,\r\n").encode("utf-8-sig")
    report = services.preview_projects_import(session, actor=admin, cohort_id=c.id, data=data)
    assert report.ok and report.summary == "1 to add, 2 to change, 0 unchanged"
    assert set(report.changed[0].changes) >= {"title: Old boats → Boats", "capacity: 1 → 3", "minimum: 0 → 1",
                                             "tags: sea → sea; robots", "supervisor: — → grace@uni.example"}
    assert projects_of(session, c.id)["Old boats"].capacity == 1  # the preview wrote nothing
    result = services.apply_projects_import(session, actor=admin, cohort_id=c.id, data=data)
    assert (result.added, result.changed) == (1, 2)
    got = projects_of(session, c.id)
    assert (got["Boats"].id, got["Boats"].capacity, got["Boats"].tags, got["Boats"].supervisor_id) == (
        old.id, 3, ["sea", "robots"], world["sup"].id)
    assert (got["Kites"].id, got["Kites"].status, got["Kites"].description) == (by_title.id, "proposed", "About kites")
    assert (got["Quantum toys ⚛"].status, got["Quantum toys ⚛"].code) == ("approved", "Q1")
    assert services.preview_projects_import(session, actor=admin, cohort_id=c.id, data=data).summary == \
        "0 to add, 0 to change, 3 unchanged"


def test_projects_import_bad_rows_write_nothing(session, world):
    c, admin = world["cohort"], world["admin"]
    f.project(session, c, None, title="Twin", capacity=2)
    f.project(session, c, None, title="Twin", capacity=2)
    f.project(session, c, None, title="Quota", code="Q", capacity=3, min_students=2)
    f.user(session, email="outsider@uni.example")
    data = (b"code,title,capacity,min_students,supervisor_email\n"
            b"N1,New one,2,0,grace@uni.example\n"    # 2 fine
            b",Twin,3,0,\n"                          # 3 ambiguous title
            b"N2,Sup unknown,2,0,ghost@uni.example\n"  # 4 no account
            b"N3,Sup outside,2,0,outsider@uni.example\n"  # 5 not staff here
            b"Q,Quota,1,,\n"                         # 6 fine: a blank minimum is 0
            b"N4,Bad cap,many,0,\n"                  # 7 not an integer (io)
            b"N5,Bad min,1,2,\n"                     # 8 min > capacity (io)
            b"N6,,1,0,\n")                  # 9 missing title (io)
    report = services.preview_projects_import(session, actor=admin, cohort_id=c.id, data=data)
    reasons = {e.line: e.message for e in report.rejected}
    assert sorted(reasons) == [3, 4, 5, 7, 8, 9]
    assert "matches 2 projects" in reasons[3]
    assert "ghost@uni.example has no account" in reasons[4]
    assert "outsider@uni.example is not staff in this cohort" in reasons[5]
    below = services.preview_projects_import(session, actor=admin, cohort_id=c.id,
                                             data=b"code,title,capacity\nQ,Quota,1\n")  # no minimum column
    assert "capacity 1 is below the project's minimum 2" in below.rejected[0].message
    assert "not a whole number" in reasons[7] and "more than capacity" in reasons[8] and "missing title" in reasons[9]
    before = session.scalar(select(func.count()).select_from(Project))
    with pytest.raises(services.Invalid, match="nothing was imported"):
        services.apply_projects_import(session, actor=admin, cohort_id=c.id, data=data)
    assert session.scalar(select(func.count()).select_from(Project)) == before
    result = services.apply_projects_import(session, actor=admin, cohort_id=c.id, data=data, valid_rows_only=True,
                                            default_status="proposed")
    assert (result.added, result.changed, result.skipped) == (1, 1, 6)
    assert projects_of(session, c.id)["New one"].status == "proposed"


def test_projects_import_of_500_rows(session, world):
    c, admin = world["cohort"], world["admin"]
    rows = [f"C{i:03d},Project {i} — Ünïcode,{1 + i % 5},{i % 2},grace@uni.example,\"tag{i % 7}; shared\"" for i in
            range(500)]
    data = ("code,title,capacity,min_students,supervisor_email,tags\n" + "\n".join(rows)).encode()
    assert services.apply_projects_import(session, actor=admin, cohort_id=c.id, data=data).added == 500
    got = projects_of(session, c.id)
    assert len(got) == 500 and got["Project 499 — Ünïcode"].tags == ["tag2", "shared"]


# ----------------------------------------------------------------------------------- preferences import


@pytest.fixture
def catalogue(session, world):
    c = world["cohort"]
    return {t: f.project(session, c, world["sup"], title=t, code=code) for t, code in
            (("Boats", "B1"), ("Kites", "K1"), ("Quantum", None), ("Robots", "R1"))}


def test_preferences_import_long_and_wide(session, world, catalogue):
    c, admin = world["cohort"], world["admin"]
    a = f.student(session, c, person=f.user(session, email="a@uni.example"))
    b = f.student(session, c, person=f.user(session, email="b@uni.example"))
    f.student(session, c, person=f.user(session, email="c@uni.example"))
    f.preferences(session, c, a, [catalogue["Robots"]])
    f.preferences(session, c, b, [catalogue["Boats"], catalogue["Kites"]])
    long = ("student_email,project,rank\r\n"
            "a@uni.example,K1,2\r\na@uni.example,Quantum,1\r\n"
            "b@uni.example,b1,1\r\nb@uni.example,Kites,2\r\n"
            f"c@uni.example,P{catalogue['Robots'].id},1\r\n").encode("utf-8-sig")
    report = services.preview_preferences_import(session, actor=admin, cohort_id=c.id, data=long)
    assert report.ok and report.summary == "1 to add, 1 to change, 1 unchanged"
    assert report.changed[0].key == "a@uni.example" and report.changed[0].changes == ("was: R1",)
    result = services.apply_preferences_import(session, actor=admin, cohort_id=c.id, data=long)
    assert (result.added, result.changed, result.unchanged) == (1, 1, 1)
    assert lists_of(session, c.id) == {"a@uni.example": ["Quantum", "Kites"], "b@uni.example": ["Boats", "Kites"],
                                       "c@uni.example": ["Robots"]}
    saved = session.scalar(select(Membership.preferences_saved_at).where(Membership.user_id == a.id))
    assert saved is not None
    wide = b"email,choice_1,choice_2,choice_3\na@uni.example,R1,,B1\n"
    services.apply_preferences_import(session, actor=admin, cohort_id=c.id, data=wide)
    assert lists_of(session, c.id)["a@uni.example"] == ["Robots", "Boats"]
    assert lists_of(session, c.id)["b@uni.example"] == ["Boats", "Kites"]  # not in the file: kept


def test_preferences_import_bad_rows_write_nothing(session, world, catalogue):
    c, admin = world["cohort"], world["admin"]
    for name in "abcdef":
        f.student(session, c, person=f.user(session, email=f"{name}@uni.example"))
    f.project(session, c, world["sup"], title="Pending", code="PEND", status="proposed")
    f.project(session, c, world["sup"], title="Boats", code="B2")  # a second "Boats"
    data = (b"student_email,project,rank\n"
            b"a@uni.example,K1,1\n"           # 2 fine
            b"b@uni.example,NOPE,1\n"         # 3 unknown project
            b"c@uni.example,PEND,1\n"         # 4 not approved
            b"d@uni.example,K1,1\n"           # 5 rank repeated
            b"d@uni.example,R1,1\n"           # 6
            b"grace@uni.example,K1,1\n"       # 7 staff, not a student
            b"ghost@uni.example,K1,1\n"       # 8 not in the cohort
            b"e@uni.example,Boats,1\n"        # 9 ambiguous title
            b"f@uni.example,K1,1\nf@uni.example,R1,2\nf@uni.example,B1,3\nf@uni.example,Quantum,4\n"
            b"f@uni.example,B2,5\n"           # 10-14 more than max_choices (4)
            )
    report = services.preview_preferences_import(session, actor=admin, cohort_id=c.id, data=data)
    reasons = {e.line: e.message for e in report.rejected}
    assert [i.key for i in report.added] == ["a@uni.example"]
    assert "unknown project “NOPE”" in reasons[3]
    assert "is proposed, not approved" in reasons[4]
    assert "rank 1 repeated" in reasons[6] and "not imported" in reasons[5]
    assert "is staff, not a student" in reasons[7]
    assert "is not a student in this cohort" in reasons[8]
    assert "title of 2 projects" in reasons[9]
    assert "has 5 choices; this cohort allows at most 4" in reasons[10]
    with pytest.raises(services.Invalid, match="nothing was imported"):
        services.apply_preferences_import(session, actor=admin, cohort_id=c.id, data=data)
    assert lists_of(session, c.id) == {}
    services.apply_preferences_import(session, actor=admin, cohort_id=c.id, data=data, valid_rows_only=True)
    assert lists_of(session, c.id) == {"a@uni.example": ["Kites"]}


def test_preferences_import_5000_students(session, world):
    c, admin = world["cohort"], world["admin"]
    c.max_choices = 8
    projects = [f.project(session, c, world["sup"], code=f"X{i}", capacity=10) for i in range(40)]
    people = ("email,name,role\n" + "\n".join(f"s{i}@uni.example,S {i},student" for i in range(5000))).encode()
    services.apply_people_import(session, actor=admin, cohort_id=c.id, data=people)
    lines = ["student_email,project,rank"]
    for i in range(5000):
        lines += [f"s{i}@uni.example,X{(i + k * 7) % 40},{k + 1}" for k in range(8)]
    result = services.apply_preferences_import(session, actor=admin, cohort_id=c.id, data="\n".join(lines).encode())
    assert result.added == 5000
    assert session.scalar(select(func.count()).select_from(Preference).where(Preference.cohort_id == c.id)) == 40000
    first = session.scalars(select(Preference.project_id).join(User, User.id == Preference.student_id)
                            .where(User.email == "s3@uni.example").order_by(Preference.rank)).all()
    assert first == [projects[(3 + k * 7) % 40].id for k in range(8)]


# ------------------------------------------------------------------------------------------- downloads


def test_csv_and_xlsx_downloads(session, world, catalogue):
    c, admin = world["cohort"], world["admin"]
    s = f.student(session, c, person=f.user(session, email="zoe@uni.example", name="=Zoë"))
    f.preferences(session, c, s, [catalogue["Kites"], catalogue["Quantum"]])
    projects = services.export_projects(session, actor=admin, cohort_id=c.id).decode("utf-8-sig")
    assert projects.splitlines()[0].startswith("code,title,description,capacity,min_students,supervisor_email")
    assert "K1,Kites," in projects
    people = services.export_people(session, actor=admin, cohort_id=c.id)
    assert people.startswith(b"\xef\xbb\xbf") and "zoe@uni.example,'=Zoë,student" in people.decode("utf-8-sig")
    prefs = services.export_preferences(session, actor=admin, cohort_id=c.id).decode("utf-8-sig").splitlines()
    assert prefs == ["student_email,student_name,rank,project,project_title", "zoe@uni.example,'=Zoë,1,K1,Kites",
                     "zoe@uni.example,'=Zoë,2,,Quantum"]
    book = openpyxl.load_workbook(std_io.BytesIO(services.export_people(session, actor=admin, cohort_id=c.id,
                                                                        fmt="xlsx")))
    assert [cell.value for cell in book["People"][1]][:3] == ["email", "name", "role"]
    # Our downloads import back unchanged.
    assert services.preview_preferences_import(session, actor=admin, cohort_id=c.id,
                                               data=services.export_preferences(session, actor=admin,
                                                                                cohort_id=c.id)).summary == \
        "0 to add, 0 to change, 1 unchanged"
    report = services.preview_projects_import(session, actor=admin, cohort_id=c.id,
                                              data=services.export_projects(session, actor=admin, cohort_id=c.id))
    assert report.summary == "0 to add, 0 to change, 4 unchanged"
    assert "first_choices" in report.ignored_columns
    report = services.preview_people_import(session, actor=admin, cohort_id=c.id,
                                            data=services.export_people(session, actor=admin, cohort_id=c.id))
    assert report.ok and not report.added and not report.changed
    with pytest.raises(services.Invalid, match="Unknown format"):
        services.export_people(session, actor=admin, cohort_id=c.id, fmt="pdf")


# --------------------------------------------------------------------------------------- backup/restore


def rich_cohort(session, world, catalogue):
    c = world["cohort"]
    c.proposals_open_at = utcnow() - timedelta(days=10)
    c.phase_override = "closed"
    c.allow_unranked = True
    world["sup"].memberships[0].max_load = 5
    catalogue["Quantum"].tags = ["physics", "qubits"]
    catalogue["Robots"].status, catalogue["Robots"].reject_reason = "rejected", "Not this year"
    ex_supervisor = f.user(session, email="emeritus@uni.example", name="Émile Emeritus")
    f.project(session, c, ex_supervisor, title="Legacy", description="Ünïcode *markdown*\n\nline 2")
    students = [f.student(session, c, person=f.user(session, email=f"s{i}@uni.example", name=f"Stüdent {i}"))
                for i in range(4)]
    for s in students[:3]:
        f.preferences(session, c, s, [catalogue["Boats"], catalogue["Kites"], catalogue["Quantum"]])
        session.get(Membership, s.memberships[0].id).preferences_saved_at = utcnow()
    gone = f.student(session, c, person=f.user(session, email="left@uni.example", name="Left The Cohort"))
    f.preferences(session, c, gone, [catalogue["Quantum"]])
    admin = world["admin"]
    params = services.default_parameters(session, actor=admin, cohort_id=c.id)
    first = services.run_allocation(session, actor=admin, cohort_id=c.id, label="First",
                                    params=dataclasses.replace(params, seed=3, pins=((students[1].id,
                                                                                      catalogue["Kites"].id, ""),)))
    unplaced = next(r for r in services.run_assignments(session, actor=admin, run_id=first.id)
                    if r.student_id == students[0].id)
    child = services.move_student(session, actor=admin, run_id=first.id, student_id=students[0].id,
                                  project_id=None if unplaced.project_id else catalogue["Boats"].id)
    services.publish_run(session, actor=admin, run_id=child.id)
    services.respond_to_allocation(session, actor=f.actor(students[1]), cohort_id=c.id, accept=False,
                                   reason="Prefer boats")
    # Assigned once, no longer a member: the backup still names them.
    session.delete(session.scalar(select(Membership).where(Membership.user_id == gone.id)))
    session.flush()
    return c


def comparable(doc: dict) -> dict:
    doc = json.loads(json.dumps(doc))
    doc.pop("exported_at")
    doc["cohort"].pop("name")
    doc["cohort"].pop("created_at")
    return doc


def test_backup_restore_backup_is_identical(session, world, catalogue):
    admin = world["admin"]
    c = rich_cohort(session, world, catalogue)
    first = services.backup_cohort(session, actor=admin, cohort_id=c.id)
    doc = json.loads(first)
    assert doc["format"] == "project-allocator-cohort-backup" and len(doc["people"]) == 5
    assert [p["email"] for p in doc["other_people"]] == ["coord@uni.example", "emeritus@uni.example",
                                                         "left@uni.example"]
    assert doc["preferences"]["s0@uni.example"] == ["p1", "p2", "p3"]
    assert doc["runs"][1]["parent"] == "r1" and len(doc["runs"][0]["assignments"]) == 5
    assert [r["kind"] for r in doc["runs"]] == ["solve", "move"] and len(doc["runs"][1]["responses"]) == 1
    assert not re.search(r'"[SPL]?\d+"', json.dumps(doc["runs"])), "a backup holds no database id"
    result = services.restore_cohort(session, actor=admin, data=first, name="Restored copy")
    assert (result.people, result.accounts_created, result.projects, result.runs) == (5, 0, 5, 2)
    second = services.backup_cohort(session, actor=admin, cohort_id=result.cohort_id)
    assert comparable(json.loads(second)) == comparable(doc)
    assert json.loads(second)["cohort"]["name"] == "Restored copy"
    assert session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("data.%"))
                           .order_by(AuditEvent.id)).all() == ["data.backup", "data.restore", "data.backup"]


def test_restore_into_a_fresh_deployment_creates_people(session, world, catalogue, fresh_database):
    from allocator import db

    admin = world["admin"]
    c = rich_cohort(session, world, catalogue)
    backup = services.backup_cohort(session, actor=admin, cohort_id=c.id)
    with db.session(fresh_database) as other, other.begin():
        boss = f.admin(other, email="boss@uni.example")
        result = services.restore_cohort(other, actor=f.actor(boss), data=backup, name="Elsewhere")
        assert result.accounts_created == 8
        # Nobody a file creates is a coordinator; the audit names each account created.
        assert other.scalar(select(func.count()).select_from(User).where(User.is_admin.is_(True))) == 1
        audit = other.scalar(select(AuditEvent).where(AuditEvent.action == "data.restore"))
        assert sorted(audit.detail["created_accounts"]) == sorted(
            [p["email"] for p in json.loads(backup)["people"]] + [p["email"] for p in json.loads(backup)["other_people"]])
        again = services.backup_cohort(other, actor=f.actor(boss), cohort_id=result.cohort_id)
        assert comparable(json.loads(again)) == comparable(json.loads(backup))


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(format="something"), "not a Project Allocator cohort backup"),
    (lambda d: d.update(version=99), "version 99"),
    (lambda d: d["projects"][0].update(capacity="three"), r"projects\[0\].capacity should be a whole number"),
    (lambda d: d["preferences"].update({"s0@uni.example": ["p1", "p99"]}), "names one the file does not list"),
    (lambda d: d["runs"][0]["assignments"][0].__setitem__(0, "nobody@uni.example"), "a person the file does not"),
    (lambda d: d["people"][0].update(role="admin"), r"people\[0\].role"),
])
def test_damaged_backup_restores_nothing(session, world, catalogue, mutate, message):
    admin = world["admin"]
    c = rich_cohort(session, world, catalogue)
    doc = json.loads(services.backup_cohort(session, actor=admin, cohort_id=c.id))
    mutate(doc)
    cohorts = session.scalar(select(func.count()).select_from(Cohort))
    with pytest.raises(services.Invalid, match=message):
        services.restore_cohort(session, actor=admin, data=json.dumps(doc).encode(), name="Broken")
    assert session.scalar(select(func.count()).select_from(Cohort)) == cohorts


def test_restore_needs_a_new_name_and_json(session, world):
    admin = world["admin"]
    with pytest.raises(services.Invalid, match="already exists"):
        services.restore_cohort(session, actor=admin, data=b"{}", name="Data cohort")
    with pytest.raises(services.Invalid, match="not valid JSON"):
        services.restore_cohort(session, actor=admin, data=b"email,name\n", name="New")


# ---------------------------------------------------------------------------------------- problem file


def test_problem_file_in_the_engine_format(session, world, catalogue):
    c, admin, sup = world["cohort"], world["admin"], world["sup"]
    c.allow_unranked = True
    sup.memberships[0].max_load = 3
    f.project(session, c, sup, title="Pending", status="proposed")
    loose = f.project(session, c, f.staff(session, c), title="Loose", capacity=4, min_students=2)
    students = [f.student(session, c) for _ in range(3)]
    pending = projects_of(session, c.id)["Pending"]
    f.preferences(session, c, students[0], [catalogue["Kites"], pending, loose])
    f.preferences(session, c, students[1], [loose])
    session.flush()
    problem = services.build_problem_json(session, c.id)
    assert [s["id"] for s in problem["students"]] == [f"S{s.id}" for s in students]
    assert problem["students"][0]["preferences"] == [f"P{catalogue['Kites'].id}", f"P{loose.id}"]
    assert problem["students"][2]["preferences"] == []
    assert f"P{pending.id}" not in {p["id"] for p in problem["projects"]}
    assert {"id": f"P{loose.id}", "capacity": 4, "min_students": 2, "supervisor": f"L{loose.supervisor_id}"} in \
        problem["projects"]
    assert problem["supervisors"] == [{"id": f"L{sup.id}", "capacity": 3}]
    assert problem["allow_unranked"] is True
    assert services.build_problem_json(session, c.id) == problem  # deterministic
    tuned = services.build_problem_json(session, c.id, overrides={
        "capacity": {loose.id: 6}, "pinned": [(students[1].id, loose.id)], "allow_unranked": False})
    assert {"id": f"P{loose.id}", "capacity": 6, "min_students": 2, "supervisor": f"L{loose.supervisor_id}"} in \
        tuned["projects"]
    assert tuned["pinned"] == [{"student": f"S{students[1].id}", "project": f"P{loose.id}"}]
    with pytest.raises(services.Invalid):
        services.build_problem_json(session, c.id, overrides={"pinned": [(students[1].id, pending.id)]})

    data = services.export_problem(session, actor=admin, cohort_id=c.id)
    parsed = engine.parse_problem(json.loads(data))  # the engine reads it as it is
    assert len(parsed.students) == 3
    meta = json.loads(data)["meta"]
    assert meta["cohort"] == "Data cohort" and meta["projects"][f"P{catalogue['Kites'].id}"]["code"] == "K1"
    keys = services.problem_keys(session, c.id)
    assert keys.projects[f"P{loose.id}"] == loose.id and keys.students[f"S{students[0].id}"] == students[0].id


ADMIN_ONLY = [
    lambda s, a, c: services.preview_projects_import(s, actor=a, cohort_id=c.id, data=b"title,capacity\nX,1\n"),
    lambda s, a, c: services.apply_projects_import(s, actor=a, cohort_id=c.id, data=b"title,capacity\nX,1\n"),
    lambda s, a, c: services.preview_preferences_import(s, actor=a, cohort_id=c.id,
                                                        data=b"email,project,rank\na@uni.example,X,1\n"),
    lambda s, a, c: services.apply_preferences_import(s, actor=a, cohort_id=c.id,
                                                      data=b"email,project,rank\na@uni.example,X,1\n"),
    lambda s, a, c: services.export_projects(s, actor=a, cohort_id=c.id),
    lambda s, a, c: services.export_people(s, actor=a, cohort_id=c.id),
    lambda s, a, c: services.export_preferences(s, actor=a, cohort_id=c.id),
    lambda s, a, c: services.backup_cohort(s, actor=a, cohort_id=c.id),
    lambda s, a, c: services.restore_cohort(s, actor=a, data=b"{}", name="Stolen"),
    lambda s, a, c: services.export_problem(s, actor=a, cohort_id=c.id),
]


@pytest.mark.parametrize("role", ["student", "staff"])
def test_students_and_staff_are_refused(session, role):
    cohort = f.cohort(session)
    person = f.member(session, cohort, role)
    for call in ADMIN_ONLY:
        with pytest.raises(services.NotAllowed):
            call(session, f.actor(person), cohort)
    assert session.scalar(select(func.count()).select_from(Project)) == 0
    assert session.scalar(select(func.count()).select_from(Cohort)) == 1
    assert not session.scalars(select(AuditEvent)).all()
