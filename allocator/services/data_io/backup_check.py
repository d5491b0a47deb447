"""The checks a restore applies to a backup document: types and the forms' own limits, the first problem
stopping the restore with its path in the file."""
from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from allocator import domain, io
from allocator.domain import MEMBER_ROLES, STORED_RUN_STATUSES, Objective, Phase, ProjectStatus, Role, RunKind
from allocator.models import AllocationRun, utcnow
from allocator.services import run_record
from allocator.services.data_io.backup import ASSIGNMENT_COLUMNS, DATE_SETTINGS, RESPONSE_COLUMNS
from allocator.services.errors import Invalid


class Check:
    """Type and limit checks on the backup document; the first problem stops the restore with its path.
    The limits are the forms' and imports' own (`allocator.domain`), so a file lets nothing in that a
    person typing could not."""

    @staticmethod
    def fail(path: str, what: str):
        raise Invalid(f"{DAMAGED}: {path} {what}. Nothing was restored.")

    def obj(self, value, path, keys: set[str] | None = None) -> dict:
        if not isinstance(value, dict):
            self.fail(path, "should be an object")
        if keys is not None:
            unknown = sorted(str(k) for k in value.keys() - keys)
            if unknown:
                self.fail(f"{path}.{unknown[0][:40]}", "is not part of a backup"
                          + (": a backup cannot grant coordinator rights" if unknown[0] == "is_admin" else ""))
        return value

    def new(self, value, seen, path):
        """`value`, once: a key already in `seen` (a set or dict) means a damaged file."""
        if value in seen:
            self.fail(path, "appears twice")
        return value

    def arr(self, value, path, *, max_len: int | None = None) -> list:
        if not isinstance(value, list):
            self.fail(path, "should be a list")
        if max_len is not None and len(value) > max_len:
            self.fail(path, f"should have at most {max_len:,} entries")
        return value

    def text(self, d, key, path, *, optional=False, max_len: int) -> str | None:
        value = d.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, str) or len(value) > max_len:
            self.fail(f"{path}.{key}", f"should be text of at most {max_len:,} characters")
        return value

    def whole(self, d, key, path, *, optional=False, minimum: int = 0, maximum: int) -> int | None:
        value = d.get(key)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            self.fail(f"{path}.{key}", f"should be a whole number from {minimum} to {maximum:,}")
        return value

    def flag(self, d, key, path) -> bool:
        value = d.get(key)
        if not isinstance(value, bool):
            self.fail(f"{path}.{key}", "should be true or false")
        return value

    def when(self, value, path, *, optional=True) -> datetime | None:
        if value in (None, "") and optional:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            self.fail(path, "should be a date and time")
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)

    def email(self, value, path) -> str:
        if (not isinstance(value, str) or len(value) > domain.EMAIL_MAX or not io.EMAIL_RE.fullmatch(value)
                or value != value.lower()):
            self.fail(path, "should be a lower-case email address")
        return value

    def one_of(self, value, options, path):
        if not isinstance(value, str) or value not in options:
            self.fail(path, f"should be one of {', '.join(str(o) for o in options)}")
        return value


DAMAGED = "This backup file is damaged or was edited by hand"
# More entries than any cohort has: a file this long was not written by a backup.
MAX_ENTRIES = 1_000_000
COHORT_KEYS = {"name", "created_at", "settings"}
PERSON_KEYS = {"email", "name", "role", "max_load", "places", "tier", "joined_at", "preferences_saved_at"}
OTHER_PERSON_KEYS = {"email", "name"}
PROJECT_KEYS = {"key", "code", "title", "description", "capacity", "min_students", "supervisor", "tags", "status",
                "reject_reason", "created_at", "updated_at"}
RUN_KEYS = {"key", "kind", "parent", "label", "objective", "record", "status", "solver", "seconds", "cost", "profile",
            "message", "created_at", "created_by", "published_at", "published_by", "assignment_columns",
            "assignments", "response_columns", "responses"}
DOCUMENT_KEYS = {"format", "version", "exported_at", "cohort", "people", "other_people", "projects", "preferences",
                 "runs", "groups"}
MAX_SECONDS = 10**6
MAX_COST = 2**31 - 1


def check_settings(c: Check, settings: dict) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in DATE_SETTINGS:
        values[f] = c.when(settings.get(f), f"cohort.settings.{f}")
    values["phase_override"] = settings.get("phase_override")
    if values["phase_override"] is not None:
        c.one_of(values["phase_override"], Phase.values(), "cohort.settings.phase_override")
    values["max_choices"] = c.whole(settings, "max_choices", "cohort.settings", minimum=1, maximum=domain.CHOICES_MAX)
    values["min_choices"] = c.whole(settings, "min_choices", "cohort.settings", maximum=values["max_choices"])
    for f in ("allow_unranked", "auto_approve", "responses_locked"):
        values[f] = c.flag(settings, f, "cohort.settings")
    values["default_objective"] = c.one_of(settings.get("default_objective"), Objective.values(),
                                           "cohort.settings.default_objective")
    for a, b in (("proposals_open_at", "proposals_close_at"), ("preferences_open_at", "preferences_close_at")):
        if values[a] and values[b] and values[b] < values[a]:
            c.fail(f"cohort.settings.{b}", "is before the window opens")
    return values


def check_people(c: Check, doc: dict) -> tuple[dict[str, dict], dict[str, dict]]:
    people: dict[str, dict] = {}
    for i, p in enumerate(c.arr(doc.get("people", []), "people", max_len=MAX_ENTRIES)):
        path = f"people[{i}]"
        c.obj(p, path, PERSON_KEYS)
        email = c.new(c.email(p.get("email"), f"{path}.email"), people, f"{path}.email")
        people[email] = dict(name=c.text(p, "name", path, max_len=domain.PERSON_NAME_MAX),
                             role=c.one_of(p.get("role"), MEMBER_ROLES, f"{path}.role"),
                             max_load=c.whole(p, "max_load", path, optional=True, maximum=domain.PROJECT_CAPACITY_MAX),
                             joined_at=c.when(p.get("joined_at"), f"{path}.joined_at"),
                             saved_at=c.when(p.get("preferences_saved_at"), f"{path}.preferences_saved_at"))
    others: dict[str, dict] = {}
    for i, p in enumerate(c.arr(doc.get("other_people", []), "other_people", max_len=MAX_ENTRIES)):
        path = f"other_people[{i}]"
        c.obj(p, path, OTHER_PERSON_KEYS)
        email = c.new(c.new(c.email(p.get("email"), f"{path}.email"), people, f"{path}.email"), others,
                      f"{path}.email")
        others[email] = dict(name=c.text(p, "name", path, max_len=domain.PERSON_NAME_MAX))
    return people, others


def check_projects(c: Check, doc: dict, person) -> list[dict]:
    projects: list[dict] = []
    keys: set[str] = set()
    codes: set[str] = set()
    for i, p in enumerate(c.arr(doc.get("projects", []), "projects", max_len=MAX_ENTRIES)):
        path = f"projects[{i}]"
        c.obj(p, path, PROJECT_KEYS)
        key = c.new(c.text(p, "key", path, max_len=20), keys, f"{path}.key")
        keys.add(key)
        code = c.text(p, "code", path, optional=True, max_len=domain.PROJECT_CODE_MAX)
        if code is not None:
            codes.add(c.new(code, codes, f"{path}.code"))
        title = c.text(p, "title", path, max_len=domain.PROJECT_TITLE_MAX)
        if not title:
            c.fail(f"{path}.title", "is empty")
        capacity = c.whole(p, "capacity", path, maximum=domain.PROJECT_CAPACITY_MAX)
        minimum = c.whole(p, "min_students", path, maximum=capacity)
        tags = c.arr(p.get("tags", []), f"{path}.tags")
        if not all(isinstance(t, str) for t in tags):
            c.fail(f"{path}.tags", "should be a list of text")
        if io.tag_problem(tags):
            c.fail(f"{path}.tags", f"breaks the tag limits ({io.tag_problem(tags)})")
        projects.append(dict(
            key=key, code=code, title=title, description=c.text(p, "description", path,
                                                                max_len=domain.PROJECT_DESCRIPTION_MAX),
            capacity=capacity, min_students=minimum, supervisor=person(p.get("supervisor"), f"{path}.supervisor"),
            tags=tags, status=c.one_of(p.get("status"), ProjectStatus.values(), f"{path}.status"),
            reject_reason=c.text(p, "reject_reason", path, optional=True, max_len=domain.REJECT_REASON_MAX),
            created_at=c.when(p.get("created_at"), f"{path}.created_at") or utcnow(),
            updated_at=c.when(p.get("updated_at"), f"{path}.updated_at") or utcnow()))
    return projects


def check_preferences(c: Check, doc: dict, people: dict, project_keys: set[str],
                       max_choices: int) -> dict[str, list[str]]:
    preferences: dict[str, list[str]] = {}
    for email, keys in c.obj(doc.get("preferences", {}), "preferences").items():
        path = f"preferences[{email[:80]!r}]"
        if people.get(email, {}).get("role") != Role.STUDENT:
            c.fail(path, "is not a student of the cohort")
        c.arr(keys, path, max_len=max_choices)
        if not all(isinstance(k, str) for k in keys) or len(set(keys)) != len(keys) or not set(keys) <= project_keys:
            c.fail(path, "repeats a project or names one the file does not list")
        preferences[email] = keys
    return preferences


def _check_record(c: Check, r: dict, path: str, known: list[str], project_keys: list[str], kind: str,
                  assignments: list) -> dict:
    """The run's record, checked by reading it as it will be stored (with stand-in ids for the people and
    projects the restore will create), and consistent with the run's assignments."""
    stand_in_user = {e: i for i, e in enumerate(known, 1)}
    stand_in_project = {k: i for i, k in enumerate(project_keys, 1)}
    try:
        record = run_record.from_json(run_record.local(r.get("record"), user_id=stand_in_user,
                                                       project_id=stand_in_project))
    except run_record.DamagedRecord as err:
        c.fail(f"{path}.record", str(err))
    students = {run_record.student_key(stand_in_user[a[0]]) for a in assignments}
    in_problem = {s.id for s in record.problem.students}
    projects = {p.id for p in record.problem.projects}
    if assignments and (students != in_problem or not {
            run_record.project_key(stand_in_project[a[1]]) for a in assignments if a[1] is not None} <= projects):
        c.fail(f"{path}.assignments", "do not match the run's record")
    if kind == "move" and record.move is None:
        c.fail(f"{path}.record", "has no move for a manual move")
    return r["record"]


def _check_assignments(c: Check, r: dict, path: str, person, project_keys: list[str]) -> list[list]:
    """A run's assignments: [student, project, rank, pinned, manual], each student once."""
    assignments, students = [], set()
    for j, a in enumerate(c.arr(r.get("assignments", []), f"{path}.assignments", max_len=MAX_ENTRIES)):
        apath = f"{path}.assignments[{j}]"
        if not isinstance(a, list) or len(a) != 5:
            c.fail(apath, "should be [student, project, rank, pinned, manual]")
        student = person(a[0], apath, optional=False)
        if a[1] is not None and a[1] not in project_keys:
            c.fail(apath, "names a project the file does not list")
        # A student with several places has one row per project (issue 16), never the same one twice.
        if (student, a[1]) in students:
            c.fail(apath, "assigns the same student twice")
        students.add((student, a[1]))
        if a[2] is not None and (isinstance(a[2], bool) or not isinstance(a[2], int)
                                 or not 1 <= a[2] <= domain.CHOICES_MAX or a[1] is None):
            c.fail(apath, "has a bad rank")
        if not isinstance(a[3], bool) or not isinstance(a[4], bool):
            c.fail(apath, "has bad pinned/manual flags")
        assignments.append(a)
    return assignments


def _check_responses(c: Check, r: dict, path: str, person) -> list[tuple]:
    """A run's answers: (student, accepted, reason, responded_at), each student once."""
    answers, responders = [], set()
    for j, a in enumerate(c.arr(r.get("responses", []), f"{path}.responses", max_len=MAX_ENTRIES)):
        apath = f"{path}.responses[{j}]"
        if (not isinstance(a, list) or len(a) != 4 or not isinstance(a[1], bool) or not isinstance(a[2], str)
                or len(a[2]) > domain.RESPONSE_REASON_MAX):
            c.fail(apath, "should be [student, accepted, reason of at most "
                          f"{domain.RESPONSE_REASON_MAX:,} characters, responded_at]")
        student = person(a[0], apath, optional=False)
        if student in responders:
            c.fail(apath, "answers twice for the same student")
        responders.add(student)
        answers.append((student, a[1], a[2], c.when(a[3], apath, optional=False)))
    return answers


def check_runs(c: Check, doc: dict, person, known: list[str], project_keys: list[str],
                max_choices: int) -> list[dict]:
    runs: list[dict] = []
    run_keys: set[str] = set()
    for i, r in enumerate(c.arr(doc.get("runs", []), "runs", max_len=MAX_ENTRIES)):
        path = f"runs[{i}]"
        c.obj(r, path, RUN_KEYS)
        run_keys.add(key := c.new(c.text(r, "key", path, max_len=20), run_keys, f"{path}.key"))
        if r.get("assignment_columns", ASSIGNMENT_COLUMNS) != ASSIGNMENT_COLUMNS or \
                r.get("response_columns", RESPONSE_COLUMNS) != RESPONSE_COLUMNS:
            c.fail(path, "has columns this app does not know")
        assignments = _check_assignments(c, r, path, person, project_keys)
        answers = _check_responses(c, r, path, person)
        kind = c.one_of(r.get("kind"), RunKind.values(), f"{path}.kind")
        cost = c.whole(r, "cost", path, optional=True, maximum=MAX_COST)
        seconds = r.get("seconds", 0.0)
        if (isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds)
                or not 0 <= seconds <= MAX_SECONDS):
            c.fail(f"{path}.seconds", f"should be a number of seconds from 0 to {MAX_SECONDS:,}")
        profile = c.arr(r.get("profile", []), f"{path}.profile", max_len=max_choices + 2)
        if any(isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= len(assignments) for n in profile) \
                or sum(profile) > len(assignments):
            c.fail(f"{path}.profile", "should be counts of the run's students, one per rank")
        record = _check_record(c, r, path, known, project_keys, kind, assignments)
        runs.append(dict(
            key=key, kind=kind, parent=c.text(r, "parent", path, optional=True, max_len=20), label=c.text(r, "label", path, max_len=domain.RUN_LABEL_MAX),
            objective=c.one_of(r.get("objective"), Objective.values(), f"{path}.objective"), record=record,
            status=c.one_of(r.get("status"), STORED_RUN_STATUSES, f"{path}.status"),
            solver=c.text(r, "solver", path, max_len=AllocationRun.solver.type.length), seconds=float(seconds),
            cost=cost, profile=profile, message=c.text(r, "message", path, max_len=run_record.MAX_MESSAGE),
            created_at=c.when(r.get("created_at"), f"{path}.created_at") or utcnow(),
            created_by=person(r.get("created_by"), f"{path}.created_by"),
            published_at=c.when(r.get("published_at"), f"{path}.published_at"),
            published_by=person(r.get("published_by"), f"{path}.published_by"),
            assignments=assignments, responses=answers))
    for i, r in enumerate(runs):
        if r["parent"] is not None and r["parent"] not in run_keys:
            c.fail(f"runs[{i}].parent", "names a run the file does not list")
    if sum(r["published_at"] is not None for r in runs) > 1:
        c.fail("runs", "publish more than one run")
    return runs
