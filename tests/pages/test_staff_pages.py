"""The supervisor's pages driven through the real app.py: My projects and Propose."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from streamlit.testing.v1 import AppTest

from allocator import db
from allocator.models import AllocationRun, Assignment, Cohort, Project, Response, utcnow
from tests import factories as f
from tests.conftest import APP_PATH

STAFF = "ada@uni.example"


@pytest.fixture
def world(app_database):
    with db.session(app_database) as s, s.begin():
        cohort = f.cohort(s, name="MEng 2026/27", phase="proposals", max_choices=3)
        ada = f.staff(s, cohort, person=f.user(s, email=STAFF, name="Ada Lovelace"))
        alan = f.staff(s, cohort, person=f.user(s, email="alan@uni.example", name="Alan Turing"))
        mine = f.project(s, cohort, ada, title="Robot arms", capacity=2, tags=["robotics"], status="approved",
                         description="Build **arms**.")
        rejected = f.project(s, cohort, ada, title="Vague idea", status="rejected", reject_reason="Too vague, sorry")
        theirs = f.project(s, cohort, alan, title="Compilers")
        return dict(url=app_database, cohort_id=cohort.id, ada_id=ada.id, mine=mine.id, rejected=rejected.id,
                    theirs=theirs.id)


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.session_state["local_user_email"] = STAFF
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def shown(at) -> str:
    parts = [e.value for e in (*at.markdown, *at.caption, *at.info, *at.warning, *at.success, *at.error,
                               *at.subheader)]
    return "\n".join(str(p) for p in parts)


def project(w, project_id) -> Project:
    with db.session(w["url"]) as s:
        return s.get(Project, project_id)


def projects_of(w) -> dict[str, Project]:
    with db.session(w["url"]) as s:
        return {p.title: p for p in s.scalars(select(Project).where(Project.supervisor_id == w["ada_id"]))}


def set_phase(w, phase):
    now, day = utcnow(), timedelta(days=1)
    dates = {"preferences": dict(proposals_open_at=now - 3 * day, proposals_close_at=now - 2 * day,
                                 preferences_open_at=now - day, preferences_close_at=now + day)}[phase]
    with db.session(w["url"]) as s, s.begin():
        s.execute(update(Cohort).where(Cohort.id == w["cohort_id"]).values(**dates))


# --- My projects ----------------------------------------------------------------------------------------

def test_my_projects_shows_mine_with_status_and_the_reject_reason(world):
    at = open_page("pages/staff_projects.py")
    text = shown(at)
    assert "**Robot arms**" in text and "**Vague idea**" in text and "Compilers" not in text
    assert "Approved" in text and "Rejected" in text
    assert any("Too vague, sorry" in w.value for w in at.warning)


def test_demand_shows_counts_per_rank_and_no_names(world):
    with db.session(world["url"]) as s, s.begin():
        cohort = s.get(Cohort, world["cohort_id"])
        mine, theirs = s.get(Project, world["mine"]), s.get(Project, world["theirs"])
        for i, lst in enumerate(([mine], [mine], [theirs, mine])):
            f.preferences(s, cohort, f.student(s, cohort, person=f.user(s, name=f"Hidden Name {i}")), lst)
    at = open_page("pages/staff_projects.py")
    text = shown(at)
    assert "ranked by 3 students — 1st: 2 · 2nd: 1" in text
    assert "Hidden Name" not in text


def test_after_publication_allocated_students_and_answers_are_shown(world):
    with db.session(world["url"]) as s, s.begin():
        cohort = s.get(Cohort, world["cohort_id"])
        a = f.student(s, cohort, person=f.user(s, name="Bea Student", email="bea@uni.example"))
        b = f.student(s, cohort, person=f.user(s, name="Cy Student", email="cy@uni.example"))
        run = AllocationRun(cohort_id=cohort.id, objective="generous", status="optimal", published_at=utcnow())
        s.add(run)
        s.flush()
        s.add_all([Assignment(run_id=run.id, student_id=a.id, project_id=world["mine"], rank=1),
                   Assignment(run_id=run.id, student_id=b.id, project_id=world["mine"], rank=2),
                   Response(run_id=run.id, student_id=b.id, accepted=False, reason="Exchange year")])
    at = open_page("pages/staff_projects.py")
    text = shown(at)
    assert "Allocated students** (2 of 2)" in text
    assert "Bea Student (bea@uni.example) — 1st choice — :orange[:material/hourglass_top:] no answer yet" in text
    assert "Cy Student (cy@uni.example) — 2nd choice — :red[:material/cancel:] declined: “Exchange year”" in text


def test_edit_button_opens_the_project_on_the_propose_page(world):
    at = open_page("pages/staff_projects.py")
    at.button(key=f"edit-{world['mine']}").click().run()
    assert not at.exception
    assert at.text_input(key="pp-title").value == "Robot arms"
    assert at.selectbox(key="pp-which").value == world["mine"]


# --- Propose --------------------------------------------------------------------------------------------

def test_propose_a_project_with_preview(world):
    at = open_page("pages/staff_propose.py")
    at.text_input(key="pp-title").input("Autonomous boats")
    at.text_area(key="pp-desc").input("# Plan\nBuild a **boat**.")
    at.number_input(key="pp-capacity").set_value(3)
    at.number_input(key="pp-min").set_value(1)
    at.text_input(key="pp-tags").input("sea, robotics, sea").run()
    assert "# Plan\nBuild a **boat**." in [m.value for m in at.markdown]  # the preview tab
    at.button(key="pp-submit").click().run()
    assert not at.error
    boat = projects_of(world)["Autonomous boats"]
    assert (boat.status, boat.capacity, boat.min_students, boat.tags, boat.cohort_id) == \
        ("proposed", 3, 1, ["sea", "robotics"], world["cohort_id"])
    assert boat.description == "# Plan\nBuild a **boat**."
    assert any("waiting for the coordinator" in s.value for s in at.success)
    assert at.selectbox(key="pp-which").value == boat.id  # further edits change this project


def test_propose_shows_validation_errors_and_saves_nothing(world):
    at = open_page("pages/staff_propose.py")
    at.button(key="pp-submit").click().run()
    assert any("title" in e.value for e in at.error)
    at.text_input(key="pp-title").input("Too small")
    at.number_input(key="pp-capacity").set_value(2)
    at.number_input(key="pp-min").set_value(3).run()
    at.button(key="pp-submit").click().run()
    assert any("minimum number of students" in e.value for e in at.error)
    assert set(projects_of(world)) == {"Robot arms", "Vague idea"}


def test_edit_my_project(world):
    at = open_page("pages/staff_propose.py")
    at.selectbox(key="pp-which").select(world["mine"]).run()
    assert at.text_input(key="pp-title").value == "Robot arms"
    assert at.text_area(key="pp-desc").value == "Build **arms**."
    at.text_input(key="pp-title").input("Robot arms and hands")
    at.number_input(key="pp-capacity").set_value(4).run()
    at.button(key="pp-submit").click().run()
    assert not at.error
    p = project(world, world["mine"])
    assert (p.title, p.capacity, p.tags, p.status) == ("Robot arms and hands", 4, ["robotics"], "approved")


def test_editing_a_rejected_project_sends_it_back(world):
    at = open_page("pages/staff_propose.py")
    at.selectbox(key="pp-which").select(world["rejected"]).run()
    assert any("Too vague, sorry" in w.value for w in at.warning)
    at.text_area(key="pp-desc").input("A precise plan.").run()
    at.button(key="pp-submit").click().run()
    p = project(world, world["rejected"])
    assert (p.status, p.reject_reason, p.description) == ("proposed", None, "A precise plan.")


def test_withdraw_my_project_after_confirming(world):
    at = open_page("pages/staff_propose.py")
    at.selectbox(key="pp-which").select(world["mine"]).run()
    at.button(key="pp-withdraw").click().run()
    assert project(world, world["mine"]).status == "approved"  # not before confirming
    at.button(key="pp-withdraw-confirm").click().run()
    assert project(world, world["mine"]).status == "withdrawn"
    assert at.selectbox(key="pp-which").value == 0
    assert world["mine"] not in at.selectbox(key="pp-which").options


def test_only_my_projects_can_be_chosen_for_editing(world):
    at = open_page("pages/staff_propose.py")
    labels = at.selectbox(key="pp-which").options
    assert not any("Compilers" in label for label in labels)
    assert any("Robot arms" in label for label in labels)


def test_closing_proposals_while_editing_shows_an_error_and_saves_nothing(world):
    at = open_page("pages/staff_propose.py")
    at.selectbox(key="pp-which").select(world["mine"]).run()
    at.text_input(key="pp-title").input("Changed too late")
    set_phase(world, "preferences")
    at.button(key="pp-submit").click().run()
    assert project(world, world["mine"]).title == "Robot arms"
    assert any("Proposals are closed" in e.value for e in at.error)


def test_propose_page_is_closed_outside_the_proposals_window(world):
    set_phase(world, "preferences")
    at = open_page("pages/staff_propose.py")
    assert "Proposals are closed" in shown(at)
    assert not at.text_input and not [b for b in at.button if b.key == "pp-submit"]
    at.switch_page("pages/staff_projects.py").run()
    assert not [b for b in at.button if b.key and b.key.startswith("edit-")]


def test_a_student_cannot_open_the_staff_pages(world):
    with db.session(world["url"]) as s, s.begin():
        f.student(s, s.get(Cohort, world["cohort_id"]), person=f.user(s, email="stu@uni.example"))
    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.session_state["local_user_email"] = "stu@uni.example"
    at.run()
    with pytest.raises(ValueError):
        at.switch_page("pages/staff_propose.py")


# --- what the dates say (issue 11) ----------------------------------------------------------------------

def test_proposals_forced_open_after_their_closing_date_name_no_past_date(world):
    now = utcnow()
    with db.session(world["url"]) as s, s.begin():
        s.execute(update(Cohort).where(Cohort.id == world["cohort_id"]).values(
            proposals_open_at=now - timedelta(days=21), proposals_close_at=now - timedelta(days=14),
            phase_override="proposals"))
    at = open_page("pages/staff_propose.py")
    text = shown(at)
    assert "Proposals close" not in text and "until the coordinator closes them" in text
    assert [b for b in at.button if b.key == "pp-submit"]


def test_home_offers_proposing_only_while_proposals_are_open(world):
    at = open_page("pages/home.py")
    assert "Propose a project" in [str(e.proto.label) for e in at.get("page_link")]
    set_phase(world, "preferences")
    at = open_page("pages/home.py")
    links = [str(e.proto.label) for e in at.get("page_link")]
    assert "Propose a project" not in links and "Your projects and their demand" in links


def test_the_seeded_demo_gives_every_role_a_next_step_it_can_take(app_database):
    """The demo as a first start makes it (bootstrap's seed): each role's first next step is open to it."""
    from allocator import seeding, services

    seeding.seed(app_database, students=30, projects=10, staff=5)
    expected = {seeding.DEMO_STUDENT: "Browse projects", seeding.DEMO_STAFF: "Your projects and their demand",
                seeding.DEMO_ADMIN: "Dates and rules"}
    for email, first in expected.items():
        at = AppTest.from_file(APP_PATH, default_timeout=30)
        at.session_state["local_user_email"] = email
        at.run()
        assert not at.exception, at.exception
        links = [str(e.proto.label) for e in at.get("page_link")]
        assert links[0] == first, (email, links)
        assert "Propose a project" not in links  # the demo opens with preferences open, proposals closed
    from sqlalchemy import select

    from allocator.models import User

    with db.session(app_database) as s:
        admin_id = s.scalar(select(User.id).where(User.email == seeding.DEMO_ADMIN))
        cohort = services.get_cohort(s, actor=services.Actor(admin_id, seeding.DEMO_ADMIN, "", True), cohort_id=1)
    assert cohort.phase == "preferences"


def test_the_form_opens_and_saves_a_project_imported_at_every_limit(world):
    """The form's widgets take the same limits as the import: a number input whose bounds were tighter
    than the stored value would fail to draw, and the service would refuse the save."""
    from allocator import domain, io, services

    tags = [f"{i:02d}" + "t" * (domain.PROJECT_TAG_LENGTH_MAX - 2) for i in range(domain.PROJECT_TAGS_MAX)]
    data = io.to_csv_bytes([{"title": "Big catch-all", "capacity": domain.PROJECT_CAPACITY_MAX,
                             "supervisor_email": STAFF, "tags": "; ".join(tags), "status": "approved"}])
    with db.session(world["url"]) as s, s.begin():
        admin = f.actor(f.admin(s))
        assert services.apply_projects_import(s, actor=admin, cohort_id=world["cohort_id"], data=data).added == 1
    big = projects_of(world)["Big catch-all"]
    at = open_page("pages/staff_propose.py")
    at.selectbox(key="pp-which").select(big.id).run()
    assert not at.exception, at.exception
    assert at.number_input(key="pp-capacity").value == domain.PROJECT_CAPACITY_MAX
    at.text_input(key="pp-title").input("Big catch-all, renamed").run()
    at.button(key="pp-submit").click().run()
    assert not at.error and not at.exception
    p = project(world, big.id)
    assert (p.title, p.capacity, p.tags) == ("Big catch-all, renamed", domain.PROJECT_CAPACITY_MAX, tags)


def test_allocated_students_who_came_as_a_group_are_shown_together(world):
    with db.session(world["url"]) as s, s.begin():
        cohort = s.get(Cohort, world["cohort_id"])
        a = f.student(s, cohort, person=f.user(s, name="Bea Student", email="bea@uni.example"))
        b = f.student(s, cohort, person=f.user(s, name="Cy Student", email="cy@uni.example"))
        c = f.student(s, cohort, person=f.user(s, name="Di Student", email="di@uni.example"))
        # Only the record's groups are read for this: the rest of the problem is not needed here.
        run = AllocationRun(cohort_id=cohort.id, objective="generous", status="optimal", published_at=utcnow(),
                            record={"problem": {"groups": [{"id": "G1", "members": [f"S{a.id}", f"S{b.id}"]}]}})
        s.add(run)
        s.flush()
        s.add_all([Assignment(run_id=run.id, student_id=x.id, project_id=world["mine"], rank=1) for x in (a, b, c)])
    text = shown(open_page("pages/staff_projects.py"))
    assert "Bea Student (bea@uni.example) — in a group with Cy Student — 1st choice" in text
    assert "Cy Student (cy@uni.example) — in a group with Bea Student — 1st choice" in text
    assert "Di Student (di@uni.example) — 1st choice" in text
