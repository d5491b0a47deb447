"""An allocation run's record: the problem its allocation answers and the settings it was made with, in
one versioned form that this module alone reads and writes (the `AllocationRun.record` column).

Every run holds its own problem (a manual move holds its origin's problem minus the pin it overrode), so
a run never depends on another row to be read, charted, exported, moved or explained.

The same form has two vocabularies of keys:
- in the database: students "S<user id>", projects "P<project id>", supervisors "L<user id>" (the
  engine's ids; `allocation.problem.build_problem_json` writes the same);
- in a backup (`portable`): students and supervisors by email, projects by the backup's project keys
  ("p1", "p2", …), so a backup holds no database id and `local` resolves the keys again where it is
  restored, in the same database or a fresh one.

Version 2 (version 1 was the untyped `AllocationRun.parameters` blob, converted by migration 0002):
    {"version": 2,
     "problem": <the engine's problem file format, without "meta">,
     "settings": {"objective", "weights", "allow_unranked", "seed", "time_limit",
                  "capacity_overrides": [[P, n]], "minimum_overrides": [[P, n]],
                  "supervisor_capacity_overrides": [[L, n or null]],
                  "pins": [[S, P, reason]], "forbids": [[S, P, reason]]},
     "bound": {name: n}, "engine_message": text,
     "move": {"student": S, "from": P or null, "to": P or null, "reason": text} or null,
     "declined": [S, ...]}
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from allocator import domain, engine
from allocator.domain import Objective
from allocator.services.errors import Invalid
from allocator.services.record_keys import (DamagedRecord, key_id, project_key, project_of, student_key,
                                             supervisor_key, user_of)

__all__ = ["DamagedRecord", "MAX_MESSAGE", "MAX_SEED", "MAX_TIME_LIMIT", "DEFAULT_TIME_LIMIT", "Move", "RECORD_VERSION",
           "RunParameters", "RunRecord", "check_settings", "from_json", "local", "people_in", "portable", "project_key",
           "project_of", "settings_from_json", "stored_groups", "student_key", "supervisor_key", "to_json", "user_of"]

RECORD_VERSION = 2
MAX_TIME_LIMIT = 300.0
# One limit for the studio and the command line: the engine measured it (allocator/engine/solver.py).
DEFAULT_TIME_LIMIT = engine.DEFAULT_TIME_LIMIT
MAX_SEED = 2**31 - 1
MAX_MESSAGE = 20_000
RECORD_KEYS = {"version", "problem", "settings", "bound", "engine_message", "move", "declined"}
SETTINGS_KEYS = {"objective", "weights", "allow_unranked", "capacity_overrides", "minimum_overrides", "pins",
                 "forbids", "supervisor_capacity_overrides", "seed", "time_limit"}
MOVE_KEYS = {"student", "from", "to", "reason"}
# The engine's problem file, without its free-form "meta": a record holds nothing it does not read.
PROBLEM_KEYS = {"students", "projects", "supervisors", "pinned", "forbidden", "allow_unranked", "groups"}


# ------------------------------------------------------------------------------------------ settings


def _pairs(value: Any, what: str) -> tuple[tuple[int, Any], ...]:
    if value is None:
        return ()
    items = value.items() if isinstance(value, Mapping) else value
    try:
        return tuple(sorted((int(k), v) for k, v in items))
    except (TypeError, ValueError):
        raise Invalid(f"The {what} must map ids to numbers.") from None


def _triples(value: Any, what: str) -> tuple[tuple[int, int, str], ...]:
    if value is None:
        return ()
    out = []
    try:
        for item in value:
            student, project, *rest = item
            out.append((int(student), int(project), str(rest[0] if rest else "")))
    except (TypeError, ValueError):
        raise Invalid(f"Each {what} needs a student, a project and a reason.") from None
    return tuple(out)


@dataclass(frozen=True)
class RunParameters:
    """What the coordinator tuned for one run. Overrides are (id, value) pairs, sorted; mappings are
    accepted too. `supervisor_capacity_overrides` values may be None: no limit for that supervisor."""

    objective: str = Objective.GENEROUS
    weights: tuple[int, ...] | None = None
    allow_unranked: bool = False
    capacity_overrides: tuple[tuple[int, int], ...] = ()
    minimum_overrides: tuple[tuple[int, int], ...] = ()
    pins: tuple[tuple[int, int, str], ...] = ()  # (student id, project id, reason)
    forbids: tuple[tuple[int, int, str], ...] = ()
    supervisor_capacity_overrides: tuple[tuple[int, int | None], ...] = ()
    seed: int = 0
    time_limit: float = DEFAULT_TIME_LIMIT

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.weights is not None:
            set_(self, "weights", tuple(self.weights))
        set_(self, "capacity_overrides", _pairs(self.capacity_overrides, "capacity overrides"))
        set_(self, "minimum_overrides", _pairs(self.minimum_overrides, "minimum overrides"))
        set_(self, "supervisor_capacity_overrides",
             _pairs(self.supervisor_capacity_overrides, "supervisor capacities"))
        set_(self, "pins", _triples(self.pins, "pin"))
        set_(self, "forbids", _triples(self.forbids, "forbid"))


def check_settings(params: RunParameters) -> RunParameters:
    """The same parameters, or Invalid naming the first thing wrong with them."""
    if not isinstance(params, RunParameters):
        raise Invalid("Missing run settings.")
    if params.objective not in Objective.values():
        raise Invalid(f"Unknown objective “{params.objective}”; choose one of {', '.join(Objective)}.")
    if type(params.allow_unranked) is not bool:
        raise Invalid("Allowing unranked placements is a yes or no.")
    if params.weights is not None and any(type(w) is not int or not 0 <= w <= MAX_SEED for w in params.weights):
        raise Invalid("Weights must be whole numbers, 0 or more.")
    if params.objective == Objective.WEIGHTED and not params.weights:
        raise Invalid("The weighted objective needs one weight per rank, for example 1, 2, 4, 8.")
    if type(params.seed) is not int or not 0 <= params.seed <= MAX_SEED:
        raise Invalid("The tie-breaking seed must be a whole number, 0 or more.")
    if (isinstance(params.time_limit, bool) or not isinstance(params.time_limit, (int, float))
            or not 0 < params.time_limit <= MAX_TIME_LIMIT):
        raise Invalid(f"The time limit must be between 1 and {MAX_TIME_LIMIT:.0f} seconds.")
    for what, pairs in (("capacity", params.capacity_overrides), ("minimum", params.minimum_overrides)):
        for _, value in pairs:
            if type(value) is not int or value < 0:
                raise Invalid(f"Every {what} must be a whole number, 0 or more.")
    for _, value in params.supervisor_capacity_overrides:
        if value is not None and (type(value) is not int or value < 0):
            raise Invalid("A supervisor's capacity must be a whole number, 0 or more (or blank for no limit).")
    for what, items in (("pin", params.pins), ("forbid", params.forbids)):
        for _, _, reason in items:
            if len(reason) > domain.MOVE_REASON_MAX:
                raise Invalid(f"Please keep the reason for a {what} under {domain.MOVE_REASON_MAX} characters.")
    # Several pins for a student with several places are checked against their places with the cohort.
    if any(n > 1 for n in Counter((s, p) for s, p, _ in params.pins).values()):
        raise Invalid("A student is pinned to the same project twice; remove the extra pin.")
    return params


# ------------------------------------------------------------------------------------------ the record


@dataclass(frozen=True)
class Move:
    """A manual move: who went from where to where (project ids; None is unplaced), and why."""

    student_id: int
    from_project_id: int | None
    to_project_id: int | None
    reason: str = ""


@dataclass(frozen=True)
class RunRecord:
    """What a run answers and how it was made. `problem` uses the database's keys (see the module)."""

    problem: engine.Problem
    settings: RunParameters
    bound: Mapping[str, int] = field(default_factory=dict)  # the solver's proven limits, if it stopped early
    engine_message: str = ""
    move: Move | None = None
    declined: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "bound", dict(self.bound or {}))
        object.__setattr__(self, "declined", tuple(sorted(self.declined)))

    @property
    def students(self) -> int:
        return len(self.problem.students)


def _settings_json(s: RunParameters) -> dict[str, Any]:
    data = asdict(s)
    data["weights"] = list(s.weights) if s.weights is not None else None
    data["capacity_overrides"] = [[project_key(p), n] for p, n in s.capacity_overrides]
    data["minimum_overrides"] = [[project_key(p), n] for p, n in s.minimum_overrides]
    data["supervisor_capacity_overrides"] = [[supervisor_key(u), n] for u, n in s.supervisor_capacity_overrides]
    data["pins"] = [[student_key(u), project_key(p), r] for u, p, r in s.pins]
    data["forbids"] = [[student_key(u), project_key(p), r] for u, p, r in s.forbids]
    return data


def to_json(record: RunRecord) -> dict[str, Any]:
    """The record as stored in `AllocationRun.record` (database keys)."""
    move = record.move
    return {
        "version": RECORD_VERSION,
        "problem": engine.problem_to_dict(record.problem),
        "settings": _settings_json(record.settings),
        "bound": dict(record.bound),
        "engine_message": record.engine_message,
        "move": None if move is None else {
            "student": student_key(move.student_id),
            "from": None if move.from_project_id is None else project_key(move.from_project_id),
            "to": None if move.to_project_id is None else project_key(move.to_project_id),
            "reason": move.reason},
        "declined": [student_key(u) for u in record.declined],
    }


def _only(data: Any, allowed: set[str], where: str) -> dict:
    if type(data) is not dict:
        raise DamagedRecord(f"{where} should be an object")
    unknown = data.keys() - allowed
    if unknown:
        raise DamagedRecord(f"{where} has an unknown key {sorted(unknown)[0]!r}")
    return data


def _list(value: Any, where: str) -> list:
    if type(value) is not list:
        raise DamagedRecord(f"{where} should be a list")
    return value


def _text(value: Any, where: str, limit: int) -> str:
    if type(value) is not str or len(value) > limit:
        raise DamagedRecord(f"{where} should be text of at most {limit:,} characters")
    return value


def _settings(data: Any) -> RunParameters:
    data = _only(data, SETTINGS_KEYS, "settings")

    def rows(name: str, width: int) -> list[list]:
        out = _list(data.get(name, []), f"settings.{name}")
        if any(type(row) is not list or len(row) != width for row in out):
            raise DamagedRecord(f"settings.{name} should hold lists of {width}")
        return out

    weights = data.get("weights")
    if weights is not None:
        _list(weights, "settings.weights")
    for name in ("pins", "forbids"):
        for row in rows(name, 3):
            _text(row[2], f"settings.{name}", domain.MOVE_REASON_MAX)
    try:
        params = RunParameters(
            objective=data.get("objective", Objective.GENEROUS), weights=weights,
            allow_unranked=data.get("allow_unranked", False),
            capacity_overrides=[(project_of(p), n) for p, n in rows("capacity_overrides", 2)],
            minimum_overrides=[(project_of(p), n) for p, n in rows("minimum_overrides", 2)],
            supervisor_capacity_overrides=[(user_of(u), n) for u, n in rows("supervisor_capacity_overrides", 2)],
            pins=[(key_id(s, "S"), project_of(p), r) for s, p, r in rows("pins", 3)],
            forbids=[(key_id(s, "S"), project_of(p), r) for s, p, r in rows("forbids", 3)],
            seed=data.get("seed", 0), time_limit=data.get("time_limit", DEFAULT_TIME_LIMIT))
        return check_settings(params)
    except Invalid as err:
        raise DamagedRecord(f"settings: {err}") from None


def settings_from_json(record: Any) -> RunParameters:
    """Only the settings of a stored record (e.g. `AllocationRun.record["settings"]`), read strictly, for
    callers that list many runs and need not parse each one's problem."""
    return _settings(record if record is not None else {})


def stored_groups(groups: Any) -> list[list[int]]:
    """The user ids of each group in a stored record's problem, read from its "groups" value alone (a
    page that needs only the groups need not load the whole record); [] when the problem has none."""
    if groups is None:
        return []
    return [[key_id(m, "S") for m in _list(_only(g, {"id", "members"}, "a group").get("members"), "a group's members")]
            for g in _list(groups, "groups")]


def _problem(data: Any) -> engine.Problem:
    _only(data, PROBLEM_KEYS, "problem")
    try:
        problem = engine.parse_problem(data)
    except engine.MalformedProblem as err:
        raise DamagedRecord(f"problem: {err}") from None
    for s in problem.students:
        key_id(s.id, "S")
    for p in problem.projects:
        key_id(p.id, "P")
        if p.supervisor is not None:
            key_id(p.supervisor, "L")
    for v in problem.supervisors:
        key_id(v.id, "L")
    return problem


def from_json(data: Any) -> RunRecord:
    """A stored record read strictly; DamagedRecord names the first thing wrong."""
    data = _only(data, RECORD_KEYS, "the run record")
    if data.get("version") != RECORD_VERSION:
        raise DamagedRecord(f"the run record has version {data.get('version')!r}, not {RECORD_VERSION}")
    problem = _problem(data.get("problem"))
    bound = data.get("bound", {})
    if type(bound) is not dict or any(type(k) is not str or type(v) is not int for k, v in bound.items()):
        raise DamagedRecord("bound should map names to whole numbers")
    move = None
    if data.get("move") is not None:
        m = _only(data["move"], MOVE_KEYS, "move")
        move = Move(key_id(m.get("student"), "S"), project_of(m.get("from")), project_of(m.get("to")),
                    _text(m.get("reason", ""), "move.reason", domain.MOVE_REASON_MAX))
    declined = tuple(key_id(s, "S") for s in _list(data.get("declined", []), "declined"))
    return RunRecord(problem=problem, settings=_settings(data.get("settings", {})), bound=bound,
                     engine_message=_text(data.get("engine_message", ""), "engine_message", MAX_MESSAGE),
                     move=move, declined=declined)


# ------------------------------------------------------------------------------------------ backups


def _rekey(data: Any, student: Callable[[Any], Any], project: Callable[[Any], Any],
           supervisor: Callable[[Any], Any]) -> dict[str, Any]:
    """A copy of a record's JSON with every key replaced; the shape is checked as far as rekeying needs."""
    data = _only(data, RECORD_KEYS, "the run record")
    out = dict(data)
    problem = _only(data.get("problem"), PROBLEM_KEYS, "problem")
    p = dict(problem)

    def entries(name: str) -> list[dict]:
        items = _list(problem.get(name, []), f"problem.{name}")
        if any(type(item) is not dict for item in items):
            raise DamagedRecord(f"problem.{name} should hold objects")
        return items

    p["students"] = [{**s, "id": student(s.get("id")),
                      "preferences": [project(q) for q in _list(s.get("preferences", []), "preferences")]}
                     for s in entries("students")]
    p["projects"] = [{**q, "id": project(q.get("id")),
                      **({"supervisor": supervisor(q["supervisor"])} if q.get("supervisor") is not None else {})}
                     for q in entries("projects")]
    if "supervisors" in problem:
        p["supervisors"] = [{**v, "id": supervisor(v.get("id"))} for v in entries("supervisors")]
    for name in ("pinned", "forbidden"):
        if name in problem:
            p[name] = [{**x, "student": student(x.get("student")), "project": project(x.get("project"))}
                       for x in entries(name)]
    if "groups" in problem:
        p["groups"] = [{**g, "members": [student(m) for m in _list(g.get("members", []), "groups.members")]}
                       for g in entries("groups")]
    out["problem"] = p
    settings = _only(data.get("settings", {}), SETTINGS_KEYS, "settings")
    s = dict(settings)

    def rows(name: str) -> list[list]:
        items = _list(settings.get(name, []), f"settings.{name}")
        if any(type(row) is not list or len(row) < 2 for row in items):
            raise DamagedRecord(f"settings.{name} should hold lists")
        return items

    for name in ("capacity_overrides", "minimum_overrides"):
        if name in settings:
            s[name] = [[project(k), *rest] for k, *rest in rows(name)]
    if "supervisor_capacity_overrides" in settings:
        s["supervisor_capacity_overrides"] = [[supervisor(k), *rest]
                                              for k, *rest in rows("supervisor_capacity_overrides")]
    for name in ("pins", "forbids"):
        if name in settings:
            s[name] = [[student(a), project(b), *rest] for a, b, *rest in rows(name)]
    out["settings"] = s
    if data.get("move") is not None:
        m = _only(data["move"], MOVE_KEYS, "move")
        out["move"] = {**m, "student": student(m.get("student")),
                       "from": None if m.get("from") is None else project(m["from"]),
                       "to": None if m.get("to") is None else project(m["to"])}
    if "declined" in data:
        out["declined"] = [student(x) for x in _list(data["declined"], "declined")]
    return out


def people_in(data: dict[str, Any]) -> set[int]:
    """The user ids a stored record names (its students and supervisors), for a backup to list them."""
    found: set[int] = set()

    def person(prefix: str) -> Callable[[Any], Any]:
        def note(key: Any) -> Any:
            found.add(key_id(key, prefix))
            return key
        return note

    _rekey(data, person("S"), lambda key: key, person("L"))
    return found


def portable(data: dict[str, Any], *, email_of: Mapping[int, str], project_ref: Mapping[int, str]) -> dict[str, Any]:
    """A stored record with people as emails and projects as the backup's keys (no database id)."""
    def person(prefix: str) -> Callable[[Any], str]:
        def ref(key: Any) -> str:
            uid = key_id(key, prefix)
            if uid not in email_of:
                raise DamagedRecord(f"the run names {key}, who is not in the backup")
            return email_of[uid]
        return ref

    def project(key: Any) -> str:
        pid = key_id(key, "P")
        if pid not in project_ref:
            raise DamagedRecord(f"the run names {key}, which is not a project of this cohort")
        return project_ref[pid]

    return _rekey(data, person("S"), project, person("L"))


def local(data: Any, *, user_id: Mapping[str, int], project_id: Mapping[str, int]) -> dict[str, Any]:
    """A backup's record with this database's keys again; DamagedRecord for a reference the backup
    does not define."""
    def person(make: Callable[[int], str]) -> Callable[[Any], str]:
        def ref(email: Any) -> str:
            if type(email) is not str or email not in user_id:
                raise DamagedRecord(f"names {str(email)[:80]!r}, a person the file does not list")
            return make(user_id[email])
        return ref

    def project(key: Any) -> str:
        if type(key) is not str or key not in project_id:
            raise DamagedRecord(f"names {str(key)[:80]!r}, a project the file does not list")
        return project_key(project_id[key])

    return _rekey(data, person(student_key), project, person(supervisor_key))
