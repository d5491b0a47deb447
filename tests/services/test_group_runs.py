"""A run with groups, several places and tiers, from the database to what each person reads: the rows
stored, the headline, publishing, the student's allocation, the explanation, a move, a re-run, an export
(issue 16)."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from allocator import services
from allocator.models import AllocationRun, Assignment, Response
from allocator.services import Invalid, RunParameters
from tests import factories as f


class World:
    """Alpha (3 places), Beta (2), Gamma (3). A group of three (Ann, Bo, Cy) ranks Alpha, Beta; Dee and
    Eve rank Alpha first; Max has two places and ranks Beta, Gamma, Alpha; Tia (tier 2) ranks Alpha."""

    def __init__(self, session):
        self.session = session
        self.cohort = f.cohort(session, phase="preferences", min_choices=1, max_choices=3, groups_allowed=True,
                               group_min_size=2, group_max_size=3)
        self.admin = f.actor(f.admin(session))
        self.sup = sup = f.staff(session, self.cohort)
        self.alpha, self.beta, self.gamma = (f.project(session, self.cohort, sup, title=t, capacity=c)
                                             for t, c in (("Alpha", 3), ("Beta", 2), ("Gamma", 3)))
        names = ("Ann", "Bo", "Cy", "Dee", "Eve", "Max", "Tia")
        self.people = {n: f.student(session, self.cohort, person=f.user(session, name=n)) for n in names}
        p = self.people
        for n in ("Dee", "Eve"):
            f.preferences(session, self.cohort, p[n], [self.alpha, self.gamma])
        f.preferences(session, self.cohort, p["Max"], [self.beta, self.gamma, self.alpha])
        f.preferences(session, self.cohort, p["Tia"], [self.alpha, self.gamma])
        f.preferences(session, self.cohort, p["Ann"], [self.alpha, self.beta])
        cid = self.cohort.id
        services.set_places(session, actor=self.admin, cohort_id=cid, user_id=p["Max"].id, places=2)
        services.set_tier(session, actor=self.admin, cohort_id=cid, user_id=p["Tia"].id, tier=2, reason="later")
        services.create_group(session, actor=f.actor(p["Ann"]), cohort_id=cid, name="Trio")
        for n in ("Bo", "Cy"):
            services.invite_to_group(session, actor=f.actor(p["Ann"]), cohort_id=cid, email=p[n].email)
            invite = services.my_group(session, actor=f.actor(p[n]), cohort_id=cid).received[0]
            services.answer_invitation(session, actor=f.actor(p[n]), invitation_id=invite.id, accept=True)
        self.cohort.phase_override = "closed"
        session.flush()

    def run(self):
        return services.run_allocation(self.session, actor=self.admin, cohort_id=self.cohort.id,
                                       params=RunParameters(objective="generous"))

    def rows(self, run_id):
        return self.session.execute(select(Assignment.student_id, Assignment.project_id)
                                    .where(Assignment.run_id == run_id)).all()


@pytest.fixture
def world(session):
    return World(session)


def test_the_group_is_placed_together_and_the_two_place_student_twice(world):
    view = world.run()
    assert view.status == "optimal"
    rows = world.rows(view.id)
    p = world.people
    group_projects = {pid for sid, pid in rows if sid in (p["Ann"].id, p["Bo"].id, p["Cy"].id)}
    assert len(group_projects) == 1 and None not in group_projects
    maxs = [pid for sid, pid in rows if sid == p["Max"].id]
    assert len(maxs) == 2 and len(set(maxs)) == 2 and None not in maxs
    assert view.students == 7 and view.placements == view.placed + 1
    mix = services.run_mix(world.session, actor=world.admin, run_id=view.id)
    assert (mix.groups, mix.groups_placed, mix.grouped_students) == (1, 1, 3)
    assert (mix.multi_place_students, mix.places_wanted, mix.places_given) == (1, 2, 2)
    # Eight places for eight placements wanted, but the trio fits only Alpha: tier 1 (Max's second place
    # included) is served before Tia in tier 2, who is left unplaced.
    assert [t.tier for t in mix.tiers] == [1, 2]
    assert (sum(mix.tiers[0].profile), sum(mix.tiers[1].profile), mix.tiers[1].slots) == (7, 0, 1)
    assert [pid for sid, pid in rows if sid == p["Tia"].id] == [None]
    charts = services.run_charts(world.session, actor=world.admin, run_id=view.id)
    assert charts.headline.placed == view.placed and charts.headline.unplaced == 7 - view.placed
    assert charts.mix == mix  # the See view reads both at once
    again, charted = services.run_allocation_charted(world.session, actor=world.admin, cohort_id=world.cohort.id,
                                                     params=RunParameters(objective="generous"))
    assert charted == services.run_charts(world.session, actor=world.admin, run_id=again.id)


def test_publishing_tells_each_member_the_same_project_and_explains_the_group(world):
    view = world.run()
    services.publish_run(world.session, actor=world.admin, run_id=view.id)
    p = world.people
    seen = {n: services.get_my_allocation(world.session, actor=f.actor(p[n]), cohort_id=world.cohort.id)
            for n in ("Ann", "Bo", "Cy", "Max")}
    assert len({seen[n].project_title for n in ("Ann", "Bo", "Cy")}) == 1
    assert len(seen["Max"].more_projects) == 1 and seen["Max"].more_projects[0][0] != seen["Max"].project_title
    services.respond_to_allocation(world.session, actor=f.actor(p["Max"]), cohort_id=world.cohort.id, accept=True)
    assert world.session.scalar(select(Response.accepted).where(Response.student_id == p["Max"].id)) is True
    if seen["Ann"].project_title != "Alpha":  # the group could not have its first choice
        said = services.explain_for_student(world.session, actor=f.actor(p["Bo"]), cohort_id=world.cohort.id)
        assert said and said[0].startswith("Alpha (your 1st choice) could not fit your group of 3")
    lines = services.explain_student(world.session, actor=world.admin, run_id=view.id, student_id=p["Max"].id)
    assert lines[0].startswith("Max is placed on")


def test_a_move_takes_a_whole_group_along_and_keeps_everyone_elses_rows(world):
    view = world.run()
    p = world.people
    trio = {p[n].id for n in ("Ann", "Bo", "Cy")}
    with pytest.raises(Invalid, match=r"Gamma has room for 0 more \(capacity 3 in this run\) and Bo's group of 3 \(Bo, Ann, Cy\) needs 3"):
        services.move_student(world.session, actor=world.admin, run_id=view.id, student_id=p["Bo"].id,
                              project_id=world.gamma.id)
    out = services.move_student(world.session, actor=world.admin, run_id=view.id, student_id=p["Bo"].id,
                                project_id=None, reason="asked to wait")
    assert "moved Bo's group of 3 (Bo, Ann, Cy) from Alpha to unplaced (asked to wait)" in out.message
    rows = world.session.execute(select(Assignment.student_id, Assignment.project_id, Assignment.manual)
                                 .where(Assignment.run_id == out.id)).all()
    assert sorted((s, pid, m) for s, pid, m in rows if s in trio) == sorted((s, None, True) for s in trio)
    assert sorted(r for r in world.rows(view.id) if r[0] not in trio) == sorted(
        (s, pid) for s, pid, _ in rows if s not in trio)
    back = services.move_student(world.session, actor=world.admin, run_id=out.id, student_id=p["Cy"].id,
                                 project_id=world.alpha.id)
    assert {pid for s, pid in world.rows(back.id) if s in trio} == {world.alpha.id}
    said = services.explain_student(world.session, actor=world.admin, run_id=back.id, student_id=p["Ann"].id)
    assert "moved" in " ".join(said).lower()
    moved = services.list_events(world.session, actor=world.admin, cohort_id=world.cohort.id,
                                 action="allocation.moved")
    assert sorted(moved[0].detail["group"]) == sorted(trio)
    assert moved[0].description.startswith("Moved Cy and their group (3 students) from no project to “Alpha”")


def test_a_move_of_a_student_with_several_places_changes_the_place_named(world):
    view = world.run()
    maxi = world.people["Max"].id
    move = dict(actor=world.admin, student_id=maxi)
    with pytest.raises(Invalid, match="has 2 places in this run: say which one"):
        services.move_student(world.session, run_id=view.id, project_id=world.alpha.id, **move)
    with pytest.raises(Invalid, match="already has a place on Beta"):
        services.move_student(world.session, run_id=view.id, project_id=world.beta.id,
                              from_project_id=world.gamma.id, **move)
    with pytest.raises(Invalid, match="no place on Alpha"):
        services.move_student(world.session, run_id=view.id, project_id=None, from_project_id=world.alpha.id,
                              **move)
    one = services.move_student(world.session, run_id=view.id, project_id=None, from_project_id=world.beta.id,
                                **move)
    assert sorted(pid for s, pid in world.rows(one.id) if s == maxi) == [world.gamma.id]
    assert one.placements == view.placements - 1
    two = services.move_student(world.session, run_id=one.id, project_id=world.beta.id, **move)
    assert sorted(pid for s, pid in world.rows(two.id) if s == maxi) == sorted([world.beta.id, world.gamma.id])
    assert "from a free place to Beta" in two.message
    assert sorted(world.rows(two.id)) == sorted(world.rows(view.id))


def test_a_rerun_for_the_declined_keeps_one_pinned_place_of_a_two_place_student(world):
    view = world.run()
    services.publish_run(world.session, actor=world.admin, run_id=view.id)
    dee = world.people["Dee"]
    if services.get_my_allocation(world.session, actor=f.actor(dee), cohort_id=world.cohort.id).placed:
        services.respond_to_allocation(world.session, actor=f.actor(dee), cohort_id=world.cohort.id, accept=False)
        again = services.rerun_declined(world.session, actor=world.admin, cohort_id=world.cohort.id)
        assert again.status in ("optimal", "feasible")
    export = services.export_run(world.session, actor=world.admin, run_id=view.id)
    assert export is not None


def test_the_explanation_for_a_group_that_did_not_fit_its_first_choice(world):
    p, cid = world.people, world.cohort.id
    world.cohort.phase_override = "preferences"
    services.save_preferences(world.session, actor=f.actor(p["Cy"]), cohort_id=cid,
                              project_ids=[world.beta.id, world.alpha.id])
    world.cohort.phase_override = "closed"
    view = world.run()
    services.publish_run(world.session, actor=world.admin, run_id=view.id)
    mine = services.get_my_allocation(world.session, actor=f.actor(p["Bo"]), cohort_id=cid)
    assert (mine.project_title, mine.rank) == ("Alpha", 2)
    said = services.explain_for_student(world.session, actor=f.actor(p["Bo"]), cohort_id=cid)
    assert said == ["Beta (your 1st choice) could not fit your group of 3: it had 1 place left."]  # Max has the other


def test_a_backup_of_a_run_with_groups_and_several_places_restores_whole(world):
    view = world.run()
    data = services.backup_cohort(world.session, actor=world.admin, cohort_id=world.cohort.id)
    restored = services.restore_cohort(world.session, actor=world.admin, data=data, name="Restored with groups")
    assert restored.runs == 1
    runs = services.list_runs(world.session, actor=world.admin, cohort_id=restored.cohort_id)
    again = world.rows(runs[0].id)
    assert sorted(pid is None for _, pid in again) == sorted(pid is None for _, pid in world.rows(view.id))
    assert len(again) == len(world.rows(view.id)) == 8  # Max has two rows, Tia one with no project
    mix = services.run_mix(world.session, actor=world.admin, run_id=runs[0].id)
    assert (mix.groups_placed, mix.places_given) == (1, 2)


def test_moving_one_pinned_place_keeps_the_pin_of_the_other(world):
    from allocator.models import AllocationRun
    from allocator.services.allocation.common import stored_record
    from allocator.services.run_record import project_key, student_key

    maxi = world.people["Max"].id
    pins = [(maxi, world.beta.id, "agreed"), (maxi, world.gamma.id, "agreed")]
    view = services.run_allocation(world.session, actor=world.admin, cohort_id=world.cohort.id,
                                   params=RunParameters(objective="generous", pins=pins))
    moved = services.move_student(world.session, actor=world.admin, run_id=view.id, student_id=maxi,
                                  project_id=None, from_project_id=world.beta.id)
    problem = stored_record(world.session, world.session.get(AllocationRun, moved.id)).problem
    assert problem.pins_of(student_key(maxi)) == (project_key(world.gamma.id),)
    rows = world.session.execute(select(Assignment.project_id, Assignment.pinned, Assignment.manual)
                                 .where(Assignment.run_id == moved.id, Assignment.student_id == maxi)).all()
    assert rows == [(world.gamma.id, True, False)]


def test_a_student_with_two_places_declines_both_and_the_coordinator_reads_both(world):
    view = world.run()
    services.publish_run(world.session, actor=world.admin, run_id=view.id)
    p = world.people
    titles = [world.session.get(type(world.gamma), pid).title for pid in world.session.scalars(
        select(Assignment.project_id).where(Assignment.run_id == view.id, Assignment.student_id == p["Max"].id)
        .order_by(Assignment.rank))]
    assert len(titles) == 2
    services.respond_to_allocation(world.session, actor=f.actor(p["Max"]), cohort_id=world.cohort.id,
                                   accept=False, reason="Both clash with my lab")
    said = [e.description for e in services.list_events(world.session, actor=world.admin, cohort_id=world.cohort.id,
                                                        action="allocation.declined")]
    assert said == [f"Declined “{titles[0]}” and “{titles[1]}” (run #{view.id}). Reason: Both clash with my lab"]
    inbox = services.list_notifications(world.session, actor=world.admin)
    assert inbox.items[0].subject == "Max declined their projects"
    assert f"declined “{titles[0]}” and “{titles[1]}”." in inbox.items[0].body


def test_who_was_grouped_with_whom_reads_as_the_run_solved_it_after_a_dissolve_and_a_restore(world):
    view = world.run()
    trio = "Ann; Bo; Cy"
    expected = {world.people[n].id: trio for n in ("Ann", "Bo", "Cy")}
    assert services.run_groups(world.session, actor=world.admin, run_id=view.id) == expected
    with pytest.raises(services.NotAllowed):
        services.run_groups(world.session, actor=f.actor(world.people["Ann"]), run_id=view.id)
    group_id = services.my_group(world.session, actor=f.actor(world.people["Ann"]), cohort_id=world.cohort.id).group_id
    services.dissolve_group(world.session, actor=world.admin, group_id=group_id, reason="test")
    assert services.run_groups(world.session, actor=world.admin, run_id=view.id) == expected

    export = services.export_run(world.session, actor=world.admin, run_id=view.id)
    rows = list(csv.DictReader(io.StringIO(export.students_csv.decode("utf-8-sig"))))
    by_name = {}
    for row in rows:
        by_name.setdefault(row["name"], set()).add(row["group"])
    assert by_name == {"Ann": {trio}, "Bo": {trio}, "Cy": {trio}, "Dee": {""}, "Eve": {""}, "Max": {""},
                       "Tia": {""}}

    data = services.backup_cohort(world.session, actor=world.admin, cohort_id=world.cohort.id)
    restored = services.restore_cohort(world.session, actor=world.admin, data=data, name="Restored groups")
    again = services.list_runs(world.session, actor=world.admin, cohort_id=restored.cohort_id)[0]
    assert sorted(services.run_groups(world.session, actor=world.admin, run_id=again.id).values()) == [trio] * 3


def test_the_supervisor_reads_who_came_as_a_group(world):
    view = world.run()
    services.publish_run(world.session, actor=world.admin, run_id=view.id)
    projects = services.list_my_projects(world.session, actor=f.actor(world.sup), cohort_id=world.cohort.id)
    with_whom = {s.name: s.group_with for p in projects.projects for s in p.allocated}
    assert with_whom["Ann"] == ("Bo", "Cy") and with_whom["Bo"] == ("Ann", "Cy") and with_whom["Cy"] == ("Ann", "Bo")
    assert all(not others for name, others in with_whom.items() if name not in ("Ann", "Bo", "Cy"))


def test_a_run_whose_groups_cannot_be_read_says_so(world):
    view = world.run()
    run = world.session.get(AllocationRun, view.id)
    run.record = {**run.record, "problem": {**run.record["problem"], "groups": [{"id": "G1", "members": ["P1"]}]}}
    world.session.flush()
    with pytest.raises(Invalid, match=f"Run #{view.id} cannot be read: 'P1' is not a student key"):
        services.run_groups(world.session, actor=world.admin, run_id=view.id)
