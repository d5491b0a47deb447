"""Runs survive a backup and a restore: charts, export, moves and explanations work on restored runs, into
the same database or a fresh one (issue 11, point 3)."""
from __future__ import annotations

import csv
import io as std_io
import json
import re

import pytest

from allocator import db, services
from allocator.services import run_record
from tests import factories as f


def year(session):
    """A small cohort with a solved run, a manual move of it and a published, answered run."""
    cohort = f.cohort(session, phase="closed", name="Record cohort", max_choices=3, min_choices=1)
    admin = f.actor(f.admin(session, email="coord@uni.example"))
    sup = f.staff(session, cohort, person=f.user(session, email="sup@uni.example", name="Sue Pervisor"))
    projects = [f.project(session, cohort, sup, title=f"Project {i}", capacity=2, status="approved")
                for i in range(4)]
    students = [f.student(session, cohort, person=f.user(session, email=f"s{i}@uni.example", name=f"Student {i}"))
                for i in range(6)]
    for i, s in enumerate(students):
        f.preferences(session, cohort, s, [projects[i % 4], projects[(i + 1) % 4], projects[(i + 2) % 4]])
    params = services.default_parameters(session, actor=admin, cohort_id=cohort.id)
    solved = services.run_allocation(session, actor=admin, cohort_id=cohort.id, params=params, label="Solved")
    rows = services.run_assignments(session, actor=admin, run_id=solved.id)
    mover = rows[0]
    target = next(p for p in projects if p.id != mover.project_id and
                  sum(r.project_id == p.id for r in rows) < p.capacity)
    moved = services.move_student(session, actor=admin, run_id=solved.id, student_id=mover.student_id,
                                  project_id=target.id, reason="asked")
    services.publish_run(session, actor=admin, run_id=moved.id)
    return cohort, admin, students


def fill(charts) -> dict[str, int]:
    return {row.title: row.assigned for row in charts.project_fill}


def usable(session, admin, cohort_id) -> dict[str, object]:
    """Every run of the cohort read the four ways a coordinator reads a run; what they show, by label."""
    out = {}
    for run in services.list_runs(session, actor=admin, cohort_id=cohort_id):
        charts = services.run_charts(session, actor=admin, run_id=run.id)
        assert sum(fill(charts).values()) == run.placed == charts.headline.placed
        files = services.export_run(session, actor=admin, run_id=run.id)
        students = sorted((r["email"], r["project"], r["rank"])
                          for r in csv.DictReader(std_io.StringIO(files.students_csv.decode("utf-8-sig"))))
        rows = services.run_assignments(session, actor=admin, run_id=run.id)
        first = rows[0]
        explained = services.explain_student(session, actor=admin, run_id=run.id, student_id=first.student_id)
        assert explained and first.student_name in explained[0]
        placed = next(r for r in rows if r.project_id is not None)
        services.move_student(session, actor=admin, run_id=run.id, student_id=placed.student_id, project_id=None)
        out[run.label] = (run.kind, fill(charts), students)
    return out


def test_restored_runs_work_in_the_same_database(session):
    cohort, admin, _ = year(session)
    backup = services.backup_cohort(session, actor=admin, cohort_id=cohort.id)
    before = usable(session, admin, cohort.id)
    restored = services.restore_cohort(session, actor=admin, data=backup, name="Record cohort (restored)")
    after = usable(session, admin, restored.cohort_id)
    assert after == before
    assert {kind for kind, *_ in before.values()} >= {"solve", "move"}


def test_restored_runs_work_in_a_fresh_database(session, fresh_database):
    cohort, admin, _ = year(session)
    backup = services.backup_cohort(session, actor=admin, cohort_id=cohort.id)
    before = usable(session, admin, cohort.id)
    with db.session(fresh_database) as other, other.begin():
        boss = f.actor(f.admin(other, email="boss@uni.example"))
        restored = services.restore_cohort(other, actor=boss, data=backup, name="Elsewhere")
        after = usable(other, boss, restored.cohort_id)
    assert after == before


def test_a_backup_holds_no_database_ids(session):
    cohort, admin, students = year(session)
    backup = services.backup_cohort(session, actor=admin, cohort_id=cohort.id).decode()
    doc = json.loads(backup)
    runs = doc["runs"]
    assert [r["kind"] for r in runs] == ["solve", "move"]
    text = json.dumps(runs)
    for s in students:
        assert not re.search(rf'"S{s.id}"', text) and f"s{students.index(s)}@uni.example" in text
    assert not re.search(r'"[SPL]\d+"', text)


def test_a_record_reads_back_what_was_written(session):
    cohort, admin, _ = year(session)
    run = services.list_runs(session, actor=admin, cohort_id=cohort.id)[-1]
    from allocator.models import AllocationRun

    stored = session.get(AllocationRun, run.id)
    record = run_record.from_json(stored.record)
    assert record.problem.students and run_record.to_json(record) == stored.record
    with pytest.raises(run_record.DamagedRecord):
        run_record.from_json({**stored.record, "version": 1})


def test_stored_groups_reads_the_members_of_each_group_or_says_the_record_is_damaged():
    assert run_record.stored_groups(None) == []
    assert run_record.stored_groups([{"id": "G4", "members": ["S1", "S12"]}, {"id": "G9", "members": ["S3"]}]) \
        == [[1, 12], [3]]
    for bad in ({"id": "G4"}, [{"id": "G4", "members": "S1"}], [{"id": "G4", "members": ["P1"]}],
                [{"id": "G4", "members": ["S1"], "extra": 1}]):
        with pytest.raises(run_record.DamagedRecord):
            run_record.stored_groups(bad)
