"""Many students saving at once on PostgreSQL while the coordinator runs allocations (issue 8).

Threads save through the service layer exactly as a page does (one transaction per save), some
students twice at the same moment with different lists; a few real browser sessions save through the
running app at the same time. Checked afterwards: nobody met an error, every stored list is one of the
lists its student sent, whole (never a mix of two, ranks 1..n), and every run solved one consistent
snapshot: each student's list in the run's stored problem is a list they really had (their old one or
one they sent), each placed student's stored rank is their rank in that very list, and the engine's
own validator accepts the run's problem and result files as the CLI would read them.
"""
from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from allocator import db, engine, services
from allocator.models import AllocationRun, Assignment, Membership, Preference
from tests import factories as f
from tests.conftest import BACKENDS
from tests.load.browser import (
    HAVE_CHROMIUM,
    NO_CHROMIUM,
    app_server,
    idle,
    open_keyboard_path,
    sign_in,
    warm_up,
)

PG = [p for p in BACKENDS if getattr(p, "values", None) == ("postgresql",)]

N_STUDENTS = 60
N_PROJECTS = 15
SAVERS = 50  # students who save during the runs
TWICE = 15  # of them, those who send two different lists at the same moment
BROWSER_STUDENTS = 4  # the first students: the local sign-in screen lists the first six
MAX_RUNS = 6

pytestmark = [pytest.mark.parametrize("fresh_database", PG, indirect=True),
              # e.g. "execution_options ignored": a run that could not ask for its snapshot
              pytest.mark.filterwarnings("error::sqlalchemy.exc.SAWarning")]


@dataclass
class Cohort:
    url: str
    cohort_id: int
    admin: services.Actor
    students: list[services.Actor]
    names: dict[int, str]
    projects: list[int]
    old: dict[int, list[int]]  # each student's list before anyone saves
    sent: dict[int, list[list[int]]] = field(default_factory=dict)  # lists sent per student, any channel

    def allowed(self, uid: int) -> list[list[int]]:
        return [self.old[uid], *self.sent.get(uid, [])]


def seed(url: str) -> Cohort:
    rng = random.Random(8)
    with db.session(url) as s, s.begin():
        admin = f.admin(s, email="coord@uni.example", name="Casey Coordinator")
        c = f.cohort(s, phase="preferences", name="Load test", min_choices=3, max_choices=6)
        people = [f.student(s, c, person=f.user(s, email=f"student{i:02d}@uni.example", name=f"Student {i:02d}"))
                  for i in range(N_STUDENTS)]
        staff = [f.staff(s, c, person=f.user(s, email=f"sup{i}@uni.example", name=f"Supervisor {i}"))
                 for i in range(5)]
        projects = [f.project(s, c, staff[i % 5], title=f"Project {i:02d}", code=f"C{i:02d}", capacity=4)
                    for i in range(N_PROJECTS)]
        old = {}
        for person in people:
            picked = rng.sample(projects, rng.randint(3, 6))
            f.preferences(s, c, person, picked)
            old[person.id] = [p.id for p in picked]
        return Cohort(url=url, cohort_id=c.id, admin=f.actor(admin), students=[f.actor(p) for p in people],
                      names={p.id: p.name for p in people}, projects=[p.id for p in projects], old=old)


def new_list(rng: random.Random, cohort: Cohort, uid: int) -> list[int]:
    while True:
        ids = rng.sample(cohort.projects, rng.randint(3, 6))
        if ids not in cohort.allowed(uid):
            return ids


def plan_saves(cohort: Cohort) -> list[tuple[services.Actor, list[int], float]]:
    """(student, list, delay) for every save thread: the first SAVERS students, TWICE of them twice with
    no delay (so their two saves race), the others spread over the first ~0.3 s of the runs."""
    rng = random.Random(88)
    saves = []
    for i, student in enumerate(cohort.students[:SAVERS]):
        first = new_list(rng, cohort, student.user_id)
        cohort.sent.setdefault(student.user_id, []).append(first)
        twice = i < TWICE
        saves.append((student, first, 0.0 if twice else rng.uniform(0, 0.3)))
        if twice:
            second = new_list(rng, cohort, student.user_id)
            cohort.sent[student.user_id].append(second)
            saves.append((student, second, 0.0))
    return saves


@dataclass
class Outcome:
    errors: list[str] = field(default_factory=list)
    runs: list[int] = field(default_factory=list)


def start_load(cohort: Cohort, saves, *, extra_parties: int = 0, others_done: threading.Event | None = None,
               ) -> tuple[threading.Barrier, list[threading.Thread], Outcome]:
    """Threads for every save and one for the coordinator, all waiting on one barrier (with
    `extra_parties` more: the browser driver); the coordinator runs allocations until the saves are
    done, and `others_done` is set if given (at least one run, at most MAX_RUNS)."""
    barrier = threading.Barrier(len(saves) + 1 + extra_parties)
    outcome = Outcome()
    saves_done = threading.Event()
    remaining = [len(saves)]
    lock = threading.Lock()

    def save(actor: services.Actor, ids: list[int], delay: float) -> None:
        try:
            barrier.wait(timeout=60)
            time.sleep(delay)
            with db.session(cohort.url) as s, s.begin():
                view = services.save_preferences(s, actor=actor, cohort_id=cohort.cohort_id, project_ids=ids)
            if list(view.project_ids) != ids:
                outcome.errors.append(f"{actor.email}: the saved view shows {view.project_ids}, not {ids}")
        except BaseException as err:  # noqa: BLE001 - every failure is a finding
            outcome.errors.append(f"{actor.email}: {err!r}")
        finally:
            with lock:
                remaining[0] -= 1
                if not remaining[0]:
                    saves_done.set()

    def coordinate() -> None:
        try:
            with db.session(cohort.url) as s, s.begin():
                params = services.default_parameters(s, actor=cohort.admin, cohort_id=cohort.cohort_id)
            barrier.wait(timeout=60)
            while len(outcome.runs) < MAX_RUNS:
                with db.session(cohort.url) as s, s.begin():
                    view = services.run_allocation(s, actor=cohort.admin, cohort_id=cohort.cohort_id, params=params)
                outcome.runs.append(view.id)
                if saves_done.is_set() and (others_done is None or others_done.is_set()):
                    break
        except BaseException as err:  # noqa: BLE001
            outcome.errors.append(f"coordinator: {err!r}")

    threads = [threading.Thread(target=save, args=args, daemon=True) for args in saves]
    threads.append(threading.Thread(target=coordinate, daemon=True))
    for t in threads:
        t.start()
    return barrier, threads, outcome


def join(threads: list[threading.Thread], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    stuck = [t for t in threads if t.is_alive()]
    assert not stuck, f"{len(stuck)} thread(s) still running after {timeout} s"


def stored_lists(cohort: Cohort) -> dict[int, list[tuple[int, int]]]:
    """(rank, project id) per student, in rank order."""
    out: dict[int, list[tuple[int, int]]] = {s.user_id: [] for s in cohort.students}
    with db.session(cohort.url) as s:
        for sid, rank, pid in s.execute(select(Preference.student_id, Preference.rank, Preference.project_id)
                                        .where(Preference.cohort_id == cohort.cohort_id)
                                        .order_by(Preference.student_id, Preference.rank)):
            out[sid].append((rank, pid))
    return out


def check_lists(cohort: Cohort, savers: set[int]) -> None:
    """Each list whole: ranks 1..n, exactly one list the student sent (the old one if they sent none)."""
    for uid, rows in stored_lists(cohort).items():
        ranks, ids = [r for r, _ in rows], [p for _, p in rows]
        who = cohort.names[uid]
        assert ranks == list(range(1, len(rows) + 1)), f"{who}'s ranks are {ranks}"
        expected = cohort.sent[uid] if uid in savers else [cohort.old[uid]]
        assert ids in expected, f"{who}'s stored list {ids} is none of {expected}"
    with db.session(cohort.url) as s:
        saved = set(s.scalars(select(Membership.user_id).where(Membership.cohort_id == cohort.cohort_id,
                                                               Membership.preferences_saved_at.is_not(None))))
    assert savers <= saved


def check_runs(cohort: Cohort, run_ids: list[int]) -> None:
    """Each run answers one consistent snapshot of the lists, and its files pass the engine's validator."""
    assert run_ids, "the coordinator made no run"
    with db.session(cohort.url) as s, s.begin():
        for run_id in run_ids:
            run = s.get(AllocationRun, run_id)
            assert run.status in ("optimal", "feasible"), run.message
            problem = run.record["problem"]
            assert len(problem["students"]) == N_STUDENTS
            lists: dict[int, list[int]] = {}
            for entry in problem["students"]:
                uid, ids = int(entry["id"][1:]), [int(p[1:]) for p in entry["preferences"]]
                assert ids in cohort.allowed(uid), (
                    f"run #{run_id} solved {cohort.names[uid]}'s list as {ids}, which they never had "
                    f"(they had {cohort.allowed(uid)})")
                lists[uid] = ids
            rows = s.execute(select(Assignment.student_id, Assignment.project_id, Assignment.rank)
                             .where(Assignment.run_id == run_id)).all()
            assert len(rows) == N_STUDENTS
            for uid, pid, rank in rows:
                if pid is not None:
                    assert rank == lists[uid].index(pid) + 1, (
                        f"run #{run_id}: {cohort.names[uid]} is stored at rank {rank} of {pid}, but the list "
                        f"the run solved was {lists[uid]}")
            files = services.export_run(s, actor=cohort.admin, run_id=run_id)
            solved = engine.loads_problem(files.problem_json)
            result = engine.loads_result(files.result_json, solved)
            assert engine.validate(solved, result) == [], f"run #{run_id}"
        s.rollback()  # the exports' audit rows


def test_fifty_students_save_while_the_coordinator_runs(fresh_database):
    cohort = seed(fresh_database)
    saves = plan_saves(cohort)
    _, threads, outcome = start_load(cohort, saves)
    join(threads)
    assert outcome.errors == []
    check_lists(cohort, {a.user_id for a, _, _ in saves})
    check_runs(cohort, outcome.runs)


def test_a_save_committed_during_a_run_stays_out_of_it(fresh_database, monkeypatch):
    """The bug this file found: on PostgreSQL a run read the lists for its problem, then, after solving,
    read the ranks it stores from the lists as they were by then. A save committed while the engine
    solves must not reach the run at all (allocation.one_snapshot)."""
    cohort = seed(fresh_database)
    student = cohort.students[0]
    before = cohort.old[student.user_id]
    after = before[1:] + before[:1]  # every project changes rank
    cohort.sent[student.user_id] = [after]
    solve = engine.solve

    def solve_while_the_student_saves(*args, **kwargs):
        with db.session(cohort.url) as s, s.begin():
            services.save_preferences(s, actor=student, cohort_id=cohort.cohort_id, project_ids=after)
        return solve(*args, **kwargs)

    monkeypatch.setattr(engine, "solve", solve_while_the_student_saves)
    with db.session(cohort.url) as s, s.begin():
        params = services.default_parameters(s, actor=cohort.admin, cohort_id=cohort.cohort_id)
    with db.session(cohort.url) as s, s.begin():
        run = services.run_allocation(s, actor=cohort.admin, cohort_id=cohort.cohort_id, params=params)
    monkeypatch.setattr(engine, "solve", solve)

    with db.session(cohort.url) as s:
        problem = s.get(AllocationRun, run.id).record["problem"]
        project, rank = s.execute(select(Assignment.project_id, Assignment.rank).where(
            Assignment.run_id == run.id, Assignment.student_id == student.user_id)).one()
    solved = next(e["preferences"] for e in problem["students"] if e["id"] == f"S{student.user_id}")
    assert solved == [f"P{p}" for p in before]
    assert project is not None and rank == before.index(project) + 1
    check_runs(cohort, [run.id])
    check_lists(cohort, {student.user_id})


# ------------------------------------------------------------------------------------------ real browsers


def open_preferences(context, base: str, student: services.Actor, name: str):
    """A new browser session signed in as `student` on My preferences, their first two choices swapped
    but not saved yet."""
    page = sign_in(context, base, f"{name} · {student.email}")
    # Whichever link to My preferences is on show (the home page's, or the menu's): a page's URL is its file's.
    page.locator('a[href$="student_preferences"]:visible').first.click()
    page.locator(".st-key-save-preferences button:visible").wait_for()
    idle(page)
    open_keyboard_path(page)
    # Streamlit keeps a hidden copy of a button with a tooltip: only the visible one is the button.
    page.locator(".st-key-down-0 button:visible").click()
    page.locator(".st-key-discard-preferences button:visible").wait_for()  # "You have unsaved changes"
    return page


def errors_shown(page) -> list[str]:
    shown = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    return [shown.nth(i).inner_text() for i in range(shown.count())]


@pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM)
def test_browser_sessions_save_alongside_the_threads(fresh_database, tmp_path, chromium_browser):
    cohort = seed(fresh_database)
    saves = plan_saves(cohort)  # the browser students are among them: some race two thread saves too
    in_browser = cohort.students[:BROWSER_STUDENTS]
    for student in in_browser:
        old = cohort.old[student.user_id]
        cohort.sent[student.user_id].append([old[1], old[0], *old[2:]])
    browsers_done = threading.Event()
    threads: list[threading.Thread] = []
    try:
        with app_server(fresh_database, tmp_path) as base:
            context = chromium_browser.new_context()
            try:
                warm_up(context, base)
                pages = [open_preferences(context, base, s, cohort.names[s.user_id]) for s in in_browser]
                barrier, threads, outcome = start_load(cohort, saves, extra_parties=1, others_done=browsers_done)
                barrier.wait(timeout=60)
                for page in pages:
                    page.locator(".st-key-save-preferences button:visible").click()
                for page in pages:  # the page's answer: saved, or an error
                    page.locator('[data-testid="stAlertContentSuccess"]:has-text("Saved"), '
                                 '[data-testid="stAlertContentError"], [data-testid="stException"]').first.wait_for()
                browsers_done.set()
                shown = {s.email: errors_shown(page) for s, page in zip(in_browser, pages)}
            finally:
                context.close()
    finally:  # never leave threads writing to a database the fixture is about to drop
        browsers_done.set()
        join(threads)
    assert shown == {s.email: [] for s in in_browser}
    assert outcome.errors == []
    check_lists(cohort, {a.user_id for a, _, _ in saves})
    check_runs(cohort, outcome.runs)
