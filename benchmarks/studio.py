"""Allocation studio benchmark: solve + store a run + build its charts for a seeded cohort, from the
service layer, and once through the page (AppTest clicking Run). Prints a table; target < 3 s.

    .venv/bin/python benchmarks/studio.py                     # 2,000 students on a temporary SQLite file
    .venv/bin/python benchmarks/studio.py --students 5000 --projects 500 --repeat 7
    .venv/bin/python benchmarks/studio.py --database-url postgresql+psycopg2://postgres@127.0.0.1:5432/bench

A PostgreSQL database given with --database-url must be empty (it is migrated and seeded here).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--projects", type=int, default=600)
    parser.add_argument("--staff", type=int, default=150)
    parser.add_argument("--time-limit", type=float, default=20.0, help="the solver's time limit per run")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url")
    parser.add_argument("--skip-page", action="store_true", help="do not time the page through AppTest")
    args = parser.parse_args(argv)

    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'studio-bench.db'}"
    os.environ["DATABASE_URL"] = url
    os.environ["ALLOCATOR_NO_DEMO"] = "1"
    for name in ("SMTP_HOST", "MS_CLIENT_ID", "MS_TENANT_ID"):
        os.environ.pop(name, None)
    os.environ["ALLOCATOR_SECRETS"] = str(Path(tmp.name) / "no-secrets.toml")

    from sqlalchemy import func, select

    from allocator import charts, db, migrate, seeding, services
    from allocator.models import Cohort, Membership, Preference, Project, User

    started = time.perf_counter()
    migrate.upgrade(url)
    seeding.seed(url, students=args.students, projects=args.projects, staff=args.staff, seed=1)
    seeded = time.perf_counter() - started
    with db.session(url) as s:
        cohort_id = s.scalar(select(Cohort.id).order_by(Cohort.id).limit(1))
        admin = s.scalar(select(User).where(User.is_admin.is_(True)).order_by(User.id).limit(1))
        actor = services.Actor(admin.id, admin.email, admin.name, True)
        n_students = s.scalar(select(func.count()).select_from(Membership)
                              .where(Membership.cohort_id == cohort_id, Membership.role == "student"))
        n_projects = s.scalar(select(func.count()).select_from(Project)
                              .where(Project.cohort_id == cohort_id, Project.status == "approved"))
        n_prefs = s.scalar(select(func.count()).select_from(Preference).where(Preference.cohort_id == cohort_id))
        binding = s.scalar(select(func.count()).select_from(Project).where(
            Project.cohort_id == cohort_id, Project.status == "approved", Project.min_students > 1))
    with db.session(url) as s:
        minimums = {pid: 0 for pid in s.scalars(select(Project.id).where(
            Project.cohort_id == cohort_id, Project.status == "approved", Project.min_students > 1))}
    # (name, objective, minimum overrides, repeats): the seeded group projects have binding minimums, which
    # are not a network; relaxed for the run (a minimum override of 0), the whole model is a min-cost flow.
    # The solver the engine chose is printed with each scenario.
    scenarios = [
        ("generous, minimums kept", "generous", {}, args.repeat),
        ("greedy, minimums kept", "greedy", {}, args.repeat),
        ("min-cost, minimums kept", "min-cost", {}, args.repeat),
        ("generous, minimums relaxed", "generous", minimums, args.repeat),
        ("greedy, minimums relaxed", "greedy", minimums, args.repeat),
        ("weighted, minimums relaxed", "weighted", minimums, args.repeat),
    ]
    steps = ("run_allocation (build + solve + validate + store)", "  of which engine solve",
             "run_charts + run_assignments", "plotly figures (5) + headline", "service total (run + charts)")
    results: list[tuple[str, str, dict[str, list[float]]]] = []
    for name, objective, overrides, repeat in scenarios:
        params = services.RunParameters(objective=objective, minimum_overrides=overrides, time_limit=args.time_limit,
                                        weights=tuple(2 ** i for i in range(12)) if objective == "weighted" else None)
        rows: dict[str, list[float]] = {k: [] for k in steps}
        solver = ""
        for _ in range(repeat):
            t0 = time.perf_counter()
            with db.session(url) as s, s.begin():
                view = services.run_allocation(s, actor=actor, cohort_id=cohort_id, params=params)
            t1 = time.perf_counter()
            with db.session(url) as s:
                data = services.run_charts(s, actor=actor, run_id=view.id)
                table = services.run_assignments(s, actor=actor, run_id=view.id)
            t2 = time.perf_counter()
            figures = [
                charts.rank_profile(view.profile, view.students, name=view.name),
                charts.cumulative_top_k({view.name: (view.profile, view.students)}),
                charts.project_fill([charts.ProjectFill(r.title, r.assigned, r.capacity, r.minimum)
                                     for r in data.project_fill]),
                charts.supervisor_load([charts.SupervisorLoad(r.name, r.assigned, r.capacity)
                                        for r in data.supervisor_load]),
                charts.demand_vs_capacity([charts.ProjectDemand(r.title, r.first_choices, r.any_rank, r.capacity)
                                           for r in data.demand]),
            ]
            for fig in figures:  # what st.plotly_chart does: serialise the figure
                fig.to_json()
            charts.headline(view.profile, view.students)
            t3 = time.perf_counter()
            assert len(table) == view.students and view.status in ("optimal", "feasible"), view
            solver = f"{view.status} by {view.solver}, placed {view.placed}/{view.students}"
            for key, value in zip(rows, (t1 - t0, view.seconds, t2 - t1, t3 - t2, t3 - t0)):
                rows[key].append(value)
        results.append((name, solver, rows))

    page: dict[str, list[float]] = {}
    if not args.skip_page:
        from streamlit.testing.v1 import AppTest

        # As tests/conftest.py does: make AppTest run app.py on every run, as the server does.
        from streamlit.runtime import pages_manager
        from streamlit.testing.v1 import app_test

        pages_manager.PagesManager.uses_pages_directory = False
        app_test.PagesManager = type("_P", (pages_manager.PagesManager,), {})
        os.chdir(ROOT)
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state["local_user_email"] = admin.email
        at.run()
        at.switch_page("pages/admin_studio.py")
        at.run()
        assert not at.exception, at.exception
        page = {"page: click Run, generous (solve, store, draw every tab)": [],
                "page: a rerun showing the run (no solve)": []}
        for _ in range(max(1, args.repeat // 2)):
            t0 = time.perf_counter()
            at.button(key="studio-run-button").click().run()
            t1 = time.perf_counter()
            assert not at.exception, at.exception
            at.run()
            t2 = time.perf_counter()
            page["page: click Run, generous (solve, store, draw every tab)"].append(t1 - t0)
            page["page: a rerun showing the run (no solve)"].append(t2 - t1)
        assert any(e.key == "see-profile" or "see-profile" in e.proto.id for e in at.get("plotly_chart"))

    backend = url.split(":", 1)[0]
    print(f"\nAllocation studio benchmark — {backend}, {n_students:,} students, {n_projects} approved projects "
          f"({binding} with a binding minimum), {n_prefs:,} preferences; seeded in {seeded:.1f} s; "
          f"time limit {args.time_limit:g} s")
    width = max(len(k) for k in [*steps, *page]) + 2
    for name, solver, rows in results:
        print(f"\n{name}: {solver}; median of {len(rows[steps[0]])}")
        print(f"{'step':<{width}}{'median s':>10}{'min s':>10}{'max s':>10}")
        print("-" * (width + 30))
        for key, values in rows.items():
            print(f"{key:<{width}}{_median(values):>10.3f}{min(values):>10.3f}{max(values):>10.3f}")
    if page:
        print(f"\nThrough the page (AppTest, app.py + every tab drawn); median of {max(1, args.repeat // 2)}")
        print(f"{'step':<{width}}{'median s':>10}{'min s':>10}{'max s':>10}")
        print("-" * (width + 30))
        for key, values in page.items():
            print(f"{key:<{width}}{_median(values):>10.3f}{min(values):>10.3f}{max(values):>10.3f}")
    print("\nTarget: under 3 s of server time for solve + store + charts.")
    for name, _, rows in results:
        total = _median(rows["service total (run + charts)"])
        engine_s = _median(rows["  of which engine solve"])
        print(f"  {name:<40} {total:6.2f} s {'met' if total < 3 else 'NOT met'}"
              f" (studio's own share {total - engine_s:.2f} s)")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
