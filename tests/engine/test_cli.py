"""`python -m allocator solve` as a coordinator runs it: exit codes, output, one-line errors."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBLEM = {
    "students": [{"id": "S1", "preferences": ["P3", "P1"]}, {"id": "S2", "preferences": ["P3"]},
                 {"id": "S3", "preferences": ["P1", "P3"]}],
    "projects": [{"id": "P1", "capacity": 3, "min_students": 2, "supervisor": "L1"}, {"id": "P3", "capacity": 1}],
    "supervisors": [{"id": "L1", "capacity": 4}],
    "pinned": [{"student": "S1", "project": "P3"}],
}


def run(*args, stdin=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "allocator", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


def write(tmp_path, data, name="problem.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_solves_to_stdout(tmp_path):
    done = run("solve", write(tmp_path, PROBLEM), "--objective", "generous", "--seed", "3")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["status"] == "optimal" and result["objective"] == "generous"
    # S1 is pinned to P3's only place; P1 would need two students but only S3 can take it.
    assert result["assignment"] == {"S1": "P3"}
    assert result["unassigned"] == ["S2", "S3"] and result["profile"] == [1, 0, 0] and result["cost"] == 1


def test_writes_the_result_file(tmp_path):
    out = tmp_path / "result.json"
    done = run("solve", write(tmp_path, PROBLEM), "--objective", "weighted", "--weights", "1,3", "--out", out,
               "--time-limit", "5")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    result = json.loads(out.read_text())
    assert result["weights"] == [1, 3] and result["cost"] == 1
    assert set(result) >= {"status", "objective", "assignment", "unassigned", "profile", "cost", "seconds", "solver"}


def test_infeasible_exits_2_with_the_sentence(tmp_path):
    problem = dict(PROBLEM, pinned=[{"student": "S1", "project": "P3"}, {"student": "S2", "project": "P3"}])
    done = run("solve", write(tmp_path, problem))
    assert done.returncode == 2
    assert done.stderr.strip() == "infeasible: 2 students are pinned to P3, whose capacity is 1"
    assert json.loads(done.stdout)["status"] == "infeasible"


@pytest.mark.parametrize("data, needle", [
    (dict(PROBLEM, students=[{"id": "S1", "preferences": ["P9"]}], pinned=[]), "P9"),
    (dict(PROBLEM, projects=[{"id": "P1", "capacity": -1}, {"id": "P3", "capacity": 1}]), "capacity -1"),
    ("{not json", "not valid JSON"),
])
def test_malformed_file_exits_1_in_one_line(tmp_path, data, needle):
    done = run("solve", write(tmp_path, data))
    assert done.returncode == 1
    assert needle in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("args, needle", [
    (["solve"], "usage"),
    (["solve", "missing.json"], "cannot read"),
    (["solve", "{p}", "--objective", "best"], "usage"),
    (["solve", "{p}", "--weights", "1,x"], "usage"),
    (["solve", "{p}", "--weights", "1,2"], "only applies"),
    (["solve", "{p}", "--objective", "weighted", "--weights", "1"], "weights given"),
    (["solve", "{p}", "--time-limit", "-1"], "time limit"),
    (["explode"], "usage"),
])
def test_bad_arguments_exit_1_in_one_line(tmp_path, args, needle):
    path = write(tmp_path, PROBLEM)
    done = run(*[a.format(p=path) for a in args])
    assert done.returncode == 1, done
    assert needle in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_an_unwritable_output_exits_1(tmp_path):
    done = run("solve", write(tmp_path, PROBLEM), "--out", tmp_path / "no" / "such" / "dir.json")
    assert done.returncode == 1 and "cannot write" in done.stderr
