"""A student's ranked list: reading it, saving it whole, and browsing the catalogue."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from allocator import db, services
from allocator.models import Membership, Preference
from tests import factories as f
from tests.queries import counted
from tests.conftest import BACKENDS


def stored(session, cohort, student) -> list[int]:
    return list(session.scalars(select(Preference.project_id)
                                .where(Preference.cohort_id == cohort.id, Preference.student_id == student.id)
                                .order_by(Preference.rank)))


def saved_at(session, cohort, student):
    return session.scalar(select(Membership.preferences_saved_at)
                          .where(Membership.cohort_id == cohort.id, Membership.user_id == student.id))


@pytest.fixture
def world(session):
    cohort = f.cohort(session, phase="preferences", min_choices=2, max_choices=4)
    sup = f.staff(session, cohort, person=f.user(session, name="Ada Lovelace"))
    other_sup = f.staff(session, cohort, person=f.user(session, name="Alan Turing"))
    stu = f.student(session, cohort)
    projects = [f.project(session, cohort, sup, title=f"Robots {i}", tags=["robotics"]) for i in range(3)]
    projects += [f.project(session, cohort, other_sup, title=f"Compilers {i}", tags=["languages", "theory"])
                 for i in range(3)]
    return dict(cohort=cohort, sup=sup, other_sup=other_sup, student=stu, projects=projects,
                actor=f.actor(stu))


def save(session, w, ids):
    return services.save_preferences(session, actor=w["actor"], cohort_id=w["cohort"].id, project_ids=ids)


# --- reading -----------------------------------------------------------------------------------------

def test_a_new_student_sees_an_empty_unsubmitted_list_with_deadline_and_time_left(session, world):
    view = services.get_preferences(session, actor=world["actor"], cohort_id=world["cohort"].id)
    assert view.items == () and not view.submitted and view.saved_at is None
    assert view.is_open and not view.read_only
    assert view.deadline == world["cohort"].preferences_close_at
    assert timedelta(hours=23) < view.time_left <= timedelta(days=1)
    assert (view.min_choices, view.max_choices) == (2, 4)
    assert {o.id for o in view.options} == {p.id for p in world["projects"]}


def test_only_approved_projects_are_offered(session, world):
    hidden = [f.project(session, world["cohort"], world["sup"], status=status)
              for status in ("proposed", "rejected", "withdrawn")]
    view = services.get_preferences(session, actor=world["actor"], cohort_id=world["cohort"].id)
    assert not {p.id for p in hidden} & {o.id for o in view.options}


# --- saving ------------------------------------------------------------------------------------------

def test_save_stores_the_list_in_order_and_marks_it_submitted(session, world):
    p = world["projects"]
    view = save(session, world, [p[2].id, p[0].id, p[4].id])
    assert stored(session, world["cohort"], world["student"]) == [p[2].id, p[0].id, p[4].id]
    assert view.project_ids == (p[2].id, p[0].id, p[4].id)
    assert [i.rank for i in view.items] == [1, 2, 3]
    assert view.submitted and saved_at(session, world["cohort"], world["student"]) is not None


def test_saving_again_replaces_the_whole_list(session, world):
    p = world["projects"]
    save(session, world, [p[0].id, p[1].id, p[2].id, p[3].id])
    first = saved_at(session, world["cohort"], world["student"])
    save(session, world, [p[3].id, p[5].id])
    assert stored(session, world["cohort"], world["student"]) == [p[3].id, p[5].id]
    assert saved_at(session, world["cohort"], world["student"]) >= first


def test_save_before_the_window_opens_is_refused(session):
    cohort = f.cohort(session, phase="proposals", min_choices=1)
    stu = f.student(session, cohort)
    p = f.project(session, cohort)
    with pytest.raises(services.Closed, match="not opened yet"):
        services.save_preferences(session, actor=f.actor(stu), cohort_id=cohort.id, project_ids=[p.id])
    assert stored(session, cohort, stu) == [] and saved_at(session, cohort, stu) is None


def test_save_after_the_deadline_is_refused_and_the_list_kept(session):
    cohort = f.cohort(session, phase="closed", min_choices=1)
    stu = f.student(session, cohort)
    a, b = f.project(session, cohort), f.project(session, cohort)
    f.preferences(session, cohort, stu, [a])
    with pytest.raises(services.Closed, match="deadline"):
        services.save_preferences(session, actor=f.actor(stu), cohort_id=cohort.id, project_ids=[b.id])
    assert stored(session, cohort, stu) == [a.id]


def test_after_the_deadline_the_list_is_read_only(session):
    cohort = f.cohort(session, phase="closed", min_choices=1)
    stu = f.student(session, cohort)
    a = f.project(session, cohort)
    f.preferences(session, cohort, stu, [a])
    view = services.get_preferences(session, actor=f.actor(stu), cohort_id=cohort.id)
    assert view.read_only and not view.is_open and view.time_left is None
    assert view.project_ids == (a.id,)


def test_the_coordinators_override_opens_the_window_after_the_dates(session):
    cohort = f.cohort(session, phase="closed", min_choices=1, phase_override="preferences")
    stu = f.student(session, cohort)
    a = f.project(session, cohort)
    services.save_preferences(session, actor=f.actor(stu), cohort_id=cohort.id, project_ids=[a.id])
    assert stored(session, cohort, stu) == [a.id]


def test_fewer_than_the_minimum_is_refused(session, world):
    p = world["projects"]
    save(session, world, [p[0].id, p[1].id])
    with pytest.raises(services.Invalid, match="at least 2"):
        save(session, world, [p[3].id])
    assert stored(session, world["cohort"], world["student"]) == [p[0].id, p[1].id]


def test_more_than_the_maximum_is_refused(session, world):
    with pytest.raises(services.Invalid, match="at most 4"):
        save(session, world, [p.id for p in world["projects"][:5]])
    assert stored(session, world["cohort"], world["student"]) == []
    assert saved_at(session, world["cohort"], world["student"]) is None


def test_the_minimum_is_capped_by_the_number_of_approved_projects(session):
    cohort = f.cohort(session, phase="preferences", min_choices=3, max_choices=5)
    stu = f.student(session, cohort)
    a, b = f.project(session, cohort), f.project(session, cohort)
    f.project(session, cohort, status="proposed")
    view = services.save_preferences(session, actor=f.actor(stu), cohort_id=cohort.id, project_ids=[a.id, b.id])
    assert view.min_choices == 2 and view.project_ids == (a.id, b.id)


def test_a_project_twice_is_refused(session, world):
    p = world["projects"]
    with pytest.raises(services.Invalid, match="twice"):
        save(session, world, [p[0].id, p[1].id, p[0].id])
    assert stored(session, world["cohort"], world["student"]) == []


@pytest.mark.parametrize("status", ["proposed", "rejected", "withdrawn"])
def test_a_project_not_approved_is_refused(session, world, status):
    p = world["projects"]
    hidden = f.project(session, world["cohort"], world["sup"], status=status, title="Secret")
    with pytest.raises(services.Invalid, match="Secret"):
        save(session, world, [p[0].id, hidden.id])
    assert stored(session, world["cohort"], world["student"]) == []


def test_a_project_of_another_cohort_is_refused(session, world):
    foreign = f.project(session, f.cohort(session, phase="preferences"))
    with pytest.raises(services.Invalid, match="not a project of this cohort"):
        save(session, world, [world["projects"][0].id, foreign.id])
    assert stored(session, world["cohort"], world["student"]) == []


def test_the_list_must_hold_project_ids(session, world):
    with pytest.raises(services.Invalid):
        save(session, world, ["1", "2"])


def test_a_withdrawn_project_stays_visible_in_a_saved_list_flagged_unavailable(session, world):
    p = world["projects"]
    save(session, world, [p[0].id, p[1].id])
    p[1].status = "withdrawn"
    session.flush()
    view = services.get_preferences(session, actor=world["actor"], cohort_id=world["cohort"].id)
    assert [(i.project_id, i.available) for i in view.items] == [(p[0].id, True), (p[1].id, False)]


# --- who may --------------------------------------------------------------------------------------------

def test_staff_cannot_save_or_read_a_student_list(session, world):
    staff = f.actor(world["sup"])
    with pytest.raises(services.NotAllowed):
        services.save_preferences(session, actor=staff, cohort_id=world["cohort"].id,
                                  project_ids=[p.id for p in world["projects"][:2]])
    with pytest.raises(services.NotAllowed):
        services.get_preferences(session, actor=staff, cohort_id=world["cohort"].id)


def test_a_student_of_another_cohort_cannot_save_here(session, world):
    stranger = f.student(session, f.cohort(session, phase="preferences"))
    with pytest.raises(services.NotAllowed):
        services.save_preferences(session, actor=f.actor(stranger), cohort_id=world["cohort"].id,
                                  project_ids=[p.id for p in world["projects"][:2]])
    with pytest.raises(services.NotAllowed):
        services.browse_projects(session, actor=f.actor(stranger), cohort_id=world["cohort"].id)


def test_an_admin_is_not_a_student(session, world):
    with pytest.raises(services.NotAllowed):
        services.get_preferences(session, actor=f.actor(f.admin(session)), cohort_id=world["cohort"].id)


def test_a_student_only_ever_touches_their_own_list(session, world):
    p = world["projects"]
    other = f.student(session, world["cohort"])
    f.preferences(session, world["cohort"], other, [p[5], p[4]])
    save(session, world, [p[0].id, p[1].id])
    assert stored(session, world["cohort"], other) == [p[5].id, p[4].id]
    view = services.get_preferences(session, actor=world["actor"], cohort_id=world["cohort"].id)
    assert view.project_ids == (p[0].id, p[1].id)


# --- browsing -------------------------------------------------------------------------------------------

def browse(session, w, **kw):
    return services.browse_projects(session, actor=w["actor"], cohort_id=w["cohort"].id, **kw)


def test_browse_lists_approved_projects_with_filter_choices(session, world):
    f.project(session, world["cohort"], world["sup"], status="proposed", tags=["hidden-tag"])
    view = browse(session, world)
    assert view.total == 6 and len(view.projects) == 6 and view.is_open and view.max_choices == 4
    assert view.tags == ("languages", "robotics", "theory")
    assert [name for _, name in view.supervisors] == ["Ada Lovelace", "Alan Turing"]


def test_search_matches_title_description_and_supervisor_case_insensitively(session, world):
    f.project(session, world["cohort"], world["sup"], title="Swarm", description="Ants **foraging** models")
    assert {p.title for p in browse(session, world, search="ROBOTS").projects} == {f"Robots {i}" for i in range(3)}
    assert [p.title for p in browse(session, world, search="swarm ANTS").projects] == ["Swarm"]
    assert [p.title for p in browse(session, world, search="foraging").projects] == ["Swarm"]
    assert {p.title for p in browse(session, world, search="turing").projects} == {f"Compilers {i}" for i in range(3)}
    assert browse(session, world, search="no such words").projects == ()


def test_filter_by_tag_and_by_supervisor(session, world):
    assert {p.title for p in browse(session, world, tags=["theory"]).projects} == {f"Compilers {i}" for i in range(3)}
    assert len(browse(session, world, tags=["theory", "robotics"]).projects) == 6
    by_ada = browse(session, world, supervisor_id=world["sup"].id)
    assert {p.supervisor_name for p in by_ada.projects} == {"Ada Lovelace"} and len(by_ada.projects) == 3
    assert browse(session, world, tags=["robotics"], supervisor_id=world["other_sup"].id).projects == ()


def test_browse_flags_what_is_in_my_list(session, world):
    p = world["projects"]
    save(session, world, [p[4].id, p[1].id])
    view = browse(session, world)
    ranks = {b.id: b.my_rank for b in view.projects}
    assert ranks[p[4].id] == 1 and ranks[p[1].id] == 2 and ranks[p[0].id] is None
    assert view.my_list == (p[4].id, p[1].id)
    assert {b.id for b in view.projects if b.in_my_list} == {p[4].id, p[1].id}


def test_browse_and_read_use_a_constant_number_of_queries(session, world):
    with counted(session) as small:
        browse(session, world, search="o")
        services.get_preferences(session, actor=world["actor"], cohort_id=world["cohort"].id)
    sup = world["sup"]
    extra = [f.project(session, world["cohort"], sup, tags=["x", "y"]) for _ in range(30)]
    f.preferences(session, world["cohort"], world["student"], extra[:4])
    with counted(session) as large:
        browse(session, world, search="o")
        services.get_preferences(session, actor=world["actor"], cohort_id=world["cohort"].id)
    assert len(large) == len(small)


# --- racing -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fresh_database", BACKENDS, indirect=True)
def test_two_saves_racing_leave_one_whole_list(fresh_database):
    url = fresh_database
    with db.session(url) as s, s.begin():
        cohort = f.cohort(s, phase="preferences", min_choices=1, max_choices=6)
        stu = f.student(s, cohort)
        projects = [f.project(s, cohort, capacity=3) for _ in range(6)]
        cohort_id, actor = cohort.id, f.actor(stu)
        ids = [p.id for p in projects]
    lists = ([ids[0], ids[1], ids[2]], [ids[5], ids[4], ids[3], ids[2], ids[1]])

    for _ in range(20):
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def worker(project_ids):
            try:
                with db.session(url) as s:
                    barrier.wait(timeout=10)
                    with s.begin():
                        services.save_preferences(s, actor=actor, cohort_id=cohort_id, project_ids=project_ids)
            except BaseException as err:  # noqa: BLE001 - reported below
                errors.append(err)

        threads = [threading.Thread(target=worker, args=(lst,)) for lst in lists]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors, errors
        with db.session(url) as s:
            rows = s.execute(select(Preference.rank, Preference.project_id)
                             .where(Preference.cohort_id == cohort_id, Preference.student_id == actor.user_id)
                             .order_by(Preference.rank)).all()
        assert [r for r, _ in rows] == list(range(1, len(rows) + 1))
        assert [pid for _, pid in rows] in [list(lst) for lst in lists]


# --- a new order from the drag-and-drop list ------------------------------------------------------------

def reorder(session, w, draft, new_order, actor=None):
    return services.check_new_order(session, actor=actor or w["actor"], cohort_id=w["cohort"].id, draft=draft,
                                    new_order=new_order)


def test_a_reordered_draft_is_accepted_as_it_is(session, world):
    a, b, c = (p.id for p in world["projects"][:3])
    assert reorder(session, world, [a, b, c], [c, a, b]) == (c, a, b)


@pytest.mark.parametrize("case", ["stale", "forged_extra", "duplicate", "unknown_label", "text", "other_cohort",
                                  "not_approved"])
def test_a_stale_or_forged_order_is_refused(session, world, case):
    a, b, c = (p.id for p in world["projects"][:3])
    other = f.project(session, f.cohort(session, phase="preferences"), world["sup"], title="Elsewhere")
    hidden = f.project(session, world["cohort"], world["sup"], title="Draft only", status="proposed")
    draft, order = {
        "stale": ([a, b, c], [b, a]),  # the list lost a project since the component drew it
        "forged_extra": ([a, b], [b, a, c]),
        "duplicate": ([a, b, c], [a, a, b]),
        "unknown_label": ([a, b], [b, None]),
        "text": ([a, b], "ba"),
        "other_cohort": ([a, other.id], [other.id, a]),
        "not_approved": ([a, hidden.id], [hidden.id, a]),
    }[case]
    with pytest.raises(services.Invalid):
        reorder(session, world, draft, order)


def test_more_than_the_maximum_is_refused_and_a_withdrawn_saved_choice_may_still_move(session, world):
    ids = [p.id for p in world["projects"]]
    with pytest.raises(services.Invalid, match="at most 4"):
        reorder(session, world, ids[:5], list(reversed(ids[:5])))
    save(session, world, ids[:2])
    world["projects"][0].status = "withdrawn"  # after the student chose it
    session.flush()
    assert reorder(session, world, ids[:2], [ids[1], ids[0]]) == (ids[1], ids[0])


def test_only_the_student_checks_their_own_order(session, world):
    a, b = (p.id for p in world["projects"][:2])
    with pytest.raises(services.NotAllowed):
        reorder(session, world, [a, b], [b, a], actor=f.actor(world["sup"]))
