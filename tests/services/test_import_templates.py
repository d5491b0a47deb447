"""Each import's CSV template imports cleanly, in order: people, then projects, then preferences."""
from __future__ import annotations

import csv
import io as std_io

import pytest
from sqlalchemy import select

from allocator import domain, io, services
from allocator.models import Membership, Preference, Project, User
from tests import factories as f


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(std_io.StringIO(data.decode("utf-8-sig"))))


def test_each_template_has_its_columns_and_one_example_row(session):
    admin = f.actor(f.admin(session))
    for kind in services.IMPORT_KINDS:
        template = services.import_template(session, actor=admin, kind=kind)
        [example] = rows(template.csv)
        assert list(example) == [c.name for c in template.columns]
        assert all(c.accepted for c in template.columns)
        assert template.file_name == f"{kind}-template.csv"


def test_the_accepted_values_quote_the_limits_the_import_enforces():
    accepted = {c.name: c.accepted for c in io.TEMPLATES["projects"]}
    assert str(domain.PROJECT_TITLE_MAX) in accepted["title"]
    assert f"{domain.PROJECT_DESCRIPTION_MAX:,}" in accepted["description"]
    assert all(s in accepted["status"] for s in domain.ProjectStatus.values())


def test_the_templates_import_cleanly_one_after_the_other(session):
    cohort = f.cohort(session, phase="preferences", min_choices=1)
    admin = f.actor(f.admin(session))
    f.staff(session, cohort, person=f.user(session, email=io.EXAMPLE_SUPERVISOR, name="Grace Supervisor"))

    def template(kind):
        return services.import_template(session, actor=admin, kind=kind).csv

    steps = (("people", services.preview_people_import, services.apply_people_import),
             ("projects", services.preview_projects_import, services.apply_projects_import),
             ("preferences", services.preview_preferences_import, services.apply_preferences_import))
    for kind, preview_fn, apply_fn in steps:
        preview = preview_fn(session, actor=admin, cohort_id=cohort.id, data=template(kind))
        assert preview.ok and preview.ignored_columns == () and len(preview.added) == 1, (kind, preview)
        result = apply_fn(session, actor=admin, cohort_id=cohort.id, data=template(kind))
        assert (result.added, result.skipped) == (1, 0), kind

    student = session.scalar(select(User).where(User.email == io.EXAMPLE_STUDENT))
    assert session.scalar(select(Membership.role).where(Membership.user_id == student.id)) == "student"
    project = session.scalar(select(Project).where(Project.cohort_id == cohort.id))
    assert (project.code, project.capacity, project.status) == (io.EXAMPLE_PROJECT_CODE, 3, "approved")
    assert list(project.tags) == ["robotics", "sustainability"]
    assert session.scalar(select(Preference.project_id).where(Preference.student_id == student.id)) == project.id


def test_an_unknown_template_is_refused(session):
    with pytest.raises(services.Invalid):
        services.import_template(session, actor=f.actor(f.admin(session)), kind="grades")
    with pytest.raises(services.NotAllowed):
        services.import_template(session, actor=f.actor(f.user(session)), kind="people")
