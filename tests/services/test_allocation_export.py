"""Exporting a run: CSV per student and per project, an .xlsx of both, the engine's JSON files."""
from __future__ import annotations

import csv
import io
import json

import openpyxl
import pytest
from sqlalchemy import select

from allocator import engine
from allocator.models import AuditEvent
from allocator.services import NotAllowed, export_run, move_student, publish_run, respond_to_allocation
from tests import factories as f
from tests.services.test_allocation import World


@pytest.fixture
def world(session):
    return World(session)


def _csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def test_the_student_csv_has_one_row_per_student(world):
    view = world.run()
    files = export_run(world.session, actor=world.actor, run_id=view.id)
    rows = _csv(files.students_csv)
    assert list(rows[0]) == ["email", "name", "project_code", "project", "supervisor", "supervisor_email", "rank",
                             "rank_note", "placed_by", "answer", "answer_reason", "group"]
    assert sorted(r["email"] for r in rows) == sorted(s.email for s in world.students)
    placement = world.placement(view.id)
    titles = {world.a.id: "Alpha", world.b.id: "Beta", world.c.id: "Gamma"}
    for s in world.students:
        row = next(r for r in rows if r["email"] == s.email)
        assert row["project"] == titles[placement[s.id]] and row["rank"].isdigit()
    assert files.stem == f"allocation-run-{view.id}"
    assert world.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "allocation.exported"))


def test_the_roster_has_one_row_per_project_with_its_students(world):
    view = world.run()
    rows = _csv(export_run(world.session, actor=world.actor, run_id=view.id).roster_csv)
    by_title = {r["project"]: r for r in rows}
    assert set(by_title) == {"Alpha", "Beta", "Gamma"}
    alpha = by_title["Alpha"]
    assert (alpha["supervisor"], alpha["capacity"], alpha["allocated"]) == ("Ann Supervisor", "2", "2")
    on_alpha = [s for s in world.students if world.placement(view.id)[s.id] == world.a.id]
    assert all(f"{s.name} <{s.email}>" in alpha["students"] for s in on_alpha)


def test_the_workbook_has_both_sheets(world):
    view = world.run()
    book = openpyxl.load_workbook(io.BytesIO(export_run(world.session, actor=world.actor, run_id=view.id).xlsx))
    assert book.sheetnames == ["Students", "Projects"]
    assert book["Students"].max_row == 7 and book["Projects"].max_row == 4


def test_formulas_in_names_are_neutralised(world):
    evil = f.student(world.session, world.cohort, person=f.user(world.session, name="=HYPERLINK(\"x\")"))
    f.preferences(world.session, world.cohort, evil, [world.b])
    view = world.run()
    rows = _csv(export_run(world.session, actor=world.actor, run_id=view.id).students_csv)
    assert any(r["name"] == "'=HYPERLINK(\"x\")" for r in rows)


def test_problem_and_result_files_reproduce_the_run_with_the_engine(world):
    view = world.run(objective="greedy", seed=3, pins=[(world.students[0].id, world.b.id, "lab")])
    files = export_run(world.session, actor=world.actor, run_id=view.id)
    problem = engine.loads_problem(files.problem_json)
    result = engine.loads_result(files.result_json, problem)
    assert engine.validate(problem, result) == []
    assert result.status == "optimal" and result.objective == "greedy" and result.seed == 3
    assert problem.pinned == {f"S{world.students[0].id}": f"P{world.b.id}"}
    again = engine.solve(problem, objective="greedy", seed=3)
    assert again.assignment == result.assignment and again.profile == result.profile
    meta = json.loads(files.problem_json)["meta"]
    assert meta["run_id"] == view.id and meta["names"][f"P{world.a.id}"] == "Alpha"


def test_a_derived_run_exports_its_origins_problem(world):
    base = world.run(capacity_overrides={world.b.id: 3})
    mover = next(s for s, p in world.placement(base.id).items() if p == world.a.id)
    moved = move_student(world.session, actor=world.actor, run_id=base.id, student_id=mover, project_id=world.b.id)
    files = export_run(world.session, actor=world.actor, run_id=moved.id)
    problem = engine.loads_problem(files.problem_json)
    result = engine.loads_result(files.result_json, problem)
    assert result.solver == "manual" and result.assignment[f"S{mover}"] == f"P{world.b.id}"
    assert engine.validate(problem, result) == []


def test_an_infeasible_run_exports_its_problem_and_sentence(world):
    bad = world.run(pins=[(s.id, world.a.id, "") for s in world.students[:3]])
    files = export_run(world.session, actor=world.actor, run_id=bad.id)
    result = json.loads(files.result_json)
    assert result["status"] == "infeasible" and f"P{world.a.id}" in result["message"]
    assert _csv(files.students_csv) == []


def test_students_and_staff_are_refused(world):
    view = world.run()
    for person in (world.students[0], world.ann):
        with pytest.raises(NotAllowed):
            export_run(world.session, actor=f.actor(person), run_id=view.id)


def test_the_student_csv_says_why_rank_is_empty_who_placed_them_and_their_answer(world):
    late = f.student(world.session, world.cohort, person=f.user(world.session, name="Late Lou"))  # no list
    s2 = world.students[2]  # ranked Alpha and Beta only
    base = world.run(allow_unranked=True, capacity_overrides={world.b.id: 4},
                     supervisor_capacity_overrides={world.ann.id: None},
                     pins=[(s2.id, world.c.id, "lab"), (world.students[0].id, world.a.id, "")])
    placement = world.placement(base.id)
    mover = next(st for st in world.students[3:] if placement[st.id] not in (world.b.id, world.c.id))
    moved = move_student(world.session, actor=world.actor, run_id=base.id, student_id=mover.id,
                         project_id=world.b.id)
    publish_run(world.session, actor=world.actor, run_id=moved.id)
    cid = world.cohort.id
    respond_to_allocation(world.session, actor=f.actor(s2), cohort_id=cid, accept=False, reason="not Gamma")
    respond_to_allocation(world.session, actor=f.actor(world.students[0]), cohort_id=cid, accept=True)
    rows = {r["email"]: r for r in _csv(export_run(world.session, actor=world.actor, run_id=moved.id).students_csv)}

    pinned = rows[s2.email]
    assert (pinned["project"], pinned["rank"], pinned["rank_note"]) == ("Gamma", "", "placed outside their list")
    assert pinned["placed_by"] == "pinned by the coordinator"
    assert (pinned["answer"], pinned["answer_reason"]) == ("declined", "not Gamma")
    assert (rows[world.students[0].email]["answer"], rows[world.students[0].email]["answer_reason"]) == ("accepted", "")
    assert rows[mover.email]["placed_by"] == "moved by hand" and rows[mover.email]["answer"] == "none"
    lou = rows[late.email]
    assert lou["project"] and lou["rank"] == "" and lou["rank_note"] == "did not submit a list"
    solver_placed = next(rows[st.email] for st in world.students[3:] if st is not mover)
    assert solver_placed["placed_by"] == "solver" and solver_placed["rank"].isdigit()
    assert solver_placed["rank_note"] == ""


def test_an_unplaced_student_is_said_to_be_not_placed(world):
    late = f.student(world.session, world.cohort, person=f.user(world.session, name="Late Lou"))
    view = world.run()  # unranked placements not allowed: Lou, with no list, stays unplaced
    rows = {r["email"]: r for r in _csv(export_run(world.session, actor=world.actor, run_id=view.id).students_csv)}
    assert (rows[late.email]["project"], rows[late.email]["rank_note"], rows[late.email]["placed_by"]) == \
        ("", "not placed", "")


def test_the_workbook_sheets_have_a_frozen_header_filters_and_widths(world):
    view = world.run()
    book = openpyxl.load_workbook(io.BytesIO(export_run(world.session, actor=world.actor, run_id=view.id).xlsx))
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == sheet.dimensions
        widths = [sheet.column_dimensions[c.column_letter].width for c in sheet[1]]
        assert all(w and w >= 8 for w in widths)
    assert book["Students"].auto_filter.ref == "A1:L7"  # 12 columns (the last, group), 6 students
