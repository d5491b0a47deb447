"""Places per student through publish → answer → re-run for the declined → republish, on every backend.

A student with two places answers once for both. Accepting keeps both: the re-run pins every one of
their places, and the republication keeps their answer and tells them nothing. Declining gives up
both: the re-run places them again, away from every project they declined.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from allocator.models import Assignment, Notification
from allocator.services import (
    RunParameters,
    get_my_allocation,
    list_declined,
    publish_run,
    rerun_declined,
    respond_to_allocation,
    run_allocation,
)
from allocator.services.allocation.common import stored_record
from allocator.models import AllocationRun
from tests import factories as f


@pytest.fixture
def year(session, monkeypatch):
    """Three students with two places each over seven projects of one place each.

    Keen ranks A B C D, Picky ranks C D A B E, Quiet ranks F G. The first run gives Keen {A, B}, Picky
    {C, D} and Quiet {F, G}. Were Keen's B left free when Picky declines, the most placements would move
    Keen off B so that Picky could take both B and E: only pinning both of Keen's places keeps them."""
    for name in ("SMTP_HOST", "SMTP_FROM", "APP_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ALLOCATOR_SECRETS", "/nonexistent/secrets.toml")
    cohort = f.cohort(session, phase="closed", places_per_student=2, default_objective="min-cost")
    admin = f.admin(session)
    sup = f.staff(session, cohort)
    p = {code: f.project(session, cohort, sup, title=f"Project {code}", capacity=1) for code in "ABCDEFG"}
    keen, picky, quiet = (f.student(session, cohort, person=f.user(session, name=n)) for n in ("Keen", "Picky", "Quiet"))
    f.preferences(session, cohort, keen, [p[c] for c in "ABCD"])
    f.preferences(session, cohort, picky, [p[c] for c in "CDABE"])
    f.preferences(session, cohort, quiet, [p[c] for c in "FG"])
    return dict(session=session, cohort=cohort, actor=f.actor(admin), p=p, keen=keen, picky=picky, quiet=quiet)


def placed(session, run_id: int) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for s, pid in session.execute(select(Assignment.student_id, Assignment.project_id).where(Assignment.run_id == run_id)):
        out.setdefault(s, set()).add(pid)
    return out


def notes(session, student) -> int:
    return len(session.scalars(select(Notification).where(
        Notification.user_id == student.id, Notification.kind == "allocation.published")).all())


def test_an_accepted_student_keeps_both_places_and_their_answer(year):
    s, cohort, actor, p = year["session"], year["cohort"], year["actor"], year["p"]
    keen, picky, quiet = year["keen"], year["picky"], year["quiet"]
    first = run_allocation(s, actor=actor, cohort_id=cohort.id, params=RunParameters(objective="min-cost"))
    before = placed(s, first.id)
    assert before[keen.id] == {p["A"].id, p["B"].id} and before[picky.id] == {p["C"].id, p["D"].id}
    assert before[quiet.id] == {p["F"].id, p["G"].id}
    publish_run(s, actor=actor, run_id=first.id)
    respond_to_allocation(s, actor=f.actor(keen), cohort_id=cohort.id, accept=True)
    respond_to_allocation(s, actor=f.actor(picky), cohort_id=cohort.id, accept=False, reason="neither")

    declines = list_declined(s, actor=actor, cohort_id=cohort.id)
    assert (declines.accepted, declines.declined, declines.pending) == (1, 1, 1)
    assert {r.project_id for r in declines.declined_rows} == {p["C"].id, p["D"].id}

    again = rerun_declined(s, actor=actor, cohort_id=cohort.id)
    assert again.feasible and again.label == "Re-run for 1 declined"
    settings = stored_record(s, s.get(AllocationRun, again.id)).settings
    pins = {(u, q) for u, q, _ in settings.pins}
    assert {(keen.id, p["A"].id), (keen.id, p["B"].id), (quiet.id, p["F"].id), (quiet.id, p["G"].id)} == pins
    assert {(u, q) for u, q, _ in settings.forbids} == {(picky.id, p["C"].id), (picky.id, p["D"].id)}
    after = placed(s, again.id)
    assert after[keen.id] == before[keen.id] and after[quiet.id] == before[quiet.id]
    assert after[picky.id] == {p["E"].id}  # re-placed, away from both projects they declined
    assert all(pinned for u, pinned in s.execute(select(Assignment.student_id, Assignment.pinned)
                                                 .where(Assignment.run_id == again.id)) if u == keen.id)

    report = publish_run(s, actor=actor, run_id=again.id)
    assert (report.changed, report.answers_kept) == (1, 1)
    assert [e.user_id for e in report.emails] == [picky.id]
    assert (notes(s, keen), notes(s, quiet), notes(s, picky)) == (1, 1, 2)
    mine = get_my_allocation(s, actor=f.actor(keen), cohort_id=cohort.id)
    assert mine.run_id == again.id and mine.accepted is True
    theirs = get_my_allocation(s, actor=f.actor(picky), cohort_id=cohort.id)
    assert theirs.accepted is None and theirs.can_respond and theirs.project_id == p["E"].id
    news = s.scalars(select(Notification).where(Notification.user_id == picky.id,
                                                Notification.kind == "allocation.published")
                     .order_by(Notification.id)).all()[-1]
    assert "Project C and Project D" in news.body and "Project E" in news.body
    assert list_declined(s, actor=actor, cohort_id=cohort.id).accepted == 1


def test_a_change_to_one_of_two_places_asks_the_student_again(year):
    s, cohort, actor, p, keen, quiet = (year[k] for k in ("session", "cohort", "actor", "p", "keen", "quiet"))
    first = run_allocation(s, actor=actor, cohort_id=cohort.id, params=RunParameters(objective="min-cost"))
    publish_run(s, actor=actor, run_id=first.id)
    respond_to_allocation(s, actor=f.actor(keen), cohort_id=cohort.id, accept=True)
    respond_to_allocation(s, actor=f.actor(quiet), cohort_id=cohort.id, accept=True)
    # Keen keeps A but swaps B for C: the answer was for both places, so it does not carry over.
    pins = ((keen.id, p["A"].id, ""), (keen.id, p["C"].id, ""))
    second = run_allocation(s, actor=actor, cohort_id=cohort.id, params=RunParameters(objective="min-cost", pins=pins))
    assert placed(s, second.id)[keen.id] == {p["A"].id, p["C"].id}
    report = publish_run(s, actor=actor, run_id=second.id)
    assert keen.id in [e.user_id for e in report.emails] and quiet.id not in [e.user_id for e in report.emails]
    assert get_my_allocation(s, actor=f.actor(keen), cohort_id=cohort.id).accepted is None
    assert get_my_allocation(s, actor=f.actor(quiet), cohort_id=cohort.id).accepted is True
    news = s.scalars(select(Notification).where(Notification.user_id == keen.id,
                                                Notification.kind == "allocation.published")
                     .order_by(Notification.id)).all()[-1]
    assert "You were on **Project A and Project B**; you are now on **Project A and Project C**" in news.body


def test_places_lowered_after_publication_let_the_extra_pins_go(year):
    from allocator.services import list_events, set_places

    s, cohort, actor, p = year["session"], year["cohort"], year["actor"], year["p"]
    keen, picky = year["keen"], year["picky"]
    first = run_allocation(s, actor=actor, cohort_id=cohort.id, params=RunParameters(objective="min-cost"))
    publish_run(s, actor=actor, run_id=first.id)
    respond_to_allocation(s, actor=f.actor(keen), cohort_id=cohort.id, accept=True)
    respond_to_allocation(s, actor=f.actor(picky), cohort_id=cohort.id, accept=False)
    # Keen accepted A and B, then is given one place: before, every re-run refused ("Keen has one
    # place, so they can be pinned to one project only"), with pins the coordinator cannot edit.
    set_places(s, actor=actor, cohort_id=cohort.id, user_id=keen.id, places=1)
    again = rerun_declined(s, actor=actor, cohort_id=cohort.id)
    assert again.feasible
    pins = {(u, q) for u, q, _ in stored_record(s, s.get(AllocationRun, again.id)).settings.pins}
    assert (keen.id, p["A"].id) in pins and (keen.id, p["B"].id) not in pins  # the better-ranked one stays
    assert placed(s, again.id)[keen.id] == {p["A"].id}
    said = [e.description for e in list_events(s, actor=actor, cohort_id=cohort.id, action="allocation.rerun_declined")]
    assert said and said[0].endswith("Let go 1 placement beyond the places a student has now.")
