"""Places per student and priority tiers: setting them, importing them, and how the engine's problem and
a run's rows carry them with groups (issue 16)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from allocator import engine
from allocator.models import AllocationRun, Assignment, AuditEvent, Membership
from allocator.services import Invalid, NotAllowed, NotFound, RunParameters, run_record
from allocator import services
from allocator.services.allocation.problem import build_problem, build_problem_json
from allocator.services.allocation.runs import assignment_rows
from tests import factories as f


@pytest.fixture
def world(session):
    cohort = f.cohort(session, phase="preferences", min_choices=1, max_choices=4, groups_allowed=True)
    admin = f.admin(session)
    sup = f.staff(session, cohort)
    projects = [f.project(session, cohort, sup, capacity=3) for _ in range(3)]
    students = [f.student(session, cohort) for _ in range(4)]
    for s in students:
        f.preferences(session, cohort, s, projects)
    return dict(cohort=cohort, admin=admin, sup=sup, projects=projects, students=students)


def membership(session, cohort, user):
    return session.scalar(select(Membership).where(Membership.cohort_id == cohort.id, Membership.user_id == user.id))


def test_places_and_tier_are_set_by_the_coordinator_only_and_audited(session, world):
    c, admin, s = world["cohort"], f.actor(world["admin"]), world["students"][0]
    assert services.set_places(session, actor=admin, cohort_id=c.id, user_id=s.id, places=2) == 2
    assert services.set_tier(session, actor=admin, cohort_id=c.id, user_id=s.id, tier=1, reason="x") == 1
    assert services.set_tier(session, actor=admin, cohort_id=c.id, user_id=s.id, tier=2, reason="Support plan") == 2
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "people.tier")).one()
    assert (event.detail["old"], event.detail["new"], event.detail["reason"]) == (1, 2, "Support plan")
    assert services.set_places(session, actor=admin, cohort_id=c.id, user_id=s.id, places=None) == 1
    listed = {m.user_id: m for m in services.list_members(session, actor=admin, cohort_id=c.id)}
    assert (listed[s.id].places, listed[s.id].tier) == (None, 2)
    with pytest.raises(NotAllowed):
        services.set_tier(session, actor=f.actor(s), cohort_id=c.id, user_id=s.id, tier=1, reason="me first")
    with pytest.raises(NotAllowed):
        services.set_places(session, actor=f.actor(s), cohort_id=c.id, user_id=s.id, places=3)


@pytest.mark.parametrize("kw, message", [
    (dict(tier=0, reason="r"), "tier"), (dict(tier=True, reason="r"), "tier"), (dict(tier=2, reason="  "), "reason"),
])
def test_bad_tiers_change_nothing(session, world, kw, message):
    c, s = world["cohort"], world["students"][0]
    with pytest.raises(Invalid, match=message):
        services.set_tier(session, actor=f.actor(world["admin"]), cohort_id=c.id, user_id=s.id, **kw)
    assert membership(session, c, s).tier == 1


def test_bad_places_and_staff_are_refused(session, world):
    c, admin = world["cohort"], f.actor(world["admin"])
    with pytest.raises(Invalid, match="Places"):
        services.set_places(session, actor=admin, cohort_id=c.id, user_id=world["students"][0].id, places=0)
    with pytest.raises(Invalid, match="Only students"):
        services.set_places(session, actor=admin, cohort_id=c.id, user_id=world["sup"].id, places=2)
    with pytest.raises(NotFound):
        services.set_places(session, actor=admin, cohort_id=c.id, user_id=world["admin"].id, places=2)


def test_group_rules_are_checked(session, world):
    c, admin = world["cohort"], f.actor(world["admin"])
    rules = services.set_group_rules(session, actor=admin, cohort_id=c.id, groups_allowed=False, group_min_size=2,
                                     group_max_size=5, places_per_student=2)
    assert (rules.group_max_size, rules.places_per_student) == (5, 2)
    with pytest.raises(Invalid, match="not both"):
        services.set_group_rules(session, actor=admin, cohort_id=c.id, groups_allowed=True, group_min_size=2,
                                 group_max_size=5, places_per_student=2)
    with pytest.raises(Invalid, match="cannot be smaller"):
        services.set_group_rules(session, actor=admin, cohort_id=c.id, groups_allowed=True, group_min_size=4,
                                 group_max_size=3, places_per_student=1)
    with pytest.raises(NotAllowed):
        services.set_group_rules(session, actor=f.actor(world["students"][0]), cohort_id=c.id, groups_allowed=False,
                                 group_min_size=2, group_max_size=3, places_per_student=1)


def test_a_student_ranks_at_least_as_many_projects_as_places(session, world):
    c, s = world["cohort"], world["students"][0]
    services.set_places(session, actor=f.actor(world["admin"]), cohort_id=c.id, user_id=s.id, places=2)
    with pytest.raises(Invalid, match="at least 2"):
        services.save_preferences(session, actor=f.actor(s), cohort_id=c.id, project_ids=[world["projects"][0].id])


def test_the_people_import_sets_places_and_tiers(session, world):
    c, admin = world["cohort"], f.actor(world["admin"])
    a, b = world["students"][:2]
    data = (f"email,name,role,places,tier\n{a.email},,student,2,\n{b.email},,student,,3\n"
            f"{world['sup'].email},,staff,4,2\n").encode()
    preview = services.preview_people_import(session, actor=admin, cohort_id=c.id, data=data)
    assert "places" not in preview.ignored_columns and "tier" not in preview.ignored_columns
    services.apply_people_import(session, actor=admin, cohort_id=c.id, data=data)
    assert (membership(session, c, a).places, membership(session, c, a).tier) == (2, 1)
    assert (membership(session, c, b).places, membership(session, c, b).tier) == (None, 3)
    assert membership(session, c, world["sup"]).tier == 1
    bad = f"email,role,tier\n{a.email},student,nine\n".encode()
    with pytest.raises(Invalid, match="Line 2: tier"):
        services.apply_people_import(session, actor=admin, cohort_id=c.id, data=bad)
    assert membership(session, c, a).places == 2


def test_the_problem_carries_places_tiers_and_groups(session, world):
    c, admin = world["cohort"], f.actor(world["admin"])
    a, b, x, y = world["students"]
    services.set_places(session, actor=admin, cohort_id=c.id, user_id=x.id, places=2)
    services.set_tier(session, actor=admin, cohort_id=c.id, user_id=y.id, tier=2, reason="later")
    services.create_group(session, actor=f.actor(a), cohort_id=c.id, name="Pair")
    services.invite_to_group(session, actor=f.actor(a), cohort_id=c.id, email=b.email)
    invite = services.my_group(session, actor=f.actor(b), cohort_id=c.id).received[0]
    services.answer_invitation(session, actor=f.actor(b), invitation_id=invite.id, accept=True)
    problem = build_problem_json(session, c.id)
    students = {s["id"]: s for s in problem["students"]}
    key = run_record.student_key
    assert students[key(x.id)]["places"] == 2 and "tier" not in students[key(x.id)]
    assert students[key(y.id)]["tier"] == 2 and "places" not in students[key(y.id)]
    assert problem["groups"] == [{"id": problem["groups"][0]["id"], "members": [key(a.id), key(b.id)]}]
    parsed, _ = build_problem(session, c.id, RunParameters())
    assert parsed.groups[0].members == (key(a.id), key(b.id))
    # The record keeps the groups, and a backup rewrites their members' keys.
    record = run_record.RunRecord(problem=parsed, settings=RunParameters())
    assert run_record.from_json(run_record.to_json(record)).problem.groups == parsed.groups
    emails = {u.id: u.email for u in world["students"]}
    moved = run_record.portable(run_record.to_json(record), email_of={**emails, world["sup"].id: world["sup"].email},
                                project_ref={p.id: f"p{i}" for i, p in enumerate(world["projects"])})
    assert moved["problem"]["groups"][0]["members"] == [a.email, b.email]


def test_a_student_with_several_places_has_one_row_per_placement(session, world):
    c, x = world["cohort"], world["students"][2]
    services.set_places(session, actor=f.actor(world["admin"]), cohort_id=c.id, user_id=x.id, places=2)
    problem, _ = build_problem(session, c.id, RunParameters())
    p = [run_record.project_key(q.id) for q in world["projects"]]
    placed = {s.id: p[0] for s in problem.students}
    placed[run_record.student_key(x.id)] = [p[0], p[1]]
    del placed[run_record.student_key(world["students"][3].id)]
    result = engine.Result(status="optimal", objective="generous", assignment=placed,
                           unassigned=[run_record.student_key(world["students"][3].id)], profile=[5, 1, 0, 0],
                           cost=7, seconds=0.0, solver="hand")
    rows = assignment_rows(session, c.id, problem, result)
    mine = [(r["project_id"], r["rank"]) for r in rows if r["student_id"] == x.id]
    assert mine == [(world["projects"][0].id, 1), (world["projects"][1].id, 2)]
    assert [r["project_id"] for r in rows if r["student_id"] == world["students"][3].id] == [None]


def test_a_copy_of_the_cohort_keeps_its_group_and_places_rules(session, world):
    admin = f.actor(world["admin"])
    services.set_group_rules(session, actor=admin, cohort_id=world["cohort"].id, groups_allowed=True,
                             group_min_size=3, group_max_size=5, places_per_student=1)
    copy = services.copy_cohort(session, actor=admin, cohort_id=world["cohort"].id, name="Next year")
    rules = services.group_rules(session, actor=admin, cohort_id=copy.id)
    assert (rules.groups_allowed, rules.group_min_size, rules.group_max_size, rules.places_per_student) == (
        True, 3, 5, 1)


def test_a_student_with_several_places_can_be_pinned_to_several_projects(session, world):
    c, admin = world["cohort"], f.actor(world["admin"])
    x = world["students"][2]
    _, p1, p2 = world["projects"]
    services.set_places(session, actor=admin, cohort_id=c.id, user_id=x.id, places=2)
    # x ranks p0 first; pinned to their 2nd and 3rd choices, they keep both and nothing else.
    view = services.run_allocation(session, actor=admin, cohort_id=c.id,
                                   params=RunParameters(pins=((x.id, p1.id, "lab"), (x.id, p2.id, "lab"))))
    rows = session.execute(select(Assignment.project_id, Assignment.pinned)
                           .where(Assignment.run_id == view.id, Assignment.student_id == x.id)).all()
    assert sorted(rows) == sorted([(p1.id, True), (p2.id, True)])
    # The run's record keeps both pins, and so does a backup's copy of it.
    run = session.get(AllocationRun, view.id)
    record = run_record.from_json(run.record)
    assert record.problem.pins_of(run_record.student_key(x.id)) == (run_record.project_key(p1.id),
                                                                   run_record.project_key(p2.id))
    emails = {u.id: u.email for u in world["students"]}
    moved = run_record.portable(run.record, email_of={**emails, world["sup"].id: world["sup"].email},
                                project_ref={p.id: f"p{i}" for i, p in enumerate(world["projects"])})
    assert moved["problem"]["pinned"] == [{"student": x.email, "project": "p1"}, {"student": x.email, "project": "p2"}]


@pytest.mark.parametrize("pins, message", [
    (lambda x, y, p: [(x, p[0]), (x, p[1]), (x, p[2])], "has 2 places but is pinned to 3 projects; remove 1"),
    (lambda x, y, p: [(y, p[0]), (y, p[1])], "has one place, so they can be pinned to one project only"),
    (lambda x, y, p: [(x, p[0]), (x, p[0])], "pinned to the same project twice"),
])
def test_too_many_pins_are_refused_with_a_sentence(session, world, pins, message):
    c, admin = world["cohort"], f.actor(world["admin"])
    x, y = world["students"][2], world["students"][3]
    services.set_places(session, actor=admin, cohort_id=c.id, user_id=x.id, places=2)
    chosen = tuple((s, q, "") for s, q in pins(x.id, y.id, [p.id for p in world["projects"]]))
    with pytest.raises(Invalid, match=message):
        services.run_allocation(session, actor=admin, cohort_id=c.id, params=RunParameters(pins=chosen))
    assert session.scalar(select(AllocationRun.id)) is None
