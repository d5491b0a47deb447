"""A restore trusts nothing in the file: a backup edited to grant coordinator rights, to smuggle in text
or numbers beyond what the forms and imports accept, to carry rank profiles that are not numbers, values
of the wrong type or JSON nested to exhaust the parser is refused with the "damaged file" message and
nothing is written (issue 11, point 4). One test per kind of tampering."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from allocator import domain, services
from allocator.models import AllocationRun, AuditEvent, Cohort, Project, User
from tests import factories as f

DAMAGED = "damaged or was edited by hand"


@pytest.fixture
def backup(session):
    """A real backup of a cohort with people, projects, preferences and a solved run, as a dict."""
    cohort = f.cohort(session, phase="closed", name="Tamper cohort", max_choices=2, min_choices=1)
    admin = f.actor(f.admin(session, email="coord@uni.example"))
    sup = f.staff(session, cohort, person=f.user(session, email="sup@uni.example", name="Sue"))
    projects = [f.project(session, cohort, sup, title=f"Topic {i}", capacity=2) for i in range(3)]
    for i in range(4):
        s = f.student(session, cohort, person=f.user(session, email=f"t{i}@uni.example", name=f"T {i}"))
        f.preferences(session, cohort, s, [projects[i % 3], projects[(i + 1) % 3]])
    params = services.default_parameters(session, actor=admin, cohort_id=cohort.id)
    services.run_allocation(session, actor=admin, cohort_id=cohort.id, params=params, label="Solved")
    doc = json.loads(services.backup_cohort(session, actor=admin, cohort_id=cohort.id))
    return dict(doc=doc, admin=admin)


def written(session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(model))
                 for model in (Cohort, User, Project, AllocationRun, AuditEvent))


def refused(session, backup, data: bytes, message: str) -> None:
    before = written(session)
    with pytest.raises(services.Invalid, match=message) as err:
        services.restore_cohort(session, actor=backup["admin"], data=data, name="Tampered")
    assert DAMAGED in str(err.value) and "Nothing was restored" in str(err.value)
    assert written(session) == before


def tampered(backup, change) -> bytes:
    doc = json.loads(json.dumps(backup["doc"]))
    change(doc)
    return json.dumps(doc).encode()


def test_a_backup_cannot_make_anyone_a_coordinator(session, backup):
    def new_admin(doc):
        doc["people"].append({"email": "mallory@uni.example", "name": "Mallory", "role": "staff",
                              "is_admin": True, "max_load": None, "joined_at": None, "preferences_saved_at": None})

    refused(session, backup, tampered(backup, new_admin), "cannot grant coordinator rights")
    refused(session, backup, tampered(backup, lambda d: d["other_people"][0].update(is_admin=True)),
            "cannot grant coordinator rights")
    assert session.scalar(select(User).where(User.email == "mallory@uni.example")) is None
    # Untampered, the people it creates are ordinary accounts.
    session.execute(User.__table__.delete().where(User.email == "sup@uni.example"))
    services.restore_cohort(session, actor=backup["admin"], data=tampered(backup, lambda d: None), name="Fine")
    assert session.scalar(select(User.is_admin).where(User.email == "sup@uni.example")) is False


@pytest.mark.parametrize("change, message", [
    (lambda d: d["projects"][0].update(description="x" * 1_000_000), r"projects\[0\].description"),
    (lambda d: d["projects"][0].update(title="T" * (domain.PROJECT_TITLE_MAX + 1)), r"projects\[0\].title"),
    (lambda d: d["people"][0].update(name="N" * (domain.PERSON_NAME_MAX + 1)), r"people\[0\].name"),
    (lambda d: d["projects"][0].update(tags=["t" * (domain.PROJECT_TAG_LENGTH_MAX + 1)]), r"projects\[0\].tags"),
    (lambda d: d["runs"][0].update(message="m" * 100_000), r"runs\[0\].message"),
])
def test_oversize_text_is_refused(session, backup, change, message):
    refused(session, backup, tampered(backup, change), message)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["cohort"]["settings"].update(max_choices=10**6), r"cohort.settings.max_choices .* to 50"),
    (lambda d: d["projects"][0].update(capacity=10**12), r"projects\[0\].capacity"),
    (lambda d: d["people"][0].update(max_load=2**40), r"people\[0\].max_load"),
    (lambda d: d["runs"][0].update(cost=10**30), r"runs\[0\].cost"),
    (lambda d: d["runs"][0].update(seconds=1e308 * 10), r"runs\[0\].seconds"),
    (lambda d: d["runs"][0]["record"]["settings"].update(seed=10**20), r"runs\[0\].record"),
])
def test_huge_numbers_are_refused(session, backup, change, message):
    assert domain.CHOICES_MAX == 50
    refused(session, backup, tampered(backup, change), message)


@pytest.mark.parametrize("profile", [["3", 1], [None], [1.5, 2], [{"a": 1}], [-1, 5], [99, 0]])
def test_rank_profiles_that_are_not_counts_are_refused(session, backup, profile):
    refused(session, backup, tampered(backup, lambda d: d["runs"][0].update(profile=profile)), r"runs\[0\].profile")


@pytest.mark.parametrize("change, message", [
    (lambda d: d["runs"][0]["assignments"][0].__setitem__(1, ["p1"]), r"runs\[0\].assignments\[0\]"),
    (lambda d: d["preferences"].update({"t0@uni.example": [{"key": "p1"}]}), "preferences"),
    (lambda d: d["cohort"]["settings"].update(phase_override=["closed"]), "phase_override"),
    (lambda d: d["runs"][0].update(kind=7), r"runs\[0\].kind"),
    (lambda d: d["runs"][0].update(record=[]), r"runs\[0\].record"),
    (lambda d: d["runs"][0]["record"]["problem"]["students"][0].update(preferences="p1"), r"runs\[0\].record"),
    (lambda d: d["runs"][0].update(label=None), r"runs\[0\].label"),
    (lambda d: d["runs"][0].update(parent=["r1"]), r"runs\[0\].parent"),
    (lambda d: d.update(people={"email": "x@uni.example"}), "people should be a list"),
])
def test_values_of_the_wrong_type_are_refused(session, backup, change, message):
    refused(session, backup, tampered(backup, change), message)


def test_deeply_nested_json_is_refused(session, backup):
    deep = b'{"format": "project-allocator-cohort-backup", "version": 2, "cohort": ' + b"[" * 200_000 + b"]" * 200_000
    refused(session, backup, deep + b"}", "nested too deeply")
    nested = tampered(backup, lambda d: d["runs"][0]["record"]["settings"].update(
        pins=json.loads("[" * 500 + "]" * 500)))
    refused(session, backup, nested, r"runs\[0\].record")
