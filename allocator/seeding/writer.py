"""Writing a plan: Core executemany in chunks in one transaction, with progress; `reset` empties the tables."""
from __future__ import annotations

import dataclasses
import time
from datetime import datetime

from sqlalchemy import Connection, Engine, exists, insert, or_, select, text
from sqlalchemy.orm import Session

from allocator import db
from allocator.domain import ProjectStatus, Role
from allocator.models import (Base, Cohort, GroupChoice, GroupMember, Membership, Preference, Project, StudentGroup,
                              User, utcnow)
from allocator.seeding.demo import CohortExists, Progress, SeedSummary
from allocator.seeding.names import cohort_names
from allocator.seeding.plan import make_plan


_CHUNK = 2000


class _Writer:
    def __init__(self, conn: Connection, total: int, progress: Progress | None):
        self.conn, self.total, self.done, self.progress = conn, total, 0, progress

    def insert(self, model, rows: list[dict], stage: str, *, ids: bool = False) -> list[int]:
        table = model.__table__
        statement = insert(table)
        if ids:
            statement = statement.returning(table.c.id, sort_by_parameter_order=True)
        out: list[int] = []
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start:start + _CHUNK]
            result = self.conn.execute(statement, chunk)
            if ids:
                out.extend(result.scalars().all())
            self.done += len(chunk)
            if self.progress:
                self.progress(self.done, self.total, stage)
        return out


def _engine_for(target: str | Engine) -> tuple[Engine, bool]:
    if isinstance(target, Engine):
        return target, False
    return db.create(target), True


def reset(target: str | Engine | Connection) -> None:
    """Delete every row of every application table (the schema and its version stay)."""
    if isinstance(target, Connection):
        _reset(target)
        return
    engine, owned = _engine_for(target)
    try:
        with engine.begin() as conn:
            _reset(conn)
    finally:
        if owned:
            engine.dispose()


def _reset(conn: Connection) -> None:
    tables = Base.metadata.sorted_tables
    if conn.dialect.name == "postgresql":
        # TRUNCATE also restarts the id sequences, so a reseed gives the same ids as a fresh database.
        quote = conn.dialect.identifier_preparer.quote
        conn.execute(text(f"TRUNCATE TABLE {', '.join(quote(t.name) for t in tables)} RESTART IDENTITY CASCADE"))
        return
    # Children first, so no cascade or foreign-key check has anything left to do.
    for table in reversed(tables):
        conn.execute(table.delete())


def is_empty(bind: Session | Connection) -> bool:
    """True when the database holds no people and no cohorts: the app's cue to seed the demo."""
    return not bind.execute(select(or_(exists(select(User.id)), exists(select(Cohort.id))))).scalar()


def seed(target: str | Engine | Connection, *, students: int = 200, projects: int = 60, staff: int = 25,
         cohorts: int = 1, seed: int = 42, progress: Progress | None = None, reset: bool = False,
         now: datetime | None = None) -> SeedSummary:
    """Add a demo deployment to a migrated database and say what was added.

    `target` is a URL or an Engine (one transaction, committed) or a Connection (the caller's
    transaction, e.g. a test's that is rolled back). `students`, `staff` and `projects` are per cohort,
    the demo accounts included; staff may serve several cohorts. With `reset`, every row goes first, in
    the same transaction. Raises CohortExists when a cohort of the same name is already there. `now` is
    the clock the cohort dates follow.
    """
    for label, value in (("students", students), ("projects", projects), ("staff", staff), ("cohorts", cohorts)):
        if value < 1:
            raise ValueError(f"{label} must be at least 1, not {value}")
    options = dict(students=students, projects=projects, staff=staff, cohorts=cohorts, seed=seed,
                   progress=progress, reset=reset, now=now or utcnow())
    started = time.perf_counter()
    if isinstance(target, Connection):
        summary = _seed(target, **options)
    else:
        engine, owned = _engine_for(target)
        try:
            with engine.begin() as conn:
                summary = _seed(conn, **options)
        finally:
            if owned:
                engine.dispose()
    return dataclasses.replace(summary, seconds=time.perf_counter() - started)


def _seed(conn: Connection, *, students: int, projects: int, staff: int, cohorts: int, seed: int,
          progress: Progress | None, reset: bool, now: datetime) -> SeedSummary:
    if reset:
        _reset(conn)
    names = cohort_names(cohorts)
    clash = conn.execute(select(Cohort.name).where(Cohort.name.in_(names)).order_by(Cohort.name)).scalars().all()
    if clash:
        raise CohortExists(clash)
    existing = dict(conn.execute(select(User.email, User.id)).all())
    users, plans = make_plan(students=students, projects=projects, staff=staff, cohorts=cohorts, seed=seed,
                         now=now, taken_emails=existing)
    # Demo accounts left by an earlier seed or made by hand are reused: one sign-in per address.
    new_users = [u for u in users if u["email"] not in existing]
    total = (len(new_users) + len(plans)
             + sum(len(p.staff) + len(p.students) + len(p.projects) for p in plans)
             + sum(len(ranks) for p in plans for ranks in p.rankings.values())
             + sum(len(g) + 1 + len(p.rankings[g[0]]) for p in plans for g in p.groups))
    writer = _Writer(conn, total, progress)
    user_ids = dict(existing)
    user_ids.update(zip((u["email"] for u in new_users), writer.insert(User, new_users, "users", ids=True)))
    cohort_ids = writer.insert(Cohort, [p.row for p in plans], "cohorts", ids=True)

    memberships = []
    for plan, cohort_id in zip(plans, cohort_ids):
        memberships += [dict(cohort_id=cohort_id, user_id=user_ids[e], role=Role.STAFF.value, max_load=None,
                             preferences_saved_at=None, created_at=now) for e in plan.staff]
        memberships += [dict(cohort_id=cohort_id, user_id=user_ids[e], role=Role.STUDENT.value, max_load=None,
                             preferences_saved_at=plan.saved_at.get(e), created_at=now) for e in plan.students]
    writer.insert(Membership, memberships, "memberships")

    project_rows = []
    for plan, cohort_id in zip(plans, cohort_ids):
        for p in plan.projects:
            row = {k: v for k, v in p.items() if k != "supervisor"}
            project_rows.append(dict(row, cohort_id=cohort_id, supervisor_id=user_ids[p["supervisor"]]))
    project_ids = writer.insert(Project, project_rows, "projects", ids=True)

    preferences, offset = [], 0
    for plan, cohort_id in zip(plans, cohort_ids):
        ids = project_ids[offset:offset + len(plan.projects)]
        offset += len(plan.projects)
        for email in plan.students:
            for rank, index in enumerate(plan.rankings.get(email, ()), start=1):
                preferences.append(dict(cohort_id=cohort_id, student_id=user_ids[email], project_id=ids[index],
                                        rank=rank))
    writer.insert(Preference, preferences, "preferences")
    groups = _write_groups(writer, plans, cohort_ids, project_ids, user_ids, now)

    return SeedSummary(
        cohorts=tuple(names),
        users=len(new_users),
        students=sum(len(p.students) for p in plans),
        staff=len({e for p in plans for e in p.staff}),
        admins=sum(1 for u in users if u["is_admin"]),
        projects=len(project_rows),
        proposed=sum(1 for p in project_rows if p["status"] == ProjectStatus.PROPOSED),
        preferences=len(preferences),
        submitted=sum(len(p.rankings) for p in plans),
        groups=groups,
    )


def _write_groups(writer: _Writer, plans, cohort_ids: list[int], project_ids: list[int], user_ids: dict[str, int],
                  now: datetime) -> int:
    """The planned groups: each with its members and its one list, made by its first member."""
    made, offset = [], 0
    for plan, cohort_id in zip(plans, cohort_ids):
        ids = project_ids[offset:offset + len(plan.projects)]
        offset += len(plan.projects)
        made += [(plan, cohort_id, ids, members, n) for n, members in enumerate(plan.groups, start=1)]
    group_ids = writer.insert(StudentGroup, [
        dict(cohort_id=cohort_id, name=f"Team {n}", created_by_id=user_ids[members[0]], created_at=now)
        for _, cohort_id, _, members, n in made], "groups", ids=True)
    members_rows, choices = [], []
    for gid, (plan, cohort_id, ids, members, _) in zip(group_ids, made):
        members_rows += [dict(group_id=gid, cohort_id=cohort_id, user_id=user_ids[e], joined_at=now) for e in members]
        choices += [dict(group_id=gid, cohort_id=cohort_id, project_id=ids[index], rank=rank,
                         changed_by_id=user_ids[members[0]], changed_at=plan.saved_at.get(members[0], now))
                    for rank, index in enumerate(plan.rankings[members[0]], start=1)]
    writer.insert(GroupMember, members_rows, "groups")
    writer.insert(GroupChoice, choices, "groups")
    return len(group_ids)
