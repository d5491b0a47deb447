"""The one vocabulary: every word has one label, its value is the string stored today, and every layer
that names a word or checks a limit takes it from `allocator.domain`."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import CheckConstraint

from allocator import domain, engine, glossary
from allocator.domain import Labelled, MEMBER_ROLES, Objective, Phase, ProjectStatus, Role, RunKind, RunStatus
from allocator.models import Base

VOCABULARIES = [Objective, RunStatus, RunKind, ProjectStatus, Role, Phase]
# (table, check constraint, the words it allows): every column that stores a word of the vocabulary.
CHECKED_COLUMNS = [
    ("cohorts", "default_objective_known", Objective.values()),
    ("cohorts", "phase_override_known", Phase.values()),
    ("memberships", "role_known", MEMBER_ROLES),
    ("projects", "status_known", ProjectStatus.values()),
    ("allocation_runs", "objective_known", Objective.values()),
    ("allocation_runs", "status_known", domain.STORED_RUN_STATUSES),
    ("allocation_runs", "kind_known", RunKind.values()),
]

# Written out on purpose: these strings are in databases, backups, problem/result files and audit
# entries; changing one needs a migration, so this test must fail first.
STORED = {
    Objective: ("min-cost", "greedy", "generous", "weighted"),
    RunStatus: ("optimal", "feasible", "infeasible", "unknown"),
    RunKind: ("solve", "move", "restore", "rerun-declined"),
    ProjectStatus: ("proposed", "approved", "rejected", "withdrawn"),
    Role: ("student", "staff", "admin"),
    Phase: ("setup", "proposals", "preferences", "closed", "published"),
}


@pytest.mark.parametrize("vocabulary", VOCABULARIES, ids=lambda v: v.__name__)
def test_values_are_the_strings_stored_today(vocabulary):
    assert vocabulary.values() == STORED[vocabulary]
    for member in vocabulary:
        assert isinstance(member, str) and member == member.value and str(member) == member.value
        assert f"{member}" == member.value and hash(member) == hash(member.value)
        assert vocabulary(member.value) is member


@pytest.mark.parametrize("vocabulary", VOCABULARIES, ids=lambda v: v.__name__)
def test_every_member_has_exactly_one_label_of_its_own(vocabulary):
    labels = [m.label for m in vocabulary]
    assert all(isinstance(label, str) and label.strip() == label and label for label in labels)
    assert len(set(labels)) == len(labels), labels
    assert vocabulary.labels() == dict(zip(vocabulary.values(), labels))


def test_a_stored_string_finds_its_label_and_an_unknown_one_is_shown_as_it_is():
    assert ProjectStatus.label_of("proposed") == "Waiting for approval"
    assert Phase.label_of(Phase.PUBLISHED) == "Allocation published"
    assert Objective.label_of("not-an-objective") == "not-an-objective"


def test_a_word_declared_without_a_label_is_refused():
    with pytest.raises(TypeError):
        Labelled("Broken", {"ONLY_VALUE": "only-value"})


def test_the_engine_names_the_same_objectives_and_statuses():
    assert engine.OBJECTIVES == Objective.values()
    assert engine.STATUSES == RunStatus.values()


def test_the_glossary_explains_every_solver_the_engine_names():
    assert engine.SOLVERS and all(name in glossary.SOLVER_HELP for name in engine.SOLVERS)
    assert all(glossary.solver_help(name) == glossary.SOLVER_HELP[name] for name in engine.SOLVERS)


def test_members_roles_and_stored_run_statuses_are_members():
    assert set(MEMBER_ROLES) == {Role.STUDENT, Role.STAFF}  # admin is a flag on the user, not a membership
    assert RunStatus.UNKNOWN not in domain.STORED_RUN_STATUSES
    assert set(domain.LIVE_PROJECT_STATUSES) == {ProjectStatus.PROPOSED, ProjectStatus.APPROVED}
    assert set(glossary.STATUS_HELP) == set(domain.STORED_RUN_STATUSES)
    assert all(text.startswith(status.label) for status, text in glossary.STATUS_HELP.items())


def _allowed(table: str, name: str) -> set[str]:
    check = next(c for c in Base.metadata.tables[table].constraints
                 if isinstance(c, CheckConstraint) and str(c.name).endswith(name))
    return set(re.findall(r"'([^']*)'", str(check.sqltext)))


@pytest.mark.parametrize("table, constraint, words", CHECKED_COLUMNS)
def test_the_models_check_constraints_allow_exactly_the_vocabulary(table, constraint, words):
    assert _allowed(table, constraint) == set(words)


@pytest.mark.parametrize("table, column, limit", [
    ("users", "email", domain.EMAIL_MAX),
    ("users", "name", domain.PERSON_NAME_MAX),
    ("cohorts", "name", domain.COHORT_NAME_MAX),
    ("projects", "code", domain.PROJECT_CODE_MAX),
    ("projects", "title", domain.PROJECT_TITLE_MAX),
    ("allocation_runs", "label", domain.RUN_LABEL_MAX),
])
def test_column_lengths_are_the_limits(table, column, limit):
    assert Base.metadata.tables[table].c[column].type.length == limit


def test_limits_are_consistent():
    assert 0 <= domain.PROJECT_CAPACITY_MIN < domain.PROJECT_CAPACITY_MAX
    assert domain.PROJECT_TAG_LENGTH_MAX > 0 and domain.PROJECT_TAGS_MAX > 0 and domain.CHOICES_MAX >= 1
