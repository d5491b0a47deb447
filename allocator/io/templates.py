"""The import templates: each column with an example and its accepted values."""
from __future__ import annotations

from dataclasses import dataclass

from allocator.io.records import MAX_CAPACITY, MAX_TAGS, MAX_TAG_LENGTH, PERSON_NAME_MAX, PROJECT_CODE_MAX, PROJECT_DESCRIPTION_MAX, PROJECT_TITLE_MAX, STATUSES
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
        TemplateColumn("name", "Ada Student", f"their name, up to {PERSON_NAME_MAX} characters"),
        TemplateColumn("role", "student", "required; student or staff (also: supervisor, lecturer, academic)"),
        TemplateColumn("max_load", "", "staff only, optional: the most students they supervise, a whole "
                                       "number; blank for no limit"),
    ),
    "projects": (
        TemplateColumn("code", EXAMPLE_PROJECT_CODE, f"optional, up to {PROJECT_CODE_MAX} characters; matches "
                                                     "an existing project to update it (else the title does)"),
        TemplateColumn("title", "Robots that water the allotment", f"required, up to {PROJECT_TITLE_MAX} characters"),
        TemplateColumn("description", "Build **small robots** that water the allotment.",
                       f"optional, Markdown, up to {PROJECT_DESCRIPTION_MAX:,} characters"),
        TemplateColumn("capacity", "3", f"required; places, a whole number from 0 to {MAX_CAPACITY:,}"),
        TemplateColumn("min_students", "1", "optional; the fewest students it runs with, 0 to capacity "
                                            "(blank: 0)"),
        TemplateColumn("supervisor_email", EXAMPLE_SUPERVISOR, "optional; the email of a staff member of "
                                                               "this cohort"),
        TemplateColumn("tags", "robotics; sustainability", f"optional; up to {MAX_TAGS} tags separated by ; or "
                                                           f", each up to {MAX_TAG_LENGTH} characters"),
        TemplateColumn("status", "approved", f"optional; one of {', '.join(STATUSES)} (blank: the choice on the "
                                             "page)"),
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
