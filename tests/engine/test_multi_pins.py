"""Pins of a student with several places to several projects: the file format, the rules a `Problem`
keeps, `validate`, and both solver paths (min-cost flow, and the program for minimums and groups)
against exhaustive search."""
import dataclasses
import json

import pytest
from hypothesis import HealthCheck, given, settings

from allocator import engine
from allocator.engine import Group, MalformedProblem, Problem, Project, Student

from .test_groups_places_tiers import check
from .extended_cases import tiny_extended


def two_places(pinned, *, minimum=0, groups=()):
    students = [Student("S1", ("A", "B", "C"), places=2), Student("S2", ("A", "B", "C"), places=2),
                Student("S3", ("C", "A")), Student("S4", ("C", "A"))]
    projects = [Project("A", 2, minimum), Project("B", 1), Project("C", 2)]
    return Problem(students, projects, pinned=pinned, groups=groups)


def test_a_student_with_two_places_can_be_pinned_to_two_projects():
    problem = two_places({"S2": ("B", "C")})
    assert problem.pins_of("S2") == ("B", "C") and problem.pins_of("S1") == ()
    assert problem.pin_pairs() == [("S2", "B"), ("S2", "C")]
    # (student, project) pairs say the same, and one pin stays a plain project id.
    assert Problem(problem.students, problem.projects, pinned=[("S2", "B"), ("S2", "C"), ("S1", "A")]).pinned == {
        "S2": ("B", "C"), "S1": "A"}
    assert two_places({"S2": ["B"]}).pinned == {"S2": "B"}


@pytest.mark.parametrize("pinned, needle", [
    ({"S3": ("A", "C")}, "S3 is pinned twice (A, C) but has 1 place"),
    ({"S1": ("A", "B", "C")}, "S1 is pinned to 3 projects (A, B, C) but has 2 places"),
    ({"S1": ("A", "A")}, "S1 is pinned to A twice"),
    ({"S1": ()}, "S1 has an empty list of pins"),
    ([("S1", "A"), ("S1", "Z")], "'Z' is not a project"),
])
def test_too_many_or_repeated_pins_are_refused(pinned, needle):
    with pytest.raises(MalformedProblem, match=needle.replace("(", r"\(").replace(")", r"\)")):
        two_places(pinned)


def test_the_file_keeps_one_pair_per_pin_and_reads_it_back():
    problem = two_places({"S2": ("B", "C"), "S3": "C"})
    data = engine.problem_to_dict(problem)
    assert data["pinned"] == [{"student": "S2", "project": "B"}, {"student": "S2", "project": "C"},
                              {"student": "S3", "project": "C"}]
    again = engine.loads_problem(json.dumps(data))
    assert again.pinned == problem.pinned and again == problem


@pytest.mark.parametrize("pairs, needle", [
    ([("S3", "A"), ("S3", "C")], "S3 is pinned twice"),  # one place: refused as before
    ([("S1", "A"), ("S1", "A")], "S1 is pinned to A twice"),
    ([("S1", "A"), ("S1", "B"), ("S1", "C")], "pinned to 3 projects"),
])
def test_the_file_refuses_what_the_problem_refuses(pairs, needle):
    data = engine.problem_to_dict(two_places({}))
    data["pinned"] = [{"student": s, "project": p} for s, p in pairs]
    with pytest.raises(MalformedProblem, match=needle):
        engine.parse_problem(data)


def test_validate_checks_every_pin_of_a_student():
    problem = two_places({"S1": ("B", "C")})
    good = engine.solve(problem)
    assert sorted(good.projects_of("S1")) == ["B", "C"] and engine.validate(problem, good) == []
    # S1 keeps one pin of two: validate names the other, with no solver involved.
    moved = dataclasses.replace(good, assignment={**good.assignment, "S1": ["B", "A"]})
    assert "S1 is pinned to C but placed on B, A" in engine.validate(problem, moved)
    # A pin to a project the student did not rank is allowed; any other unranked placement is not.
    unranked = Problem(problem.students, problem.projects, pinned={"S3": "B"})
    result = engine.solve(unranked)
    assert result.assignment["S3"] == "B" and engine.validate(unranked, result) == []


def test_the_flow_path_keeps_both_pins_and_fills_the_rest():
    # Pinned to their last two choices, S1 cannot take A; S2 takes A and B as nobody else can.
    problem = two_places({"S1": ("B", "C")})
    result = engine.solve(problem, objective="min-cost")
    assert result.solver == "min-cost-flow" and result.status == "optimal"
    assert result.assignment["S1"] == ["B", "C"] and result.ranks_of("S1") == (2, 3)
    assert "B" not in result.projects_of("S2")
    assert engine.validate(problem, result) == []


def test_the_program_path_keeps_both_pins_with_a_minimum_and_groups():
    # A needs two students: S1's pin on A forces it to run, so someone joins S1 there.
    problem = two_places({"S1": ("A", "C")}, minimum=2, groups=[Group("G", ("S3", "S4"))])
    result = engine.solve(problem, objective="generous")
    assert result.solver != "min-cost-flow" and result.status == "optimal"
    assert sorted(result.projects_of("S1")) == ["A", "C"]
    assert len([s for s, p in result.placements() if p == "A"]) == 2
    assert engine.validate(problem, result) == []


def test_a_fully_pinned_student_hears_that_the_coordinator_fixed_both_places():
    problem = two_places({"S1": ("B", "C")})
    result = engine.solve(problem)
    reasons = engine.explain(problem, result, "S1")
    assert [r.reason for r in reasons] == ["pinned"] and "places on B and C" in reasons[0].text


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                             HealthCheck.filter_too_much])


@SETTINGS
@given(tiny_extended(multi_pin=True))
def test_multi_pins_match_brute_force(problem):
    assert any(type(p) is tuple for p in problem.pinned.values())
    check(problem, seed=3)


@SETTINGS
@given(tiny_extended(minimums=True, multi_pin=True))
def test_multi_pins_with_minimums_match_brute_force(problem):
    check(problem, seed=7)
