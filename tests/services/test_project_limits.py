"""One set of project limits (`allocator.domain`) serves the file import, the supervisor's service and
the coordinator's catalogue: a project imported at every limit can be saved again by its supervisor,
and one step over a limit is refused by each of them."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from allocator import domain, io, services
from allocator.models import Project
from tests import factories as f

SUPERVISOR = "grace@uni.example"


@pytest.fixture
def world(session):
    cohort = f.cohort(session, phase="proposals")
    sup = f.staff(session, cohort, person=f.user(session, email=SUPERVISOR, name="Grace Hopper"))
    return dict(cohort=cohort, sup=sup, admin=f.actor(f.admin(session)), me=f.actor(sup))


def at_the_limits(**over) -> dict:
    fields = dict(
        title="T" * domain.PROJECT_TITLE_MAX,
        description="d" * domain.PROJECT_DESCRIPTION_MAX,
        capacity=domain.PROJECT_CAPACITY_MAX,
        tags=[f"{i:02d}" + "t" * (domain.PROJECT_TAG_LENGTH_MAX - 2) for i in range(domain.PROJECT_TAGS_MAX)],
    )
    return fields | over


def csv_of(fields: dict) -> bytes:
    return io.to_csv_bytes([{"title": fields["title"], "description": fields["description"],
                             "capacity": fields["capacity"], "min_students": 0, "supervisor_email": SUPERVISOR,
                             "tags": "; ".join(fields["tags"]), "status": "proposed"}],
                           ["title", "description", "capacity", "min_students", "supervisor_email", "tags", "status"])


def test_a_project_imported_at_every_limit_is_saved_again_by_its_supervisor(session, world):
    c = world["cohort"]
    fields = at_the_limits()
    result = services.apply_projects_import(session, actor=world["admin"], cohort_id=c.id, data=csv_of(fields))
    assert result.added == 1
    pid = session.scalar(select(Project.id).where(Project.cohort_id == c.id))
    mine = services.list_my_projects(session, actor=world["me"], cohort_id=c.id).project(pid)
    assert (mine.capacity, len(mine.tags), len(mine.title)) == (
        domain.PROJECT_CAPACITY_MAX, domain.PROJECT_TAGS_MAX, domain.PROJECT_TITLE_MAX)

    saved = services.update_my_project(session, actor=world["me"], cohort_id=c.id, project_id=pid, title=mine.title,
                                       description=mine.description, capacity=mine.capacity,
                                       min_students=mine.min_students, tags=list(mine.tags))
    assert (saved.title, saved.description, saved.capacity, list(saved.tags)) == (
        fields["title"], fields["description"], fields["capacity"], fields["tags"])


def test_the_coordinators_table_keeps_an_imported_project_at_the_limits(session, world):
    c = world["cohort"]
    services.apply_projects_import(session, actor=world["admin"], cohort_id=c.id, data=csv_of(at_the_limits()))
    p = session.scalars(select(Project).where(Project.cohort_id == c.id)).one()
    result = services.bulk_edit_projects(session, actor=world["admin"], cohort_id=c.id, rows=[
        {"id": p.id, "capacity": p.capacity, "min_students": 0, "tags": "; ".join(p.tags)}])
    assert result.changed == 0


@pytest.mark.parametrize("over, complaint", [
    (dict(capacity=domain.PROJECT_CAPACITY_MAX + 1), "capacity"),
    (dict(tags=[f"t{i}" for i in range(domain.PROJECT_TAGS_MAX + 1)]), "tags"),
    (dict(tags=["x" * (domain.PROJECT_TAG_LENGTH_MAX + 1)]), "longer than"),
    (dict(title="T" * (domain.PROJECT_TITLE_MAX + 1)), "title"),
])
def test_one_step_over_a_limit_is_refused_by_the_import_and_the_service_alike(session, world, over, complaint):
    c = world["cohort"]
    fields = at_the_limits(**over)
    preview = services.preview_projects_import(session, actor=world["admin"], cohort_id=c.id, data=csv_of(fields))
    assert len(preview.rejected) == 1 and complaint in preview.rejected[0].message
    with pytest.raises(services.Invalid):
        services.propose_project(session, actor=world["me"], cohort_id=c.id, **fields)
    assert session.scalar(select(Project.id).where(Project.cohort_id == c.id)) is None
