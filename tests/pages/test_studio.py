"""The allocation studio page, driven through the real app.py as a coordinator: tune → run → see →
compare → adjust → publish → export, asserting on the database and on the figures' data."""
from __future__ import annotations

import csv
import io
import json
import socket
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from allocator import db, glossary, services
from allocator.models import (AllocationRun, Assignment, AuditEvent, Cohort, GroupChoice, GroupMember, Membership,
                              Notification, Preference, Project, StudentGroup, User)
from tests import factories as f
from tests.conftest import APP_PATH

PAGE = "pages/admin_studio.py"
ADMIN = "coord@uni.example"


@pytest.fixture
def cohort_data(app_database):
    """A closed cohort: 8 students, three projects (Alpha cap 2, Beta cap 3, Gamma cap 3)."""
    with db.session(app_database) as s, s.begin():
        cohort = f.cohort(s, name="MEng 2026/27", phase="closed")
        f.admin(s, email=ADMIN, name="Casey Coordinator")
        ann = f.staff(s, cohort, person=f.user(s, email="ann@uni.example", name="Ann Supervisor"))
        bob = f.staff(s, cohort, person=f.user(s, email="bob@uni.example", name="Bob Supervisor"))
        alpha = f.project(s, cohort, ann, title="Alpha", capacity=2)
        beta = f.project(s, cohort, ann, title="Beta", capacity=3)
        gamma = f.project(s, cohort, bob, title="Gamma", capacity=3)
        orders = [[alpha, beta, gamma], [alpha, gamma, beta], [beta, alpha], [gamma, alpha, beta]]
        students = []
        for i in range(8):
            st_ = f.student(s, cohort, person=f.user(s, email=f"s{i}@uni.example", name=f"Student {i}"))
            f.preferences(s, cohort, st_, orders[i % 4])
            students.append(st_.id)
        ids = dict(cohort=cohort.id, alpha=alpha.id, beta=beta.id, gamma=gamma.id, students=students)
    return app_database, ids


def studio(email: str = ADMIN) -> AppTest:
    at = AppTest.from_file(APP_PATH, default_timeout=60)
    at.session_state["local_user_email"] = email
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def runs(url) -> list[AllocationRun]:
    with db.session(url) as s:
        return list(s.scalars(select(AllocationRun).order_by(AllocationRun.id)))


def placement(url, run_id) -> dict[int, int | None]:
    with db.session(url) as s:
        return dict(s.execute(select(Assignment.student_id, Assignment.project_id)
                              .where(Assignment.run_id == run_id)).all())


def plotly(at: AppTest, key: str) -> dict:
    for element in at.get("plotly_chart"):
        if element.proto.id.endswith(key) or key in element.proto.id:
            return json.loads(element.proto.spec)
    raise AssertionError(f"no plotly chart {key}")


def view(at: AppTest, name: str) -> AppTest:
    """Bring a view on screen (the old tabbed page drew every tab, so there it has nothing to do)."""
    if any(getattr(w, "key", None) == "studio-view" for w in at.get("button_group")):
        at.segmented_control(key="studio-view").set_value(name).run()
    assert not at.exception, at.exception
    return at


def pins(at: AppTest) -> AppTest:
    """Show Tune's pins and forbids (the old page drew them inside an expander, always there)."""
    if any(getattr(w, "key", None) == "tune-pairs-shown" for w in at.get("toggle")):
        at.toggle(key="tune-pairs-shown").set_value(True).run()
    return at


def folded(at: AppTest, text: str) -> list[str]:
    """Labels of the status and expander blocks that hold an error containing `text`."""
    return [block.label for kind in ("status", "expander") for block in at.get(kind)
            if any(text in e.value for e in block.get("error"))]


def shown(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.markdown, *at.success, *at.error, *at.info, *at.warning,
                                            *at.caption))


def test_tune_run_see_compare_adjust_publish_export(cohort_data):
    url, ids = cohort_data
    at = studio()
    assert at.segmented_control(key="studio-view").value == "Tune"  # nothing to see yet
    assert "No runs yet" in shown(view(at, "Run"))
    view(at, "Tune")

    # Tune: greedy, Gamma's capacity 3 → 1 for this run, a pin with a reason.
    at.selectbox(key="tune-objective").set_value("greedy")
    projects = at.data_editor(key="tune-capacities").value
    gamma_row = int(projects.index[projects["id"] == ids["gamma"]][0])
    at.session_state["tune-capacities"] = {"edited_rows": {gamma_row: {"Capacity": 1}}, "added_rows": [],
                                           "deleted_rows": []}
    pins(at)
    at.selectbox(key="pin-student").set_value(ids["students"][2])
    at.selectbox(key="pin-project").set_value(ids["alpha"])
    at.text_input(key="pin-reason").input("needs the Alpha lab")
    at.button(key="pin-add").click().run()
    assert "needs the Alpha lab" in shown(at)

    # Run.
    view(at, "Run")
    at.text_input(key="tune-label").input("greedy, Gamma 1")
    at.button(key="studio-run-button").click().run()
    assert not at.exception, at.exception
    [first] = runs(url)
    assert (first.label, first.objective, first.status) == ("greedy, Gamma 1", "greedy", "optimal")
    assert first.record["settings"]["capacity_overrides"] == [[f"P{ids['gamma']}", 1]]
    placed = placement(url, first.id)
    assert placed[ids["students"][2]] == ids["alpha"]
    assert list(placed.values()).count(ids["gamma"]) <= 1
    with db.session(url) as s:
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "allocation.run")).one()
    assert audit.detail["pins"] == [{"student_id": ids["students"][2], "project_id": ids["alpha"],
                                     "reason": "needs the Alpha lab"}]
    assert at.session_state["studio-run"] == first.id

    # See: the headline and the figures come from the stored run.
    metrics = {m.label: m.value for m in at.metric}
    placed_count = sum(1 for p in placed.values() if p is not None)
    assert at.segmented_control(key="studio-view").value == "See"  # a run goes straight to its charts
    assert (metrics["Placed (of 8)"], metrics["Unplaced"]) == (str(placed_count), str(8 - placed_count))
    profile_fig = plotly(at, "see-profile")
    assert profile_fig["data"][0]["y"] == [*first.profile, 8 - sum(first.profile)]
    at.segmented_control(key="see-focus-see-fill").set_value("all").run()  # every project, not one group
    fill = plotly(at, "see-fill")
    capacity_trace = next(t for t in fill["data"] if t["name"] == "Capacity")
    assert dict(zip(capacity_trace["y"], capacity_trace["x"])) == {"Alpha": 2, "Beta": 3, "Gamma": 1}
    assigned = {}
    for trace in fill["data"]:
        if trace["name"] in ("Assigned", "Below minimum", "Over capacity"):
            assigned.update(zip(trace["y"], trace["x"]))
    assert assigned.get("Alpha") == list(placed.values()).count(ids["alpha"])
    at.segmented_control(key="see-chart").set_value("Demand versus capacity").run()
    at.segmented_control(key="see-focus-see-demand").set_value("all").run()
    assert [k for k in ("see-fill", "see-load", "see-demand")
            if any(k in e.proto.id for e in at.get("plotly_chart"))] == ["see-demand"]  # one at a time
    demand = plotly(at, "see-demand")
    firsts = next(t for t in demand["data"] if t["name"] == "1st choice")
    assert dict(zip(firsts["y"], firsts["x"])) == {"Alpha": 4, "Beta": 2, "Gamma": 2}

    # A second run, min-cost without the override, then compare.
    view(at, "Tune")
    at.selectbox(key="tune-objective").set_value("min-cost")
    beta_row = int(projects.index[projects["id"] == ids["beta"]][0])
    # Gamma back to its catalogue 3 (the table kept the 1 while other views were on screen), Beta 3 → 4.
    at.session_state["tune-capacities"] = {"edited_rows": {gamma_row: {"Capacity": 3}, beta_row: {"Capacity": 4}},
                                           "added_rows": [], "deleted_rows": []}
    at.button(key="pin-remove-0").click().run()
    view(at, "Run")
    at.text_input(key="tune-label").input("min-cost")
    at.button(key="studio-run-button").click().run()
    first, second = runs(url)
    view(at, "Compare")
    assert second.objective == "min-cost" and second.record["settings"]["pins"] == []
    assert second.record["settings"]["capacity_overrides"] == [[f"P{ids['beta']}", 4]]
    overlay = plotly(at, "compare-overlay")
    assert [t["name"] for t in overlay["data"]] == [f"#{second.id} · min-cost", f"#{first.id} · greedy, Gamma 1"]
    assert overlay["data"][0]["y"][:len(second.profile)] == second.profile
    before, after = placement(url, first.id), placement(url, second.id)
    differing = {s for s in before if before[s] != after[s]}
    word = "student" if len(differing) == 1 else "students"
    assert f"{len(differing)} {word} with a different project" in shown(at)
    if differing:
        names = {f"Student {ids['students'].index(s)}" for s in differing}
        table = next(d.value for d in at.dataframe if "Student" in d.value.columns and "Email" in d.value.columns
                     and len(d.value) == len(differing))
        assert set(table["Student"]) == names

    titles = {ids["alpha"]: "Alpha", ids["beta"]: "Beta", ids["gamma"]: "Gamma"}
    # Adjust: move a student of the newest run, by hand, to the project with a free place → a derived run.
    caps = {ids["alpha"]: 2, ids["beta"]: 4, ids["gamma"]: 3}
    target = next(p for p, cap in caps.items() if list(after.values()).count(p) < cap)
    view(at, "Adjust")
    mover = next(s for s, p in after.items() if p not in (target, None))
    at.selectbox(key="adjust-student").set_value(mover)
    assert at.button(key="adjust-move").disabled  # nothing picked yet: no accidental move
    at.selectbox(key="adjust-project").set_value(target)
    at.text_input(key="adjust-reason").input("swap agreed").run()
    at.button(key="adjust-move").click().run()
    assert not at.exception, at.exception
    moved = runs(url)[-1]
    assert moved.parent_run_id == second.id and moved.kind == "move"
    assert placement(url, moved.id)[mover] == target and placement(url, second.id) == after
    assert at.session_state["studio-run"] == moved.id
    at.button(key="adjust-explain").click().run()
    assert f"Student {ids['students'].index(mover)} is placed on {titles[target]}" in shown(at)

    # Publish the derived run (no SMTP settings: in-app only, said on screen).
    view(at, "Publish")
    assert "in the app only" in shown(at)
    at.checkbox(key="publish-confirm").check().run()
    at.button(key="publish-button").click().run()
    assert not at.exception, at.exception
    with db.session(url) as s:
        published = {r.id: r.published_at for r in s.scalars(select(AllocationRun))}
        notes = s.scalars(select(Notification).where(Notification.kind == "allocation.published")).all()
    assert [r for r, at_ in published.items() if at_ is not None] == [moved.id]
    assert sorted(n.user_id for n in notes) == sorted(ids["students"]) and all(n.emailed_at is None for n in notes)
    assert "in the app only" in shown(at)

    # Lock responses.
    at.button(key="responses-lock").click().run()
    with db.session(url) as s:
        assert s.scalar(select(AuditEvent.action).where(AuditEvent.action == "responses.locked"))

    # Export the published run.
    view(at, "Export")
    at.button(key="export-prepare").click().run()
    files = at.session_state["studio-export"]
    assert files.run_id == moved.id
    rows = list(csv.DictReader(io.StringIO(files.students_csv.decode("utf-8-sig"))))
    mover_row = next(r for r in rows if r["email"] == f"s{ids['students'].index(mover)}@uni.example")
    assert len(rows) == 8 and mover_row["project"] == titles[target]
    assert json.loads(files.result_json)["solver"] == "manual"
    assert {b.key for b in at.download_button} >= {"dl-students", "dl-roster", "dl-xlsx", "dl-problem", "dl-result"}


def test_an_infeasible_run_shows_the_clash_and_a_fix(cohort_data):
    url, ids = cohort_data
    at = pins(studio())
    for student in ids["students"][:3]:
        at.selectbox(key="pin-student").set_value(student)
        at.selectbox(key="pin-project").set_value(ids["alpha"])
        at.button(key="pin-add").click().run()
    view(at, "Run").button(key="studio-run-button").click().run()
    [run] = runs(url)
    assert run.status == "infeasible"
    text = shown(at)
    assert "3 students are pinned to Alpha, whose capacity is 2" in text
    assert "Raise the capacity of Alpha to 3" in text


def test_a_bad_table_cell_is_refused_with_a_sentence(cohort_data):
    url, _ = cohort_data
    at = studio()
    at.session_state["tune-capacities"] = {"edited_rows": {0: {"Capacity": None}}, "added_rows": [],
                                           "deleted_rows": []}
    at.run()
    view(at, "Run").button(key="studio-run-button").click().run()
    assert runs(url) == []
    assert any("The capacity of Alpha is blank" in e.value for e in at.error)
    # Shown plainly: not folded away inside a collapsed "The run did not start".
    assert not folded(at, "is blank")


@pytest.mark.parametrize("email", ["s0@uni.example", "ann@uni.example"])
def test_students_and_staff_cannot_reach_the_studio(cohort_data, email):
    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.session_state["local_user_email"] = email
    at.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)
    assert "Allocation studio" not in [t.value for t in at.title]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_publishing_emails_one_message_per_student_with_their_project(cohort_data, monkeypatch):
    from aiosmtpd.controller import Controller

    url, ids = cohort_data

    class Sink:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):
            self.messages.append((envelope.rcpt_tos, envelope.content))
            return "250 OK"

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("SMTP_PORT", str(controller.port))
        monkeypatch.setenv("SMTP_FROM", "Allocator <allocator@uni.example>")
        monkeypatch.setenv("SMTP_STARTTLS", "false")
        at = studio()
        assert "in the app only" not in shown(view(at, "Publish"))
        view(at, "Run").button(key="studio-run-button").click().run()
        [run] = runs(url)
        view(at, "Publish")
        at.checkbox(key="publish-confirm").check().run()
        at.button(key="publish-button").click().run()
        assert not at.exception, at.exception
    finally:
        controller.stop()
    with db.session(url) as s:
        emails = dict(s.execute(select(User.id, User.email).where(User.id.in_(ids["students"]))).all())
        titles = dict(s.execute(select(Project.id, Project.title)).all())
        emailed = s.scalars(select(Notification.user_id).where(Notification.kind == "allocation.published",
                                                               Notification.emailed_at.is_not(None))).all()
    placed = placement(url, run.id)
    recipients = [to for to, _ in sink.messages]
    assert sorted(r[0] for r in recipients) == sorted(emails.values()) and all(len(r) == 1 for r in recipients)
    for (to,), content in sink.messages:
        message = message_from_bytes(content, policy=default_policy)
        student = next(uid for uid, e in emails.items() if e == to)
        text = message.get_body(("plain",)).get_content()
        expected = titles[placed[student]] if placed[student] else None
        if expected:
            assert f"You have been allocated: {expected}" in text
            others = {t for t in titles.values() if t != expected}
            assert not any(f"allocated: {o}" in text for o in others)
        assert message.get_body(("html",)) is not None
    assert sorted(emailed) == sorted(ids["students"])
    assert "8 emails sent" in shown(at)


# --- what the studio shows at the moment that matters (issue 11, point 6) ---------------------------------

def make_runs(url, ids, objectives=("greedy", "min-cost", "generous"), publish=None) -> list[int]:
    """Runs made through the services, as if earlier; `publish` is an index into them."""
    made = []
    with db.session(url) as s, s.begin():
        actor = f.actor(s.scalars(select(User).where(User.email == ADMIN)).one())
        for objective in objectives:
            made.append(services.run_allocation(s, actor=actor, cohort_id=ids["cohort"],
                                                params=services.RunParameters(objective=objective)).id)
    if publish is not None:
        with db.session(url) as s, s.begin():
            services.publish_run(s, actor=f.actor(s.scalars(select(User).where(User.email == ADMIN)).one()),
                                 run_id=made[publish])
    return made


def runs_table(at: AppTest):
    return next(d.value for d in at.dataframe if "Kind" in d.value.columns and "Published" in d.value.columns)


def test_the_studio_opens_on_the_published_run_not_the_newest(cohort_data):
    url, ids = cohort_data
    made = make_runs(url, ids, publish=0)
    at = studio()
    assert at.session_state["studio-run"] == made[0]
    view(at, "Export")
    assert f"#{made[0]}" in at.selectbox(key="studio-run").format_func(at.selectbox(key="studio-run").value)


def test_the_studio_opens_on_the_newest_run_when_none_is_published(cohort_data):
    url, ids = cohort_data
    made = make_runs(url, ids)
    assert studio().session_state["studio-run"] == made[-1]


def test_runs_to_compare_follow_a_new_run(cohort_data):
    url, ids = cohort_data
    first, second = make_runs(url, ids, objectives=("greedy", "min-cost"))
    at = view(studio(), "Compare")
    assert sorted(at.multiselect(key="compare-runs").value) == sorted([first, second])
    view(at, "Run").button(key="studio-run-button").click().run()
    newest = runs(url)[-1].id
    view(at, "Compare")
    picked = at.multiselect(key="compare-runs").value
    assert newest in picked and len(picked) == 2
    overlay = plotly(at, "compare-overlay")
    assert any(t["name"].startswith(f"#{newest} ") for t in overlay["data"])


def test_the_runs_table_says_what_was_tuned(cohort_data):
    _, ids = cohort_data
    at = studio()
    projects = at.data_editor(key="tune-capacities").value
    gamma_row = int(projects.index[projects["id"] == ids["gamma"]][0])
    at.session_state["tune-capacities"] = {"edited_rows": {gamma_row: {"Capacity": 1}}, "added_rows": [],
                                           "deleted_rows": []}
    at.number_input(key="tune-seed").set_value(3)
    pins(at)
    at.selectbox(key="pin-student").set_value(ids["students"][2])
    at.selectbox(key="pin-project").set_value(ids["alpha"])
    at.button(key="pin-add").click().run()
    view(at, "Run").button(key="studio-run-button").click().run()
    view(at, "Run").button(key="studio-run-button").click().run()  # the same settings again
    table = runs_table(view(at, "Run"))
    assert list(table["Tuned"]) == ["capacity: Gamma 1 · 1 pin · seed 3"] * 2


def test_unplaced_students_who_ranked_are_told_the_next_step(cohort_data):
    """Eight places, nine students with a list: the one left over ranked only full projects, and the
    caption says what the coordinator can do; a run that already allows unranked placements says nothing
    more (it lacks places, not choices)."""
    url, ids = cohort_data
    with db.session(url) as s, s.begin():
        from allocator.models import Cohort, Project

        cohort = s.get(Cohort, ids["cohort"])
        picky = f.student(s, cohort, person=f.user(s, email="picky@uni.example", name="Picky Student"))
        f.preferences(s, cohort, picky, [s.get(Project, ids["alpha"])])
    at = studio()
    view(at, "Run").button(key="studio-run-button").click().run()
    assert ("1 unplaced, of whom 0 did not submit a list. The other 1 found no room on any project they ranked: "
            "in Tune, raise places or allow placing students on projects they did not rank.") in shown(at)
    view(at, "Tune").checkbox(key="tune-unranked").check().run()
    view(at, "Run").button(key="studio-run-button").click().run()
    text = shown(at)
    assert "1 unplaced, of whom 0 did not submit a list." in text and "found no room" not in text


def test_unplaced_students_without_a_list_are_counted_apart(cohort_data):
    url, ids = cohort_data
    with db.session(url) as s, s.begin():
        from allocator.models import Cohort

        f.student(s, s.get(Cohort, ids["cohort"]), person=f.user(s, email="late@uni.example", name="Late Student"))
    at = studio()
    view(at, "Run").button(key="studio-run-button").click().run()
    [run] = runs(url)
    assert sum(run.profile) == 8  # the eight with a list are placed; the ninth never submitted one
    text = shown(at)
    assert "1 unplaced, of whom 1 did not submit a list" in text
    metrics = {m.label: m for m in at.metric}
    assert "1 of the 1 unplaced students did not submit a list" in metrics["Unplaced"].proto.help
    table = runs_table(view(at, "Run"))
    assert list(table["Placed"]) == ["8 / 9 (1 unplaced: 1 without a list)"]


def test_a_refused_run_says_why_in_plain_sight(cohort_data):
    url, _ = cohort_data
    at = studio()
    at.session_state["tune-capacities"] = {"edited_rows": {0: {"Minimum": 9}}, "added_rows": [], "deleted_rows": []}
    at.run()
    view(at, "Run").button(key="studio-run-button").click().run()
    assert runs(url) == []
    refusal = [e for e in at.error if "needs at least 9 students" in e.value]
    assert refusal, [e.value for e in at.error]
    assert not folded(at, "needs at least 9")  # not inside a collapsed "The run did not start"
    assert at.segmented_control(key="studio-view").value == "Run"  # the button stays at hand


# --- only the view on screen is drawn (issue 13) -------------------------------------------------------

def test_only_the_view_on_screen_is_drawn_and_tuned_values_survive_a_switch(cohort_data):
    url, ids = cohort_data
    make_runs(url, ids, objectives=("greedy", "min-cost"))
    at = studio()
    assert at.segmented_control(key="studio-view").value == "See"  # runs exist: open on the results
    keys = {getattr(w, "key", None) for kind in ("data_editor", "multiselect", "button") for w in at.get(kind)}
    assert "tune-capacities" not in keys and "compare-runs" not in keys and "studio-run-button" not in keys
    drawn = [e.proto.id for e in at.get("plotly_chart")]
    assert len(drawn) == 3 and not any("compare" in i for i in drawn)  # profile, top k, one per-row chart
    view(at, "Tune")
    assert "pin-student" not in {w.key for w in at.selectbox}  # 5,000 names are sent only when asked for
    assert "pin-student" in {w.key for w in pins(at).selectbox}
    at.selectbox(key="tune-objective").set_value("weighted").run()
    at.text_input(key="tune-weights").input("1, 5, 9, 9").run()
    assert at.get("plotly_chart") == [] or not list(at.get("plotly_chart"))
    view(at, "Compare")
    view(at, "Tune")
    assert at.selectbox(key="tune-objective").value == "weighted"
    assert at.text_input(key="tune-weights").value == "1, 5, 9, 9"
    view(at, "Run").button(key="studio-run-button").click().run()
    newest = runs(url)[-1]
    assert newest.objective == "weighted" and newest.record["settings"]["weights"] == [1, 5, 9, 9]


def test_headline_figures_are_short_enough_to_show_whole(cohort_data):
    url, ids = cohort_data
    make_runs(url, ids, objectives=("greedy",))
    at = studio()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Placed (of 8)"] == "8" and metrics["Unplaced"] == "0"
    assert all(len(v) <= 8 for v in metrics.values()), metrics


# --- words explained where they appear (issue 15) ------------------------------------------------------

def test_status_cost_and_solver_are_explained_where_they_appear(cohort_data):
    url, ids = cohort_data
    make_runs(url, ids, objectives=("min-cost",))
    at = studio()
    [run] = runs(url)
    line = next(m for m in at.markdown if f"cost {run.cost}" in m.value and f"solver {run.solver}" in m.value)
    assert glossary.STATUS_HELP[run.status] in line.proto.help
    assert glossary.COST_HELP in line.proto.help and glossary.SOLVER_HELP[run.solver] in line.proto.help


def test_per_row_charts_show_one_group_a_page_at_a_time_with_search(cohort_data):
    url, ids = cohort_data
    make_runs(url, ids, objectives=("greedy",))
    at = studio()
    placed = placement(url, runs(url)[0].id)
    full = sorted(t for p, t in ((ids["alpha"], "Alpha"), (ids["beta"], "Beta"), (ids["gamma"], "Gamma"))
                  if list(placed.values()).count(p) == {"Alpha": 2, "Beta": 3, "Gamma": 3}[t])
    group = at.segmented_control(key="see-focus-see-fill")
    assert group.value == "full" and group.format_func("full") == f"Full · {len(full)}"
    capacity = next(t for t in plotly(at, "see-fill")["data"] if t["name"] == "Capacity")
    assert sorted(capacity["y"]) == full
    assert f"Showing 1–{len(full)} of {len(full)} projects: full" in shown(at)
    at.segmented_control(key="see-focus-see-fill").set_value("all").run()
    at.text_input(key="see-chart-search").input("gam").run()
    capacity = next(t for t in plotly(at, "see-fill")["data"] if t["name"] == "Capacity")
    assert capacity["y"] == ["Gamma"]
    assert "Showing 1–1 of 1 projects: all matching the search (3 in this run)" in shown(at)


def test_the_studio_code_holds_no_query_and_no_session():
    """Issue 14: the page is short, and it and its views reach data only through services (ui.read /
    ui.run_action): no sqlalchemy, no models, no db sessions."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    files = [root / PAGE, *sorted((root / "allocator" / "studio_ui").glob("*.py"))]
    assert len(files) >= 8, files  # the page and one module per view
    assert len((root / PAGE).read_text().splitlines()) <= 40
    for path in files:
        tree = ast.parse(path.read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {f"{node.module}.{alias.name}" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                     for alias in node.names}
        assert not any(name.startswith(("sqlalchemy", "allocator.models", "allocator.db")) for name in imported), path
        used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name) and node.value.id == "db"}
        assert not used, (path, used)
        assert len(path.read_text().splitlines()) <= 450, path


def test_every_run_status_has_its_one_explanation():
    from allocator.domain import STORED_RUN_STATUSES

    assert set(glossary.STATUS_HELP) == set(STORED_RUN_STATUSES)
    assert all(text.startswith(status.capitalize()) for status, text in glossary.STATUS_HELP.items())


# --- groups, places and tiers (issue 16) ------------------------------------------------------------------

def test_the_headline_counts_groups_and_places_and_charts_the_tiers(cohort_data):
    url, ids = cohort_data
    s0, s1, s2, s3 = ids["students"][:4]
    with db.session(url) as s, s.begin():
        s.get(Cohort, ids["cohort"]).groups_allowed = True
        group = StudentGroup(cohort_id=ids["cohort"], name="Pair")
        s.add(group)
        s.flush()
        for uid in (s0, s1):
            s.add(GroupMember(group_id=group.id, cohort_id=ids["cohort"], user_id=uid))
        s.flush()
        for m in s.scalars(select(Membership).where(Membership.user_id.in_([s2, s3]))):
            m.places, m.tier = (2, 1) if m.user_id == s2 else (None, 2)
    with db.session(url) as s, s.begin():
        # The pair ranks one list: the group's, copied to both (as the group services write it).
        order = list(s.scalars(select(Preference.project_id).where(Preference.student_id == s0)
                               .order_by(Preference.rank)))
        s.execute(Preference.__table__.delete().where(Preference.student_id == s1))
        for rank, pid in enumerate(order, start=1):
            s.add(Preference(cohort_id=ids["cohort"], student_id=s1, project_id=pid, rank=rank))
            s.add(GroupChoice(group_id=group.id, cohort_id=ids["cohort"], project_id=pid, rank=rank))
    at = studio()
    view(at, "Run").button(key="studio-run-button").click().run()
    assert not at.exception, at.exception
    at = view(at, "See")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Groups placed together"] == "1 of 1"
    assert metrics["Places given"] == "2 of 2" and metrics["Tiers"] == "2"
    tiers = plotly(at, "see-tiers")
    assert [t["name"] for t in tiers["data"]] == ["Tier 1", "Tier 2"]
    [run] = runs(url)
    rows = placement_rows(url, run.id)
    assert len({pid for sid, pid in rows if sid in (s0, s1)}) == 1
    assert len([pid for sid, pid in rows if sid == s2 and pid is not None]) == 2


def placement_rows(url, run_id) -> list[tuple[int, int | None]]:
    with db.session(url) as s:
        return [tuple(r) for r in s.execute(select(Assignment.student_id, Assignment.project_id)
                                            .where(Assignment.run_id == run_id))]
