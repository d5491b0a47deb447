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
from allocator.services import NotAllowed, export_run, move_student
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
    assert list(rows[0]) == ["email", "name", "project_code", "project", "supervisor", "supervisor_email", "rank"]
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
