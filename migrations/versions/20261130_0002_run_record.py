"""run record: kind and student count as columns, the problem and settings as one versioned record

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 19:00:00

`allocation_runs.parameters` (an untyped blob whose keys were database ids, and whose derived runs
pointed at another run for their problem) becomes `record`, version 2 of the form
`allocator.services.run_record` reads and writes, with `kind` and `students` as columns. Every run's
blob is converted here, in the same transaction; a run whose problem cannot be recovered from its blob
(e.g. one restored from a backup of another database) gets a problem rebuilt from its own assignments
and its cohort's projects and preferences, so every run stays readable. The downgrade converts back
(each run keeps its own copy of its problem), so neither direction loses a row.

The code below is a frozen copy of what it needs: a migration must not import the app, which moves on.
"""
from __future__ import annotations

import re
from typing import Any, Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

KINDS = ("solve", "move", "restore", "rerun-declined")
OBJECTIVES = ("greedy", "generous", "min-cost", "weighted")
SETTING_NAMES = ("objective", "weights", "allow_unranked", "capacity_overrides", "minimum_overrides", "pins",
                 "forbids", "supervisor_capacity_overrides", "seed", "time_limit")
KEY = re.compile(r"[SPL][1-9][0-9]*")

runs = sa.table("allocation_runs", sa.column("id", sa.Integer), sa.column("cohort_id", sa.Integer),
                sa.column("kind", sa.String), sa.column("students", sa.Integer), sa.column("record", sa.JSON),
                sa.column("parameters", sa.JSON), sa.column("objective", sa.String), sa.column("message", sa.Text))
assignments = sa.table("assignments", sa.column("run_id", sa.Integer), sa.column("student_id", sa.Integer),
                       sa.column("project_id", sa.Integer), sa.column("pinned", sa.Boolean))
projects = sa.table("projects", sa.column("id", sa.Integer), sa.column("cohort_id", sa.Integer),
                    sa.column("capacity", sa.Integer), sa.column("min_students", sa.Integer),
                    sa.column("supervisor_id", sa.Integer), sa.column("status", sa.String))
preferences = sa.table("preferences", sa.column("cohort_id", sa.Integer), sa.column("student_id", sa.Integer),
                       sa.column("project_id", sa.Integer), sa.column("rank", sa.Integer))
memberships = sa.table("memberships", sa.column("cohort_id", sa.Integer), sa.column("user_id", sa.Integer),
                       sa.column("role", sa.String))
cohorts = sa.table("cohorts", sa.column("id", sa.Integer), sa.column("allow_unranked", sa.Boolean))


# ------------------------------------------------------------------------------------------ upgrade


def upgrade() -> None:
    with op.batch_alter_table('allocation_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('students', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('record', sa.JSON(), nullable=True))
    _convert_up(op.get_bind())
    # On SQLite this rebuilds allocation_runs (copy-and-move), which assignments and responses refer to:
    # env.py turns foreign keys off around it and checks every reference afterwards.
    with op.batch_alter_table('allocation_runs', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column('students', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('record', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_column('parameters')
        batch_op.create_check_constraint(
            op.f('ck_allocation_runs_kind_known'), "kind IN ('solve', 'move', 'restore', 'rerun-declined')")
        batch_op.create_check_constraint(op.f('ck_allocation_runs_students_nonnegative'), "students >= 0")


class _Cohort:
    """What a rebuilt problem needs from a cohort, read once per cohort."""

    def __init__(self, conn, cohort_id: int):
        self.allow_unranked = bool(conn.execute(sa.select(cohorts.c.allow_unranked)
                                                .where(cohorts.c.id == cohort_id)).scalar())
        self.projects = {pid: (cap, low, sup, status) for pid, cap, low, sup, status in conn.execute(
            sa.select(projects.c.id, projects.c.capacity, projects.c.min_students, projects.c.supervisor_id,
                      projects.c.status).where(projects.c.cohort_id == cohort_id).order_by(projects.c.id))}
        self.prefs: dict[int, list[int]] = {}
        for sid, pid in conn.execute(sa.select(preferences.c.student_id, preferences.c.project_id)
                                     .where(preferences.c.cohort_id == cohort_id)
                                     .order_by(preferences.c.student_id, preferences.c.rank)):
            self.prefs.setdefault(sid, []).append(pid)
        self.students = list(conn.execute(
            sa.select(memberships.c.user_id).where(memberships.c.cohort_id == cohort_id,
                                                   memberships.c.role == "student")
            .order_by(memberships.c.user_id)).scalars())


def _rebuilt(cohort: _Cohort, rows: list[tuple], allow_unranked: bool) -> dict[str, Any]:
    """A problem the run's allocation answers, from its assignments and the cohort as it stands: its
    students, the approved projects and those it uses (room enough for what it placed), their lists."""
    students = sorted({sid for sid, *_ in rows}) or cohort.students
    used = {pid for _, pid, _ in rows if pid is not None}
    placed: dict[int, int] = {}
    for _, pid, _ in rows:
        if pid is not None:
            placed[pid] = placed.get(pid, 0) + 1
    keep = [pid for pid, (_, _, _, status) in cohort.projects.items() if status == "approved" or pid in used]
    out_projects = []
    for pid in keep:
        cap, low, sup, _ = cohort.projects[pid]
        entry: dict[str, Any] = {"id": f"P{pid}", "capacity": max(cap, placed.get(pid, 0))}
        if low and (placed.get(pid, 0) in (0,) or placed.get(pid, 0) >= low) and low <= entry["capacity"]:
            entry["min_students"] = low
        if sup is not None:
            entry["supervisor"] = f"L{sup}"
        out_projects.append(entry)
    kept = set(keep)
    problem: dict[str, Any] = {
        "students": [{"id": f"S{s}", "preferences": [f"P{p}" for p in cohort.prefs.get(s, []) if p in kept]}
                     for s in students],
        "projects": out_projects,
    }
    pinned = [{"student": f"S{s}", "project": f"P{p}"} for s, p, pin in rows if pin and p is not None]
    if pinned:
        problem["pinned"] = pinned
    off_list = any(p is not None and p not in cohort.prefs.get(s, []) for s, p, _ in rows)
    if allow_unranked or off_list or cohort.allow_unranked:
        problem["allow_unranked"] = True
    return problem


def _project_key(key: Any, project_ids: dict) -> str | None:
    if key in project_ids:
        return f"P{int(project_ids[key])}"
    return key if isinstance(key, str) and KEY.fullmatch(key) and key[0] == "P" else None


def _recovered(source: dict, unpinned: set, allow_unranked: bool, rows: list[tuple],
               cohort: _Cohort) -> dict[str, Any] | None:
    """The run's own problem from an old blob, with database keys, or None if it does not fit the run."""
    try:
        old = source["problem"]
        ids = source.get("project_ids") or {}
        proj = {p["id"]: _project_key(p["id"], ids) for p in old["projects"]}
        if None in proj.values():
            return None
        problem: dict[str, Any] = {
            "students": [{"id": s["id"], "preferences": [proj[p] for p in s.get("preferences", [])]}
                         for s in old["students"]],
            "projects": [{**p, "id": proj[p["id"]]} for p in old["projects"]],
        }
        if old.get("supervisors"):
            problem["supervisors"] = [dict(v) for v in old["supervisors"]]
        pinned = [{"student": p["student"], "project": proj[p["project"]]} for p in old.get("pinned", [])
                  if p["student"] not in unpinned]
        if pinned:
            problem["pinned"] = pinned
        if old.get("forbidden"):
            problem["forbidden"] = [{"student": f["student"], "project": proj[f["project"]]} for f in old["forbidden"]]
        if old.get("allow_unranked") or allow_unranked:
            problem["allow_unranked"] = True
    except (KeyError, TypeError, AttributeError):
        return None
    students = {s["id"] for s in problem["students"]}
    in_cohort = {f"P{pid}" for pid in cohort.projects}
    keys_ok = all(isinstance(s, str) and KEY.fullmatch(s) and s[0] == "S" for s in students)
    if not keys_ok or not {p["id"] for p in problem["projects"]} <= in_cohort:
        return None
    if rows and students != {f"S{s}" for s, _, _ in rows}:
        return None
    if not {f"P{p}" for _, p, _ in rows if p is not None} <= {p["id"] for p in problem["projects"]}:
        return None
    return problem


def _whole(value: Any) -> bool:
    return type(value) is int and value >= 0


def _settings(params: Any, objective: str) -> dict[str, Any]:
    """Old settings (database ids as numbers) in the record's form (keys); anything unreadable is left
    at its default rather than guessed."""
    p = params if isinstance(params, dict) else {}
    out: dict[str, Any] = {"objective": p.get("objective") if p.get("objective") in OBJECTIVES else objective,
                           "weights": None, "allow_unranked": p.get("allow_unranked") is True,
                           "capacity_overrides": [], "minimum_overrides": [], "pins": [], "forbids": [],
                           "supervisor_capacity_overrides": [], "seed": 0, "time_limit": 20.0}
    weights = p.get("weights")
    if isinstance(weights, list) and weights and all(_whole(w) for w in weights):
        out["weights"] = weights
    if out["objective"] == "weighted" and not out["weights"]:
        out["objective"] = objective if objective != "weighted" else "generous"
    if _whole(p.get("seed")) and p["seed"] < 2**31:
        out["seed"] = p["seed"]
    if type(p.get("time_limit")) in (int, float) and 0 < p["time_limit"] <= 300:
        out["time_limit"] = float(p["time_limit"])
    for name, prefix in (("capacity_overrides", "P"), ("minimum_overrides", "P"),
                         ("supervisor_capacity_overrides", "L")):
        for item in p.get(name) or ():
            if isinstance(item, list) and len(item) == 2 and _whole(item[0]) and item[0] > 0 and (
                    _whole(item[1]) or (item[1] is None and prefix == "L")):
                out[name].append([f"{prefix}{item[0]}", item[1]])
    pinned: set[int] = set()
    for name in ("pins", "forbids"):
        for item in p.get(name) or ():
            if (isinstance(item, list) and len(item) == 3 and _whole(item[0]) and item[0] > 0 and _whole(item[1])
                    and item[1] > 0 and isinstance(item[2], str) and len(item[2]) <= 500):
                if name == "pins" and item[0] in pinned:
                    continue
                pinned.add(item[0]) if name == "pins" else None
                out[name].append([f"S{item[0]}", f"P{item[1]}", item[2]])
    return out


def _move(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict) or not _whole(value.get("student_id")) or not value.get("student_id"):
        return None

    def project(pid: Any) -> str | None:
        return f"P{pid}" if _whole(pid) and pid > 0 else None

    reason = value.get("reason") if isinstance(value.get("reason"), str) else ""
    return {"student": f"S{value['student_id']}", "from": project(value.get("from")),
            "to": project(value.get("to")), "reason": reason[:500]}


def _convert_up(conn) -> None:
    old = {rid: (cohort_id, params if isinstance(params, dict) else {}, objective, message)
           for rid, cohort_id, params, objective, message in conn.execute(
               sa.select(runs.c.id, runs.c.cohort_id, runs.c.parameters, runs.c.objective, runs.c.message))}
    placed: dict[int, list[tuple]] = {}
    for rid, sid, pid, pin in conn.execute(sa.select(assignments.c.run_id, assignments.c.student_id,
                                                     assignments.c.project_id, assignments.c.pinned)):
        placed.setdefault(rid, []).append((sid, pid, bool(pin)))
    by_cohort: dict[int, _Cohort] = {}
    for rid, (cohort_id, params, objective, message) in sorted(old.items()):
        cohort = by_cohort.get(cohort_id) or by_cohort.setdefault(cohort_id, _Cohort(conn, cohort_id))
        kind = params.get("kind") if params.get("kind") in KINDS else "solve"
        rows = sorted(placed.get(rid, []))
        own = "problem" in params
        source = params if own else old.get(params.get("problem_run_id"), (None, {}))[1]
        unpinned = set(params.get("unpinned") or ()) if not own else set()
        allow = params.get("allow_unranked") is True and not own
        problem = None
        if isinstance(source, dict) and "problem" in source:
            problem = _recovered(source, unpinned, allow, rows, cohort)
        if problem is None:
            problem = _rebuilt(cohort, rows, allow)
        settings = _settings(params.get("params"), objective)
        record = {
            "version": 2, "problem": problem, "settings": settings,
            "bound": {k: v for k, v in (params.get("bound") or {}).items() if type(v) is int} if own else {},
            "engine_message": (params.get("engine_message") or "") if own else (message or ""),
            "move": _move(params.get("move")) if kind == "move" else None,
            "declined": [f"S{s}" for s in params.get("declined") or () if _whole(s) and s > 0],
        }
        if not isinstance(record["engine_message"], str):
            record["engine_message"] = ""
        conn.execute(runs.update().where(runs.c.id == rid).values(kind=kind, students=len(problem["students"]),
                                                                  record=record))


# ------------------------------------------------------------------------------------------ downgrade


def downgrade() -> None:
    with op.batch_alter_table('allocation_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parameters', sa.JSON(), nullable=True))
    _convert_down(op.get_bind())
    with op.batch_alter_table('allocation_runs', schema=None) as batch_op:
        batch_op.alter_column('parameters', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_constraint(op.f('ck_allocation_runs_students_nonnegative'), type_='check')
        batch_op.drop_constraint(op.f('ck_allocation_runs_kind_known'), type_='check')
        batch_op.drop_column('record')
        batch_op.drop_column('students')
        batch_op.drop_column('kind')


def _convert_down(conn) -> None:
    """Each record as the old blob: every run keeps its own problem (projects keyed "P<id>", which the
    old code maps through `project_ids`), its settings with numbers for ids, and the rest by name."""
    for rid, kind, students, record in conn.execute(sa.select(runs.c.id, runs.c.kind, runs.c.students,
                                                              runs.c.record)).all():
        record = record if isinstance(record, dict) else {}
        problem = record.get("problem") or {"students": [], "projects": []}
        settings = dict(record.get("settings") or {})
        for name in ("capacity_overrides", "minimum_overrides", "supervisor_capacity_overrides"):
            settings[name] = [[int(k[1:]), v] for k, v in settings.get(name) or ()]
        for name in ("pins", "forbids"):
            settings[name] = [[int(s[1:]), int(p[1:]), r] for s, p, r in settings.get(name) or ()]
        params: dict[str, Any] = {
            "kind": kind, "params": settings, "students": students, "problem": problem,
            "project_ids": {p["id"]: int(p["id"][1:]) for p in problem.get("projects", [])},
        }
        if record.get("bound"):
            params["bound"] = record["bound"]
        if record.get("engine_message"):
            params["engine_message"] = record["engine_message"]
        move = record.get("move")
        if move:
            params["move"] = {"student_id": int(move["student"][1:]),
                              "from": int(move["from"][1:]) if move.get("from") else None,
                              "to": int(move["to"][1:]) if move.get("to") else None, "reason": move.get("reason", "")}
        if record.get("declined"):
            params["declined"] = [int(s[1:]) for s in record["declined"]]
        conn.execute(runs.update().where(runs.c.id == rid).values(parameters=params))
