"""`explain` gives each student a reason per better choice; `validate` catches every broken rule."""
import dataclasses

import pytest

from allocator import engine
from allocator.engine import Problem, Project, Student, Supervisor


def reasons(problem, student, objective="min-cost", weights=None):
    result = engine.solve(problem, objective=objective, weights=weights)
    assert engine.validate(problem, result) == []
    return [(r.project, r.rank, r.reason) for r in engine.explain(problem, result, student)], result


def test_full_with_students_who_ranked_it_higher_or_the_same():
    problem = Problem([Student("S1", ("P2", "P1", "P3")), Student("S2", ("P1",)), Student("S3", ("P2",))],
                      [Project("P1", 1), Project("P2", 1), Project("P3", 1)])
    got, result = reasons(problem, "S1")
    assert result.assignment["S1"] == "P3"
    assert got == [("P2", 1, "full_tie"), ("P1", 2, "full")]
    texts = [r.text for r in engine.explain(problem, result, "S1", names={"P1": "Robot arm"})]
    assert texts[1] == "Robot arm (your 2nd choice) was full: its 1 place went to students who ranked it higher than you did."


def test_full_with_a_student_who_ranked_it_lower():
    problem = Problem([Student("S1", ("P1", "P2")), Student("S2", ("P3", "P1")), Student("S3", ("P3",))],
                      [Project("P1", 1), Project("P2", 1), Project("P3", 1)])
    got, _ = reasons(problem, "S1")
    assert got == [("P1", 1, "full_tradeoff")]


def test_forbidden_no_places_and_closed():
    problem = Problem([Student("S1", ("P1", "P2", "P3", "P4"))],
                      [Project("P1", 1), Project("P2", 0), Project("P3", 3, min_students=2), Project("P4", 1)],
                      forbidden={("S1", "P1")})
    got, _ = reasons(problem, "S1")
    assert got == [("P1", 1, "forbidden"), ("P2", 2, "no_places"), ("P3", 3, "closed")]


def test_supervisor_full():
    problem = Problem([Student("S1", ("P1", "P3")), Student("S2", ("P2",))],
                      [Project("P1", 1, supervisor="L1"), Project("P2", 1, supervisor="L1"), Project("P3", 1)],
                      [Supervisor("L1", 1)])
    got, _ = reasons(problem, "S1")
    assert got == [("P1", 1, "supervisor_full")]


def test_needed_for_a_minimum():
    problem = Problem([Student("S1", ("P1", "P2")), Student("S2", ("P2",))],
                      [Project("P1", 1), Project("P2", 2, min_students=2)])
    got, _ = reasons(problem, "S1")
    assert got == [("P1", 1, "needed_for_minimum")]


def test_pinned_and_weights():
    problem = Problem([Student("S1", ("P1", "P2"))], [Project("P1", 1), Project("P2", 1)], pinned={"S1": "P2"})
    assert reasons(problem, "S1")[0] == [("P1", 1, "pinned")]
    problem = Problem([Student("S1", ("P1", "P2"))], [Project("P1", 1), Project("P2", 1)])
    assert reasons(problem, "S1", "weighted", [5, 1])[0] == [("P1", 1, "objective")]


def test_first_choice_needs_no_reason_and_unplaced_gets_all():
    problem = Problem([Student("S1", ("P1",)), Student("S2", ("P1",))], [Project("P1", 1)])
    result = engine.solve(problem)
    placed, unplaced = sorted(result.assignment), result.unassigned
    assert engine.explain(problem, result, placed[0]) == []
    assert [r.reason for r in engine.explain(problem, result, unplaced[0])] == ["full_tie"]
    with pytest.raises(KeyError):
        engine.explain(problem, result, "S9")


BASE = Problem(
    [Student("S1", ("P1", "P2")), Student("S2", ("P2", "P1")), Student("S3", ("P3",)), Student("S4", ("P3",))],
    [Project("P1", 1, supervisor="L1"), Project("P2", 1, supervisor="L1"), Project("P3", 2, min_students=2)],
    [Supervisor("L1", 2)], pinned={"S1": "P1"}, forbidden={("S2", "P1")},
)


def broken(**changes):
    result = engine.solve(BASE)
    assert engine.validate(BASE, result) == []
    return engine.validate(BASE, dataclasses.replace(result, **changes))


@pytest.mark.parametrize("changes, needle", [
    (dict(assignment={"S1": "P1", "S2": "P1", "S3": "P3", "S4": "P3"}), "capacity"),
    (dict(assignment={"S1": "P1", "S2": "P2", "S3": "P3"}, unassigned=["S4"]), "minimum"),
    (dict(assignment={"S1": "P2", "S2": "P1", "S3": "P3", "S4": "P3"}), "pinned"),
    (dict(assignment={"S1": "P1", "S2": "P1", "S3": "P3", "S4": "P3"}), "forbidden"),
    (dict(assignment={"S1": "P1", "S2": "P2", "S3": "P3", "S4": "P2"}), "did not rank"),
    (dict(profile=[9, 9, 9]), "profile"),
    (dict(cost=99), "cost"),
    (dict(assignment={"S1": "P1", "S2": "P2", "S3": "P3", "S4": "P3", "S9": "P3"}), "not a student"),
    (dict(assignment={"S1": "P1", "S2": "P2", "S3": "P9", "S4": "P3"}), "not a project"),
    (dict(assignment={"S1": "P1", "S2": "P2", "S3": "P3"}, unassigned=[]), "neither placed"),
    (dict(unassigned=["S2"]), "both placed"),
    (dict(assignment={"S1": "P1", "S3": "P3", "S4": "P3"}, unassigned=["S2"], profile=[3, 0, 0], cost=3), "room"),
    (dict(status="excellent"), "status"),
])
def test_validate_catches(changes, needle):
    problems = broken(**changes)
    assert any(needle in p for p in problems), problems


def test_validate_catches_a_supervisor_over_capacity():
    problem = dataclasses.replace(BASE, supervisors=(Supervisor("L1", 1),))
    result = engine.solve(problem)
    bad = dataclasses.replace(result, assignment={**result.assignment, "S2": "P2"},
                              unassigned=[s for s in result.unassigned if s != "S2"])
    assert any("supervisor L1" in p for p in engine.validate(problem, bad))


def test_rank_of_and_ranks():
    result = engine.solve(BASE)
    assert result.rank_of("S1") == 1 and result.rank_of("nobody") is None
    assert result.proven and result.placed == 4
