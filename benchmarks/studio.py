"""Allocation studio benchmark: the server time of what a coordinator does in the studio at a seeded size,
through the real page (AppTest running app.py, as the server does), and the service steps beneath it.

    .venv/bin/python benchmarks/studio.py                                  # 5,000 students, a temporary SQLite file
    .venv/bin/python benchmarks/studio.py --database-url sqlite:////tmp/s5000.db   # seeds it once, then reuses it
    .venv/bin/python benchmarks/studio.py --students 2000 --projects 600 --staff 150 --services

The default size is `python seed.py --students 5000 --projects 1500 --staff 400`: 1,410 approved projects,
210 with a minimum. A database given with --database-url is migrated and seeded when it has no cohort yet,
else reused as it is (a PostgreSQL one must exist). Targets (issue 13): opening the studio under 1 s,
switching views under 0.3 s, a run from click to charts under 3 s. The run step is measured twice: with the
seed's minimums relaxed (a min-cost flow, the studio's own share) and kept (the engine's minimum-size path,
which can take up to the time limit; that part is the engine's).
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

PAGE = "pages/admin_studio.py"
VIEW_KEY = "studio-view"  # the studio's view selector (absent on the old, tabbed page)


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _prepare(url: str, args) -> tuple:
    """Migrate and seed an empty database; return (admin actor, cohort id, approved project ids with a
    binding minimum, figures for the header)."""
    from sqlalchemy import func, select

    from allocator import db, migrate, seeding, services
    from allocator.models import Cohort, Membership, Preference, Project, User

    migrate.upgrade(url)
    with db.session(url) as s:
        seeded = s.scalar(select(func.count()).select_from(Cohort))
    if not seeded:
        seeding.seed(url, students=args.students, projects=args.projects, staff=args.staff, seed=42)
    with db.session(url) as s:
        cohort_id = s.scalar(select(Cohort.id).order_by(Cohort.id).limit(1))
        admin = s.scalar(select(User).where(User.is_admin.is_(True)).order_by(User.id).limit(1))
        actor = services.Actor(admin.id, admin.email, admin.name, True)
        n_students = s.scalar(select(func.count()).select_from(Membership)
                              .where(Membership.cohort_id == cohort_id, Membership.role == "student"))
        n_prefs = s.scalar(select(func.count()).select_from(Preference).where(Preference.cohort_id == cohort_id))
        binding = list(s.scalars(select(Project.id).where(
            Project.cohort_id == cohort_id, Project.status == "approved", Project.min_students > 1)))
        n_projects = s.scalar(select(func.count()).select_from(Project)
                              .where(Project.cohort_id == cohort_id, Project.status == "approved"))
    header = (f"{n_students:,} students, {n_projects:,} approved projects ({len(binding)} with a binding minimum), "
              f"{n_prefs:,} preferences")
    return actor, cohort_id, binding, header


def _ensure_runs(url: str, actor, cohort_id: int, binding: list[int], count: int) -> None:
    """A few runs already made, as a studio in use has (minimums relaxed, so they take a second)."""
    from allocator import db, services

    with db.read(url) as s:
        have = len(services.list_runs(s, actor=actor, cohort_id=cohort_id))
    objectives = ("generous", "greedy", "min-cost")
    for i in range(have, count):
        params = services.RunParameters(objective=objectives[i % 3], minimum_overrides=dict.fromkeys(binding, 0))
        with db.session(url) as s, s.begin():
            services.run_allocation(s, actor=actor, cohort_id=cohort_id, params=params)


def _services(url: str, actor, cohort_id: int, binding: list[int], args) -> dict[str, list[float]]:
    from allocator import db, services

    rows: dict[str, list[float]] = {}
    for name, overrides in (("minimums relaxed", dict.fromkeys(binding, 0)), ("minimums kept", {})):
        for _ in range(args.repeat if overrides else 1):
            params = services.RunParameters(objective="generous", minimum_overrides=overrides,
                                            time_limit=args.time_limit)
            t0 = time.perf_counter()
            with db.session(url) as s, s.begin():
                view = services.run_allocation(s, actor=actor, cohort_id=cohort_id, params=params)
            t1 = time.perf_counter()
            with db.read(url) as s:
                services.run_charts(s, actor=actor, run_id=view.id)
            t2 = time.perf_counter()
            key = f"service: run_allocation, generous, {name} ({view.status}, {view.solver})"
            rows.setdefault(key, []).append(t1 - t0)
            rows.setdefault(f"  of which engine solve, {name}", []).append(view.seconds)
            rows.setdefault("service: run_charts", []).append(t2 - t1)
    return rows


def _tune(at, *, relax: bool, binding: list[int], time_limit: float) -> None:
    """In the studio's Tune view: relax the seed's minimums (Minimum 0) if asked, set the time limit, then
    go to Run."""
    if VIEW_KEY in at.session_state:
        at.session_state[VIEW_KEY] = "Tune"
        at.run()
    if relax:
        table = at.data_editor(key="tune-capacities").value
        rows_with_min = [int(i) for i in table.index[table["id"].isin(binding)]]
        at.session_state["tune-capacities"] = {
            "edited_rows": {i: {"Minimum": 0} for i in rows_with_min}, "added_rows": [], "deleted_rows": []}
        at.run()
    at.session_state["tune-time-limit"] = int(time_limit)
    if VIEW_KEY in at.session_state:
        at.session_state[VIEW_KEY] = "Run"
        at.run()


def _page(url: str, admin_email: str, binding: list[int], args) -> dict[str, list[float]]:
    from streamlit.testing.v1 import AppTest

    from allocator import folder_mode

    folder_mode.apptest_runs_app_py()  # as tests/conftest.py does: AppTest runs app.py every time
    os.chdir(ROOT)
    rows: dict[str, list[float]] = {}

    def timed(name: str, at, action=None) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        (action or at.run)()
        rows.setdefault(name, []).append(time.perf_counter() - t0)
        # CPU seconds of this process (the script runs in one of its threads): unlike the wall clock, not
        # stretched when other programs share the cores.
        rows.setdefault(f"{name} [CPU s]", []).append(time.process_time() - c0)
        assert not at.exception, at.exception

    def studio():
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
        at.session_state["local_user_email"] = admin_email
        at.run()
        at.switch_page(PAGE)
        return at

    for _ in range(args.repeat):
        at = studio()
        timed("open the studio (a new session)", at)
        timed("a rerun of the view on screen", at)
    if VIEW_KEY in at.session_state:
        for _ in range(args.repeat):
            for view in _view_options():
                at.session_state[VIEW_KEY] = view
                timed(f"switch to {view}", at)
                rows.setdefault("switch views (all)", []).append(rows[f"switch to {view}"][-1])
                rows.setdefault("switch views (all) [CPU s]", []).append(rows[f"switch to {view} [CPU s]"][-1])
    else:
        # The old tabs switch in the browser, but every click reruns the script, drawing every tab.
        rows["switch views (all)"] = rows["a rerun of the view on screen"]
        rows["switch views (all) [CPU s]"] = rows["a rerun of the view on screen [CPU s]"]

    # A run from a click to its charts, with the seed's minimums relaxed (Minimum 0 in Tune's table).
    for label, relax, repeat in (("minimums relaxed", True, args.repeat), ("minimums kept", False, 1)):
        for _ in range(repeat):
            at = studio()
            at.run()
            _tune(at, relax=relax, binding=binding, time_limit=args.time_limit)
            timed(f"click Run → charts drawn, {label}", at, at.button(key="studio-run-button").click().run)
            charts = list(at.get("plotly_chart"))
            assert charts, "no chart drawn after the run"
            rows.setdefault(f"  of which engine solve, {label}", []).append(_newest_run_seconds(url))
    return rows


def _newest_run_seconds(url: str) -> float:
    """The engine's own time in the run just made (the rest of the click is the studio's)."""
    from sqlalchemy import select

    from allocator import db
    from allocator.models import AllocationRun

    with db.session(url) as s:
        return s.scalar(select(AllocationRun.seconds).order_by(AllocationRun.id.desc()).limit(1))


def _browser(url: str, admin, args) -> dict[str, list[float]]:
    """The same steps in headless Chromium against `streamlit run app.py`: from the click (or the page
    load) until the server has finished the script run and the browser has drawn it."""
    from playwright.sync_api import expect, sync_playwright

    from tests.appserver import app_server
    from tests.e2e.driver import App
    from tests.load.browser import chromium

    rows: dict[str, list[float]] = {}

    def timed(name: str, action) -> None:
        t0 = time.perf_counter()
        action()
        rows.setdefault(name, []).append(time.perf_counter() - t0)

    with tempfile.TemporaryDirectory() as work, app_server(url, Path(work)) as base, sync_playwright() as p:
        browser = chromium(p)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        App(context.new_page(), base).open("/")  # the server's first run, as a restart's first visitor
        for i in range(args.repeat):
            app = App(context.new_page(), base)
            app.open("/")
            app.sign_in(admin.name, admin.email)
            timed("browser: open the studio", lambda: _open_studio(app, expect))
            if i == 0 and args.screenshot:
                _screenshot(app, args.screenshot)
            if _has_views(app):
                for view in _view_options():
                    timed("browser: switch views (all)", lambda: _pick_view(app, view))
                _pick_view(app, "Run")
            else:
                rows["browser: switch views (all): client-side tabs, but every click reruns every tab"] = []
            timed("browser: click Run → charts drawn, minimums kept",
                  lambda: (_run(app), _charts_drawn(app, expect)))
            app.page.close()
        browser.close()
    return rows


def _screenshot(app, path: str) -> None:
    """The whole See view: Streamlit scrolls inside its own container, so the window is made tall enough."""
    size = app.page.viewport_size
    app.page.set_viewport_size({"width": size["width"], "height": 3400})
    app.wait_idle()
    app.page.wait_for_timeout(500)  # plotly lays out again for the new height
    app.page.screenshot(path=path, full_page=True)
    app.page.set_viewport_size(size)


def _has_views(app) -> bool:
    return app.keyed(VIEW_KEY).count() > 0


def _open_studio(app, expect) -> None:
    """As `App.go`, with a timeout long enough for the old page (over 30 s on a busy machine)."""
    for section in app.top_nav.get_by_role("button").all():
        section.click()
        item = app.page.get_by_role("menuitem", name="Allocation studio", exact=True)
        if item.count():
            app.act(item.click, timeout_ms=300_000)
            break
        app.page.keyboard.press("Escape")
    if not _has_views(app):  # the old tabbed page opened on Tune; its charts sat in the See tab
        app.tab("See")
    _charts_drawn(app, expect)


def _pick_view(app, view: str) -> None:
    option = app.keyed(VIEW_KEY).get_by_role("radio", name=view, exact=True)
    if option.get_attribute("aria-checked") == "true":  # already on screen: a click would not rerun
        return
    app.act(option.click, timeout_ms=300_000)


def _run(app) -> None:
    if _has_views(app):
        _pick_view(app, "Run")
    else:
        app.tab("Run")
    button = app.keyed("studio-run-button").get_by_role("button")
    app.act(button.click, timeout_ms=300_000)
    if not _has_views(app):
        app.tab("See")


def _charts_drawn(app, expect) -> None:
    expect(app.keyed("see-profile").locator(".main-svg").first).to_be_visible(timeout=300_000)


def _view_options() -> list[str]:
    from allocator.studio_ui import VIEWS

    return list(VIEWS)


def _table(title: str, rows: dict[str, list[float]]) -> None:
    width = max(len(k) for k in rows) + 2
    print(f"\n{title}")
    print(f"{'step':<{width}}{'median s':>10}{'min s':>10}{'max s':>10}{'n':>4}")
    print("-" * (width + 34))
    for key, values in rows.items():
        print(f"{key:<{width}}{_median(values):>10.3f}{min(values):>10.3f}{max(values):>10.3f}{len(values):>4}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=5000)
    parser.add_argument("--projects", type=int, default=1500)
    parser.add_argument("--staff", type=int, default=400)
    parser.add_argument("--time-limit", type=float, default=None,
                        help="the solver's time limit per run (default: the app's, engine.DEFAULT_TIME_LIMIT)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3, help="runs made before the page is opened")
    parser.add_argument("--database-url")
    parser.add_argument("--services", action="store_true", help="also time the service steps alone")
    parser.add_argument("--browser", action="store_true", help="also time the steps in headless Chromium")
    parser.add_argument("--no-page", action="store_true", help="skip the AppTest timings")
    parser.add_argument("--screenshot", help="with --browser: save the opened studio as this PNG")
    args = parser.parse_args(argv)
    if args.time_limit is None:
        from allocator import engine

        args.time_limit = engine.DEFAULT_TIME_LIMIT

    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{Path(tmp.name) / 'studio-bench.db'}"
    os.environ["DATABASE_URL"] = url
    os.environ["ALLOCATOR_NO_DEMO"] = "1"
    for name in ("SMTP_HOST", "MS_CLIENT_ID", "MS_TENANT_ID"):
        os.environ.pop(name, None)
    os.environ["ALLOCATOR_SECRETS"] = str(Path(tmp.name) / "no-secrets.toml")

    actor, cohort_id, binding, header = _prepare(url, args)
    _ensure_runs(url, actor, cohort_id, binding, args.runs)
    service_rows = _services(url, actor, cohort_id, binding, args) if args.services else {}
    page_rows = {} if args.no_page else _page(url, actor.email, binding, args)
    browser_rows = _browser(url, actor, args) if args.browser else {}

    print(f"\nAllocation studio benchmark — {url.split(':', 1)[0]}, {header}; time limit {args.time_limit:g} s")
    if service_rows:
        _table("Services alone", service_rows)
    if page_rows:
        _table("Through the page (AppTest: app.py + the studio, server time)", page_rows)
    if browser_rows:
        _table("In headless Chromium (streamlit run app.py; until drawn)", {k: v for k, v in browser_rows.items()
                                                                           if v})
    print("\nTargets: open < 1 s, switch views < 0.3 s, click Run → charts < 3 s (minimums kept: the engine's part).")
    for key, target in (("open the studio (a new session)", 1.0), ("switch views (all)", 0.3),
                        ("click Run → charts drawn, minimums relaxed", 3.0),
                        ("click Run → charts drawn, minimums kept", 3.0)):
        for suffix in ("", " [CPU s]"):
            found = page_rows.get(key + suffix)
            if found:
                print(f"  {key + suffix:<53} {_median(found):6.2f} s  {'met' if _median(found) < target else 'NOT met'}")
    print(f"Load average while measuring: {', '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores.")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
