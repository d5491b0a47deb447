"""Groups, places and tiers: the file format, the rules a problem checks, and what validate, explain,
the seed and the CLI make of them."""
import json

import pytest

from allocator import engine
from allocator.engine import Group, MalformedProblem, Problem, Project, Student

from .extended_cases import random_extended
from .test_cli import run, write

DATA = {
    "students": [
        {"id": "A", "preferences": ["P1", "P2"]}, {"id": "B", "preferences": ["P1", "P2"]},
        {"id": "C", "preferences": ["P1", "P2"], "tier": 2},
        {"id": "M", "preferences": ["P1", "P2", "P3"], "places": 2},
        {"id": "T", "preferences": ["P3"], "tier": 1},
    ],
    "projects": [{"id": "P1", "capacity": 2}, {"id": "P2", "capacity": 4}, {"id": "P3", "capacity": 1}],
    "groups": [{"id": "G1", "members": ["A", "B", "C"]}],
}


def test_problem_round_trip_omits_defaults():
    problem = engine.parse_problem(DATA)
    assert problem.students[3].places == 2 and problem.students[2].tier == 2
    assert problem.groups == (Group("G1", ("A", "B", "C")),)
    out = engine.problem_to_dict(problem)
    assert out["students"][4] == {"id": "T", "preferences": ["P3"]}
    assert out["students"][3]["places"] == 2 and "tier" not in out["students"][3]
    assert out["groups"] == DATA["groups"]
    assert engine.loads_problem(engine.dumps_problem(problem)) == problem


def test_result_round_trip_keeps_lists_for_several_places():
    problem = engine.parse_problem(DATA)
    result = engine.solve(problem)
    assert result.status == "optimal" and engine.validate(problem, result) == []
    # The group of 3 cannot fit P1 (2 places), so it goes to P2 together; M takes two projects.
    assert result.assignment["A"] == result.assignment["B"] == result.assignment["C"] == "P2"
    assert isinstance(result.assignment["M"], list) and len(result.assignment["M"]) == 2
    assert result.projects_of("A") == ("P2",) and result.projects_of("nobody") == ()
    assert result.placed == 6 and result.students_placed == 5 and sum(result.profile) == 6
    back = engine.loads_result(engine.dumps_result(result), problem)
    assert back.assignment == result.assignment and back.ranks == result.ranks
    assert back.ranks_of("M") == tuple(problem.rank("M", p) for p in result.projects_of("M"))
    assert sum(map(sum, result.profile_by_tier(problem).values())) == result.placed


@pytest.mark.parametrize("change, message", [
    (lambda d: d["students"][0].update(places=0), "student A has places 0"),
    (lambda d: d["students"][0].update(tier="1"), "student A has tier '1'"),
    (lambda d: d["students"][4].update(places=2), "student T has 2 places but ranks only 1 project"),
    (lambda d: d["groups"].append({"id": "G2", "members": ["A"]}), "student A is in two groups"),
    (lambda d: d["groups"].append({"id": "G1", "members": ["T"]}), "two groups have the id G1"),
    (lambda d: d["groups"].append({"id": "G2", "members": ["M", "T"]}), "member M has 2 places"),
    (lambda d: d["groups"].append({"id": "G2", "members": ["X"]}), "group G2: 'X' is not a student"),
    (lambda d: d["groups"].append({"id": "G2", "members": []}), "group G2 has no members"),
    (lambda d: d["groups"].append({"id": "G2", "members": "T"}), "members must be a list"),
    (lambda d: d["groups"].append({"id": "G2", "members": ["T"], "size": 1}), "unknown key 'size'"),
    (lambda d: d["students"][1].update(preferences=["P2", "P1"]), "B ranks other projects than A"),
    (lambda d: d.update(pinned=[{"student": "A", "project": "P1"}]), "pin every member to the same project"),
    (lambda d: d.update(groups={"G1": ["A"]}), "groups must be a list"),
])
def test_malformed_problems_name_the_culprit(change, message):
    data = json.loads(json.dumps(DATA))
    change(data)
    with pytest.raises(MalformedProblem, match=message) as raised:
        engine.parse_problem(data)
    assert "\n" not in str(raised.value)


def test_unranked_allowed_lifts_the_places_rule_and_old_code_still_builds_students():
    data = json.loads(json.dumps(DATA))
    data["students"][4]["places"] = 2
    data["allow_unranked"] = True
    assert engine.parse_problem(data).students[4].places == 2
    assert Student("S", ("P",)) == ("S", ("P",), 1, 1)
    assert Problem([Student("S", ["P"])], [Project("P", 1)]).students[0].preferences == ("P",)


def test_a_group_is_never_split_and_counts_its_members_against_capacity():
    problem = Problem([Student("A", ("P1",)), Student("B", ("P1",)), Student("C", ("P1",))], [Project("P1", 2)],
                      groups=[Group("G", ("A", "B", "C"))])
    result = engine.solve(problem)
    assert result.assignment == {} and result.status == "optimal"
    reason = engine.explain(problem, result, "A")[0]
    assert reason.reason == "group_too_big" and "your group of 3" in reason.text and "2 places" in reason.text


def test_tier_one_is_served_first():
    # Without tiers min-cost gives P1 to T2, its first choice, and T1 its second choice P2; with T1 in
    # tier 1 and P2 gone, T1 must have P1 even though T2 loses their only choice.
    students = [Student("T2", ("P1",), tier=2), Student("T1", ("P2", "P1"))]
    problem = Problem(students, [Project("P1", 1), Project("P2", 0)])
    for objective in engine.OBJECTIVES:
        weights = [1, 2, 3] if objective == "weighted" else None
        assert engine.solve(problem, objective, weights).assignment == {"T1": "P1"}


def test_validate_catches_what_breaks_the_rules():
    problem = engine.parse_problem(DATA)
    good = engine.solve(problem)

    def errors(assignment):
        from dataclasses import replace

        unassigned = [s.id for s in problem.students if s.id not in assignment]
        return engine.validate(problem, replace(good, assignment=assignment, unassigned=unassigned))

    assert any("split" in e for e in errors({**good.assignment, "C": "P1"}))
    assert any("same project twice" in e for e in errors({**good.assignment, "M": ["P2", "P2"]}))
    assert any("list of project ids" in e for e in errors({**good.assignment, "M": "P2"}))
    assert any("one project id" in e for e in errors({**good.assignment, "T": ["P3"]}))
    assert any("P1 has 3 students" in e for e in errors({"A": "P1", "B": "P1", "C": "P1", "M": ["P2", "P3"]}))


def test_same_problem_and_seed_give_the_same_allocation():
    problem = random_extended(seed=9, n=80, m=12, k=4, groups=10, two_places=0.3, tiers=2, minimums=0.3)
    for seed in (0, 1):
        first = engine.solve(problem, "greedy", seed=seed)
        again = engine.solve(engine.loads_problem(engine.dumps_problem(problem)), "greedy", seed=seed)
        assert first.status == "optimal" and first.assignment == again.assignment


def test_the_seed_is_a_lottery_between_equal_allocations():
    # Two groups of two want the one project with two places: each seed picks one, both must win sometime.
    students = [Student(s, ("P",)) for s in "ABCD"]
    problem = Problem(students, [Project("P", 2)], groups=[Group("G1", ("A", "B")), Group("G2", ("C", "D"))])
    winners = {tuple(sorted(engine.solve(problem, seed=seed).assignment)) for seed in range(12)}
    assert winners == {("A", "B"), ("C", "D")}


def test_cli_solves_the_new_format(tmp_path):
    done = run("solve", write(tmp_path, DATA), "--objective", "greedy")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "optimal" and len(result["assignment"]["M"]) == 2
    assert result["assignment"]["A"] == result["assignment"]["C"]
    bad = run("solve", write(tmp_path, {**DATA, "groups": [{"id": "G", "members": ["A", "M"]}]}))
    assert bad.returncode == 1 and "member M has 2 places" in bad.stderr


def test_validate_says_when_an_unplaced_group_or_a_spare_place_could_be_filled():
    problem = Problem([Student("A", ("P1",)), Student("B", ("P1",)), Student("M", ("P1", "P2"), places=2)],
                      [Project("P1", 3), Project("P2", 1)], groups=[Group("G", ("A", "B"))])
    result = engine.solve(problem)
    assert result.assignment == {"A": "P1", "B": "P1", "M": ["P1", "P2"]}
    from dataclasses import replace

    lazy = replace(result, assignment={"M": ["P1"]}, unassigned=["A", "B"], profile=[1, 0, 0], cost=1)
    errors = engine.validate(problem, lazy)
    assert any("group G could take P1" in e for e in errors)
    assert any("M could take P2" in e for e in errors)


def test_a_program_out_of_time_says_so_and_places_nobody():
    problem = random_extended(seed=3, n=40, m=8, k=3, groups=5)
    result = engine.solve(problem, "greedy", time_limit=1e-9)
    assert result.status == "unknown" and result.assignment == {} and result.message
    assert engine.validate(problem, result) == []
