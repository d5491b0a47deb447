"""Browser journey of issue 16: three students form a group and rank together, the coordinator runs and
publishes, and all three see the same project."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import skip_reason

if skip_reason():  # no Playwright or no /usr/bin/chromium: one clean skip for the whole module
    pytest.skip(skip_reason(), allow_module_level=True)

from playwright.sync_api import expect
from sqlalchemy import select, update

from allocator import db, services
from allocator.models import Assignment, GroupChoice, Preference, Project, User
from tests.e2e.test_journeys import actor, least_wanted_projects, published_run, set_phase

pytestmark = pytest.mark.e2e


def three_students(dep):
    """The first three students the local sign-in screen offers."""
    with db.session(dep.database_url) as s:
        offered = [c for c in services.sign_in_choices(s) if c.role == "student"][:3]
    return offered


def own_list(dep, email: str) -> list[int]:
    with db.session(dep.database_url) as s:
        uid = s.scalar(select(User.id).where(User.email == email))
        return list(s.scalars(select(Preference.project_id).where(
            Preference.cohort_id == dep.cohort_id, Preference.student_id == uid).order_by(Preference.rank)))


def switch(app, person) -> None:
    """The same tab, another person: sign out (a reload keeps the tab's demo sign-in), then in."""
    app.click("sign-out")
    app.sign_in(person.name, person.email)


def test_three_students_form_a_group_rank_together_and_are_placed_together(app, deployment, artifacts):
    dep = deployment
    admin = actor(dep.admin, admin=True)
    with db.session(dep.database_url) as s, s.begin():
        services.set_group_rules(s, actor=admin, cohort_id=dep.cohort_id, groups_allowed=True, group_min_size=2,
                                 group_max_size=3, places_per_student=1)
    set_phase(dep, "preferences")
    ada, ben, cy = three_students(dep)
    wanted = least_wanted_projects(dep, 3)
    with db.session(dep.database_url) as s, s.begin():
        # Room for the three together on the projects they rank (a project's capacity counts students).
        s.execute(update(Project).where(Project.id.in_([pid for pid, _, _ in wanted])).values(capacity=3))
        ada_actor = services.resolve_actor(s, email=ada.email)
        services.save_preferences(s, actor=ada_actor, cohort_id=dep.cohort_id,
                                  project_ids=[pid for pid, _, _ in wanted])

    form_group(app, ada, ben, cy)
    rank_together(app, dep, wanted, ada, ben, cy)
    title = run_and_publish(app, dep, ada, ben, cy)

    # All three see the same project.
    for person in (ada, ben, cy):
        switch(app, person)
        app.go("My allocation")
        expect(app.main.get_by_role("heading", name=title)).to_be_visible()
    app.screenshot(artifacts, "group-journey")


def form_group(app, ada, ben, cy) -> None:
    """Ada starts the group and invites Ben and Cy by email; they accept."""
    app.open("/")
    app.sign_in(ada.name, ada.email)
    app.go("My group")
    expect(app.main.get_by_role("heading", name="My group")).to_be_visible()
    app.keyed("group-name").locator("input").fill("The e2e trio")
    app.click("group-create-submit")
    expect(app.main.get_by_text("Your group is started")).to_be_visible()
    for person in (ben, cy):
        app.keyed("group-invite-email").locator("input").fill(person.email)
        app.click("group-invite-submit")
        expect(app.main.get_by_text(f"Invitation sent to {person.email}")).to_be_visible()

    for person in (ben, cy):
        switch(app, person)
        app.go("My group")
        accept = app.main.locator('[class*="st-key-group-accept-"]').get_by_role("button")
        expect(accept).to_have_count(1)
        app.act(accept.click)
        expect(app.main.get_by_text("You joined The e2e trio")).to_be_visible()
    expect(app.main.get_by_text(f"{ada.name} ({ada.email})", exact=False)).to_be_visible()


def rank_together(app, dep, wanted, ada, ben, cy) -> None:
    """Cy (signed in) reorders the group's list on My preferences: everyone's list follows, and Ben's My
    group says who did it."""
    app.go("My preferences")
    expect(app.main.get_by_text("You rank for your group")).to_be_visible()
    app.unfold("Move, remove or change choices with buttons")
    app.click("up-1")
    app.click("save-preferences")
    expect(app.main.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="Saved")).to_be_visible()
    order = [wanted[1][0], wanted[0][0], wanted[2][0]]
    assert own_list(dep, ada.email) == own_list(dep, ben.email) == own_list(dep, cy.email) == order
    switch(app, ben)
    app.go("My group")
    # The shared list: Cy's move put the second project first, and the list says so.
    first = app.main.locator("ol > li").first
    expect(first).to_contain_text(wanted[1][2])
    expect(first).to_contain_text(f"put here by {cy.name}")
    expect(app.main.locator("p").filter(has_text=cy.name).filter(has_text="reordered the list")).to_have_count(1)
    cy_id = user_id_of(dep, cy)
    with db.session(dep.database_url) as s:
        assert s.scalar(select(GroupChoice.changed_by_id).where(GroupChoice.rank == 1)) == cy_id


def user_id_of(dep, person) -> int:
    with db.session(dep.database_url) as s:
        return s.scalar(select(User.id).where(User.email == person.email))


def run_and_publish(app, dep, ada, ben, cy) -> str:
    """The coordinator runs and publishes in the studio; the title of the one project the group got."""
    set_phase(dep, "closed")
    switch(app, dep.admin)
    app.go("Allocation studio")
    app.segment("studio-view", "Run")
    app.click("studio-run-button")
    expect(app.main.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="students placed")).to_be_visible()
    app.segment("studio-view", "Publish")
    app.check("publish-confirm")
    app.click("publish-button")
    expect(app.main.locator('[data-testid="stAlertContentSuccess"]').filter(has_text="is published")).to_be_visible()
    run_id = published_run(dep)
    with db.session(dep.database_url) as s:
        placed = dict(s.execute(
            select(User.email, Assignment.project_id).join(User, User.id == Assignment.student_id)
            .where(Assignment.run_id == run_id, User.email.in_([ada.email, ben.email, cy.email]))).all())
        title = s.get(Project, placed[ada.email]).title if placed.get(ada.email) else None
    assert title is not None and len(set(placed.values())) == 1, placed
    return title
