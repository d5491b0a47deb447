"""Reordering six choices on My preferences, in Chromium: Up/Down clicks against drag and drop.

    .venv/bin/python benchmarks/ranking.py [--repeats 3] [--app-dir PATH] [--phone]

A fresh seeded SQLite database and a real `streamlit run app.py`; the demo student has six saved
choices A…F. Two tasks, each timed from the first press to the moment the page shows the final order
(every rerun the action caused has finished and been drawn):
  - "last to top":  F to first place: 5 Up clicks, or 1 drag;
  - "reverse all":  F E D C B A: 15 Up clicks, or 5 drags.
`--app-dir` runs another checkout of the app (e.g. the code before drag and drop, unpacked with
`git archive <commit> | tar -x -C DIR`): its Up/Down buttons are timed, and drag only when it has one.
Prints a table of medians.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402
from sqlalchemy import select  # noqa: E402

from allocator import db, services  # noqa: E402
from allocator.models import User  # noqa: E402
from allocator.seeding import DEMO_STUDENT  # noqa: E402
from tests import appserver  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, _prepare_database  # noqa: E402
from tests.e2e.driver import App  # noqa: E402
from tests.load.browser import open_keyboard_path  # noqa: E402
from tests.e2e.test_journeys import least_wanted_projects  # noqa: E402

DRAG_FRAME = 'iframe[title="streamlit_sortables.sortable_items"]'
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


class _Dep:
    def __init__(self, url: str, cohort_id: int):
        self.database_url, self.cohort_id = url, cohort_id


def start_server(url: str, tmp: Path, app_dir: Path) -> tuple[subprocess.Popen, str]:
    port = appserver.free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp / f"server-{port}.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none"],
        cwd=app_dir, env=appserver.server_env(url, tmp), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    appserver.wait_healthy(process, base, tmp / f"server-{port}.log")
    return process, base


def save_six(url: str, cohort_id: int, ids: list[int]) -> None:
    with db.session(url) as s, s.begin():
        uid, email, name = s.execute(select(User.id, User.email, User.name).where(User.email == DEMO_STUDENT)).one()
        services.save_preferences(s, actor=services.Actor(uid, email, name, False), cohort_id=cohort_id,
                                  project_ids=ids)


def open_page(app: App) -> None:
    app.open("student_preferences")
    button = app.page.get_by_role("button", name=DEMO_STUDENT).first
    app.act(button.click)
    expect(app.main.get_by_role("heading", name="My preferences")).to_be_visible()
    if app.main.get_by_text("Move, remove or change choices with buttons").count():
        open_keyboard_path(app.page)  # the native rows sit under the drag list: open them (not timed)
    expect(app.keyed("up-5")).to_be_visible()
    app.wait_idle()


def click_ups(app: App, task: str) -> None:
    moves = [5] if task == "last to top" else [5, 4, 3, 2, 1]
    for top in moves:  # bubble the last row up to place 5 - top
        for row in range(5, 5 - top, -1):
            app.act(app.keyed(f"up-{row}").get_by_role("button").click)


def drag_once(app: App, source: int, target: int) -> None:
    items = app.page.frame_locator(DRAG_FRAME).locator(".sortable-item")
    app.page.locator(DRAG_FRAME).evaluate("frame => frame.scrollIntoView({block: 'center'})")
    src, dst = items.nth(source).bounding_box(), items.nth(target).bounding_box()
    x, y = src["x"] + src["width"] / 2, src["y"] + src["height"] / 2
    to_y = dst["y"] + dst["height"] * 0.3

    def gesture():
        app.page.mouse.move(x, y)
        app.page.mouse.down()
        app.page.mouse.move(x, y - 12, steps=3)
        app.page.mouse.move(x, to_y, steps=12)
        app.page.mouse.up()

    app.act(gesture)
    expect(items).to_have_count(6)  # the fresh list of the new order is drawn


def drags(app: App, task: str) -> None:
    for target in ([0] if task == "last to top" else [0, 1, 2, 3, 4]):
        drag_once(app, 5, target)


def final_labels(app: App, titles: list[str], task: str) -> list[str]:
    return [titles[5], *titles[:5]] if task == "last to top" else list(reversed(titles))


def shown_order(app: App) -> list[str]:
    rows = app.main.locator('[class*="st-key-title-"]')
    if rows.count():
        return [t.split(" — ")[0] for t in rows.all_inner_texts()]
    return [app.keyed(f"rank-{i}").get_by_role("combobox").input_value().split(" — ")[0] for i in range(6)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--app-dir", type=Path, default=ROOT)
    parser.add_argument("--phone", action="store_true", help="a 390×844 viewport instead of 1280×900")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        url = f"sqlite:///{tmp / 'bench.db'}"
        _prepare_database(url)
        with db.session(url) as s:
            from allocator.models import Cohort
            cohort_id = s.scalars(select(Cohort.id).order_by(Cohort.id)).first()
        chosen = least_wanted_projects(_Dep(url, cohort_id), 6)
        ids, titles = [pid for pid, _, _ in chosen], [t for _, _, t in chosen]
        process, base = start_server(url, tmp, args.app_dir.resolve())
        results: dict[tuple[str, str], list[float]] = {}
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                warm = browser.new_context()
                App(warm.new_page(), base).open("/")
                warm.close()
                for _ in range(args.repeats):
                    for task in ("last to top", "reverse all"):
                        for method, run in (("Up/Down clicks", click_ups), ("drag and drop", drags)):
                            save_six(url, cohort_id, ids)
                            context = browser.new_context(viewport=PHONE if args.phone else DESKTOP)
                            app = App(context.new_page(), base)
                            open_page(app)
                            if method == "drag and drop" and not app.page.locator(DRAG_FRAME).count():
                                context.close()
                                continue
                            start = time.perf_counter()
                            run(app, task)
                            results.setdefault((task, method), []).append(time.perf_counter() - start)
                            assert shown_order(app) == final_labels(app, titles, task), shown_order(app)
                            context.close()
                browser.close()
        finally:
            appserver.stop_process(process)
        db.dispose_all()
    screen = "phone 390×844" if args.phone else "desktop 1280×900"
    print(f"\nReordering six choices on My preferences ({screen}; app at {args.app_dir}; "
          f"median of {args.repeats})\n")
    print(f"{'task':<14} {'method':<16} {'actions':>7} {'median s':>9} {'per action s':>13}")
    for (task, method), times in results.items():
        actions = {("last to top", "Up/Down clicks"): 5, ("reverse all", "Up/Down clicks"): 15,
                   ("last to top", "drag and drop"): 1, ("reverse all", "drag and drop"): 5}[(task, method)]
        median = statistics.median(times)
        print(f"{task:<14} {method:<16} {actions:>7} {median:>9.2f} {median / actions:>13.2f}")


if __name__ == "__main__":
    main()
