"""Migrations never lose a row: a seeded database with solved, moved, published and answered runs goes
through migration 0002, which rebuilds `allocation_runs` (referenced by assignments and responses) and
converts every run's stored blob into the run record (issue 11, point 5)."""
from __future__ import annotations

import pytest
from sqlalchemy import MetaData, Table, inspect, select, text

from allocator import db, engine, migrate, seeding, services
from allocator.models import AllocationRun, Assignment, Cohort, User, utcnow
from allocator.services.access import Actor
from allocator.services.allocation import build_problem_json
from tests.conftest import BACKENDS, drop_postgres_database, new_database_url


def counts(url: str) -> dict[str, int]:
    """Rows per table holding any: a table that lost every row drops out, so the comparison still fails;
    an empty table a migration adds or drops (e.g. 0004's unused `settings`) does not count as a change."""
    with db.create(url).connect() as conn:
        names = sorted(t for t in inspect(conn).get_table_names() if t != "alembic_version")
        rows = {t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in names}
    return {t: n for t, n in rows.items() if n}


def broken_references(url: str) -> list:
    with db.create(url).connect() as conn:
        if conn.dialect.name != "sqlite":
            return []
        return conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()


def seeded_problem(url: str) -> dict:
    """The seeded cohort's problem, built by today's code on today's schema (before going down to 0001)."""
    with db.session(url) as s:
        problem = build_problem_json(s, s.scalar(select(Cohort.id).order_by(Cohort.id)))
    db.dispose_all()
    return problem


def old_runs(url: str, problem: dict) -> None:
    """Runs as the code before revision 0002 stored them: a solved run holding its problem (projects
    keyed through `project_ids`), a manual move pointing at it for its problem, a published run with
    answers, and a run restored from another database's backup, whose keys name nobody here."""
    with db.session(url) as s, s.begin():
        conn = s.connection()
        runs = Table("allocation_runs", MetaData(), autoload_with=conn)
        cohort_id = s.scalar(select(Cohort.id).order_by(Cohort.id))
        admin = s.scalar(select(User.id).where(User.is_admin.is_(True)).order_by(User.id))
        problem = dict(problem)
        problem.pop("allow_unranked")
        # An older build keyed projects by code; `project_ids` maps the keys back.
        project_ids = {f"code-{p['id'][1:]}": int(p["id"][1:]) for p in problem["projects"]}
        rename = {f"P{pid}": key for key, pid in project_ids.items()}
        problem["projects"] = [{**p, "id": rename[p["id"]]} for p in problem["projects"]]
        for student in problem["students"]:
            student["preferences"] = [rename[p] for p in student["preferences"]]
        first = problem["students"][0]["id"]
        problem["pinned"] = [{"student": first, "project": problem["projects"][0]["id"]}]
        result = engine.solve(engine.parse_problem(problem), objective="generous", seed=1)
        params = {"objective": "generous", "weights": None, "allow_unranked": False, "capacity_overrides": [],
                  "minimum_overrides": [], "pins": [[int(first[1:]), project_ids[problem["projects"][0]["id"]], ""]],
                  "forbids": [], "supervisor_capacity_overrides": [], "seed": 1, "time_limit": 20.0}

        def add(parameters: dict, assignment: dict[str, str | None], **kw) -> int:
            values = dict(cohort_id=cohort_id, created_by_id=admin, created_at=utcnow(), label="", objective="generous",
                          parameters=parameters, status="optimal", solver="flow", seconds=0.1, cost=0,
                          profile=list(result.profile), message="")
            run_id = conn.execute(runs.insert().values(**{**values, **kw})).inserted_primary_key[0]
            conn.execute(Assignment.__table__.insert(), [
                dict(run_id=run_id, student_id=int(sid[1:]), project_id=project_ids[pid] if pid else None, rank=None,
                     pinned=sid == first, manual=False) for sid, pid in assignment.items()])
            return run_id

        placement = {s["id"]: result.assignment.get(s["id"]) for s in problem["students"]}
        solved = add({"kind": "solve", "params": params, "students": len(placement), "problem": problem,
                      "project_ids": project_ids}, placement, label="Solved")
        moved = dict(placement, **{first: None})
        profile = list(result.profile)
        profile[result.rank_of(first) - 1] -= 1
        move = add({"kind": "move", "params": params, "students": len(placement), "problem_run_id": solved,
                    "unpinned": [first], "move": {"student_id": int(first[1:]), "from": project_ids[placement[first]],
                                                  "to": None, "reason": ""}},
                   moved, label="Moved", parent_run_id=solved, status="feasible", solver="manual", profile=profile,
                   published_at=utcnow(), published_by_id=admin)
        answers = [dict(run_id=move, student_id=int(sid[1:]), accepted=i % 2 == 0, reason="",
                        responded_at=utcnow()) for i, (sid, pid) in enumerate(moved.items()) if pid][:6]
        conn.execute(Table("responses", MetaData(), autoload_with=conn).insert(), answers)
        foreign = {**problem, "students": [{**st, "id": f"S{900000 + i}"} for i, st in enumerate(problem["students"])]}
        add({"kind": "restore", "params": params, "students": len(placement), "problem": foreign,
             "project_ids": {k: v + 700000 for k, v in project_ids.items()}}, placement, label="Restored elsewhere")


def every_run_works(url: str) -> int:
    """Charts, export, explanation and a move on every run; returns how many runs were read."""
    with db.session(url) as s, s.begin():
        admin = s.scalar(select(User).where(User.is_admin.is_(True)).order_by(User.id))
        actor = Actor(admin.id, admin.email, admin.name, True)
        runs = s.scalars(select(AllocationRun).order_by(AllocationRun.id)).all()
        for run in runs:
            charts = services.run_charts(s, actor=actor, run_id=run.id)
            assert sum(r.assigned for r in charts.project_fill) == charts.headline.placed > 0
            assert services.export_run(s, actor=actor, run_id=run.id).students_csv
            rows = services.run_assignments(s, actor=actor, run_id=run.id)
            assert services.explain_student(s, actor=actor, run_id=run.id, student_id=rows[0].student_id)
            placed = next(r for r in rows if r.project_id is not None)
            services.move_student(s, actor=actor, run_id=run.id, student_id=placed.student_id, project_id=None)
        kinds = [r.kind for r in runs]
        s.rollback()
    assert kinds == ["solve", "move", "restore"]
    return len(kinds)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_seeded_database_goes_through_the_run_record_migration_and_back_without_losing_a_row(backend, tmp_path):
    url = new_database_url(backend, tmp_path)
    try:
        # The seeder writes with today's models, so it seeds at head and the schema goes down to 0001.
        migrate.upgrade(url)
        seeding.seed(url, students=40, projects=12, staff=6)
        problem = seeded_problem(url)
        migrate.downgrade(url, "0001")
        old_runs(url, problem)
        before = counts(url)
        assert before["preferences"] > 100 and before["assignments"] == 120 and before["responses"] == 6
        assert broken_references(url) == []

        migrate.upgrade(url)
        assert counts(url) == before
        assert broken_references(url) == []
        migrate.check(url)
        assert every_run_works(url) == 3

        migrate.downgrade(url, "0001")
        assert counts(url) == before and broken_references(url) == []
        migrate.upgrade(url)
        assert counts(url) == before
        assert every_run_works(url) == 3
    finally:
        db.dispose_all()
        if backend == "postgresql":
            drop_postgres_database(url)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_downgrade_that_would_drop_data_refuses_unless_told(backend, tmp_path):
    url = new_database_url(backend, tmp_path)
    try:
        migrate.upgrade(url)
        seeding.seed(url, students=10, projects=4, staff=2)
        before = counts(url)
        with pytest.raises(RuntimeError, match="allow-data-loss=yes"):
            migrate.downgrade(url, "base")
        migrate.check(url)
        assert counts(url) == before
        migrate.downgrade(url, "base", allow_data_loss=True)
        assert counts(url) == {}
    finally:
        db.dispose_all()
        if backend == "postgresql":
            drop_postgres_database(url)


def test_the_alembic_command_line_needs_the_explicit_flag(tmp_path):
    import os
    import subprocess
    import sys

    from allocator.config import ROOT

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    migrate.upgrade(url)
    seeding.seed(url, students=5, projects=2, staff=1)
    env = {**os.environ, "DATABASE_URL": url, "ALLOCATOR_SECRETS": str(tmp_path / "none.toml")}
    alembic = [sys.executable, "-m", "alembic"]
    before = counts(url)
    step = subprocess.run([*alembic, "downgrade", "0001"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert step.returncode == 0, step.stderr  # down to 0001 converts the runs back and keeps every row
    assert counts(url) == before
    refused = subprocess.run([*alembic, "downgrade", "-1"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "allow-data-loss=yes" in refused.stderr
    assert counts(url) == before
    done = subprocess.run([*alembic, "-x", "allow-data-loss=yes", "downgrade", "base"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert counts(url) == {}


def test_forgetting_tenant_bindings_is_refused_unless_told(tmp_path):
    from sqlalchemy import create_engine, text

    url = f"sqlite:///{tmp_path / 'tid.db'}"
    migrate.upgrade(url)
    seeding.seed(url, students=5, projects=2, staff=1)
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET tid = 'tenant-a' WHERE id = (SELECT min(id) FROM users)"))
    engine.dispose()
    before = counts(url)
    with pytest.raises(RuntimeError, match="bound to a Microsoft tenant"):
        migrate.downgrade(url, "0002")
    assert counts(url) == before
    migrate.downgrade(url, "0002", allow_data_loss=True)
    assert counts(url) == before
    db.dispose_all()


def test_dropping_the_unused_settings_table_refuses_if_someone_wrote_to_it(tmp_path):
    from sqlalchemy import create_engine

    url = f"sqlite:///{tmp_path / 'settings.db'}"
    migrate.upgrade(url, "0003")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO settings (key, value) VALUES ('theme', 'dark')"))
    engine.dispose()
    with pytest.raises(RuntimeError, match="1 rows written outside the app"):
        migrate.upgrade(url)
    assert counts(url) == {"settings": 1}
    db.dispose_all()
