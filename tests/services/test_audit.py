"""The audit log reads as sentences: people and projects by name, changes as before → after."""
from __future__ import annotations

from allocator import services
from tests import factories as f


def test_events_are_described_with_the_names_of_people_and_projects(session):
    boss = f.admin(session, name="Cora Coordinator")
    cohort = f.cohort(session, phase="closed")
    sup = f.staff(session, cohort)
    zoe = f.student(session, cohort, person=f.user(session, name="Zoë Student"))
    robots, drones = (f.project(session, cohort, sup, title=t) for t in ("Robots", "Drones"))
    services.record_audit(session, actor=f.actor(boss), action="allocation.moved", cohort_id=cohort.id, run_id=7,
                          parent_run_id=6, student_id=zoe.id, from_project_id=robots.id, to_project_id=drones.id,
                          reason="asked to swap")
    services.record_audit(session, actor=f.actor(boss), action="projects.bulk_edit", cohort_id=cohort.id,
                          changes={str(robots.id): {"capacity": [2, 3], "tags": [["ai"], ["ai", "robots"]]}})
    session.flush()
    edit, move = services.list_events(session, actor=f.actor(boss), cohort_id=cohort.id)
    assert move.description == "Moved Zoë Student from “Robots” to “Drones” (new run #7). Reason: asked to swap"
    assert edit.description == ("Edited 1 project in the catalogue table — “Robots”: capacity 2 → 3; "
                                "tags ai → ai, robots.")


def test_settings_changes_read_as_before_and_after():
    text = services.describe_event("cohort.settings", {"changes": {"max_choices": [5, 6],
                                                                   "allow_unranked": [False, True]}})
    assert text == "Changed the cohort's settings: max choices 5 → 6; allow unranked no → yes."


def test_an_action_without_its_own_wording_still_reads_as_words():
    text = services.describe_event("studio.something_new", {"run_id": 4, "kept": [1, 2], "note": None})
    assert text == "Studio — something new. run id: 4; kept: 1, 2; note: nothing."
    assert "{" not in text and "[" not in text


def test_an_older_event_with_other_details_falls_back_to_words():
    text = services.describe_event("projects.bulk_edit", {"changes": "capacity"})
    assert text == "Edited projects in the catalogue table."
