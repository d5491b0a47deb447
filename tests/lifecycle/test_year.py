"""A whole allocation year at the size users have, through the service layer, on every backend.

Each step commits for real, as the app does, and is followed by the invariants a coordinator relies on:
no answer lost, nobody told the same news twice, every run usable (charts, export, move, explain), every
explanation true to how its run was made, and a restored backup equal to what was backed up.
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
import pytest
from sqlalchemy import func, select

from allocator import db, migrate, seeding
from allocator.models import Membership, Notification, Project, Response, User
from allocator.services import allocation, allocation_export, allocation_publish
from allocator.services.catalogue import approve_projects
from allocator.services import cohort_admin, data_io, preferences, proposals, responses
from allocator.services.access import Actor
from allocator.services.errors import Invalid, NotAllowed
from tests.conftest import BACKENDS, drop_postgres_database, new_database_url

STUDENTS = 2000
SOLVER_WORDS = ("time limit", "solver")


def actor_of(session, user_id: int) -> Actor:
    user = session.get(User, user_id)
    return Actor(user_id=user.id, email=user.email, name=user.name, is_admin=user.is_admin)


@dataclass
class Year:
    url: str
    cohort_id: int
    admin_id: int
    # What each student last answered, by user id: True accepted, False declined.
    answers: dict[int, bool] = field(default_factory=dict)

    def tx(self):
        return db.session(self.url)

    def act(self, fn, *, as_user: int | None = None, **kwargs):
        """One user action in its own committed transaction, as `ui.run_action` does: the actor comes from
        the sign-in, before the action's transaction, whose first statement is the service's own."""
        with self.tx() as s:
            actor = actor_of(s, as_user or self.admin_id)
        with self.tx() as s:
            with s.begin():
                return fn(s, actor=actor, **kwargs)


def _database(kind: str, tmp_path):
    url = new_database_url(kind, tmp_path)
    migrate.upgrade(url)
    return url


@pytest.fixture(params=BACKENDS)
def year(request, tmp_path):
    urls = [_database(request.param, tmp_path)]
    seeding.seed(urls[0], students=STUDENTS, projects=220, staff=70, seed=7)
    with db.session(urls[0]) as s:
        admin_id = s.scalar(select(User.id).where(User.is_admin).order_by(User.id))
        cohort_id = s.scalar(select(Membership.cohort_id).limit(1))
    y = Year(urls[0], cohort_id, admin_id)
    y.spare_database = lambda: urls.append(_database(request.param, tmp_path)) or urls[-1]
    yield y
    db.dispose_all()
    if request.param == "postgresql":
        for url in urls:
            drop_postgres_database(url)


# ------------------------------------------------------------------------------------------ invariants


def notification_repeats(url: str) -> list[tuple]:
    """Notifications one person received more than once with the same words."""
    with db.session(url) as s:
        rows = s.execute(select(Notification.user_id, Notification.subject, Notification.body, func.count())
                         .group_by(Notification.user_id, Notification.subject, Notification.body)
                         .having(func.count() > 1)).all()
    return [tuple(r) for r in rows]


def published_answers(y: Year) -> dict[int, bool]:
    """Each answered student's answer as their My allocation page shows it."""
    out = {}
    for sid in y.answers:
        view = y.act(responses.get_my_allocation, as_user=sid, cohort_id=y.cohort_id)
        if view.accepted is not None:
            out[sid] = view.accepted
    return out


def students_csv(y: Year, run_id: int) -> list[dict[str, str]]:
    data = y.act(allocation_export.export_run, run_id=run_id).students_csv
    return sorted(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))), key=lambda r: r["email"])


def assert_run_usable(y: Year, run_id: int) -> None:
    """Charts agree with the headline, the export has every student, and explanations come."""
    view = y.act(allocation.get_run, run_id=run_id)
    charts = y.act(allocation.run_charts, run_id=run_id)
    assert sum(row.assigned for row in charts.project_fill) == view.placed, f"charts of run {run_id} lose students"
    rows = students_csv(y, run_id)
    assert len(rows) == view.students
    placed = [r for r in y.act(allocation.run_assignments, run_id=run_id) if r.project_id is not None]
    assert len(placed) == view.placed
    assert y.act(allocation.explain_student, run_id=run_id, student_id=placed[0].student_id)


def assert_invariants(y: Year) -> None:
    assert published_answers(y) == y.answers, "an answer was lost"
    assert notification_repeats(y.url) == [], "someone was told the same news twice"
    for run in y.act(allocation.list_runs, cohort_id=y.cohort_id):
        if run.status != "infeasible":
            assert_run_usable(y, run.id)


# ------------------------------------------------------------------------------------------ the year


def test_a_whole_year_survives_every_step(year):
    y = year
    with y.tx() as s:
        staff_id = s.scalar(select(Membership.user_id).where(Membership.cohort_id == y.cohort_id,
                                                             Membership.role == "staff").order_by(Membership.id))

    # Proposals, then approval.
    y.act(cohort_admin.update_cohort_settings, cohort_id=y.cohort_id, phase_override="proposals")
    new = y.act(proposals.propose_project, as_user=staff_id, cohort_id=y.cohort_id,
                title="Rehearsal project", description="A project proposed during the rehearsal.", capacity=3)
    y.act(approve_projects, cohort_id=y.cohort_id, project_ids=[new.id])

    # Preferences: a student puts the new project first.
    y.act(cohort_admin.update_cohort_settings, cohort_id=y.cohort_id, phase_override="preferences")
    with y.tx() as s:
        keen = s.scalar(select(Membership.user_id).where(Membership.cohort_id == y.cohort_id,
                                                         Membership.role == "student").order_by(Membership.id))
    mine = y.act(preferences.get_preferences, as_user=keen, cohort_id=y.cohort_id)
    y.act(preferences.save_preferences, as_user=keen, cohort_id=y.cohort_id,
          project_ids=[new.id] + [pid for pid in mine.project_ids if pid != new.id][:4])
    y.act(cohort_admin.update_cohort_settings, cohort_id=y.cohort_id, phase_override="closed")

    # Two runs, compared.
    params = y.act(allocation.default_parameters, cohort_id=y.cohort_id)
    first = y.act(allocation.run_allocation, cohort_id=y.cohort_id, params=params)
    assert first.status == "optimal", first.message
    setup = y.act(allocation.studio_setup, cohort_id=y.cohort_id)
    greedy = y.act(allocation.run_allocation, cohort_id=y.cohort_id,
                   params=allocation.tune_parameters(setup, objective="greedy", allow_unranked=params.allow_unranked))
    y.act(allocation.compare_runs, run_ids=[first.id, greedy.id])
    assert_invariants(y)

    # A manual move: a student with their first choice goes to a project they did not rank.
    rows = y.act(allocation.run_assignments, run_id=first.id)
    fill = Counter(r.project_id for r in rows if r.project_id)
    with y.tx() as s:
        capacity = dict(s.execute(select(Project.id, Project.capacity).where(Project.cohort_id == y.cohort_id,
                                                                            Project.status == "approved")).all())
    mover = next(r for r in rows if r.rank == 1 and r.project_id != new.id)
    mine = set(y.act(preferences.get_preferences, as_user=mover.student_id, cohort_id=y.cohort_id).project_ids)
    target = next(pid for pid, cap in sorted(capacity.items()) if pid not in mine and fill[pid] < cap and fill[pid] > 0)
    moved = y.act(allocation.move_student, run_id=first.id, student_id=mover.student_id, project_id=target,
                  reason="rehearsal")
    said = " ".join(y.act(allocation.explain_student, run_id=moved.id, student_id=mover.student_id)).lower()
    assert "coordinator" in said and not any(w in said for w in SOLVER_WORDS), said

    # Publish; answers.
    y.act(allocation_publish.publish_run, run_id=moved.id)
    told = {mover.student_id: " ".join(y.act(allocation.explain_for_student, as_user=mover.student_id,
                                             cohort_id=y.cohort_id)).lower()}
    assert not any(w in told[mover.student_id] for w in SOLVER_WORDS), told
    placed = [r for r in y.act(allocation.run_assignments, run_id=moved.id) if r.project_id]
    accepters = [r.student_id for r in placed[10:13]] + [mover.student_id]
    decliners = {r.student_id: r.project_id for r in placed[20:23]}
    for sid in accepters:
        y.act(responses.respond_to_allocation, as_user=sid, cohort_id=y.cohort_id, accept=True)
        y.answers[sid] = True
    for sid in decliners:
        y.act(responses.respond_to_allocation, as_user=sid, cohort_id=y.cohort_id, accept=False, reason="other plans")
        y.answers[sid] = False
    assert_invariants(y)

    # Re-run for the decliners and republish: they get something else, everyone else keeps their answer.
    with y.tx() as s:
        notified_before = Counter(s.scalars(select(Notification.user_id)))
    rerun = y.act(allocation_publish.rerun_declined, cohort_id=y.cohort_id)
    y.act(allocation_publish.publish_run, run_id=rerun.id)
    after = {r.student_id: r.project_id for r in y.act(allocation.run_assignments, run_id=rerun.id)}
    for sid, declined in decliners.items():
        assert after[sid] != declined, "a decliner was given the project they declined"
        y.answers.pop(sid)  # their placement changed, so they are asked again
    with y.tx() as s:
        notified_after = Counter(s.scalars(select(Notification.user_id)))
    for sid in accepters:
        assert notified_after[sid] == notified_before[sid], "an unchanged student was notified again"
    for sid in decliners:
        if after[sid] is not None:
            assert notified_after[sid] > notified_before[sid], "a student whose project changed was not told"
    assert_invariants(y)

    # Backup and restore, into this database and into a fresh one.
    runs_before = y.act(allocation.list_runs, cohort_id=y.cohort_id)
    exports_before = {r.label: students_csv(y, r.id) for r in runs_before if r.status != "infeasible"}
    backup = y.act(data_io.backup_cohort, cohort_id=y.cohort_id)
    restored_here = y.act(data_io.restore_cohort, data=backup, name="Restored rehearsal")
    other_url = y.spare_database()
    with db.session(other_url) as s, s.begin():
        s.add(User(email="second.admin@uni.example", name="Second Admin", is_admin=True))
    with db.session(other_url) as s:
        other_admin = s.scalar(select(User.id).where(User.is_admin))
    elsewhere = Year(other_url, 0, other_admin)
    restored_there = elsewhere.act(data_io.restore_cohort, data=backup, name="Restored rehearsal")
    for target_year, result in ((Year(y.url, restored_here.cohort_id, y.admin_id), restored_here),
                                (Year(other_url, restored_there.cohort_id, other_admin), restored_there)):
        runs = target_year.act(allocation.list_runs, cohort_id=result.cohort_id)
        assert sorted(r.label for r in runs) == sorted(r.label for r in runs_before)
        for run in runs:
            if run.status == "infeasible":
                continue
            assert_run_usable(target_year, run.id)
            assert students_csv(target_year, run.id) == exports_before[run.label], "export changed by restore"
        moved_again = next(r for r in runs if r.label == moved.label)
        mover_there = target_year.act(allocation.run_assignments, run_id=moved_again.id)
        mover_row = next(r for r in mover_there if r.student_email == mover.student_email)
        said = " ".join(target_year.act(allocation.explain_student, run_id=moved_again.id,
                                        student_id=mover_row.student_id)).lower()
        assert "coordinator" in said and not any(w in said for w in SOLVER_WORDS), said
        room = next(r for r in mover_there if r.project_id and r.student_id != mover_row.student_id)
        try:
            target_year.act(allocation.move_student, run_id=moved_again.id, student_id=mover_row.student_id,
                            project_id=room.project_id)
        except (Invalid, NotAllowed) as refused:  # full or below-minimum is fine; a broken record is not
            assert "not a student" not in str(refused) and "problem" not in str(refused), refused
    with db.session(other_url) as s:
        assert s.scalar(select(func.count()).select_from(User).where(User.is_admin)) == 1, \
            "a restore granted coordinator rights"
    assert_invariants(y)

    # A second year copied from the first.
    second = y.act(cohort_admin.copy_cohort, cohort_id=y.cohort_id, name="Rehearsal year two")
    with y.tx() as s:
        copied = s.scalar(select(func.count()).select_from(Project).where(Project.cohort_id == second.id))
        answers_kept = s.scalar(select(func.count()).select_from(Response))
    assert copied > 0
    assert answers_kept >= len(y.answers)
    assert_invariants(y)
