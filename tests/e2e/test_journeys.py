"""Browser journeys: the app as students, staff and a coordinator meet it, through Chromium.

The journeys follow a real cohort (the student ranks, a supervisor proposes, the coordinator approves,
allocates, publishes and exports, students answer), but each one starts from the same fresh data (the
`deployment` fixture resets the database) and first makes, through the services, what it needs from the
steps before it: no journey depends on another one's leftovers, so any order and any subset runs the
same. Assertions are on what the page shows and on the database. One screenshot per journey goes to
test-artifacts/e2e/.
"""
from __future__ import annotations

import csv
import io
import itertools
import re
from collections import Counter

import pytest

from tests.e2e.conftest import skip_reason

if skip_reason():  # no Playwright or no /usr/bin/chromium: one clean skip for the whole module
    pytest.skip(skip_reason(), allow_module_level=True)

from playwright.sync_api import expect
from sqlalchemy import func, select

from allocator import db, services
from allocator.models import (
    AllocationRun,
    Assignment,
    Membership,
    Notification,
    Preference,
    Project,
    Response,
    User,
)
from tests.e2e.conftest import Deployment, Person
from tests.e2e.driver import ADMIN_TITLES, ADMIN_URL_PATHS, App, assert_no_admin_content

pytestmark = pytest.mark.e2e

NEW_PROJECT = {
    "title": "Café robots for the campus allotment (e2e)",
    "description": ("Build **small robots** that water the allotment.\n\n"
                    "- weeks 1–4: a prototype\n- weeks 5–10: field trials"),
    "capacity": 3,
    "tags": ["robotics", "sustainability"],
}



# --- the database side ---------------------------------------------------------------------------------

def actor(person: Person, *, admin: bool = False) -> services.Actor:
    return services.Actor(person.user_id, person.email, person.name, admin)


def set_phase(dep: Deployment, phase: str | None) -> None:
    """What the coordinator does in Cohort settings ("Force: …"), through the service."""
    with db.session(dep.database_url) as s, s.begin():
        services.update_cohort_settings(s, actor=actor(dep.admin, admin=True), cohort_id=dep.cohort_id,
                                        phase_override=phase)


def least_wanted_projects(dep: Deployment, n: int = 5) -> list[tuple[int, str, str]]:
    """(id, code, title) of the n approved projects fewest students ranked: the demo student, ranking
    them, is sure to be placed by an allocation that places as many students as it can."""
    with db.session(dep.database_url) as s:
        demand = func.count(Preference.id)
        rows = s.execute(
            select(Project.id, Project.code, Project.title)
            .outerjoin(Preference, Preference.project_id == Project.id)
            .where(Project.cohort_id == dep.cohort_id, Project.status == "approved", Project.code.is_not(None))
            .group_by(Project.id, Project.code, Project.title)
            .order_by(demand, Project.id)
            .limit(n)
        ).all()
    return [tuple(r) for r in rows]


def counts(dep: Deployment) -> dict[str, int]:
    """Approved and all projects, students, and the most choices a student may rank."""
    with db.session(dep.database_url) as s:
        statuses = list(s.scalars(select(Project.status).where(Project.cohort_id == dep.cohort_id)))
        students = s.scalar(select(func.count(Membership.id)).where(
            Membership.cohort_id == dep.cohort_id, Membership.role == "student"))
        cohort = services.get_cohort(s, actor=actor(dep.admin, admin=True), cohort_id=dep.cohort_id)
    return {"approved": statuses.count("approved"), "projects": len(statuses), "students": students,
            "max_choices": cohort.max_choices}


def saved_list(dep: Deployment, person: Person) -> list[int]:
    with db.session(dep.database_url) as s:
        return list(s.scalars(select(Preference.project_id).where(
            Preference.cohort_id == dep.cohort_id, Preference.student_id == person.user_id).order_by(Preference.rank)))


def published_run(dep: Deployment) -> int | None:
    with db.session(dep.database_url) as s:
        return services.published_run_id(s, dep.cohort_id)


_made = itertools.count(1)


def make_proposal(dep: Deployment) -> tuple[int, str]:
    """(id, title) of a supervisor's proposal awaiting approval, made through the service."""
    set_phase(dep, "proposals")
    fields = dict(NEW_PROJECT, title=f"Beehive sensors, proposed through the service {next(_made)} (e2e)")
    with db.session(dep.database_url) as s, s.begin():
        view = services.propose_project(s, actor=actor(dep.staff), cohort_id=dep.cohort_id, **fields)
    return view.id, view.title


def make_published(dep: Deployment) -> int:
    """A published run in which the demo student has a project: they rank the least wanted projects, and
    the coordinator runs and publishes, through the services."""
    assert published_run(dep) is None, "every journey starts from fresh data"
    set_phase(dep, "preferences")
    with db.session(dep.database_url) as s, s.begin():
        services.save_preferences(s, actor=actor(dep.student), cohort_id=dep.cohort_id,
                                  project_ids=[pid for pid, _, _ in least_wanted_projects(dep)])
    set_phase(dep, "closed")
    admin = actor(dep.admin, admin=True)
    with db.session(dep.database_url) as s, s.begin():
        params = services.default_parameters(s, actor=admin, cohort_id=dep.cohort_id)
        run = services.run_allocation(s, actor=admin, cohort_id=dep.cohort_id, params=params, label="e2e")
        services.publish_run(s, actor=admin, run_id=run.id)
    return run.id


# --- the browser side ----------------------------------------------------------------------------------

def expect_ranked(app: App, titles: list[str]) -> None:
    """My preferences shows exactly these projects, in this order: each rank's row reads
    "<title> — <supervisor>", and so does the drag-and-drop list above the rows."""
    for i, title in enumerate(titles):
        expect(app.keyed(f"title-{i}")).to_contain_text(re.compile(rf"^{re.escape(title)} — "))
    expect(app.keyed(f"title-{len(titles)}")).to_have_count(0)
    drag_list = app.page.frame_locator('iframe[title="streamlit_sortables.sortable_items"]').locator(".sortable-item")
    expect(drag_list).to_have_text([re.compile(rf"^{re.escape(t)} — ") for t in titles])


# --- journeys --------------------------------------------------------------------------------------------

def test_student_searches_ranks_reorders_saves_and_finds_the_list_after_a_reload(app, deployment, artifacts):
    dep = deployment
    set_phase(dep, "preferences")
    chosen = least_wanted_projects(dep)
    assert len(chosen) == 5
    n_approved, most = counts(dep)["approved"], counts(dep)["max_choices"]
    app.open("/")
    app.sign_in(dep.student.name, dep.student.email)
    app.go("Projects")
    expect(app.main.get_by_role("heading", name="Projects", exact=True)).to_be_visible()
    expect(app.main.get_by_text(f"{n_approved} projects", exact=True)).to_be_visible()

    # Search by each project's code: the list narrows to that one project, which is added to the list.
    for n, (pid, code, title) in enumerate(chosen, start=1):
        app.type_text("proj-search", code)
        expect(app.main.get_by_text(f"1 matching of {n_approved} projects", exact=True)).to_be_visible()
        expanders = app.main.locator('[data-testid="stExpander"]')
        expect(expanders).to_have_count(1)
        expect(expanders.first.locator("summary")).to_contain_text(title)
        app.click(f"add-{pid}")  # on the project's row: no need to open its details
        expect(app.main.get_by_text(f"Your list: {n} of at most {most} projects", exact=False)).to_be_visible()
        expect(expanders.first.locator("summary")).to_contain_text(f"#{n} · ")
    app.type_text("proj-search", "no project is called this")
    expect(app.main.get_by_text("No project matches your search.")).to_be_visible()

    # Order them: the fourth moves up one place, then save.
    app.go("My preferences")
    expect(app.main.get_by_role("heading", name="My preferences")).to_be_visible()
    titles = [title for _, _, title in chosen]
    expect_ranked(app, titles)
    app.unfold("Move, remove or change choices with buttons")  # the keyboard path
    app.click("up-3")
    expected = [titles[0], titles[1], titles[3], titles[2], titles[4]]
    expect_ranked(app, expected)
    expect(app.main.get_by_text("You have unsaved changes.")).to_be_visible()
    app.click("save-preferences")
    expect(app.main.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="Saved")).to_be_visible()
    expect(app.main.get_by_text("You have unsaved changes.")).to_have_count(0)

    expected_ids = [chosen[i][0] for i in (0, 1, 3, 2, 4)]
    assert saved_list(dep, dep.student) == expected_ids
    with db.session(dep.database_url) as s:
        assert s.scalar(select(Membership.preferences_saved_at).where(
            Membership.cohort_id == dep.cohort_id, Membership.user_id == dep.student.user_id)) is not None

    # A reload is a new Streamlit session; the tab's sign-in carries over, same page, and the saved order is there.
    app.reload()
    app.expect_signed_in(dep.student.name, dep.student.email)
    expect(app.main.get_by_role("heading", name="My preferences")).to_be_visible()
    expect(app.main.get_by_text("Not yet submitted")).to_have_count(0)
    expect_ranked(app, expected)
    app.screenshot(artifacts, "1-student-preferences")


def test_signing_in_returns_to_the_page_in_the_url(app, deployment):
    app.open("student_allocation")
    app.sign_in(deployment.student.name, deployment.student.email)
    expect(app.main.get_by_role("heading", name="My allocation")).to_be_visible(timeout=3_000)


def test_staff_member_proposes_a_project(app, deployment, artifacts):
    dep = deployment
    set_phase(dep, "proposals")
    app.open("/")
    app.sign_in(dep.staff.name, dep.staff.email)
    app.go("Propose")
    expect(app.main.get_by_role("heading", name="Propose a project")).to_be_visible()

    app.type_text("pp-title", NEW_PROJECT["title"])
    app.type_area("pp-desc", NEW_PROJECT["description"])
    app.set_number("pp-capacity", NEW_PROJECT["capacity"])
    app.type_text("pp-tags", ", ".join(NEW_PROJECT["tags"]))
    app.tab("Preview")  # the Markdown preview renders, bold and list included
    preview = app.main.get_by_role("tabpanel", name="Preview")
    expect(preview.locator("strong", has_text="small robots")).to_be_visible()
    expect(preview.locator("li")).to_have_count(2)
    app.click("pp-submit")
    expect(app.main.locator('[data-testid="stAlertContentSuccess"]')).to_contain_text(
        "waiting for the coordinator's approval")

    with db.session(dep.database_url) as s:
        project = s.execute(select(Project).where(Project.cohort_id == dep.cohort_id,
                                                  Project.title == NEW_PROJECT["title"])).scalar_one()
        assert (project.status, project.supervisor_id, project.capacity, list(project.tags)) == (
            "proposed", dep.staff.user_id, NEW_PROJECT["capacity"], NEW_PROJECT["tags"])
        assert project.description == NEW_PROJECT["description"]
    app.screenshot(artifacts, "2-staff-propose")


def test_coordinator_approves_allocates_publishes_and_exports(app, deployment, artifacts, tmp_path):
    dep = deployment
    project_id, title = make_proposal(dep)
    set_phase(dep, "proposals")
    app.open("/")
    app.sign_in(dep.admin.name, dep.admin.email)

    # Approve the supervisor's proposal.
    app.go("Projects")
    expect(app.main.get_by_role("heading", name="Projects", exact=True)).to_be_visible()
    app.type_text("projects-search", title)
    expect(app.main.get_by_text(f"1 of {counts(dep)['projects']} projects", exact=True)).to_be_visible()
    app.click(f"project-{project_id}-approve")
    expect(app.main.locator('[data-testid="stAlertContentSuccess"]')).to_be_visible()
    with db.session(dep.database_url) as s:
        assert s.get(Project, project_id).status == "approved"

    # Preferences close; run the allocation.
    set_phase(dep, "closed")
    n_students = counts(dep)["students"]
    with db.session(dep.database_url) as s:
        runs_before = s.scalar(select(func.count(AllocationRun.id)).where(AllocationRun.cohort_id == dep.cohort_id))
    app.go("Allocation studio")
    expect(app.main.get_by_role("heading", name="Allocation studio")).to_be_visible()
    app.segment("studio-view", "Run")
    app.click("studio-run-button")
    notice = app.main.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="students placed")
    expect(notice).to_be_visible()
    with db.session(dep.database_url) as s:
        run = s.execute(select(AllocationRun).where(AllocationRun.cohort_id == dep.cohort_id)
                        .order_by(AllocationRun.id.desc())).scalars().first()
        assert run is not None and runs_before + 1 == s.scalar(
            select(func.count(AllocationRun.id)).where(AllocationRun.cohort_id == dep.cohort_id))
        run_id, status = run.id, run.status
        placed = s.scalar(select(func.count(Assignment.id)).where(Assignment.run_id == run_id,
                                                                  Assignment.project_id.is_not(None)))
    assert status == "optimal"
    expect(notice).to_contain_text(f"Run #{run_id} is optimal: {placed} of {n_students} students placed")

    # The charts of the run.
    app.segment("studio-view", "See")
    for key in ("see-profile", "see-topk"):
        chart = app.keyed(key).locator('[data-testid="stPlotlyChart"]')
        expect(chart).to_be_visible()
        expect(chart.locator(".main-svg").first).to_be_visible()
    expect(app.keyed("see-profile").locator(".bars path, .point path").first).to_be_attached()
    app.screenshot(artifacts, "3-coordinator-studio-charts")

    # Publish it.
    app.segment("studio-view", "Publish")
    app.check("publish-confirm")
    app.click("publish-button")
    expect(app.main.locator('[data-testid="stAlertContentSuccess"]').filter(
        has_text=f"Run #{run_id} is published")).to_be_visible()
    assert published_run(dep) == run_id

    # Export: prepare the files, download the students' CSV and read it.
    app.segment("studio-view", "Export")
    app.click("export-prepare")
    button = app.keyed("dl-students").get_by_role("button")
    expect(button).to_be_visible()
    with app.page.expect_download() as download_info:
        button.click()  # on_click="ignore": a plain download, no rerun
    download = download_info.value
    assert download.suggested_filename == f"allocation-run-{run_id}-students.csv"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    raw = path.read_bytes()

    assert raw.startswith(b"\xef\xbb\xbf"), "the CSV starts with a UTF-8 byte-order mark (for Excel)"
    assert not raw[3:].startswith(b"\xef\xbb\xbf"), "one byte-order mark, not two"
    text = raw.decode("utf-8-sig")  # strips the BOM; plain "utf-8" would leave it glued to the first header
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(rows[0].keys()) == list(services.STUDENT_COLUMNS)
    assert raw.decode("utf-8").splitlines()[0].startswith("\ufeffemail,")
    with db.session(dep.database_url) as s:
        approved = set(s.scalars(select(Project.title).where(Project.cohort_id == dep.cohort_id,
                                                             Project.status == "approved")))
        expected = dict(s.execute(
            select(User.email, Project.title).select_from(Assignment)
            .join(User, User.id == Assignment.student_id)
            .outerjoin(Project, Project.id == Assignment.project_id)
            .where(Assignment.run_id == run_id)).all())
        names = dict(s.execute(select(User.email, User.name).where(User.email.in_(list(expected)))).all())
    assert len(rows) == n_students == len(expected)
    for row in rows:
        assert row["project"] == "" or row["project"] in approved, row
        assert (row["project"] or None) == expected[row["email"]], row
        assert row["name"] == names[row["email"]]  # non-ASCII names survive the round trip
    assert sum(1 for row in rows if row["project"]) == placed


def test_student_sees_the_published_project_and_accepts_it(app, deployment, artifacts):
    dep = deployment
    run_id = make_published(dep)
    set_phase(dep, "published")
    with db.session(dep.database_url) as s:
        title = s.scalar(select(Project.title).join(Assignment, Assignment.project_id == Project.id)
                         .where(Assignment.run_id == run_id, Assignment.student_id == dep.student.user_id))
    assert title, "the demo student has a project in the published run"

    app.open("/")
    app.sign_in(dep.student.name, dep.student.email)
    app.go("My allocation")
    expect(app.main.get_by_role("heading", name="My allocation")).to_be_visible()
    expect(app.main.get_by_role("heading", name=title)).to_be_visible()
    expect(app.main.get_by_text("You have not answered yet.")).to_be_visible()
    app.click("alloc-accept")
    expect(app.main.locator('[data-testid="stAlertContentSuccess"]').filter(
        has_text="You accepted your project.")).to_be_visible()
    expect(app.keyed("alloc-accept").get_by_role("button")).to_be_disabled()

    with db.session(dep.database_url) as s:
        response = s.execute(select(Response).where(Response.run_id == run_id,
                                                    Response.student_id == dep.student.user_id)).scalar_one()
        assert response.accepted is True
    app.screenshot(artifacts, "4-student-accepts")


def test_student_typing_an_admin_url_sees_no_admin_content(app, deployment, artifacts):
    dep = deployment
    # A fresh session on each coordinator URL: the sign-in screen, nothing of the page asked for.
    for path in ADMIN_URL_PATHS:
        app.open(path)
        expect(app.page.get_by_role("heading", name="Sign in as")).to_be_visible()
        assert_no_admin_content(app, signed_in=False)

    # Sign in as a student from the studio's URL: the student's own home, and no way into the studio.
    app.open("admin_studio")
    app.sign_in(dep.student.name, dep.student.email)
    expect(app.main.get_by_role("heading", name="Project Allocator")).to_be_visible()
    expect(app.main.get_by_text(f"Signed in as {dep.student.name}")).to_be_visible()
    assert_no_admin_content(app)
    menu = app.menu_titles()
    assert "My preferences" in menu
    assert not set(menu) & set(ADMIN_TITLES), menu
    assert "admin_studio" not in app.page.url
    app.screenshot(artifacts, "5-student-admin-url")


def pick_decliner(dep: Deployment, run_id: int) -> Person:
    """A student offered on the sign-in screen, placed in the run, with another ranked project that still
    has room: the re-run for decliners has somewhere else to put them."""
    with db.session(dep.database_url) as s:
        placement = dict(s.execute(select(Assignment.student_id, Assignment.project_id)
                                   .where(Assignment.run_id == run_id)).all())
        filled = Counter(p for p in placement.values() if p is not None)
        room = {pid for pid, cap in s.execute(select(Project.id, Project.capacity).where(
            Project.cohort_id == dep.cohort_id, Project.status == "approved")) if filled[pid] < cap}
        offered = [c for c in services.sign_in_choices(s) if c.role == "student" and c.email != dep.student.email]
        for choice in offered:
            uid = s.scalar(select(User.id).where(User.email == choice.email))
            ranked = set(s.scalars(select(Preference.project_id).where(Preference.student_id == uid)))
            if placement.get(uid) is not None and (ranked - {placement[uid]}) & room:
                return Person(name=choice.name, email=choice.email, user_id=uid)
    pytest.fail("no student on the sign-in screen can be re-placed elsewhere")


def project_of(dep: Deployment, run_id: int, person: Person) -> tuple[int | None, str | None]:
    with db.session(dep.database_url) as s:
        row = s.execute(select(Assignment.project_id, Project.title)
                        .outerjoin(Project, Project.id == Assignment.project_id)
                        .where(Assignment.run_id == run_id, Assignment.student_id == person.user_id)).one()
    return row.project_id, row.title


def notices(dep: Deployment, person: Person) -> int:
    with db.session(dep.database_url) as s:
        return s.scalar(select(func.count(Notification.id)).where(
            Notification.user_id == person.user_id, Notification.kind == "allocation.published"))


def open_my_allocation(app: App, person: Person) -> None:
    app.open("/")
    app.sign_in(person.name, person.email)
    app.go("My allocation")
    expect(app.main.get_by_role("heading", name="My allocation")).to_be_visible()


def test_answers_survive_a_rerun_for_decliners_and_a_republish(app, open_app, deployment, artifacts):
    dep = deployment
    run_id = make_published(dep)
    decliner = pick_decliner(dep, run_id)
    declined_id, declined_title = project_of(dep, run_id, decliner)

    # One student accepts, another declines with a reason.
    open_my_allocation(app, dep.student)
    app.click("alloc-accept")
    expect(app.main.locator('[data-testid="stAlertContentSuccess"]').filter(
        has_text="You accepted your project.")).to_be_visible()
    other = open_app(dep.base_url)
    open_my_allocation(other, decliner)
    expect(other.main.get_by_role("heading", name=declined_title)).to_be_visible()
    other.type_area("alloc-reason", "I would rather work on something else")
    other.click("alloc-decline")
    expect(other.main.locator('[data-testid="stAlertContentSuccess"]').filter(
        has_text="You declined your project.")).to_be_visible()

    # The coordinator re-runs for the declined student and publishes that run.
    coordinator = open_app(dep.base_url)
    coordinator.open("/")
    coordinator.sign_in(dep.admin.name, dep.admin.email)
    coordinator.go("Allocation studio")
    coordinator.segment("studio-view", "Publish")
    expect(coordinator.main.get_by_text("declined", exact=False).first).to_be_visible()
    coordinator.click("rerun-declined")
    expect(coordinator.main.get_by_text("Check it, then publish it.", exact=False)).to_be_visible()
    with db.session(dep.database_url) as s:
        rerun_id = s.scalar(select(func.max(AllocationRun.id)).where(AllocationRun.cohort_id == dep.cohort_id))
    assert rerun_id != run_id
    coordinator.segment("studio-view", "Publish")
    coordinator.check("publish-confirm")
    coordinator.click("publish-button")
    expect(coordinator.main.locator('[data-testid="stAlertContentSuccess"]').filter(
        has_text=f"Run #{rerun_id} is published")).to_be_visible()
    assert published_run(dep) == rerun_id
    coordinator.segment("studio-view", "Publish")
    expect(coordinator.keyed("publish-button")).to_have_count(0)  # nothing left to publish: it is the published run
    accepted = coordinator.main.locator('[data-testid="stMetric"]').filter(has_text="Accepted")
    expect(accepted.locator('[data-testid="stMetricValue"]')).to_have_text("1")

    # The accepting student still shows accepted, and heard nothing new.
    app.reload()
    app.expect_signed_in(dep.student.name, dep.student.email)
    expect(app.main.get_by_role("heading", name="My allocation")).to_be_visible()
    expect(app.main.get_by_text("You accepted this project", exact=False)).to_be_visible()
    assert notices(dep, dep.student) == 1

    # The decliner has a different project, is asked again, and was told what changed.
    new_id, new_title = project_of(dep, rerun_id, decliner)
    assert new_id not in (None, declined_id)
    other.reload()
    other.expect_signed_in(decliner.name, decliner.email)
    expect(other.main.get_by_role("heading", name=new_title)).to_be_visible()
    expect(other.main.get_by_text("You have not answered yet.")).to_be_visible()
    assert notices(dep, decliner) == 2
    other.screenshot(artifacts, "6-decliner-after-republish")
