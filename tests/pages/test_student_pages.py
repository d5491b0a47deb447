"""The student's pages driven through the real app.py: Projects, My preferences, My allocation, Notifications."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from streamlit.testing.v1 import AppTest

from allocator import db, services
from allocator.models import (AllocationRun, Assignment, Cohort, Membership, Notification, Preference, Project,
                              Response, utcnow)
from tests import factories as f
from tests.conftest import APP_PATH

STUDENT = "stu@uni.example"


@pytest.fixture
def world(app_database):
    with db.session(app_database) as s, s.begin():
        cohort = f.cohort(s, name="MEng 2026/27", phase="preferences", min_choices=2, max_choices=3)
        ada = f.staff(s, cohort, person=f.user(s, email="ada@uni.example", name="Ada Lovelace"))
        alan = f.staff(s, cohort, person=f.user(s, email="alan@uni.example", name="Alan Turing"))
        stu = f.student(s, cohort, person=f.user(s, email=STUDENT, name="Sam Student"))
        projects = {
            "robots": f.project(s, cohort, ada, title="Robot arms", tags=["robotics"],
                                description="Build **arms** that *grip*."),
            "swarm": f.project(s, cohort, ada, title="Swarm drones", tags=["robotics", "ai"],
                               description="Many small flying things."),
            "compilers": f.project(s, cohort, alan, title="Compilers", tags=["languages"],
                                   description="Parse and generate code."),
            "proofs": f.project(s, cohort, alan, title="Proof assistants", tags=["languages", "logic"],
                                description="Machine-checked maths."),
        }
        f.project(s, cohort, alan, title="Secret draft", status="proposed")
        ids = {k: p.id for k, p in projects.items()}
        return dict(url=app_database, cohort_id=cohort.id, student_id=stu.id, ids=ids)


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.session_state["local_user_email"] = STUDENT
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def stored(w) -> list[int]:
    with db.session(w["url"]) as s:
        return list(s.scalars(select(Preference.project_id)
                              .where(Preference.cohort_id == w["cohort_id"], Preference.student_id == w["student_id"])
                              .order_by(Preference.rank)))


def save_directly(w, keys):
    with db.session(w["url"]) as s, s.begin():
        s.execute(update(Membership).where(Membership.user_id == w["student_id"])
                  .values(preferences_saved_at=utcnow()))
        for rank, key in enumerate(keys, start=1):
            s.add(Preference(cohort_id=w["cohort_id"], student_id=w["student_id"], project_id=w["ids"][key],
                             rank=rank))


def set_cohort(w, **values):
    with db.session(w["url"]) as s, s.begin():
        s.execute(update(Cohort).where(Cohort.id == w["cohort_id"]).values(**values))


def expander_labels(at) -> list[str]:
    return [e.label for e in at.expander]


def shown(at) -> str:
    parts = [e.value for e in (*at.markdown, *at.caption, *at.info, *at.warning, *at.success, *at.error,
                               *at.subheader)]
    return "\n".join(str(p) for p in parts)


# --- Projects -------------------------------------------------------------------------------------------

def test_projects_lists_approved_projects_with_description_and_supervisor(world):
    at = open_page("pages/student_projects.py")
    labels = expander_labels(at)
    assert len(labels) == 4 and not any("Secret" in label for label in labels)
    assert any("Robot arms" in label and "Ada Lovelace" in label for label in labels)
    assert "Build **arms** that *grip*." in [m.value for m in at.markdown]
    assert "4 projects" in shown(at)


def test_projects_search_and_filters(world):
    at = open_page("pages/student_projects.py")
    at.text_input(key="proj-search").input("turing").run()
    assert sorted(expander_labels(at)) == sorted(["Compilers · Alan Turing", "Proof assistants · Alan Turing"])
    at.text_input(key="proj-search").input("").run()
    at.multiselect(key="proj-tags").select("robotics").run()
    assert len(expander_labels(at)) == 2 and all("Ada" in label for label in expander_labels(at))
    at.multiselect(key="proj-tags").unselect("robotics").run()
    supervisors = at.selectbox(key="proj-supervisor")
    supervisors.select_index(supervisors.options.index("Alan Turing")).run()
    assert all("Alan Turing" in label for label in expander_labels(at)) and len(expander_labels(at)) == 2
    at.text_input(key="proj-search").input("machine-checked").run()
    assert expander_labels(at) == ["Proof assistants · Alan Turing"]
    assert "1 matching of 4 projects" in shown(at)


def test_add_on_projects_then_order_and_save_on_my_preferences(world):
    ids = world["ids"]
    at = open_page("pages/student_projects.py")
    at.button(key=f"add-{ids['proofs']}").click().run()
    at.button(key=f"add-{ids['robots']}").click().run()
    assert "not saved yet" in shown(at)
    assert any(label.startswith("#1 ·") and "Proof assistants" in label for label in expander_labels(at))
    assert stored(world) == []  # nothing is saved until the student saves
    at.switch_page("pages/student_preferences.py").run()
    assert [at.selectbox(key=f"rank-{i}").value for i in range(2)] == [ids["proofs"], ids["robots"]]
    at.button(key="save-preferences").click().run()
    assert not at.error
    assert stored(world) == [ids["proofs"], ids["robots"]]
    assert "Saved" in shown(at)


def test_remove_on_projects(world):
    ids = world["ids"]
    save_directly(world, ["robots", "swarm", "compilers"])
    at = open_page("pages/student_projects.py")
    at.button(key=f"remove-{ids['swarm']}").click().run()
    at.switch_page("pages/student_preferences.py").run()
    at.button(key="save-preferences").click().run()
    assert stored(world) == [ids["robots"], ids["compilers"]]


def test_add_is_on_the_projects_row_not_inside_its_details(world):
    at = open_page("pages/student_projects.py")
    assert len(at.expander) == 4
    assert all(not e.button for e in at.expander)  # nothing to click inside the fold
    for pid in world["ids"].values():
        assert at.button(key=f"add-{pid}").label == "Add to my list"


def test_the_tags_filter_offers_no_select_all(world):
    at = open_page("pages/student_projects.py")
    assert at.multiselect(key="proj-tags").proto.select_all == 0


def test_a_description_that_repeats_the_title_as_a_heading_shows_it_once(world):
    with db.session(world["url"]) as s, s.begin():
        s.execute(update(Project).where(Project.id == world["ids"]["robots"])
                  .values(description="### Robot arms\n\nBuild **arms**.\n\n# Plan\nWeek 1."))
    at = open_page("pages/student_projects.py")
    [text] = [m.value for m in at.markdown if "Build **arms**." in m.value]
    assert text == "Build **arms**.\n\n##### Plan\nWeek 1."


def test_add_is_disabled_when_the_list_is_full(world):
    save_directly(world, ["robots", "swarm", "compilers"])
    at = open_page("pages/student_projects.py")
    assert at.button(key=f"add-{world['ids']['proofs']}").disabled


# --- My preferences -------------------------------------------------------------------------------------

def test_preferences_shows_deadline_time_left_and_not_yet_submitted(world):
    at = open_page("pages/student_preferences.py")
    text = shown(at)
    assert "Deadline:" in text and "left" in text and "Not yet submitted" in text


def test_rank_with_selectboxes_and_save(world):
    ids = world["ids"]
    at = open_page("pages/student_preferences.py")
    at.selectbox(key="rank-new").select(ids["swarm"]).run()
    at.selectbox(key="rank-new").select(ids["compilers"]).run()
    # Options of each rank exclude what is already chosen in the others.
    assert "Compilers — Alan Turing" not in at.selectbox(key="rank-0").options
    assert "Swarm drones — Ada Lovelace" not in at.selectbox(key="rank-new").options
    at.selectbox(key="rank-1").select(ids["proofs"]).run()  # change the 2nd choice
    at.button(key="save-preferences").click().run()
    assert stored(world) == [ids["swarm"], ids["proofs"]]
    assert "Not yet submitted" not in shown(at) and "Saved" in shown(at)


def test_reorder_and_remove(world):
    ids = world["ids"]
    save_directly(world, ["robots", "swarm", "compilers"])
    at = open_page("pages/student_preferences.py")
    assert at.button(key="up-0").disabled and at.button(key="down-2").disabled
    at.button(key="down-0").click().run()  # swarm, robots, compilers
    at.button(key="up-2").click().run()  # swarm, compilers, robots
    assert "unsaved changes" in shown(at)
    assert [at.selectbox(key=f"rank-{i}").value for i in range(3)] == [ids["swarm"], ids["compilers"], ids["robots"]]
    at.button(key="remove-0").click().run()  # compilers, robots
    assert stored(world) == [ids["robots"], ids["swarm"], ids["compilers"]]  # not saved yet
    at.button(key="save-preferences").click().run()
    assert stored(world) == [ids["compilers"], ids["robots"]]


def test_the_ranking_shows_whole_titles_and_buttons_under_the_drag_list(world):
    ids = world["ids"]
    save_directly(world, ["robots", "swarm", "compilers"])
    at = open_page("pages/student_preferences.py")
    # The drag-and-drop list is drawn (a custom component AppTest cannot drag), over the same order.
    [drag] = at.get("component_instance")
    first_key = drag.key
    assert first_key.startswith("pref-sort-")
    # The native rows (the keyboard path) are folded under it, each title as text that wraps on a phone.
    [buttons] = [e for e in at.expander if "with buttons" in e.label]
    assert [b.key for b in buttons.button] == [k for i in range(3) for k in (f"up-{i}", f"down-{i}", f"remove-{i}")]
    assert [m.value for m in buttons.markdown if "—" in m.value] == [
        "Robot arms — Ada Lovelace", "Swarm drones — Ada Lovelace", "Compilers — Alan Turing"]
    at.button(key="up-2").click().run()
    assert [at.selectbox(key=f"rank-{i}").value for i in range(3)] == [ids["robots"], ids["compilers"], ids["swarm"]]
    # A fresh drag list for the new order: the component keeps its own copy of the list it was given.
    [drag] = at.get("component_instance")
    assert drag.key != first_key
    at.run()  # nothing changed: the same drag list stays
    assert at.get("component_instance")[0].key == drag.key


def test_a_single_choice_has_its_buttons_without_the_drag_list(world):
    save_directly(world, ["robots"])
    at = open_page("pages/student_preferences.py")
    assert not [e for e in at.expander if "with buttons" in e.label]
    assert at.button(key="remove-0") and not at.get("component_instance")


def test_discard_restores_the_saved_list(world):
    ids = world["ids"]
    save_directly(world, ["robots", "swarm"])
    at = open_page("pages/student_preferences.py")
    at.button(key="remove-0").click().run()
    at.button(key="discard-preferences").click().run()
    assert [at.selectbox(key=f"rank-{i}").value for i in range(2)] == [ids["robots"], ids["swarm"]]


def test_too_few_choices_is_an_error_and_nothing_is_saved(world):
    at = open_page("pages/student_preferences.py")
    at.selectbox(key="rank-new").select(world["ids"]["robots"]).run()
    at.button(key="save-preferences").click().run()
    assert any("at least 2" in e.value for e in at.error)
    assert stored(world) == []
    assert "Not yet submitted" in shown(at)


def test_too_many_choices_is_an_error_and_nothing_is_saved(world):
    ids = world["ids"]
    save_directly(world, ["robots", "swarm", "compilers"])
    at = open_page("pages/student_preferences.py")
    set_cohort(world, max_choices=2)  # the coordinator lowers the maximum while the student edits
    at.selectbox(key="rank-2").select(ids["proofs"]).run()
    at.button(key="save-preferences").click().run()
    assert any("at most 2" in e.value for e in at.error)
    assert stored(world) == [ids["robots"], ids["swarm"], ids["compilers"]]


def test_the_list_is_full_at_the_maximum(world):
    save_directly(world, ["robots", "swarm", "compilers"])
    at = open_page("pages/student_preferences.py")
    assert not [s for s in at.selectbox if s.key == "rank-new"]
    assert "Your list is full" in shown(at)


def test_saving_after_the_window_closed_is_an_error_and_nothing_is_saved(world):
    ids = world["ids"]
    at = open_page("pages/student_preferences.py")
    at.selectbox(key="rank-new").select(ids["robots"]).run()
    at.selectbox(key="rank-new").select(ids["swarm"]).run()
    now = utcnow()
    set_cohort(world, preferences_open_at=now - timedelta(days=2), preferences_close_at=now - timedelta(minutes=1))
    at.button(key="save-preferences").click().run()
    assert any("deadline" in e.value for e in at.error)
    assert stored(world) == []


def test_read_only_after_the_deadline(world):
    save_directly(world, ["compilers", "robots"])
    now = utcnow()
    set_cohort(world, preferences_open_at=now - timedelta(days=2), preferences_close_at=now - timedelta(hours=1))
    at = open_page("pages/student_preferences.py")
    assert "read-only" in shown(at)
    assert not at.selectbox and not [b for b in at.button if b.key == "save-preferences"]
    assert "1. Compilers — Alan Turing\n2. Robot arms — Ada Lovelace" in [m.value for m in at.markdown]
    # The projects page shows the saved list and no add or remove buttons.
    at.switch_page("pages/student_projects.py").run()
    assert not [b for b in at.button if b.key and b.key.startswith(("add-", "remove-"))]
    assert any(label.startswith("#1 ·") and "Compilers" in label for label in expander_labels(at))


def test_before_the_window_opens_the_page_says_so(world):
    now = utcnow()
    set_cohort(world, preferences_open_at=now + timedelta(days=1), preferences_close_at=now + timedelta(days=2))
    at = open_page("pages/student_preferences.py")
    assert "opens" in shown(at) and not at.selectbox


# --- My allocation --------------------------------------------------------------------------------------

def publish(w, key, rank, *, locked=False):
    with db.session(w["url"]) as s, s.begin():
        run = AllocationRun(cohort_id=w["cohort_id"], objective="generous", status="optimal", published_at=utcnow())
        s.add(run)
        s.flush()
        s.add(Assignment(run_id=run.id, student_id=w["student_id"], project_id=w["ids"][key], rank=rank))
        s.execute(update(Cohort).where(Cohort.id == w["cohort_id"]).values(responses_locked=locked))
        return run.id


def response(w):
    with db.session(w["url"]) as s:
        return s.execute(select(Response.accepted, Response.reason).where(Response.student_id == w["student_id"])).all()


def test_allocation_before_publication(world):
    at = open_page("pages/student_allocation.py")
    assert "not been published" in shown(at)
    assert not [b for b in at.button if b.key in ("alloc-accept", "alloc-decline")]


def test_allocation_shows_project_supervisor_and_rank_and_accepts(world):
    save_directly(world, ["robots", "swarm"])
    publish(world, "swarm", 2)
    at = open_page("pages/student_allocation.py")
    text = shown(at)
    assert "Swarm drones" in text and "Ada Lovelace" in text and "2nd choice" in text
    at.button(key="alloc-accept").click().run()
    assert response(world) == [(True, "")]
    assert "You accepted" in shown(at)


def test_decline_with_a_reason(world):
    publish(world, "compilers", 1)
    at = open_page("pages/student_allocation.py")
    at.text_area(key="alloc-reason").input("I am on exchange next year.")
    at.button(key="alloc-decline").click().run()
    assert response(world) == [(False, "I am on exchange next year.")]
    assert "You declined" in shown(at)


def test_no_answer_once_responses_are_locked(world):
    publish(world, "compilers", 1, locked=True)
    at = open_page("pages/student_allocation.py")
    assert "Responses are closed" in shown(at)
    assert not [b for b in at.button if b.key in ("alloc-accept", "alloc-decline")]


def test_locking_while_the_page_is_open_shows_an_error_and_saves_nothing(world):
    publish(world, "compilers", 1)
    at = open_page("pages/student_allocation.py")
    set_cohort(world, responses_locked=True)
    at.button(key="alloc-accept").click().run()
    assert any("locked" in e.value for e in at.error)
    assert response(world) == []


def test_the_explanation_is_a_courtesy_shown_when_it_can_be_made(world, monkeypatch):
    publish(world, "swarm", 2)

    def broken(session, *, actor, cohort_id):
        raise RuntimeError("the explanation cannot be made")

    monkeypatch.setattr(services, "explain_for_student", broken)
    at = open_page("pages/student_allocation.py")
    assert "Swarm drones" in shown(at) and "Why not a higher choice?" not in shown(at)
    assert not at.exception and not at.error
    monkeypatch.setattr(services, "explain_for_student",
                        lambda session, *, actor, cohort_id: ["Robot arms was full with students who ranked it "
                                                              "first."])
    at.run()
    assert "Why not a higher choice?" in shown(at)
    assert "- Robot arms was full with students who ranked it first." in [m.value for m in at.markdown]


# --- Notifications --------------------------------------------------------------------------------------

def test_notifications_are_listed_and_marked_read(world):
    with db.session(world["url"]) as s, s.begin():
        services.notify(s, user_ids=[world["student_id"]], cohort_id=world["cohort_id"], kind="published",
                        subject="Your allocation is published", body="See **My allocation**.")
        services.notify(s, user_ids=[world["student_id"]], cohort_id=None, kind="reminder", subject="Deadline soon")
        ids = s.scalars(select(Notification.id).order_by(Notification.id)).all()
    at = open_page("pages/notifications.py")
    assert "2 unread" in shown(at) and "See **My allocation**." in [m.value for m in at.markdown]
    at.button(key=f"notif-read-{ids[0]}").click().run()
    assert "1 unread" in shown(at)
    at.toggle(key="notif-unread-only").set_value(True).run()
    subjects = [m.value for m in at.markdown if "Deadline soon" in m.value or "published" in m.value]
    assert subjects == [":blue[:material/fiber_manual_record:] **Deadline soon**"]
    at.button(key="notif-read-all").click().run()
    with db.session(world["url"]) as s:
        assert s.scalar(select(Notification.id).where(Notification.read_at.is_(None))) is None
    assert "Nothing unread." in shown(at)


# --- what the dates say (issue 11) ----------------------------------------------------------------------

def page_links(at) -> list[str]:
    return [str(e.proto.label) for e in at.get("page_link")]


def test_after_publication_the_preferences_page_does_not_say_the_deadline_passed(world):
    save_directly(world, ["compilers", "robots"])
    publish(world, "compilers", 1)  # published before the deadline (it is tomorrow)
    at = open_page("pages/student_preferences.py")
    text = shown(at)
    assert "deadline has passed" not in text and "published" in text and "read-only" in text


def test_proposals_forced_open_pause_preferences_and_the_page_says_so(world):
    set_cohort(world, phase_override="proposals")
    at = open_page("pages/student_preferences.py")
    text = shown(at)
    assert "choosing projects opens" not in text.lower()  # its opening date is past: it cannot "open" on it
    assert "paused" in text and "proposals" in text


def test_closed_by_the_coordinator_before_the_deadline_says_so(world):
    set_cohort(world, phase_override="closed")
    at = open_page("pages/student_preferences.py")
    text = shown(at)
    assert "deadline has passed" not in text and "coordinator" in text and "read-only" in text


def test_home_after_publication_points_to_the_allocation_not_to_ranking(world):
    publish(world, "compilers", 1)
    at = open_page("pages/home.py")
    links = page_links(at)
    assert "See your allocation" in links and "Rank your choices" not in links


def test_home_while_choosing_is_open_points_to_ranking(world):
    at = open_page("pages/home.py")
    assert "Rank your choices" in page_links(at)
