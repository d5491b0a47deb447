"""Supervisors propose, edit and withdraw their own projects, and see demand and allocations."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from allocator import domain, services
from allocator.models import AllocationRun, Assignment, AuditEvent, Project, Response, utcnow
from tests import factories as f
from tests.queries import counted


@pytest.fixture
def world(session):
    cohort = f.cohort(session, phase="proposals", max_choices=3)
    me = f.staff(session, cohort)
    colleague = f.staff(session, cohort)
    return dict(cohort=cohort, me=me, colleague=colleague, actor=f.actor(me))


def propose(session, w, **kw):
    fields = dict(title="Autonomous boats", description="# Plan\nBuild a **boat**.", capacity=3, min_students=1,
                  tags=["robotics", "sea"])
    fields.update(kw)
    return services.propose_project(session, actor=w["actor"], cohort_id=w["cohort"].id, **fields)


def edit(session, w, project_id, **kw):
    fields = dict(title="Autonomous boats", description="", capacity=3, min_students=1, tags=[])
    fields.update(kw)
    return services.update_my_project(session, actor=w["actor"], cohort_id=w["cohort"].id, project_id=project_id,
                                      **fields)


def row(session, project_id) -> Project:
    session.expire_all()
    return session.get(Project, project_id)


# --- propose -------------------------------------------------------------------------------------------

def test_a_proposal_waits_for_approval_and_belongs_to_its_author(session, world):
    view = propose(session, world)
    p = row(session, view.id)
    assert (p.status, p.supervisor_id, p.cohort_id, p.title, p.capacity, p.min_students, p.tags) == \
        ("proposed", world["me"].id, world["cohort"].id, "Autonomous boats", 3, 1, ["robotics", "sea"])
    assert p.description == "# Plan\nBuild a **boat**." and view.status_label == "Waiting for approval"


def test_a_cohort_that_auto_approves_approves_at_once(session, world):
    world["cohort"].auto_approve = True
    session.flush()
    assert propose(session, world).status == "approved"


def test_proposing_is_audited(session, world):
    view = propose(session, world)
    event_ = session.scalars(select(AuditEvent).where(AuditEvent.action == "project.proposed")).one()
    assert event_.actor_id == world["me"].id and event_.detail["project_id"] == view.id


@pytest.mark.parametrize("phase", ["setup", "preferences", "closed"])
def test_proposing_outside_the_proposals_window_is_refused(session, phase):
    cohort = f.cohort(session, phase=phase)
    me = f.staff(session, cohort)
    with pytest.raises(services.Closed, match="Proposals are closed"):
        services.propose_project(session, actor=f.actor(me), cohort_id=cohort.id, title="Late", capacity=1)
    assert session.scalar(select(Project.id).where(Project.cohort_id == cohort.id)) is None


def test_a_student_cannot_propose(session, world):
    stu = f.student(session, world["cohort"])
    with pytest.raises(services.NotAllowed):
        services.propose_project(session, actor=f.actor(stu), cohort_id=world["cohort"].id, title="Mine", capacity=1)


def test_staff_of_another_cohort_cannot_propose_here(session, world):
    stranger = f.staff(session, f.cohort(session, phase="proposals"))
    with pytest.raises(services.NotAllowed):
        services.propose_project(session, actor=f.actor(stranger), cohort_id=world["cohort"].id, title="X",
                                 capacity=1)


# --- validation ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("title", ["", "   ", None])
def test_a_title_is_required(session, world, title):
    with pytest.raises(services.Invalid, match="title"):
        propose(session, world, title=title)


def test_a_title_longer_than_300_characters_is_refused(session, world):
    propose(session, world, title="x" * 300)
    with pytest.raises(services.Invalid, match="300"):
        propose(session, world, title="y" * 301)


@pytest.mark.parametrize("capacity", [domain.PROJECT_CAPACITY_MAX + 1, -1, "3", 2.5, True])
def test_capacity_must_be_a_whole_number_within_the_project_limits(session, world, capacity):
    with pytest.raises(services.Invalid, match="(?i)capacity"):
        propose(session, world, capacity=capacity, min_students=0)


@pytest.mark.parametrize("capacity", [domain.PROJECT_CAPACITY_MIN, domain.PROJECT_CAPACITY_MAX])
def test_capacity_at_either_limit_is_accepted(session, world, capacity):
    assert propose(session, world, capacity=capacity, min_students=0).capacity == capacity


@pytest.mark.parametrize("minimum", [-1, 4])
def test_the_minimum_must_be_between_0_and_the_capacity(session, world, minimum):
    with pytest.raises(services.Invalid, match="minimum"):
        propose(session, world, capacity=3, min_students=minimum)


@pytest.mark.parametrize("tags,message", [
    ("robotics, sea", "list"),
    ([1, 2], "tag"),
    (["x" * (domain.PROJECT_TAG_LENGTH_MAX + 1)], "too long"),
    ([f"t{i}" for i in range(domain.PROJECT_TAGS_MAX + 1)], f"at most {domain.PROJECT_TAGS_MAX}"),
])
def test_tags_must_be_a_short_list_of_short_words(session, world, tags, message):
    with pytest.raises(services.Invalid, match=message):
        propose(session, world, tags=tags)


def test_tags_and_title_are_tidied(session, world):
    view = propose(session, world, title="  Boats   at sea ", tags=[" Robotics ", "robotics", "", "AI  safety"])
    assert view.title == "Boats at sea" and view.tags == ("Robotics", "AI safety")


def test_a_rejected_proposal_writes_nothing(session, world):
    with pytest.raises(services.Invalid):
        propose(session, world, capacity=-1)
    assert session.scalar(select(Project.id).where(Project.cohort_id == world["cohort"].id)) is None


# --- edit ----------------------------------------------------------------------------------------------

def test_edit_changes_my_project(session, world):
    pid = propose(session, world).id
    view = edit(session, world, pid, title="Boats 2", capacity=5, min_students=2, tags=["sea"], description="New")
    p = row(session, pid)
    assert (p.title, p.capacity, p.min_students, p.tags, p.description) == ("Boats 2", 5, 2, ["sea"], "New")
    assert view.title == "Boats 2" and view.status == "proposed"


def test_editing_a_rejected_project_sends_it_back_for_approval(session, world):
    pid = propose(session, world).id
    p = row(session, pid)
    p.status, p.reject_reason = "rejected", "Too vague"
    session.flush()
    view = edit(session, world, pid, description="Much clearer now.")
    assert view.status == "proposed" and view.reject_reason is None


def test_editing_an_approved_project_keeps_it_approved(session, world):
    p = f.project(session, world["cohort"], world["me"], status="approved")
    assert edit(session, world, p.id).status == "approved"


def test_nobody_edits_someone_elses_project(session, world):
    theirs = f.project(session, world["cohort"], world["colleague"], title="Theirs")
    with pytest.raises(services.NotAllowed, match="you supervise"):
        edit(session, world, theirs.id, title="Mine now")
    assert row(session, theirs.id).title == "Theirs"


def test_a_project_of_another_cohort_is_not_found(session, world):
    elsewhere = f.project(session, f.cohort(session, phase="proposals"), world["me"])
    with pytest.raises(services.NotFound):
        edit(session, world, elsewhere.id)


def test_editing_after_proposals_close_is_refused(session):
    cohort = f.cohort(session, phase="preferences")
    me = f.staff(session, cohort)
    p = f.project(session, cohort, me, title="Frozen")
    with pytest.raises(services.Closed):
        services.update_my_project(session, actor=f.actor(me), cohort_id=cohort.id, project_id=p.id, title="Thawed",
                                   capacity=2)
    assert row(session, p.id).title == "Frozen"


def test_a_withdrawn_project_cannot_be_edited(session, world):
    pid = propose(session, world).id
    services.withdraw_my_project(session, actor=world["actor"], cohort_id=world["cohort"].id, project_id=pid)
    with pytest.raises(services.Invalid, match="withdrawn"):
        edit(session, world, pid, title="Back")


def test_edit_validates_like_propose(session, world):
    pid = propose(session, world).id
    with pytest.raises(services.Invalid, match="minimum"):
        edit(session, world, pid, capacity=2, min_students=3)
    assert row(session, pid).capacity == 3


# --- withdraw ------------------------------------------------------------------------------------------

def test_withdraw_keeps_the_project_as_withdrawn(session, world):
    pid = propose(session, world).id
    view = services.withdraw_my_project(session, actor=world["actor"], cohort_id=world["cohort"].id, project_id=pid)
    assert view.status == "withdrawn" and row(session, pid).status == "withdrawn"
    with pytest.raises(services.Invalid, match="already"):
        services.withdraw_my_project(session, actor=world["actor"], cohort_id=world["cohort"].id, project_id=pid)


def test_nobody_withdraws_someone_elses_project(session, world):
    theirs = f.project(session, world["cohort"], world["colleague"])
    with pytest.raises(services.NotAllowed):
        services.withdraw_my_project(session, actor=world["actor"], cohort_id=world["cohort"].id, project_id=theirs.id)
    assert row(session, theirs.id).status == "approved"


def test_withdrawing_after_proposals_close_is_refused(session):
    cohort = f.cohort(session, phase="preferences")
    me = f.staff(session, cohort)
    p = f.project(session, cohort, me)
    with pytest.raises(services.Closed):
        services.withdraw_my_project(session, actor=f.actor(me), cohort_id=cohort.id, project_id=p.id)
    assert row(session, p.id).status == "approved"


def test_a_student_cannot_withdraw_a_project(session, world):
    p = f.project(session, world["cohort"], world["me"])
    with pytest.raises(services.NotAllowed):
        services.withdraw_my_project(session, actor=f.actor(f.student(session, world["cohort"])),
                                     cohort_id=world["cohort"].id, project_id=p.id)


# --- my projects ---------------------------------------------------------------------------------------

def test_my_projects_lists_only_mine_in_every_status_with_the_reject_reason(session, world):
    mine = [f.project(session, world["cohort"], world["me"], title=t, status=s, reject_reason=r)
            for t, s, r in (("A", "approved", None), ("B", "proposed", None), ("C", "rejected", "Overlaps with D"),
                            ("W", "withdrawn", None))]
    f.project(session, world["cohort"], world["colleague"], title="Not mine")
    view = services.list_my_projects(session, actor=world["actor"], cohort_id=world["cohort"].id)
    assert [p.title for p in view.projects] == ["A", "B", "C", "W"]  # withdrawn last
    assert view.project(mine[2].id).reject_reason == "Overlaps with D"
    assert view.can_edit and view.phase == "proposals" and not view.published


def test_demand_is_counted_per_rank_without_names(session):
    cohort = f.cohort(session, phase="preferences", max_choices=3)
    me = f.staff(session, cohort)
    a, b = f.project(session, cohort, me), f.project(session, cohort, me)
    for lst in ([a, b], [b, a], [a], [f.project(session, cohort), a]):
        f.preferences(session, cohort, f.student(session, cohort), lst)
    view = services.list_my_projects(session, actor=f.actor(me), cohort_id=cohort.id)
    assert view.project(a.id).demand == (2, 2, 0) and view.project(a.id).demand_total == 4
    assert view.project(b.id).demand == (1, 1, 0)
    assert view.project(a.id).allocated == () and not view.can_edit


def test_after_publication_i_see_my_allocated_students_and_their_answers(session):
    cohort = f.cohort(session, phase="closed", max_choices=3)
    me = f.staff(session, cohort)
    mine, theirs = f.project(session, cohort, me), f.project(session, cohort)
    s1 = f.student(session, cohort, person=f.user(session, name="Bea"))
    s2 = f.student(session, cohort, person=f.user(session, name="Al"))
    s3 = f.student(session, cohort, person=f.user(session, name="Cy"))
    run = AllocationRun(cohort_id=cohort.id, objective="generous", status="optimal", published_at=utcnow())
    session.add(run)
    session.flush()
    session.add_all([Assignment(run_id=run.id, student_id=s1.id, project_id=mine.id, rank=1),
                     Assignment(run_id=run.id, student_id=s2.id, project_id=mine.id, rank=2),
                     Assignment(run_id=run.id, student_id=s3.id, project_id=theirs.id, rank=1),
                     Response(run_id=run.id, student_id=s1.id, accepted=False, reason="Exchange year")])
    session.flush()
    view = services.list_my_projects(session, actor=f.actor(me), cohort_id=cohort.id)
    assert view.published and view.phase == "published"
    got = [(s.name, s.rank, s.accepted, s.reason) for s in view.project(mine.id).allocated]
    assert got == [("Al", 2, None, ""), ("Bea", 1, False, "Exchange year")]


def test_an_unpublished_run_names_nobody(session):
    cohort = f.cohort(session, phase="closed")
    me = f.staff(session, cohort)
    p = f.project(session, cohort, me)
    stu = f.student(session, cohort)
    run = AllocationRun(cohort_id=cohort.id, objective="generous", status="optimal")
    session.add(run)
    session.flush()
    session.add(Assignment(run_id=run.id, student_id=stu.id, project_id=p.id, rank=1))
    session.flush()
    view = services.list_my_projects(session, actor=f.actor(me), cohort_id=cohort.id)
    assert not view.published and view.project(p.id).allocated == ()


def test_a_student_cannot_see_staff_projects(session, world):
    with pytest.raises(services.NotAllowed):
        services.list_my_projects(session, actor=f.actor(f.student(session, world["cohort"])),
                                  cohort_id=world["cohort"].id)


def test_my_projects_uses_a_constant_number_of_queries(session):
    cohort = f.cohort(session, phase="preferences", max_choices=3)
    me = f.staff(session, cohort)
    def count() -> int:
        session.expire_all()
        with counted(session) as statements:
            services.list_my_projects(session, actor=f.actor(me), cohort_id=cohort.id)
        return len(statements)

    first = f.project(session, cohort, me)
    f.preferences(session, cohort, f.student(session, cohort), [first])
    small = count()
    more = [f.project(session, cohort, me) for _ in range(15)]
    for i in range(5):
        f.preferences(session, cohort, f.student(session, cohort), more[i:i + 3])
    assert count() == small
