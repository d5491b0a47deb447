"""The allocation studio's services: tune, run, read, compare, adjust, explain."""
from __future__ import annotations


import pytest
from sqlalchemy import select

from allocator import engine, services
from allocator.models import AllocationRun, Assignment, AuditEvent
from allocator.services import (
    Invalid,
    NotAllowed,
    NotFound,
    RunParameters,
    compare_runs,
    explain_for_student,
    explain_student,
    get_run,
    list_runs,
    move_student,
    parse_weights,
    restore_run,
    run_allocation,
    run_assignments,
    run_charts,
    studio_setup,
)
from allocator.services.allocation import headline_of
from tests import factories as f
from tests.queries import counted


class World:
    """A cohort of 6 students over three projects of two supervisors.

    A (cap 2, supervisor Ann, max load 4), B (cap 2, Ann), C (cap 2, min 2, Bob). Everyone ranks A first.
    """

    def __init__(self, session, students: int = 6):
        self.session = session
        self.cohort = f.cohort(session, phase="closed")
        self.admin = f.admin(session)
        self.ann = f.staff(session, self.cohort, max_load=4, person=f.user(session, name="Ann Supervisor"))
        self.bob = f.staff(session, self.cohort, person=f.user(session, name="Bob Supervisor"))
        self.a = f.project(session, self.cohort, self.ann, title="Alpha", capacity=2)
        self.b = f.project(session, self.cohort, self.ann, title="Beta", capacity=2)
        self.c = f.project(session, self.cohort, self.bob, title="Gamma", capacity=2, min_students=2)
        self.withdrawn = f.project(session, self.cohort, self.bob, title="Gone", status="withdrawn")
        self.students = []
        orders = [[self.a, self.b, self.c], [self.a, self.c, self.b], [self.a, self.b], [self.a, self.c],
                  [self.b, self.a], [self.c, self.a, self.b]]
        for i in range(students):
            s = f.student(session, self.cohort, person=f.user(session, name=f"Student {i:02d}"))
            f.preferences(session, self.cohort, s, orders[i % len(orders)])
            self.students.append(s)
        self.actor = f.actor(self.admin)

    def run(self, **params) -> object:
        label = params.pop("label", "")
        return run_allocation(self.session, actor=self.actor, cohort_id=self.cohort.id,
                              params=RunParameters(**params), label=label)

    def placement(self, run_id: int) -> dict[int, int | None]:
        return dict(self.session.execute(select(Assignment.student_id, Assignment.project_id)
                                         .where(Assignment.run_id == run_id)).all())


@pytest.fixture
def world(session):
    return World(session)


# ------------------------------------------------------------------------------------------ running


def test_a_run_is_stored_with_every_assignment_and_is_valid(world):
    view = world.run(objective="greedy", label="first try")
    run = world.session.get(AllocationRun, view.id)
    assert (view.status, view.students, view.placed, view.label) == ("optimal", 6, 6, "first try")
    assert run.record["problem"]["students"] and run.record["settings"]["objective"] == "greedy"
    assert run.kind == "solve" and run.students == 6
    placement = world.placement(view.id)
    assert set(placement) == {s.id for s in world.students}
    counts = {p: list(placement.values()).count(p) for p in set(placement.values())}
    assert counts[world.a.id] == 2 and counts.get(world.c.id, 0) in (0, 2)
    # The stored problem and assignments pass the engine's independent validator.
    problem = engine.parse_problem(run.record["problem"])
    result = engine.Result("optimal", "greedy", {f"S{s}": f"P{p}" for s, p in placement.items() if p},
                           [f"S{s}" for s, p in placement.items() if p is None], list(run.profile), run.cost,
                           0.0, run.solver)
    assert engine.validate(problem, result) == []
    # Ranks stored are the students' own ranks.
    ranks = dict(world.session.execute(select(Assignment.student_id, Assignment.rank)
                                       .where(Assignment.run_id == view.id)).all())
    assert all(r is not None and r >= 1 for r in ranks.values())
    assert sum(view.profile) == 6 and len(view.profile) == 4  # ranks 1-3 and unranked


def test_withdrawn_projects_and_inactive_students_are_left_out(world):
    world.students[0].active = False
    f.preferences(world.session, world.cohort, f.student(world.session, world.cohort), [world.withdrawn, world.b])
    world.session.flush()
    view = world.run()
    problem = world.session.get(AllocationRun, view.id).record["problem"]
    assert f"P{world.withdrawn.id}" not in {p["id"] for p in problem["projects"]}
    assert f"S{world.students[0].id}" not in {s["id"] for s in problem["students"]}
    assert view.students == 6


def test_pins_forbids_and_their_reasons_are_applied_and_audited(world):
    s0, s1 = world.students[0], world.students[1]
    view = world.run(pins=[(s0.id, world.b.id, "needs the lab in Beta")],
                     forbids=[(s1.id, world.a.id, "conflict of interest")])
    placement = world.placement(view.id)
    assert placement[s0.id] == world.b.id and placement[s1.id] != world.a.id
    pinned = world.session.scalar(select(Assignment.pinned).where(Assignment.run_id == view.id,
                                                                  Assignment.student_id == s0.id))
    assert pinned is True
    audit = world.session.scalars(select(AuditEvent).where(AuditEvent.action == "allocation.run")).one()
    assert audit.detail["pins"][0]["reason"] == "needs the lab in Beta"
    assert audit.detail["forbids"][0]["reason"] == "conflict of interest"
    assert audit.detail["run_id"] == view.id


def test_capacity_minimum_and_supervisor_overrides_apply_to_the_run_only(world):
    view = world.run(capacity_overrides={world.a.id: 0}, minimum_overrides={world.c.id: 0},
                     supervisor_capacity_overrides={world.ann.id: 1})
    placement = world.placement(view.id)
    values = list(placement.values())
    assert world.a.id not in values
    assert values.count(world.b.id) <= 1  # Ann may supervise one student in this run
    charts = run_charts(world.session, actor=world.actor, run_id=view.id)
    fill = {r.project_id: r for r in charts.project_fill}
    assert (fill[world.a.id].capacity, fill[world.c.id].minimum) == (0, 0)
    load = {r.supervisor_id: r for r in charts.supervisor_load}
    assert load[world.ann.id].capacity == 1
    # The catalogue itself is untouched.
    world.session.refresh(world.a)
    assert world.a.capacity == 2


def test_unranked_placements_only_when_allowed(world):
    for _s in range(4):
        f.preferences(world.session, world.cohort, f.student(world.session, world.cohort), [])
    strict = world.run(capacity_overrides={world.b.id: 6}, supervisor_capacity_overrides={world.ann.id: None})
    loose = world.run(capacity_overrides={world.b.id: 6}, supervisor_capacity_overrides={world.ann.id: None},
                      allow_unranked=True)
    assert strict.placed < loose.placed
    assert loose.profile[-1] > 0  # unranked placements are counted last


def test_an_infeasible_run_is_stored_with_the_clash_and_suggestions(world):
    pins = [(s.id, world.c.id, "want them together") for s in world.students[:3]]
    view = world.run(pins=pins)
    assert view.status == "infeasible" and view.placed == 0
    assert "Gamma" in view.message and "3 students are pinned" in view.message
    assert any("Raise the capacity of Gamma to 3" in s for s in view.suggestions)
    assert world.placement(view.id) == {}
    assert get_run(world.session, actor=world.actor, run_id=view.id).suggestions == view.suggestions


def test_a_pin_that_contradicts_a_forbid_suggests_dropping_one(world):
    s0 = world.students[0]
    view = world.run(pins=[(s0.id, world.b.id, "x")], forbids=[(s0.id, world.b.id, "y")])
    assert view.status == "infeasible"
    assert any("Drop the pin of Student 00 to Beta" in s for s in view.suggestions)


def test_a_pin_forcing_a_project_below_its_minimum_suggests_lowering_it(world):
    s0 = world.students[0]
    view = world.run(pins=[(s0.id, world.c.id, "x")], forbids=[(s.id, world.c.id, "no") for s in world.students[1:]])
    assert view.status == "infeasible"
    assert any("Lower the minimum of Gamma to 1" in s for s in view.suggestions)


@pytest.mark.parametrize("params, message", [
    (dict(objective="best"), "Unknown objective"),
    (dict(objective="weighted", weights=None), "needs one weight per rank"),
    (dict(objective="weighted", weights=(1,)), "weights given"),
    (dict(seed=-1), "seed"),
    (dict(time_limit=0), "time limit"),
    (dict(capacity_overrides={1: -1}), "capacity"),
    (dict(minimum_overrides={"x": 1}), "map ids"),
])
def test_bad_settings_are_refused_with_a_sentence(world, params, message):
    with pytest.raises(Invalid, match=message):
        world.run(**params)
    assert world.session.scalar(select(AllocationRun.id)) is None


def test_pins_to_unknown_students_or_projects_are_refused(world):
    with pytest.raises(Invalid, match="not an approved project"):
        world.run(pins=[(world.students[0].id, world.withdrawn.id, "")])
    with pytest.raises(Invalid, match="not a student of this cohort"):
        world.run(forbids=[(world.ann.id, world.a.id, "")])
    with pytest.raises(Invalid, match="one project only"):
        world.run(pins=[(world.students[0].id, world.a.id, ""), (world.students[0].id, world.b.id, "")])
    with pytest.raises(Invalid, match="minimum"):
        world.run(minimum_overrides={world.a.id: 3})


def test_the_weighted_objective_uses_the_weights(world):
    view = world.run(objective="weighted", weights=parse_weights("1, 10, 100, 1000"))
    assert view.status == "optimal" and view.cost == sum(w * n for w, n in zip((1, 10, 100, 1000), view.profile))


def test_parse_weights():
    assert parse_weights("1, 2;4 8") == (1, 2, 4, 8)
    for bad in ("", "1, x", "-1"):
        with pytest.raises(Invalid):
            parse_weights(bad)


def test_the_same_seed_gives_the_same_allocation(world):
    one, two = world.run(seed=5), world.run(seed=5)
    assert world.placement(one.id) == world.placement(two.id)


def test_a_run_takes_a_constant_number_of_queries(session):
    small = World(session, students=6)
    with counted(session) as few:
        small.run()
    for _i in range(30):
        f.preferences(session, small.cohort, f.student(session, small.cohort), [small.a, small.b])
    with counted(session) as many:
        small.run()
    assert len(many) == len(few), "\n".join(many)


# ------------------------------------------------------------------------------------------ reading


def test_list_runs_newest_first_with_summaries(world):
    one = world.run(label="one")
    two = world.run(label="two", objective="min-cost")
    runs = list_runs(world.session, actor=world.actor, cohort_id=world.cohort.id)
    assert [r.id for r in runs] == [two.id, one.id]
    assert runs[0].kind == "solve" and runs[0].students == 6 and runs[0].objective == "min-cost"
    assert runs[0].created_by == world.admin.name and runs[0].name == f"#{two.id} · two"


def test_the_notes_of_some_runs_are_theirs_among_every_runs_notes(world):
    one = world.run(label="one", capacity_overrides=[(world.a.id, 1)])
    two = world.run(label="two", seed=3)
    every = services.run_notes(world.session, actor=world.actor, cohort_id=world.cohort.id)
    assert set(every) == {one.id, two.id} and every[one.id].tuned != every[two.id].tuned
    some = services.run_notes(world.session, actor=world.actor, cohort_id=world.cohort.id, run_ids=[one.id])
    assert some == {one.id: every[one.id]}
    other = f.cohort(world.session, name="Another cohort")
    assert services.run_notes(world.session, actor=world.actor, cohort_id=other.id, run_ids=[one.id]) == {}


def test_run_assignments_lists_every_student_with_project_and_supervisor(world):
    view = world.run(pins=[(world.students[0].id, world.b.id, "")])
    rows = run_assignments(world.session, actor=world.actor, run_id=view.id)
    assert len(rows) == 6 and [r.student_name for r in rows] == sorted(r.student_name for r in rows)
    row = next(r for r in rows if r.student_id == world.students[0].id)
    assert (row.project_title, row.supervisor_name, row.pinned, row.rank) == ("Beta", "Ann Supervisor", True, 2)


def test_chart_data_comes_from_the_stored_run(world):
    view = world.run()
    charts = run_charts(world.session, actor=world.actor, run_id=view.id)
    placement = world.placement(view.id)
    for row in charts.project_fill:
        assert row.assigned == list(placement.values()).count(row.project_id)
    demand = {r.title: r for r in charts.demand}
    assert (demand["Alpha"].first_choices, demand["Alpha"].any_rank, demand["Alpha"].capacity) == (4, 6, 2)
    assert demand["Beta"].first_choices == 1 and demand["Gamma"].first_choices == 1
    loads = {r.name: r for r in charts.supervisor_load}
    assert loads["Ann Supervisor"].capacity == 4 and loads["Bob Supervisor"].capacity is None
    assert sum(r.assigned for r in charts.supervisor_load) == charts.headline.placed == 6
    assert charts.headline == headline_of(view.profile, 6)


def test_a_run_charted_as_it_is_made_charts_as_it_reads_back(world):
    params = RunParameters(pins=((world.students[0].id, world.b.id, ""),), capacity_overrides=((world.b.id, 2),))
    view, charts = services.run_allocation_charted(world.session, actor=world.actor, cohort_id=world.cohort.id,
                                                   params=params, label="charted")
    assert charts == run_charts(world.session, actor=world.actor, run_id=view.id)
    assert view == charts.run and view.label == "charted"


def test_the_headline_matches_the_charts_module():
    from allocator import charts

    for profile, students in (([3, 2, 1, 0], 7), ([0, 0, 1], 1), ([], 0), ([5, 0, 0, 2], 9)):
        ours, theirs = headline_of(profile, students), charts.headline(profile, students)
        assert (ours.placed, ours.unplaced, ours.pct_first, ours.pct_top3, ours.worst_rank, ours.average_rank) == (
            theirs.placed, theirs.unplaced, theirs.pct_first, theirs.pct_top3, theirs.worst_rank, theirs.average_rank)


def test_compare_lists_students_whose_project_differs(world):
    one = world.run(objective="greedy")
    two = world.run(objective="greedy", forbids=[(world.students[4].id, world.b.id, "")])
    result = compare_runs(world.session, actor=world.actor, run_ids=[one.id, two.id])
    assert [r.id for r in result.runs] == [one.id, two.id] and len(result.headlines) == 2
    first, second = world.placement(one.id), world.placement(two.id)
    differing = {s for s in first if first[s] != second[s]}
    assert {d.student_id for d in result.differences} == differing and differing
    with pytest.raises(Invalid, match="at least two"):
        compare_runs(world.session, actor=world.actor, run_ids=[one.id])
    other = World(world.session)
    with pytest.raises(Invalid, match="same cohort"):
        compare_runs(world.session, actor=world.actor, run_ids=[one.id, other.run().id])


# ------------------------------------------------------------------------------------------ adjusting


def _on(world, run_id, project):
    return [s for s, p in world.placement(run_id).items() if p == project.id]


def test_a_move_makes_a_new_derived_run_and_changes_nothing_else(world):
    base = world.run(capacity_overrides={world.b.id: 3})
    before = world.placement(base.id)
    mover = next(s for s, p in before.items() if p == world.a.id)
    moved = move_student(world.session, actor=world.actor, run_id=base.id, student_id=mover,
                         project_id=world.b.id, reason="asked to swap")
    assert moved.id != base.id and moved.parent_run_id == base.id and moved.kind == "move"
    assert moved.status == "feasible" and moved.solver == "manual"
    after = world.placement(moved.id)
    assert after[mover] == world.b.id and {s: p for s, p in after.items() if s != mover} == {
        s: p for s, p in before.items() if s != mover}
    assert world.placement(base.id) == before  # the old run is untouched
    manual = world.session.scalar(select(Assignment.manual).where(Assignment.run_id == moved.id,
                                                                  Assignment.student_id == mover))
    assert manual is True
    assert moved.profile != base.profile or moved.cost != base.cost
    assert sum(moved.profile) == moved.placed == base.placed
    # The derived run keeps the capacity override: Beta holds 3 there.
    full = _on(world, moved.id, world.b)
    assert len(full) <= 3
    audit = world.session.scalars(select(AuditEvent).where(AuditEvent.action == "allocation.moved")).one()
    assert audit.detail["reason"] == "asked to swap" and audit.detail["to_project_id"] == world.b.id


def test_a_move_into_a_full_project_is_refused(world):
    base = world.run()
    outsider = next(s for s, p in world.placement(base.id).items() if p != world.a.id)
    with pytest.raises(Invalid, match="Alpha is full"):
        move_student(world.session, actor=world.actor, run_id=base.id, student_id=outsider, project_id=world.a.id)
    assert world.session.scalar(select(AllocationRun.id).where(AllocationRun.parent_run_id == base.id)) is None


def test_a_move_that_leaves_a_project_below_its_minimum_is_refused(world):
    base = world.run(pins=[(world.students[1].id, world.c.id, ""), (world.students[5].id, world.c.id, "")],
                     capacity_overrides={world.b.id: 4}, supervisor_capacity_overrides={world.ann.id: None})
    assert len(_on(world, base.id, world.c)) == 2
    with pytest.raises(Invalid, match="Gamma needs at least 2 students or none"):
        move_student(world.session, actor=world.actor, run_id=base.id, student_id=world.students[1].id,
                     project_id=world.b.id)
    # Opening a closed project with one student is refused too.
    base2 = world.run(forbids=[(s.id, world.c.id, "") for s in world.students[1:]])
    assert _on(world, base2.id, world.c) == []
    with pytest.raises(Invalid, match="Gamma needs at least 2 students or none; this move would leave it with 1"):
        move_student(world.session, actor=world.actor, run_id=base2.id, student_id=world.students[0].id,
                     project_id=world.c.id)


def test_a_move_to_a_forbidden_project_is_refused(world):
    s4 = world.students[4]
    base = world.run(forbids=[(s4.id, world.b.id, "")], capacity_overrides={world.b.id: 5})
    with pytest.raises(Invalid, match="Beta is forbidden for Student 04"):
        move_student(world.session, actor=world.actor, run_id=base.id, student_id=s4.id, project_id=world.b.id)


def test_a_move_over_a_supervisors_capacity_is_refused(world):
    base = world.run(capacity_overrides={world.b.id: 4}, minimum_overrides={world.c.id: 0})
    placement = world.placement(base.id)
    ann_load = sum(1 for p in placement.values() if p in (world.a.id, world.b.id))
    assert ann_load == 4
    outsider = next(s for s, p in placement.items() if p not in (world.a.id, world.b.id))
    with pytest.raises(Invalid, match="Ann Supervisor would supervise 5 students"):
        move_student(world.session, actor=world.actor, run_id=base.id, student_id=outsider, project_id=world.b.id)


def test_unplacing_and_moving_a_pinned_student_and_unranked_placements(world):
    s0 = world.students[2]  # ranks Alpha, Beta only
    base = world.run(pins=[(s0.id, world.b.id, "")], capacity_overrides={world.c.id: 3},
                     minimum_overrides={world.c.id: 0})
    unplaced = move_student(world.session, actor=world.actor, run_id=base.id, student_id=s0.id, project_id=None)
    assert world.placement(unplaced.id)[s0.id] is None and unplaced.unplaced == 1
    # Onto a project they did not rank: allowed by hand, counted as unranked.
    again = move_student(world.session, actor=world.actor, run_id=unplaced.id, student_id=s0.id,
                         project_id=world.c.id)
    assert again.profile[-1] == 1
    row = next(r for r in run_assignments(world.session, actor=world.actor, run_id=again.id) if r.student_id == s0.id)
    assert row.rank is None and row.manual and not row.pinned
    with pytest.raises(Invalid, match="already on Gamma"):
        move_student(world.session, actor=world.actor, run_id=again.id, student_id=s0.id, project_id=world.c.id)
    explained = explain_student(world.session, actor=world.actor, run_id=again.id, student_id=s0.id)
    assert "did not rank" in explained[0]


def test_moves_on_an_infeasible_run_or_unknown_students_are_refused(world):
    bad = world.run(pins=[(s.id, world.a.id, "") for s in world.students[:3]])
    with pytest.raises(Invalid, match="no allocation"):
        move_student(world.session, actor=world.actor, run_id=bad.id, student_id=world.students[0].id,
                     project_id=None)
    good = world.run()
    with pytest.raises(NotFound):
        move_student(world.session, actor=world.actor, run_id=good.id, student_id=world.ann.id, project_id=None)
    with pytest.raises(NotFound):
        move_student(world.session, actor=world.actor, run_id=10**9, student_id=world.ann.id, project_id=None)


def test_restore_copies_an_older_run_as_the_newest(world):
    old = world.run(seed=1)
    world.run(seed=2)
    restored = restore_run(world.session, actor=world.actor, run_id=old.id)
    assert restored.parent_run_id == old.id and restored.kind == "restore"
    assert world.placement(restored.id) == world.placement(old.id)
    assert list_runs(world.session, actor=world.actor, cohort_id=world.cohort.id)[0].id == restored.id
    # A restored run still explains and moves, from its origin's problem.
    assert explain_student(world.session, actor=world.actor, run_id=restored.id, student_id=world.students[0].id)


# ------------------------------------------------------------------------------------------ explaining


def test_explain_student_names_projects_and_reasons(world):
    view = world.run(objective="greedy")
    placement = world.placement(view.id)
    loser = next(s.id for s in world.students[:4] if placement[s.id] != world.a.id)
    lines = explain_student(world.session, actor=world.actor, run_id=view.id, student_id=loser)
    assert lines[0].startswith("Student") and "their choice number" in lines[0]
    assert any("Alpha (your 1st choice) was full" in line for line in lines[1:])
    assert not any("P" + str(world.a.id) in line for line in lines)


def test_students_see_their_explanation_only_for_the_published_run(world):
    from allocator.services import publish_run

    view = world.run(objective="greedy")
    placement = world.placement(view.id)
    loser = next(s for s in world.students[:4] if placement[s.id] != world.a.id)
    me = f.actor(loser)
    assert explain_for_student(world.session, actor=me, cohort_id=world.cohort.id) == []
    publish_run(world.session, actor=world.actor, run_id=view.id)
    lines = explain_for_student(world.session, actor=me, cohort_id=world.cohort.id)
    assert lines and lines[0].startswith("Alpha (your 1st choice)")
    others = {s.name for s in world.students if s.id != loser.id}
    assert not any(name in line for line in lines for name in others)
    with pytest.raises(NotAllowed):
        explain_for_student(world.session, actor=f.actor(world.ann), cohort_id=world.cohort.id)


# ------------------------------------------------------------------------------------------ roles


def _admin_calls(world):
    run_id = world.session.scalar(select(AllocationRun.id)) or 0
    s, c = world.students[0].id, world.cohort.id
    return {
        "studio_setup": lambda a: studio_setup(world.session, actor=a, cohort_id=c),
        "run_allocation": lambda a: run_allocation(world.session, actor=a, cohort_id=c, params=RunParameters()),
        "list_runs": lambda a: list_runs(world.session, actor=a, cohort_id=c),
        "get_run": lambda a: get_run(world.session, actor=a, run_id=run_id),
        "run_assignments": lambda a: run_assignments(world.session, actor=a, run_id=run_id),
        "run_charts": lambda a: run_charts(world.session, actor=a, run_id=run_id),
        "compare_runs": lambda a: compare_runs(world.session, actor=a, run_ids=[run_id, run_id]),
        "move_student": lambda a: move_student(world.session, actor=a, run_id=run_id, student_id=s, project_id=None),
        "restore_run": lambda a: restore_run(world.session, actor=a, run_id=run_id),
        "explain_student": lambda a: explain_student(world.session, actor=a, run_id=run_id, student_id=s),
    }


ADMIN_SERVICES = ["studio_setup", "run_allocation", "list_runs", "get_run", "run_assignments", "run_charts",
                  "compare_runs", "move_student", "restore_run", "explain_student"]


@pytest.mark.parametrize("service", ADMIN_SERVICES)
def test_students_and_staff_are_refused(world, service):
    world.run()
    call = _admin_calls(world)[service]
    before = world.session.scalar(select(AllocationRun.id).order_by(AllocationRun.id.desc()).limit(1))
    for person in (world.students[0], world.ann):
        with pytest.raises(NotAllowed):
            call(f.actor(person))
    after = world.session.scalar(select(AllocationRun.id).order_by(AllocationRun.id.desc()).limit(1))
    assert before == after


# ------------------------------------------------------------------------------------------ explaining derived runs


def _moved_off_first_choice(world):
    """A run, then a move of a student who had their first choice (Alpha) to Delta, which nobody ranked."""
    delta = f.project(world.session, world.cohort, world.bob, title="Delta", capacity=2)
    base = world.run()
    mover = next(s for s in world.students if world.placement(base.id)[s.id] == world.a.id)
    moved = move_student(world.session, actor=world.actor, run_id=base.id, student_id=mover.id,
                         project_id=delta.id, reason="asked for it")
    return base, moved, mover, delta


SOLVER_WORDS = ("time limit", "solver", "objective", "had room")


def test_a_student_moved_by_hand_is_told_the_coordinator_moved_them(world):
    from allocator.services import publish_run

    base, moved, mover, _ = _moved_off_first_choice(world)
    assert base.status == "optimal"
    publish_run(world.session, actor=world.actor, run_id=moved.id)
    text = " ".join(explain_for_student(world.session, actor=f.actor(mover), cohort_id=world.cohort.id))
    assert "coordinator moved you" in text and "Delta" in text
    assert not any(word in text for word in SOLVER_WORDS), text
    lines = explain_student(world.session, actor=world.actor, run_id=moved.id, student_id=mover.id)
    assert "did not rank" in lines[0] and "moved" in " ".join(lines[1:])
    assert not any(word in " ".join(lines) for word in SOLVER_WORDS), lines


def test_students_the_move_left_alone_keep_the_reasons_of_the_solve_that_placed_them(world):
    from allocator.services import publish_run

    base, moved, mover, _ = _moved_off_first_choice(world)
    publish_run(world.session, actor=world.actor, run_id=moved.id)
    for s in world.students:
        if s.id == mover.id:
            continue
        lines = explain_for_student(world.session, actor=f.actor(s), cohort_id=world.cohort.id)
        # The solve was optimal and took no time: its reasons never blame a time limit.
        assert not any("time limit" in line for line in lines), (s.name, lines)
        assert lines == explain_student(world.session, actor=world.actor, run_id=base.id, student_id=s.id)[1:] or \
            lines == [], (s.name, lines)


def test_a_restored_move_still_says_the_coordinator_moved_the_student(world):
    _, moved, mover, _ = _moved_off_first_choice(world)
    restored = restore_run(world.session, actor=world.actor, run_id=moved.id)
    lines = explain_student(world.session, actor=world.actor, run_id=restored.id, student_id=mover.id)
    assert "moved" in " ".join(lines[1:]) and not any(w in " ".join(lines) for w in SOLVER_WORDS)
