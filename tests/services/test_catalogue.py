"""The coordinator's catalogue: demand, approval and rejection, bulk edits, capacity against students."""
from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from allocator import domain, services
from allocator.models import AuditEvent, Notification, Project
from tests import factories as f
from tests.queries import counted


@pytest.fixture
def world(session):
    cohort = f.cohort(session, phase="proposals")
    sup = f.staff(session, cohort, person=f.user(session, name="Grace Hopper", email="grace@uni.example"))
    return dict(cohort=cohort, sup=sup, admin=f.actor(f.admin(session)))


def fresh(session, project_id) -> Project:
    session.expire_all()
    return session.get(Project, project_id)


def test_catalogue_rows_demand_and_totals(session, world):
    c, sup, admin = world["cohort"], world["sup"], world["admin"]
    boats = f.project(session, c, sup, title="Boats", capacity=2, tags=["sea"], code="B1")
    kites = f.project(session, c, sup, title="Kites", capacity=1, min_students=1)
    f.project(session, c, None, title="Maybe", capacity=5, status="proposed")
    students = [f.student(session, c) for _ in range(4)]
    f.preferences(session, c, students[0], [boats, kites])
    f.preferences(session, c, students[1], [boats])
    f.preferences(session, c, students[2], [kites, boats])

    cat = services.catalogue(session, actor=admin, cohort_id=c.id)
    assert [r.title for r in cat.rows] == ["Maybe", "Boats", "Kites"]  # proposals first
    by_title = {r.title: r for r in cat.rows}
    assert (by_title["Boats"].first_choices, by_title["Boats"].any_rank) == (2, 3)
    assert (by_title["Kites"].first_choices, by_title["Kites"].any_rank) == (1, 2)
    assert by_title["Boats"].supervisor_name == "Grace Hopper" and by_title["Boats"].tags == ("sea",)
    assert by_title["Maybe"].supervisor_name == "(no supervisor)"
    assert (cat.students, cat.approved, cat.approved_capacity, cat.proposed, cat.proposed_capacity) == (4, 2, 3, 1, 5)
    assert cat.shortfall == 1
    assert "3 places for 4 students" in cat.warning and "would add 5 places" in cat.warning

    assert [r.title for r in services.catalogue(session, actor=admin, cohort_id=c.id, statuses=["proposed"]).rows] \
        == ["Maybe"]
    assert [r.title for r in services.catalogue(session, actor=admin, cohort_id=c.id, search="sea").rows] == ["Boats"]
    assert [r.title for r in services.catalogue(session, actor=admin, cohort_id=c.id, search="hopper").rows] == [
        "Boats", "Kites"]


def test_the_warning_writes_a_cohort_s_counts_with_thousands_separators():
    cat = services.Catalogue(cohort_id=1, rows=(), students=5000, approved=1300, approved_capacity=4200,
                             approved_minimum=0, proposed=120, proposed_capacity=1100, total=1420)
    assert cat.warning == ("The approved projects offer 4,200 places for 5,000 students: 800 student(s) cannot be "
                           "placed. 120 proposal(s) awaiting approval would add 1,100 places.")


def test_no_warning_when_the_catalogue_holds_everyone(session, world):
    c = world["cohort"]
    f.project(session, c, world["sup"], capacity=3)
    f.student(session, c)
    assert services.catalogue(session, actor=world["admin"], cohort_id=c.id).warning is None


def test_catalogue_takes_a_constant_number_of_queries(session, world):
    c, _sup, admin = world["cohort"], world["sup"], world["admin"]
    counts = []
    for n in (2, 30):
        for _ in range(n):
            p = f.project(session, c, f.staff(session, c))
            f.preferences(session, c, f.student(session, c), [p])
        session.expire_all()
        with counted(session) as q:
            services.catalogue(session, actor=admin, cohort_id=c.id)
        counts.append(len(q))
    assert counts[0] == counts[1] <= 5


def test_approve_and_reject_single_and_bulk(session, world):
    c, sup, admin = world["cohort"], world["sup"], world["admin"]
    a, b, d = (f.project(session, c, sup, status="proposed", title=t) for t in ("A", "B", "D"))
    gone = f.project(session, c, sup, status="withdrawn", title="Gone")

    result = services.approve_project(session, actor=admin, cohort_id=c.id, project_id=a.id)
    assert result.changed == 1 and fresh(session, a.id).status == "approved"

    with pytest.raises(services.Invalid, match="reason"):
        services.reject_projects(session, actor=admin, cohort_id=c.id, project_ids=[b.id], reason="  ")
    result = services.reject_projects(session, actor=admin, cohort_id=c.id, project_ids=[b.id, d.id, gone.id],
                                      reason="Too close to last year's project.")
    assert result.changed == 2 and len(result.skipped) == 1 and "withdrawn" in result.skipped[0]
    assert fresh(session, b.id).status == "rejected"
    assert fresh(session, b.id).reject_reason == "Too close to last year's project."
    assert fresh(session, gone.id).status == "withdrawn"

    # Approving a rejected project on second thoughts clears the reason.
    result = services.approve_projects(session, actor=admin, cohort_id=c.id, project_ids=[a.id, b.id, gone.id])
    assert (result.changed, result.unchanged, len(result.skipped)) == (1, 1, 1)
    assert fresh(session, b.id).status == "approved" and fresh(session, b.id).reject_reason is None

    notes = session.scalars(select(Notification).where(Notification.user_id == sup.id)
                            .order_by(Notification.id)).all()
    assert [n.kind for n in notes] == ["project_approved", "project_rejected", "project_rejected",
                                       "project_approved"]
    assert "Too close" in notes[1].body
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["projects.approve", "projects.reject", "projects.approve"]


def test_projects_of_another_cohort_or_none_selected(session, world):
    c, admin = world["cohort"], world["admin"]
    other = f.project(session, f.cohort(session), None, status="proposed")
    with pytest.raises(services.NotFound):
        services.approve_projects(session, actor=admin, cohort_id=c.id, project_ids=[other.id])
    with pytest.raises(services.Invalid, match="at least one"):
        services.approve_projects(session, actor=admin, cohort_id=c.id, project_ids=[])
    assert fresh(session, other.id).status == "proposed"


def test_bulk_edit_from_editor_rows(session, world):
    c, sup, admin = world["cohort"], world["sup"], world["admin"]
    a = f.project(session, c, sup, title="A", capacity=2, tags=["x"])
    b = f.project(session, c, sup, title="B", capacity=2)
    same = f.project(session, c, sup, title="Same", capacity=4)
    rows = [
        {"id": np.int64(a.id), "capacity": np.int64(5), "min_students": 2.0, "tags": "ml; Vision, ml"},
        {"id": b.id, "capacity": "3", "min_students": 0, "tags": ["a", " b "]},
        {"id": same.id, "capacity": 4, "min_students": 0, "tags": ""},
    ]
    result = services.bulk_edit_projects(session, actor=admin, cohort_id=c.id, rows=rows)
    assert (result.changed, result.unchanged) == (2, 1)
    assert (fresh(session, a.id).capacity, fresh(session, a.id).min_students, fresh(session, a.id).tags) == (
        5, 2, ["ml", "Vision"])
    assert (fresh(session, b.id).capacity, fresh(session, b.id).tags) == (3, ["a", "b"])
    detail = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "projects.bulk_edit")).one()
    assert detail["changes"][str(a.id)]["capacity"] == [2, 5]


def test_bulk_edit_with_any_bad_row_saves_nothing(session, world):
    c, sup, admin = world["cohort"], world["sup"], world["admin"]
    a = f.project(session, c, sup, title="A", capacity=2)
    b = f.project(session, c, sup, title="B", capacity=2)
    foreign = f.project(session, f.cohort(session), None, title="Foreign")
    rows = [
        {"id": a.id, "capacity": 9, "min_students": 1},          # fine on its own
        {"id": b.id, "capacity": -1, "min_students": 0},         # row 2
        {"id": b.id, "capacity": 2.5, "min_students": 0},        # row 3: repeated row
        {"id": foreign.id, "capacity": 1},                       # row 4
        {"id": a.id + 100000, "capacity": 1},                    # row 5
        {"id": a.id, "capacity": float("nan")},                  # row 6 (repeat of row 1)
    ]
    with pytest.raises(services.Invalid) as err:
        services.bulk_edit_projects(session, actor=admin, cohort_id=c.id, rows=rows)
    text = str(err.value)
    assert text.startswith("Nothing was saved")
    assert "Row 2 (“B”): capacity must be a whole number" in text
    assert "Row 3 (“B”): the same project as row 2" in text
    assert "Row 4: no such project" in text and "Row 5: no such project" in text
    assert "Row 6 (“A”): the same project as row 1" in text
    assert fresh(session, a.id).capacity == 2
    rows = [{"id": a.id, "capacity": 1, "min_students": 2}, {"id": b.id, "tags": [f"t{i}" for i in range(30)]}]
    with pytest.raises(services.Invalid) as err:
        services.bulk_edit_projects(session, actor=admin, cohort_id=c.id, rows=rows)
    assert "Row 1 (“A”): minimum 2 is more than capacity 1" in str(err.value)
    assert "Row 2 (“B”): 30 tags" in str(err.value)
    assert not session.scalars(select(AuditEvent)).all()


ADMIN_ONLY = [
    lambda s, a, c, p: services.catalogue(s, actor=a, cohort_id=c.id),
    lambda s, a, c, p: services.approve_projects(s, actor=a, cohort_id=c.id, project_ids=[p.id]),
    lambda s, a, c, p: services.approve_project(s, actor=a, cohort_id=c.id, project_id=p.id),
    lambda s, a, c, p: services.reject_projects(s, actor=a, cohort_id=c.id, project_ids=[p.id], reason="no"),
    lambda s, a, c, p: services.reject_project(s, actor=a, cohort_id=c.id, project_id=p.id, reason="no"),
    lambda s, a, c, p: services.bulk_edit_projects(s, actor=a, cohort_id=c.id, rows=[{"id": p.id, "capacity": 9}]),
]


@pytest.mark.parametrize("role", ["student", "staff"])
def test_students_and_staff_are_refused(session, role):
    cohort = f.cohort(session)
    person = f.member(session, cohort, role)
    project = f.project(session, cohort, person if role == "staff" else None, status="proposed", capacity=2)
    for call in ADMIN_ONLY:
        with pytest.raises(services.NotAllowed):
            call(session, f.actor(person), cohort, project)
    assert (fresh(session, project.id).status, fresh(session, project.id).capacity) == ("proposed", 2)


# --- editing a project's details and reassigning it ----------------------------------------------------

def edit(session, w, project, **changes):
    values = dict(title=project.title, description=project.description, code=project.code,
                  supervisor_id=project.supervisor_id)
    values.update(changes)
    return services.edit_project(session, actor=w["admin"], cohort_id=w["cohort"].id, project_id=project.id,
                                 **values)


def test_title_description_and_code_are_edited_and_audited(session, world):
    p = f.project(session, world["cohort"], world["sup"], title="Robots", code="R1", description="Old text.")
    row = edit(session, world, p, title="  Robots   that  water ", description="New **text**.", code=" R-01 ")
    assert (row.title, row.description, row.code) == ("Robots that water", "New **text**.", "R-01")
    stored = fresh(session, p.id)
    assert (stored.title, stored.description, stored.code) == ("Robots that water", "New **text**.", "R-01")
    audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "project.updated"))
    assert audit.detail["project_id"] == p.id
    assert audit.detail["changes"] == {"title": ["Robots", "Robots that water"], "description": "rewritten",
                                       "code": ["R1", "R-01"]}
    [event] = services.list_events(session, actor=world["admin"], cohort_id=world["cohort"].id)
    assert event.description == ("Edited “Robots that water” in the catalogue: title Robots → Robots that water; "
                                 "description rewritten; code R1 → R-01.")


def test_the_proposal_forms_limits_apply_and_nothing_changes_on_a_bad_value(session, world):
    p = f.project(session, world["cohort"], world["sup"], title="Robots", code="R1")
    f.project(session, world["cohort"], world["sup"], title="Drones", code="D1")
    bad = [dict(title="   "), dict(title="x" * (domain.PROJECT_TITLE_MAX + 1)),
           dict(description="y" * (domain.PROJECT_DESCRIPTION_MAX + 1)),
           dict(code="c" * (domain.PROJECT_CODE_MAX + 1)), dict(code="D1")]
    for change in bad:
        with pytest.raises(services.Invalid):
            edit(session, world, p, **{"title": "Changed", **change})
    stored = fresh(session, p.id)
    assert (stored.title, stored.code) == ("Robots", "R1")
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "project.updated")) is None


def test_a_project_is_given_to_another_supervisor_after_its_own_left(session, world):
    p = f.project(session, world["cohort"], world["sup"], title="Robots")
    alan = f.staff(session, world["cohort"], person=f.user(session, name="Alan Turing"))
    services.remove_member(session, actor=world["admin"], cohort_id=world["cohort"].id, user_id=world["sup"].id)
    assert fresh(session, p.id).supervisor_id == world["sup"].id  # still pointing at Grace
    choices = services.supervisor_choices(session, actor=world["admin"], cohort_id=world["cohort"].id)
    assert [c.name for c in choices] == ["Alan Turing"]
    # Other details can still be edited while Grace is kept.
    edit(session, world, p, title="Robots II")
    row = edit(session, world, p, supervisor_id=alan.id)
    assert (row.supervisor_id, row.supervisor_name) == (alan.id, "Alan Turing")
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "project.updated")
                            .order_by(AuditEvent.id)).all()[-1]
    assert audit.detail["changes"] == {"supervisor": ["Grace Hopper", "Alan Turing"]}
    told = dict(session.execute(select(Notification.user_id, Notification.subject)
                                .where(Notification.kind == "project_reassigned")).all())
    assert told == {alan.id: "You now supervise “Robots II”", world["sup"].id: "“Robots II” has a new supervisor"}


def test_only_staff_of_the_cohort_can_be_given_a_project(session, world):
    p = f.project(session, world["cohort"], world["sup"], title="Robots")
    stranger = f.user(session, name="Not Staff")
    student = f.student(session, world["cohort"])
    for who in (stranger.id, student.id, True):
        with pytest.raises(services.Invalid):
            edit(session, world, p, supervisor_id=who)
    assert fresh(session, p.id).supervisor_id == world["sup"].id
    row = edit(session, world, p, supervisor_id=None)
    assert row.supervisor_id is None


def test_only_a_coordinator_edits_and_only_projects_of_the_cohort(session, world):
    p = f.project(session, world["cohort"], world["sup"], title="Robots")
    with pytest.raises(services.NotAllowed):
        services.edit_project(session, actor=f.actor(world["sup"]), cohort_id=world["cohort"].id,
                              project_id=p.id, title="Mine", description="", code=None,
                              supervisor_id=world["sup"].id)
    other = f.cohort(session, phase="proposals")
    with pytest.raises(services.NotFound):
        services.edit_project(session, actor=world["admin"], cohort_id=other.id, project_id=p.id, title="X",
                              description="", code=None, supervisor_id=None)
