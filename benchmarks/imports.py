"""Coordinator imports and backups at full size: server time of the services, per database backend.

    .venv/bin/python benchmarks/imports.py                    # SQLite, and PostgreSQL if TEST_DATABASE_URL is set
    .venv/bin/python benchmarks/imports.py --students 1000    # smaller

Each row is one service call in its own transaction (committed), as a page makes it, timed from the
bytes in hand to the commit: parsing, validation, planning, bulk writes and the audit event. The
median of `--repeat` runs on fresh databases is printed. Not a test: nothing is asserted.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from allocator import db, migrate, services  # noqa: E402
from allocator.models import Cohort, User  # noqa: E402


def people_csv(n: int) -> bytes:
    staff = max(1, n // 50)
    rows = [f"s{i:05d}@uni.example,Stüdent {i} Ødegård-Łukasz,student" for i in range(n)]
    rows += [f"staff{i:04d}@uni.example,Dr Staff {i},staff" for i in range(staff)]
    return ("\ufeffemail,name,role\r\n" + "\r\n".join(rows) + "\r\n").encode("utf-8")


def projects_csv(n: int, staff: int) -> bytes:
    rows = [f'C{i:04d},Project {i}: “a title”,{2 + i % 4},{i % 2},staff{i % staff:04d}@uni.example,'
            f'"tag{i % 9}; area{i % 5}","A description of project {i}, with a comma."' for i in range(n)]
    return ("code,title,capacity,min_students,supervisor_email,tags,description\r\n" + "\r\n".join(rows)).encode()


def preferences_csv(students: int, projects: int, k: int) -> bytes:
    rnd = random.Random(7)
    lines = ["student_email,project,rank"]
    for i in range(students):
        for rank, p in enumerate(rnd.sample(range(projects), k), start=1):
            lines.append(f"s{i:05d}@uni.example,C{p:04d},{rank}")
    return "\r\n".join(lines).encode()


def timed(url: str, fn, **kwargs):
    with db.session(url) as s, s.begin():
        admin = s.scalar(select(User).where(User.email == "bench-admin@uni.example"))
        actor = services.Actor(admin.id, admin.email, admin.name, True)
        started = time.perf_counter()
        result = fn(s, actor=actor, **kwargs)
    return time.perf_counter() - started, result


def fresh_url(kind: str, tmp: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp / f'bench_{uuid.uuid4().hex[:8]}.db'}"
    server = make_url(os.environ["TEST_DATABASE_URL"])
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def drop(kind: str, url: str) -> None:
    db.dispose_all()
    if kind == "postgresql":
        admin = create_engine(make_url(os.environ["TEST_DATABASE_URL"]), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()


def one_round(kind: str, tmp: Path, students: int, projects: int, choices: int) -> dict[str, float]:
    url = fresh_url(kind, tmp)
    try:
        migrate.upgrade(url)
        with db.session(url) as s, s.begin():
            s.add(User(email="bench-admin@uni.example", name="Bench Admin", is_admin=True))
            cohort = Cohort(name="Bench cohort", max_choices=max(8, choices))
            s.add(cohort)
            s.flush()
            cid = cohort.id
        times: dict[str, float] = {}
        people = people_csv(students)
        times["people: preview"], preview = timed(url, services.preview_people_import, cohort_id=cid, data=people)
        assert preview.ok and len(preview.added) == students + max(1, students // 50)
        times["people: apply"], _ = timed(url, services.apply_people_import, cohort_id=cid, data=people)
        catalogue = projects_csv(projects, max(1, students // 50))
        times["projects: preview"], preview = timed(url, services.preview_projects_import, cohort_id=cid,
                                                    data=catalogue)
        assert preview.ok
        times["projects: apply"], _ = timed(url, services.apply_projects_import, cohort_id=cid, data=catalogue)
        prefs = preferences_csv(students, projects, choices)
        times["preferences: preview"], preview = timed(url, services.preview_preferences_import, cohort_id=cid,
                                                       data=prefs)
        assert preview.ok and len(preview.added) == students
        times["preferences: apply"], _ = timed(url, services.apply_preferences_import, cohort_id=cid, data=prefs)
        # One allocation run, stored (record and assignments) and published by the studio's own services.
        with db.session(url) as s, s.begin():
            admin = s.scalar(select(User).where(User.email == "bench-admin@uni.example"))
            actor = services.Actor(admin.id, admin.email, admin.name, True)
            params = services.default_parameters(s, actor=actor, cohort_id=cid)
            run = services.run_allocation(s, actor=actor, cohort_id=cid, params=params)
            services.publish_run(s, actor=actor, run_id=run.id)
        times["backup (JSON)"], backup = timed(url, services.backup_cohort, cohort_id=cid)
        times["restore into a new cohort"], _ = timed(url, services.restore_cohort, data=backup, name="Restored")
        times["_backup_kb"] = len(backup) / 1024
        times["_files_kb"] = (len(people) / 1024, len(catalogue) / 1024, len(prefs) / 1024)
        return times
    finally:
        drop(kind, url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=5000)
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--choices", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    kinds = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
    results: dict[str, list[dict]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            for _ in range(args.repeat):
                results[kind].append(one_round(kind, Path(tmp), args.students, args.projects, args.choices))
    staff = max(1, args.students // 50)
    sizes = results[kinds[0]][0]["_files_kb"]
    print(f"\nCoordinator imports: {args.students:,} students + {staff} staff, {args.projects} projects, "
          f"{args.choices} choices each; median of {args.repeat} (seconds, service call to commit)\n")
    print(f"files: people {sizes[0]:,.0f} KB, projects {sizes[1]:,.0f} KB, preferences {sizes[2]:,.0f} KB "
          f"({args.students * args.choices:,} rows), backup {results[kinds[0]][0]['_backup_kb']:,.0f} KB\n")
    labels = [k for k in results[kinds[0]][0] if not k.startswith("_")]
    header = f"{'operation':32}" + "".join(f"{k:>12}" for k in kinds)
    print(header)
    print("-" * len(header))
    for label in labels:
        print(f"{label:32}" + "".join(f"{statistics.median(r[label] for r in results[k]):>12.3f}" for k in kinds))


if __name__ == "__main__":
    main()
