"""Ranking by drag and drop, on a desktop and on a 390×844 phone; the warning before a reload drops
unsaved changes; the phone menu closing after a choice; the coordinator's catalogue editor.

The drag-and-drop list is `streamlit-sortables` (dnd-kit) in its own frame: a person presses an item,
moves past dnd-kit's 10-pixel threshold and drops it over another item. Assertions are on what the
page shows and on the database; screenshots go to test-artifacts/e2e/.
"""
from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import skip_reason

if skip_reason():  # no Playwright or no /usr/bin/chromium: one clean skip for the whole module
    pytest.skip(skip_reason(), allow_module_level=True)

from playwright.sync_api import Locator, expect
from sqlalchemy import delete, select, update

from allocator import db, services
from allocator.models import AuditEvent, Membership, Preference, Project
from tests.e2e.driver import App
from tests.e2e.test_journeys import actor, least_wanted_projects, saved_list, set_phase

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
DRAG_FRAME = 'iframe[title="streamlit_sortables.sortable_items"]'


def clear_preferences(dep, person) -> None:
    """The seeded demo student has a list already; these journeys start from none."""
    with db.session(dep.database_url) as s, s.begin():
        s.execute(delete(Preference).where(Preference.cohort_id == dep.cohort_id,
                                           Preference.student_id == person.user_id))
        s.execute(update(Membership).where(Membership.cohort_id == dep.cohort_id,
                                           Membership.user_id == person.user_id).values(preferences_saved_at=None))


def drag_items(app: App) -> Locator:
    return app.page.frame_locator(DRAG_FRAME).locator(".sortable-item")


def expect_order(app: App, titles: list[str]) -> None:
    """The drag list and the native rows (folded under it) show these projects in this order."""
    expect(drag_items(app)).to_have_text([re.compile(rf"^{re.escape(t)} — ") for t in titles])
    for i, title in enumerate(titles):
        expect(app.keyed(f"title-{i}")).to_contain_text(title)
    expect(app.keyed(f"title-{len(titles)}")).to_have_count(0)


def drag(app: App, source: int, target: int) -> None:
    """Press item `source`, move it over item `target` in small steps, drop it; wait for the rerun."""
    items = drag_items(app)
    # The whole list on screen, clear of the app's top bar, as a person would have it before dragging.
    app.page.locator(DRAG_FRAME).evaluate("frame => frame.scrollIntoView({block: 'center'})")
    src, dst = items.nth(source).bounding_box(), items.nth(target).bounding_box()
    x, y = src["x"] + src["width"] / 2, src["y"] + src["height"] / 2
    below = 0.7 if target > source else 0.3
    to_y = dst["y"] + dst["height"] * below

    def gesture():
        app.page.mouse.move(x, y)
        app.page.mouse.down()
        app.page.mouse.move(x, y + (12 if target > source else -12), steps=3)
        app.page.mouse.move(x, to_y, steps=12)
        app.page.mouse.up()

    app.act(gesture)


def choose(app: App, key: str, typed: str, option_name: re.Pattern) -> None:
    """Pick an option of a selectbox by typing part of it. A drop-down closes when the page moves under
    it (a frame or a table finishing its layout), so it is opened again until the option shows."""
    box = app.keyed(key).get_by_role("combobox")
    option = app.page.get_by_role("option", name=option_name)
    for _ in range(5):
        box.scroll_into_view_if_needed()
        box.click()
        box.fill(typed)
        try:
            expect(option).to_be_visible(timeout=3_000)
            break
        except AssertionError:
            app.page.keyboard.press("Escape")
    app.act(option.click)


def add_choices(app: App, titles: list[str]) -> None:
    """Rank with the native "Add your n-th choice" box, as a keyboard user would."""
    for n, title in enumerate(titles):
        if n >= 2:  # the drag list is drawn (its frame loads after the run) before the next choice
            expect(drag_items(app)).to_have_count(n)
        choose(app, "rank-new", title, re.compile(rf"^{re.escape(title)} — "))


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_rank_drag_to_reorder_save_and_find_the_order_after_a_reload(app, deployment, artifacts, screen):
    dep = deployment
    set_phase(dep, "preferences")
    clear_preferences(dep, dep.student)
    if screen == "phone":
        app.page.set_viewport_size(PHONE)
    chosen = least_wanted_projects(dep, 6)
    titles = [title for _, _, title in chosen]
    app.open("student_preferences")
    app.sign_in(dep.student.name, dep.student.email)
    expect(app.main.get_by_role("heading", name="My preferences")).to_be_visible()

    add_choices(app, titles)
    expect_order(app, titles)
    drag(app, 0, 3)  # the first choice down to fourth place
    order = [titles[1], titles[2], titles[3], titles[0], titles[4], titles[5]]
    expect_order(app, order)
    drag(app, 5, 0)  # the last choice to the top
    order = [order[5], *order[:5]]
    expect_order(app, order)
    expect(app.main.get_by_text("You have unsaved changes.")).to_be_visible()
    app.screenshot(artifacts, f"ranking-{screen}-dragged")

    app.click("save-preferences")
    expect(app.main.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="Saved")).to_be_visible()
    ids = {title: pid for pid, _, title in chosen}
    assert saved_list(dep, dep.student) == [ids[t] for t in order]  # exactly what the page showed

    # Saved: a reload asks nothing (a question would be dismissed and the reload would not happen).
    app.reload()
    app.expect_signed_in(dep.student.name, dep.student.email)
    expect(app.main.get_by_role("heading", name="My preferences")).to_be_visible()
    expect(app.main.get_by_text("Not yet submitted")).to_have_count(0)
    expect_order(app, order)
    app.screenshot(artifacts, f"ranking-{screen}-after-reload")


def test_a_reload_with_unsaved_changes_asks_first(app, deployment):
    dep = deployment
    set_phase(dep, "preferences")
    chosen = least_wanted_projects(dep, 3)
    with db.session(dep.database_url) as s, s.begin():
        services.save_preferences(s, actor=actor(dep.student), cohort_id=dep.cohort_id,
                                  project_ids=[pid for pid, _, _ in chosen])
    app.open("student_preferences")
    app.sign_in(dep.student.name, dep.student.email)
    expect(drag_items(app)).to_have_count(3)
    asked: list[str] = []
    app.page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.accept()))
    drag(app, 2, 0)
    expect(app.main.get_by_text("You have unsaved changes.")).to_be_visible()
    app.reload()  # the person confirms leaving: the draft is gone, the saved list stays
    assert asked == ["beforeunload"]
    app.expect_signed_in(dep.student.name, dep.student.email)
    expect_order(app, [title for _, _, title in chosen])
    assert saved_list(dep, dep.student) == [pid for pid, _, _ in chosen]


def test_on_a_phone_the_menu_closes_after_choosing_a_page(app, deployment):
    dep = deployment
    app.page.set_viewport_size(PHONE)
    app.open("/")
    app.sign_in(dep.student.name, dep.student.email)
    sidebar = app.page.locator('[data-testid="stSidebar"]')
    expect(sidebar).to_have_attribute("data-collapsed", "true")
    app.page.locator('[data-testid="stExpandSidebarButton"]').click()
    expect(sidebar).to_have_attribute("data-collapsed", "false")
    app.act(app.sidebar.get_by_role("link", name="My preferences").click)
    expect(app.main.get_by_role("heading", name="My preferences")).to_be_visible()
    expect(sidebar).to_have_attribute("data-collapsed", "true")


def test_coordinator_edits_a_projects_details_and_gives_it_to_another_supervisor(app, deployment, artifacts):
    dep = deployment
    with db.session(dep.database_url) as s:
        project = s.scalars(select(Project).where(Project.cohort_id == dep.cohort_id, Project.status == "approved",
                                                  Project.supervisor_id != dep.staff.user_id)
                            .order_by(Project.id)).first()
        pid, old_title = project.id, project.title
    app.open("admin_projects")
    app.sign_in(dep.admin.name, dep.admin.email)
    expect(app.main.get_by_role("heading", name="Projects")).to_be_visible()
    choose(app, "projects-pick", old_title, re.compile(rf"^{re.escape(old_title)} · "))
    new_title = f"{old_title} (edited in e2e)"
    app.keyed(f"project-{pid}-title").locator("input").fill(new_title)
    app.keyed(f"project-{pid}-description").locator("textarea").fill("Now with **bold** plans.")
    supervisor = app.keyed(f"project-{pid}-supervisor").get_by_role("combobox")
    supervisor.click()
    app.page.get_by_role("option", name=re.compile(rf"^{re.escape(dep.staff.name)} · ")).click()
    app.keyed(f"project-{pid}-supervisor").evaluate("e => e.scrollIntoView({block: 'center'})")
    app.screenshot(artifacts, "catalogue-editor")
    app.click(f"project-{pid}-save-details")
    expect(app.main.get_by_text(f"Saved “{new_title}”.")).to_be_visible()
    with db.session(dep.database_url) as s:
        stored = s.get(Project, pid)
        assert (stored.title, stored.description, stored.supervisor_id) == (
            new_title, "Now with **bold** plans.", dep.staff.user_id)
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "project.updated")
                          .order_by(AuditEvent.id.desc())).first()
        assert audit.detail["project_id"] == pid and "supervisor" in audit.detail["changes"]
    # Put it back, through the service, for the journeys that look for its title.
    with db.session(dep.database_url) as s, s.begin():
        services.edit_project(s, actor=actor(dep.admin, admin=True), cohort_id=dep.cohort_id, project_id=pid,
                              title=old_title, description=project.description, code=project.code,
                              supervisor_id=project.supervisor_id)
