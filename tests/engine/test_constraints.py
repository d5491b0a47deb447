"""Each rule, once kept in a feasible problem and once as the clash that makes a problem infeasible,
with the sentence the coordinator sees."""
import pytest

from allocator import engine
from allocator.engine import Problem, Project, Student, Supervisor

from .conftest import OBJECTIVES


def students(n, prefs=("P1", "P2")):
    return [Student(f"S{i}", tuple(prefs)) for i in range(1, n + 1)]


def solve_all(problem):
    for objective in OBJECTIVES:
        weights = [1] * (problem.k + 1) if objective == "weighted" else None
        result = engine.solve(problem, objective=objective, weights=weights)
        if result.status != "infeasible":
            assert engine.validate(problem, result) == []
        yield result


def test_capacity_is_kept():
    problem = Problem(students(5), [Project("P1", 2), Project("P2", 1)])
    for result in solve_all(problem):
        assert result.status == "optimal" and result.placed == 3
        assert list(result.assignment.values()).count("P1") == 2
        assert result.profile == [2, 1, 0] and len(result.unassigned) == 2


def test_pins_beyond_capacity_are_infeasible():
    problem = Problem(students(7), [Project("P12", 3), Project("P1", 5), Project("P2", 5)],
                      pinned={f"S{i}": "P12" for i in range(1, 8)})
    for result in solve_all(problem):
        assert result.status == "infeasible"
        assert result.message == "7 students are pinned to P12, whose capacity is 3"
        assert result.assignment == {} and len(result.unassigned) == 7


def test_supervisor_capacity_is_kept():
    problem = Problem(students(6), [Project("P1", 3, supervisor="L1"), Project("P2", 3, supervisor="L1")],
                      [Supervisor("L1", 4)])
    for result in solve_all(problem):
        assert result.status == "optimal" and result.placed == 4


def test_pins_beyond_supervisor_capacity_are_infeasible():
    problem = Problem(students(3), [Project("P1", 3, supervisor="L1"), Project("P2", 3, supervisor="L1")],
                      [Supervisor("L1", 2)], pinned={"S1": "P1", "S2": "P2", "S3": "P2"})
    for result in solve_all(problem):
        assert result.status == "infeasible"
        assert result.message == "3 students are pinned to projects supervised by L1, whose capacity is 2"


def test_an_unlisted_supervisor_has_no_limit():
    problem = Problem(students(4, ("P1",)), [Project("P1", 4, supervisor="L7")], [Supervisor("L1", 0)])
    for result in solve_all(problem):
        assert result.placed == 4


def test_pins_hold_even_against_preferences():
    problem = Problem(students(2, ("P1",)), [Project("P1", 1), Project("P2", 1)], pinned={"S1": "P2"})
    for result in solve_all(problem):
        assert result.assignment == {"S1": "P2", "S2": "P1"}
        assert result.rank_of("S1") == 2 and result.profile == [1, 1]  # pinned unranked counts as k + 1


def test_forbidden_pairs_are_never_used():
    problem = Problem(students(2, ("P1",)), [Project("P1", 2)], forbidden={("S1", "P1")})
    for result in solve_all(problem):
        assert result.assignment == {"S2": "P1"} and result.unassigned == ["S1"]


def test_a_pin_that_is_also_forbidden_is_infeasible():
    problem = Problem(students(1), [Project("P1", 1), Project("P2", 1)], pinned={"S1": "P1"},
                      forbidden={("S1", "P1")})
    for result in solve_all(problem):
        assert result.status == "infeasible"
        assert result.message == "S1 is pinned to P1, which is also forbidden for them"


def test_a_project_under_its_minimum_closes():
    # P1 is everyone's favourite but needs 3; with 2 students it cannot run.
    problem = Problem(students(2), [Project("P1", 4, min_students=3), Project("P2", 2)])
    for result in solve_all(problem):
        assert result.status == "optimal" and result.assignment == {"S1": "P2", "S2": "P2"}


def test_a_minimum_is_met_when_it_pays():
    problem = Problem(students(4), [Project("P1", 3, min_students=3), Project("P2", 1)])
    for result in solve_all(problem):
        assert sorted(result.assignment.values()) == ["P1", "P1", "P1", "P2"]


def test_a_pinned_project_that_cannot_reach_its_minimum_is_infeasible():
    problem = Problem(students(2, ("P2",)), [Project("P4", 5, min_students=3), Project("P2", 2)],
                      pinned={"S1": "P4"})
    for result in solve_all(problem):
        assert result.status == "infeasible"
        assert result.message.startswith("P4 must run because 1 student is pinned to it, but it cannot reach "
                                         "its minimum of 3")


def test_forced_projects_beyond_their_supervisor_are_infeasible():
    problem = Problem(students(6, ("P1", "P2")),
                      [Project("P1", 3, 3, "L1"), Project("P2", 3, 3, "L1")], [Supervisor("L1", 4)],
                      pinned={"S1": "P1", "S2": "P2"})
    for result in solve_all(problem):
        assert result.status == "infeasible"
        assert "L1" in result.message and "P1 and P2" in result.message


def test_unranked_placements_only_when_allowed():
    base = dict(students=students(3, ("P1",)), projects=[Project("P1", 1), Project("P2", 5)])
    for result in solve_all(Problem(**base)):
        assert result.placed == 1
    for result in solve_all(Problem(**base, allow_unranked=True)):
        assert result.placed == 3 and result.profile == [1, 2]


def test_unranked_respects_forbidden_pairs():
    problem = Problem(students(2, ("P1",)), [Project("P1", 1), Project("P2", 1), Project("P3", 1)],
                      pinned={"S1": "P1"}, forbidden={("S2", "P2")}, allow_unranked=True)
    for result in solve_all(problem):
        assert result.assignment == {"S1": "P1", "S2": "P3"}


def test_zero_capacity_and_empty_problems():
    for result in solve_all(Problem(students(2), [Project("P1", 0), Project("P2", 0)])):
        assert result.status == "optimal" and result.placed == 0 and result.unassigned == ["S1", "S2"]
    for result in solve_all(Problem([], [])):
        assert result.status == "optimal" and result.profile == [0]


@pytest.mark.parametrize("weights, placed_on_p1", [([0, 10], "S1"), ([10, 0], "S2")])
def test_weights_decide_between_ranks(weights, placed_on_p1):
    # S1 ranks P1 first, S2 ranks it second; weights price a 1st and a 2nd choice.
    problem = Problem([Student("S1", ("P1", "P2")), Student("S2", ("P2", "P1"))], [Project("P1", 1), Project("P2", 1)])
    result = engine.solve(problem, objective="weighted", weights=weights)
    assert result.assignment["S1" if placed_on_p1 == "S1" else "S2"] == "P1"
    assert result.weights == weights


@pytest.mark.parametrize("kwargs, needle", [
    (dict(objective="best"), "unknown objective"),
    (dict(objective="weighted"), "needs weights"),
    (dict(objective="weighted", weights=[1]), r"needs 2 \(ranks 1 to 2\)"),
    (dict(objective="weighted", weights=[1, -1]), "whole numbers"),
    (dict(time_limit=0), "time limit"),
    (dict(seed="x"), "seed"),
])
def test_bad_options_are_refused(kwargs, needle):
    problem = Problem(students(2), [Project("P1", 1), Project("P2", 1)])
    with pytest.raises(engine.BadOptions, match=needle):
        engine.solve(problem, **kwargs)


def test_greedy_and_generous_differ_as_defined():
    # Greedy maximises first choices even if someone falls to a 3rd; generous avoids the 3rd.
    problem = Problem(
        [Student("A", ("X", "Y", "Z")), Student("B", ("X", "Z", "Y")), Student("C", ("Y", "X", "Z"))],
        [Project("X", 1), Project("Y", 1), Project("Z", 1)],
    )
    greedy = engine.solve(problem, objective="greedy")
    generous = engine.solve(problem, objective="generous")
    assert greedy.profile[0] >= generous.profile[0]
    assert generous.profile[-2] <= greedy.profile[-2]
