"""The problem and result files: every malformed input is one documented error with one line."""
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocator import engine
from allocator.engine import MalformedProblem, MalformedResult

from .conftest import tiny_problems

GOOD = {
    "students": [{"id": "S1", "preferences": ["P3", "P1"]}, {"id": "S2", "preferences": ["P1"]}],
    "projects": [{"id": "P1", "capacity": 3, "min_students": 2, "supervisor": "L1"}, {"id": "P3", "capacity": 1}],
    "supervisors": [{"id": "L1", "capacity": 4}],
    "pinned": [{"student": "S1", "project": "P3"}],
    "forbidden": [{"student": "S2", "project": "P3"}],
    "allow_unranked": False,
}


def edited(**changes):
    data = json.loads(json.dumps(GOOD))
    data.update(changes)
    return data


MALFORMED = {
    "unknown project in a preference": (edited(students=[{"id": "S1", "preferences": ["P9"]}]), "P9"),
    "duplicate student ids": (edited(students=[{"id": "S1"}, {"id": "S1"}], pinned=[], forbidden=[]), "S1"),
    "duplicate project ids": (edited(projects=[{"id": "P1", "capacity": 1}, {"id": "P1", "capacity": 2}]), "P1"),
    "duplicate supervisor ids": (edited(supervisors=[{"id": "L1", "capacity": 1}, {"id": "L1", "capacity": 1}]), "L1"),
    "a project ranked twice": (edited(students=[{"id": "S1", "preferences": ["P1", "P3", "P1"]}], forbidden=[]),
                               "twice"),
    "negative capacity": (edited(projects=[{"id": "P1", "capacity": -1}, {"id": "P3", "capacity": 1}]), "-1"),
    "negative supervisor capacity": (edited(supervisors=[{"id": "L1", "capacity": -2}]), "-2"),
    "fractional capacity": (edited(projects=[{"id": "P1", "capacity": 1.5}, {"id": "P3", "capacity": 1}]), "1.5"),
    "boolean capacity": (edited(projects=[{"id": "P1", "capacity": True}, {"id": "P3", "capacity": 1}]), "True"),
    "minimum above capacity": (edited(projects=[{"id": "P1", "capacity": 2, "min_students": 3},
                                                {"id": "P3", "capacity": 1}]), "at least 3"),
    "negative minimum": (edited(projects=[{"id": "P1", "capacity": 2, "min_students": -1},
                                          {"id": "P3", "capacity": 1}]), "min_students"),
    "pin to an unknown student": (edited(pinned=[{"student": "S9", "project": "P1"}]), "S9"),
    "pin to an unknown project": (edited(pinned=[{"student": "S1", "project": "P9"}]), "P9"),
    "a student pinned twice": (edited(pinned=[{"student": "S1", "project": "P1"}, {"student": "S1", "project": "P3"}]),
                               "twice"),
    "forbid an unknown student": (edited(forbidden=[{"student": "S9", "project": "P1"}]), "S9"),
    "missing students": ({"projects": []}, "students"),
    "missing projects": ({"students": []}, "projects"),
    "not an object": ([1, 2], "object"),
    "a misspelt key": (edited(forbiden=[]), "forbiden"),
    "a misspelt student key": (edited(students=[{"id": "S1", "prefs": []}]), "prefs"),
    "a student without id": (edited(students=[{"preferences": []}]), "id"),
    "preferences not a list": (edited(students=[{"id": "S1", "preferences": "P1"}]), "list"),
    "a preference that is a list": (edited(students=[{"id": "S1", "preferences": [["P1"]]}]), "not a project"),
    "a numeric id": (edited(students=[{"id": 5, "preferences": []}], pinned=[], forbidden=[]), "5"),
    "an empty id": (edited(projects=[{"id": "", "capacity": 1}]), "id"),
    "a project without capacity": (edited(projects=[{"id": "P1"}]), "capacity"),
    "allow_unranked not a boolean": (edited(allow_unranked="yes"), "allow_unranked"),
    "students not a list": (edited(students={"S1": []}), "list"),
    "pinned not a list": (edited(pinned={"S1": "P3"}), "list"),
    "a pin without project": (edited(pinned=[{"student": "S1"}]), "project"),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_problems_are_refused_in_one_line(case):
    data, needle = MALFORMED[case]
    with pytest.raises(MalformedProblem) as caught:
        engine.loads_problem(json.dumps(data))
    message = str(caught.value)
    assert needle in message and "\n" not in message


@pytest.mark.parametrize("text", ["", "{", "{'a': 1}", "[1,", "\xff\xfe", "1" * 5000, "[" * 100_000])
def test_broken_json_is_malformed(text):
    with pytest.raises(MalformedProblem, match="not valid JSON"):
        engine.loads_problem(text.encode("latin-1") if text.startswith("\xff") else text)


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                        st.sampled_from(["students", "projects", "id", "preferences", "capacity", "pinned",
                                         "student", "project", "supervisors", "x"]), inner, max_size=4),
                    max_leaves=20))
def test_arbitrary_json_only_ever_raises_malformed(data):
    try:
        engine.parse_problem(data)
    except MalformedProblem as e:
        assert "\n" not in str(e)


def test_a_good_file_reads_with_every_field():
    problem = engine.loads_problem(json.dumps(GOOD))
    assert problem.students[0] == engine.Student("S1", ("P3", "P1"))
    assert problem.projects[0] == engine.Project("P1", 3, 2, "L1")
    assert problem.supervisors == (engine.Supervisor("L1", 4),)
    assert problem.pinned == {"S1": "P3"}
    assert problem.forbidden == {("S2", "P3")}
    assert problem.k == 2 and problem.rank("S1", "P1") == 2 and problem.rank("S2", "P3") == 3


def test_meta_is_accepted_and_ignored():
    assert engine.parse_problem(edited(meta={"cohort": "MEng 2026"})) == engine.parse_problem(GOOD)


@settings(max_examples=60, deadline=None)
@given(tiny_problems())
def test_problem_round_trip(problem):
    assert engine.loads_problem(engine.dumps_problem(problem)) == problem


def test_result_round_trip_and_atomic_write(tmp_path):
    problem = engine.loads_problem(json.dumps(GOOD))
    result = engine.solve(problem, objective="greedy", seed=4)
    path = tmp_path / "result.json"
    engine.dump_result(result, path)
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]
    back = engine.load_result(path, problem)
    assert back == result and back.ranks == result.ranks
    data = json.loads(path.read_text())
    assert {"status", "objective", "assignment", "unassigned", "profile", "cost", "seconds", "solver"} <= data.keys()
    buffer = io.StringIO()
    engine.dump_problem(problem, buffer)
    assert engine.load_problem(io.StringIO(buffer.getvalue())) == problem


@pytest.mark.parametrize("change, needle", [
    ({"status": "great"}, "status"),
    ({"assignment": {"S1": 3}}, "assignment"),
    ({"profile": [-1]}, "profile"),
    ({"extra": 1}, "extra"),
    ({"assignment": {"S9": "P1"}}, "S9"),
])
def test_malformed_results_are_refused(change, needle):
    problem = engine.loads_problem(json.dumps(GOOD))
    data = engine.result_to_dict(engine.solve(problem))
    data.update(change)
    with pytest.raises(MalformedResult, match=needle):
        engine.parse_result(data, problem)


def test_problems_built_in_code_are_checked_too():
    with pytest.raises(MalformedProblem, match="twice"):
        engine.Problem([engine.Student("S1", ["P1", "P1"])], [engine.Project("P1", 1)])
    with pytest.raises(MalformedProblem, match="list"):
        engine.Problem("S1", [])
