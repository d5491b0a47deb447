"""Server time and SQL queries per page for the student and supervisor pages, at full size.

    .venv/bin/python benchmarks/pages.py                      # 5,000 students, 500 projects
    .venv/bin/python benchmarks/pages.py --students 500 --projects 50

Seeds a temporary SQLite file with `allocator.seeding.seed`, adds a published allocation (one assignment
per student, some answers) and notifications, then renders each page through the real app.py with
AppTest as the demo student or supervisor, in three phases of the cohort (proposals open, preferences
open, allocation published). For each page it prints the median server time of a few runs and the number
of SQL statements one run sends (app.py's sign-in and navigation included), counted with a
`before_cursor_execute` listener on the app's engine. Run it twice with different sizes: the query
counts must not change (no query per row).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, insert, select, update  # noqa: E402

from allocator import db, migrate, seeding  # noqa: E402
from allocator.models import (AllocationRun, Assignment, Cohort, Membership, Notification, Preference,  # noqa: E402
                              Project, Response, User, utcnow)

APP_PATH = str(ROOT / "app.py")
STUDENT_PAGES = ("pages/student_projects.py", "pages/student_preferences.py", "pages/student_allocation.py",
                 "pages/notifications.py")
ALL_PROJECTS = "pages/student_projects.py (all shown)"
NOT_FIRST = "pages/student_allocation.py (explained)"
STAFF_PAGES = ("pages/staff_projects.py", "pages/staff_propose.py")


def prepare(url: str, students: int, projects: int, staff: int) -> dict:
    migrate.upgrade(url)
    started = time.perf_counter()
    summary = seeding.seed(url, students=students, projects=projects, staff=staff, seed=1)
    seeded = time.perf_counter() - started
    with db.session(url) as s, s.begin():
        cohort = s.scalars(select(Cohort).order_by(Cohort.id)).first()
        student_id = s.scalar(select(User.id).where(User.email == seeding.DEMO_STUDENT))
        staff_id = s.scalar(select(User.id).where(User.email == seeding.DEMO_STAFF))
        everyone = s.scalars(select(Membership.user_id).where(Membership.cohort_id == cohort.id,
                                                              Membership.role == "student")).all()
        approved = s.scalars(select(Project.id).where(Project.cohort_id == cohort.id,
                                                      Project.status == "approved")).all()
        mine = s.scalars(select(Project.id).where(Project.cohort_id == cohort.id, Project.supervisor_id == staff_id,
                                                  Project.status == "approved")).all()
        # Notifications: a few for each person, more for the demo student.
        now = utcnow()
        rows = [dict(user_id=uid, cohort_id=cohort.id, kind="reminder", subject="Deadline in two days",
                     body="Please **rank** your projects.", created_at=now) for uid in everyone]
        rows += [dict(user_id=student_id, cohort_id=cohort.id, kind="info", subject=f"Message {i}",
                      body="Some *news*.", created_at=now) for i in range(40)]
        s.execute(insert(Notification), rows)
        # Make sure the demo student has a full list and the demo supervisor has demand.
        if not s.scalar(select(Preference.id).where(Preference.student_id == student_id).limit(1)):
            s.execute(insert(Preference), [dict(cohort_id=cohort.id, student_id=student_id, project_id=pid, rank=r)
                                           for r, pid in enumerate(approved[:cohort.min_choices], start=1)])
        info = dict(cohort_id=cohort.id, student_id=student_id, staff_id=staff_id, students=everyone,
                    approved=approved, mine=mine)
    info.update(summary=summary, seeded=seeded)
    return info


def publish(url: str, info: dict) -> str:
    """Publish an allocation: solved and published by the allocation service when it is there (so the
    student's page can explain the result), else written directly, one assignment per student."""
    try:
        from allocator import services

        with db.session(url) as s, s.begin():
            admin = s.scalars(select(User).where(User.email == seeding.DEMO_ADMIN)).one()
            actor = services.Actor(admin.id, admin.email, admin.name, True)
            params = services.default_parameters(s, actor=actor, cohort_id=info["cohort_id"])
            run = services.run_allocation(s, actor=actor, cohort_id=info["cohort_id"], params=params,
                                          label="benchmark")
            services.publish_run(s, actor=actor, run_id=run.id)
            run_id, how = run.id, "solved and published by the allocation service"
    except Exception as err:  # noqa: BLE001 - the service is another module's, still being written
        r = random.Random(1)
        with db.session(url) as s, s.begin():
            row = AllocationRun(cohort_id=info["cohort_id"], objective="generous", status="optimal",
                                published_at=utcnow(), label="benchmark")
            s.add(row)
            s.flush()
            pool = list(info["mine"]) * 3 + list(info["approved"]) * 20
            s.execute(insert(Assignment), [
                dict(run_id=row.id, student_id=sid, project_id=pool[i % len(pool)],
                     rank=3 if sid == info["student_id"] else r.randint(1, 5), pinned=False, manual=False)
                for i, sid in enumerate(info["students"])])
            run_id, how = row.id, f"written directly (allocation service unavailable: {err})"
    r = random.Random(2)
    with db.session(url) as s, s.begin():
        placed = s.scalars(select(Assignment.student_id).where(Assignment.run_id == run_id,
                                                               Assignment.project_id.is_not(None))).all()
        s.execute(insert(Response), [dict(run_id=run_id, student_id=sid, accepted=r.random() < 0.9, reason="",
                                          responded_at=utcnow()) for sid in placed[1::3]])
        rank = s.scalar(select(Assignment.rank).where(Assignment.run_id == run_id,
                                                      Assignment.student_id == info["student_id"]))
        # Someone who did not get their first choice: their page also asks the engine why.
        info["not_first"] = s.scalar(
            select(User.email).join(Assignment, Assignment.student_id == User.id)
            .where(Assignment.run_id == run_id, Assignment.project_id.is_not(None), Assignment.rank > 1)
            .order_by(Assignment.rank.desc(), User.id).limit(1))
    return f"allocation {how}; the demo student got their choice {rank}"


def set_override(url: str, cohort_id: int, phase: str | None) -> None:
    with db.session(url) as s, s.begin():
        s.execute(update(Cohort).where(Cohort.id == cohort_id).values(phase_override=phase))


def run_app_py_every_time() -> None:
    """As tests/conftest.py does: without this, AppTest's later runs execute the page file alone, skipping
    app.py (sign-in, navigation), which the server never does."""
    from allocator import folder_mode

    folder_mode.apptest_runs_app_py()


def measure(url: str, email: str, page: str, runs: int, state: dict | None = None) -> tuple[float, int, list[str]]:
    from streamlit.testing.v1 import AppTest

    statements: list[str] = []

    def listener(conn, cursor, statement, *args):
        statements.append(statement)

    at = AppTest.from_file(APP_PATH, default_timeout=120)
    at.session_state["local_user_email"] = email
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    at.switch_page(page)
    at.run()  # warm-up: imports, caches
    if at.exception:
        raise RuntimeError(f"{page}: {at.exception[0].message}")
    engine = db.engine(url)
    times, counts = [], []
    for _ in range(runs):
        statements.clear()
        event.listen(engine, "before_cursor_execute", listener)
        started = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - started)
        event.remove(engine, "before_cursor_execute", listener)
        counts.append(len(statements))
        if at.exception:
            raise RuntimeError(f"{page}: {at.exception[0].message}")
    assert len(set(counts)) == 1, counts
    return statistics.median(times), counts[0], [e.value for e in at.error]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=5000)
    parser.add_argument("--projects", type=int, default=500)
    parser.add_argument("--staff", type=int, default=150)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        os.environ["DATABASE_URL"] = url
        os.environ["ALLOCATOR_NO_DEMO"] = "1"
        os.environ["ALLOCATOR_SECRETS"] = str(Path(tmp) / "no-secrets.toml")
        for name in ("MS_CLIENT_ID", "MS_TENANT_ID"):
            os.environ.pop(name, None)
        run_app_py_every_time()
        info = prepare(url, args.students, args.projects, args.staff)
        print(f"seeded {info['summary'].line() if hasattr(info['summary'], 'line') else info['summary']} "
              f"in {info['seeded']:.1f} s; demo supervisor has {len(info['mine'])} approved projects")

        results = []
        plan = [
            ("proposals", [(seeding.DEMO_STAFF, p) for p in STAFF_PAGES]),
            ("preferences", [(seeding.DEMO_STUDENT, p) for p in STUDENT_PAGES]
             + [(seeding.DEMO_STUDENT, ALL_PROJECTS), (seeding.DEMO_STAFF, "pages/staff_projects.py")]),
            ("published", [(seeding.DEMO_STUDENT, p) for p in STUDENT_PAGES]
             + [(seeding.DEMO_STAFF, "pages/staff_projects.py")]),
        ]
        for phase, pages in plan:
            if phase == "proposals":
                set_override(url, info["cohort_id"], "proposals")
            elif phase == "preferences":
                set_override(url, info["cohort_id"], "preferences")
            else:
                set_override(url, info["cohort_id"], None)
                print(publish(url, info))
            if phase == "published" and info.get("not_first"):
                pages.append((info["not_first"], NOT_FIRST))
            for email, page in pages:
                # The Projects page lists 25 at a time; "Show more" all the way is its worst case.
                state = {"proj-limit": 10**6} if page == ALL_PROJECTS else None
                seconds, queries, errors = measure(url, email, page.split(" ")[0], args.runs, state)
                if errors:
                    raise RuntimeError(f"{page} shows errors: {errors}")
                results.append((phase, "staff" if email == seeding.DEMO_STAFF else "student", page, seconds,
                                queries))
        db.dispose_all()

    print(f"\n{args.students} students, {args.projects} projects; median of {args.runs} runs; queries per run "
          "(app.py's sign-in and navigation included)\n")
    print(f"| {'phase':<11} | {'as':<7} | {'page':<39} | {'server ms':>9} | {'queries':>7} |")
    print(f"|{'-' * 13}|{'-' * 9}|{'-' * 41}|{'-' * 11}|{'-' * 9}|")
    for phase, who, page, seconds, queries in results:
        print(f"| {phase:<11} | {who:<7} | {page:<39} | {seconds * 1000:>9.0f} | {queries:>7} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
