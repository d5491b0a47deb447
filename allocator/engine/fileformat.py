"""The problem and result files: JSON, read strictly and written atomically.

Reading refuses anything the format does not define (a misspelt key would otherwise be silently
ignored and the allocation would differ from what the coordinator meant) with a one-line
`MalformedProblem`; free-form data goes under a top-level "meta" key. Reading raises nothing else but
OSError for a file that cannot be opened.
"""
from __future__ import annotations

import json
import os
from typing import IO, Any

from .model import STATUSES, OBJECTIVES, Group, MalformedProblem, Problem, Project, Result, Student, Supervisor

PROBLEM_KEYS = {"students", "projects", "supervisors", "pinned", "forbidden", "allow_unranked", "groups", "meta"}
STUDENT_KEYS = {"id", "preferences", "places", "tier"}
GROUP_KEYS = {"id", "members"}
PROJECT_KEYS = {"id", "capacity", "min_students", "supervisor"}
SUPERVISOR_KEYS = {"id", "capacity"}
PAIR_KEYS = {"student", "project"}
RESULT_KEYS = {"status", "objective", "assignment", "unassigned", "profile", "cost", "seconds", "solver",
               "message", "bound", "seed", "weights"}


class MalformedResult(ValueError):
    """A result file that breaks the format, or does not belong to the problem it is read with."""


# ---------------------------------------------------------------- problems in


def load_problem(source: str | os.PathLike | IO) -> Problem:
    """A problem from a JSON file path or an open file."""
    if hasattr(source, "read"):
        return loads_problem(source.read())
    with open(source, "rb") as f:
        return loads_problem(f.read())


def loads_problem(text: str | bytes) -> Problem:
    return parse_problem(_decode(text, MalformedProblem))


def parse_problem(data: Any) -> Problem:
    """A problem from decoded JSON (dicts and lists)."""
    if type(data) is not dict:
        raise MalformedProblem("a problem must be a JSON object with students and projects")
    _only(data, PROBLEM_KEYS, "the problem")
    for key in ("students", "projects"):
        if key not in data:
            raise MalformedProblem(f"the problem has no {key!r} list")
    allow = data.get("allow_unranked", False)
    if type(allow) is not bool:
        raise MalformedProblem("allow_unranked must be true or false")
    return Problem(
        students=_students(data["students"]),
        projects=_projects(data["projects"]),
        supervisors=_supervisors(data.get("supervisors", [])),
        pinned=_pinned(data.get("pinned", [])),
        forbidden=frozenset(_pairs(data.get("forbidden", []), "forbidden")),
        allow_unranked=allow,
        groups=_groups(data.get("groups", [])),
    )


def _students(raw: Any) -> list[Student]:
    _list(raw, "students")
    out = []
    append = out.append
    for i, s in enumerate(raw):
        if type(s) is not dict or "id" not in s or not s.keys() <= STUDENT_KEYS:
            _entry(s, i, "students", STUDENT_KEYS, "id")
        prefs = s.get("preferences", [])
        if type(prefs) is not list:
            raise MalformedProblem(f"students[{i}] ({s['id']!r}): preferences must be a list of project ids")
        append(Student(s["id"], tuple(prefs), s.get("places", 1), s.get("tier", 1)))
    return out


def _groups(raw: Any) -> list[Group]:
    _list(raw, "groups")
    out = []
    for i, g in enumerate(raw):
        _entry(g, i, "groups", GROUP_KEYS, "id", "members")
        if type(g["members"]) is not list:
            raise MalformedProblem(f"groups[{i}] ({g['id']!r}): members must be a list of student ids")
        out.append(Group(g["id"], tuple(g["members"])))
    return out


def _projects(raw: Any) -> list[Project]:
    _list(raw, "projects")
    out = []
    for i, p in enumerate(raw):
        _entry(p, i, "projects", PROJECT_KEYS, "id", "capacity")
        out.append(Project(p["id"], p["capacity"], p.get("min_students", 0), p.get("supervisor")))
    return out


def _supervisors(raw: Any) -> list[Supervisor]:
    _list(raw, "supervisors")
    out = []
    for i, v in enumerate(raw):
        _entry(v, i, "supervisors", SUPERVISOR_KEYS, "id", "capacity")
        out.append(Supervisor(v["id"], v["capacity"]))
    return out


def _pinned(raw: Any) -> dict:
    """Pins by student; a student with several places may hold several pairs (the `Problem` checks
    them against their places), but a pair twice is a mistake."""
    pins: dict = {}
    for student, project in _pairs(raw, "pinned"):
        mine = pins.setdefault(student, [])
        if project in mine:
            raise MalformedProblem(f"pinned: student {student} is pinned to {project} twice")
        mine.append(project)
    return pins


def _pairs(raw: Any, what: str) -> list[tuple]:
    _list(raw, what)
    out = []
    for i, pair in enumerate(raw):
        _entry(pair, i, what, PAIR_KEYS, "student", "project")
        s, p = pair["student"], pair["project"]
        if not _hashable(s) or not _hashable(p):
            raise MalformedProblem(f"{what}[{i}]: student and project must be ids")
        out.append((s, p))
    return out


def _list(raw: Any, what: str) -> None:
    if type(raw) is not list:
        raise MalformedProblem(f"{what} must be a list")


def _entry(item: Any, i: int, what: str, allowed: set[str], *required: str) -> None:
    if type(item) is not dict:
        raise MalformedProblem(f"{what}[{i}] must be an object")
    for key in required:
        if key not in item:
            raise MalformedProblem(f"{what}[{i}] has no {key!r}")
    _only(item, allowed, f"{what}[{i}]")


def _only(item: dict, allowed: set[str], where: str) -> None:
    unknown = item.keys() - allowed
    if unknown:
        raise MalformedProblem(
            f"{where} has an unknown key {sorted(unknown)[0]!r} (allowed: {', '.join(sorted(allowed))})"
        )


def _hashable(value: Any) -> bool:
    return not isinstance(value, (list, dict))


def _decode(text: str | bytes, error: type[Exception]) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise error(f"not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}") from None
    except UnicodeDecodeError:
        raise error("not valid JSON: the file is not UTF-8 text") from None
    except RecursionError:
        raise error("not valid JSON: nested too deeply") from None
    except (ValueError, TypeError) as e:  # e.g. an integer with thousands of digits
        raise error(f"not valid JSON: {str(e).splitlines()[0]}") from None


# ---------------------------------------------------------------- problems out


def problem_to_dict(problem: Problem) -> dict:
    out: dict[str, Any] = {
        "students": [_student_dict(s) for s in problem.students],
        "projects": [_project_dict(p) for p in problem.projects],
    }
    if problem.supervisors:
        out["supervisors"] = [{"id": v.id, "capacity": v.capacity} for v in problem.supervisors]
    if problem.pinned:
        out["pinned"] = [{"student": s, "project": p} for s, p in problem.pin_pairs()]
    if problem.forbidden:
        out["forbidden"] = [{"student": s, "project": p} for s, p in sorted(problem.forbidden)]
    if problem.allow_unranked:
        out["allow_unranked"] = True
    if problem.groups:
        out["groups"] = [{"id": g.id, "members": list(g.members)} for g in problem.groups]
    return out


def _student_dict(s: Student) -> dict:
    d: dict[str, Any] = {"id": s.id, "preferences": list(s.preferences)}
    if s.places != 1:
        d["places"] = s.places
    if s.tier != 1:
        d["tier"] = s.tier
    return d


def _project_dict(p: Project) -> dict:
    d: dict[str, Any] = {"id": p.id, "capacity": p.capacity}
    if p.min_students:
        d["min_students"] = p.min_students
    if p.supervisor is not None:
        d["supervisor"] = p.supervisor
    return d


def dumps_problem(problem: Problem) -> str:
    return json.dumps(problem_to_dict(problem), ensure_ascii=False)


def dump_problem(problem: Problem, target: str | os.PathLike | IO) -> None:
    _write(dumps_problem(problem), target)


# ---------------------------------------------------------------- results


def result_to_dict(result: Result) -> dict:
    return {
        "status": result.status,
        "objective": result.objective,
        "assignment": {s: p if type(p) is str else list(p) for s, p in result.assignment.items()},
        "unassigned": result.unassigned,
        "profile": result.profile,
        "cost": result.cost,
        "seconds": result.seconds,
        "solver": result.solver,
        "message": result.message,
        "bound": result.bound,
        "seed": result.seed,
        "weights": result.weights,
    }


def dumps_result(result: Result) -> str:
    return json.dumps(result_to_dict(result), ensure_ascii=False)


def dump_result(result: Result, target: str | os.PathLike | IO) -> None:
    _write(dumps_result(result), target)


def load_result(source: str | os.PathLike | IO, problem: Problem | None = None) -> Result:
    if hasattr(source, "read"):
        return loads_result(source.read(), problem)
    with open(source, "rb") as f:
        return loads_result(f.read(), problem)


def loads_result(text: str | bytes, problem: Problem | None = None) -> Result:
    return parse_result(_decode(text, MalformedResult), problem)


def parse_result(data: Any, problem: Problem | None = None) -> Result:
    """A result from decoded JSON. With the problem, its assignment must name the problem's students
    and projects, and `rank_of` works; check constraints with `validate`."""
    if type(data) is not dict:
        raise MalformedResult("a result must be a JSON object")
    unknown = data.keys() - RESULT_KEYS
    if unknown:
        raise MalformedResult(f"the result has an unknown key {sorted(unknown)[0]!r}")
    for key in ("status", "objective", "assignment", "unassigned", "profile", "cost", "seconds", "solver"):
        if key not in data:
            raise MalformedResult(f"the result has no {key!r}")
    _check_result_types(data)
    ranks = {}
    if problem is not None:
        ranks = _ranks(problem, data["assignment"])
    return Result(
        status=data["status"], objective=data["objective"],
        assignment={s: p if type(p) is str else list(p) for s, p in data["assignment"].items()},
        unassigned=list(data["unassigned"]), profile=list(data["profile"]), cost=data["cost"],
        seconds=float(data["seconds"]), solver=data["solver"], message=data.get("message", ""),
        bound=dict(data.get("bound") or {}), seed=data.get("seed", 0), weights=data.get("weights"), ranks=ranks,
    )


def _check_result_types(data: dict) -> None:
    checks = [
        (data["status"] in STATUSES, f"status must be one of {', '.join(STATUSES)}"),
        (data["objective"] in OBJECTIVES, f"objective must be one of {', '.join(OBJECTIVES)}"),
        (type(data["assignment"]) is dict and all(_projects_value(p) for p in data["assignment"].values()),
         "assignment must map student ids to a project id or a list of project ids"),
        (type(data["unassigned"]) is list and all(type(s) is str for s in data["unassigned"]),
         "unassigned must be a list of student ids"),
        (type(data["profile"]) is list and all(type(c) is int and c >= 0 for c in data["profile"]),
         "profile must be a list of counts"),
        (type(data["cost"]) is int, "cost must be a whole number"),
        (type(data["seconds"]) in (int, float), "seconds must be a number"),
        (type(data["solver"]) is str, "solver must be text"),
        (type(data.get("message", "")) is str, "message must be text"),
        (type(data.get("bound") or {}) is dict and all(type(v) is int for v in (data.get("bound") or {}).values()),
         "bound must map names to whole numbers"),
        (type(data.get("seed", 0)) is int, "seed must be a whole number"),
        (data.get("weights") is None or (type(data["weights"]) is list and all(type(w) is int for w in data["weights"])),
         "weights must be a list of whole numbers"),
    ]
    for ok, message in checks:
        if not ok:
            raise MalformedResult(message)


def _projects_value(value: Any) -> bool:
    return type(value) is str or (type(value) is list and all(type(p) is str for p in value))


def _ranks(problem: Problem, assignment: dict) -> dict[str, int | list[int]]:
    ix = problem.index
    for s, got in assignment.items():
        if s not in ix.student_pos:
            raise MalformedResult(f"the result places {s!r}, who is not a student of the problem")
        for p in [got] if type(got) is str else got:
            if p not in ix.project_pos:
                raise MalformedResult(f"the result places {s} on {p!r}, which is not a project of the problem")
    return {s: problem.rank(s, p) if type(p) is str else [problem.rank(s, q) for q in p]
            for s, p in assignment.items()}


# ---------------------------------------------------------------- writing


def _write(text: str, target: str | os.PathLike | IO) -> None:
    """Write to an open file, or atomically to a path: a reader never sees half a file."""
    if hasattr(target, "write"):
        target.write(text)
        return
    path = os.fspath(target)
    head, name = os.path.split(path)
    tmp = os.path.join(head, f".{name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
