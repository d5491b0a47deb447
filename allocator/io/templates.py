"""The import templates: each column with an example and its accepted values."""
from __future__ import annotations

from dataclasses import dataclass

from allocator import domain
from allocator.domain import ProjectStatus
from allocator.io.writers import to_csv_bytes


@dataclass(frozen=True)
class TemplateColumn:
    name: str
    example: str
    accepted: str  # what the column takes, in words, for the page beside the download


EXAMPLE_STUDENT = "ada.student@example.ac.uk"
EXAMPLE_SUPERVISOR = "grace.supervisor@example.ac.uk"
EXAMPLE_PROJECT_CODE = "P-001"

TEMPLATES: dict[str, tuple[TemplateColumn, ...]] = {
    "people": (
        TemplateColumn("email", EXAMPLE_STUDENT, "required; the person's university email"),
        TemplateColumn("name", "Ada Student", f"their name, up to {domain.PERSON_NAME_MAX} characters"),
        TemplateColumn("role", "student", "required; student or staff (also: supervisor, lecturer, academic)"),
        TemplateColumn("max_load", "", "staff only, optional: the most students they supervise, a whole "
                                       "number; blank for no limit"),
        TemplateColumn("places", "", "students only, optional: how many projects they are given; blank for "
                                     "the cohort's number"),
        TemplateColumn("tier", "1", "students only, optional: 1 is served first, then 2, …; blank leaves it"),
    ),
    "projects": (
        TemplateColumn("code", EXAMPLE_PROJECT_CODE, f"optional, up to {domain.PROJECT_CODE_MAX} characters; "
                                                     "matches an existing project to update it (else the title does)"),
        TemplateColumn("title", "Robots that water the allotment",
                       f"required, up to {domain.PROJECT_TITLE_MAX} characters"),
        TemplateColumn("description", "Build **small robots** that water the allotment.",
                       f"optional, Markdown, up to {domain.PROJECT_DESCRIPTION_MAX:,} characters"),
        TemplateColumn("capacity", "3", f"required; places, a whole number from {domain.PROJECT_CAPACITY_MIN} to "
                                        f"{domain.PROJECT_CAPACITY_MAX:,}"),
        TemplateColumn("min_students", "1", "optional; the fewest students it runs with, 0 to capacity "
                                            "(blank: 0)"),
        TemplateColumn("supervisor_email", EXAMPLE_SUPERVISOR, "optional; the email of a staff member of "
                                                               "this cohort"),
        TemplateColumn("tags", "robotics; sustainability",
                       f"optional; up to {domain.PROJECT_TAGS_MAX} tags separated by ; or , each up to "
                       f"{domain.PROJECT_TAG_LENGTH_MAX} characters"),
        TemplateColumn("status", ProjectStatus.APPROVED.value,
                       f"optional; one of {', '.join(ProjectStatus)} (blank: the choice on the page)"),
    ),
    "preferences": (
        TemplateColumn("student_email", EXAMPLE_STUDENT, "required; a student of this cohort"),
        TemplateColumn("project", EXAMPLE_PROJECT_CODE, "required; a project's code, or its title"),
        TemplateColumn("rank", "1", "required; 1 for the first choice, 2 for the second, …; one row per "
                                    "choice (or instead: one row per student with choice_1, choice_2, … "
                                    "columns)"),
    ),
}


def template_csv(kind: str) -> bytes:
    """The CSV template of one import ("people", "projects", "preferences"): its header and one example
    row, written like every CSV the app makes, and read back cleanly by that import's reader."""
    columns = TEMPLATES[kind]
    return to_csv_bytes([{c.name: c.example for c in columns}], [c.name for c in columns])
