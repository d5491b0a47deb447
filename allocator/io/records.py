"""What the readers return and the limits they apply: errors by line, parsed rows, import previews."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from allocator.domain import Role


MAX_BYTES = 5 * 1024 * 1024
MAX_JSON_BYTES = 50 * 1024 * 1024
# What people write in a role column, for the role it means; the limits of every field are domain's, the
# same for a file as for the forms.
ROLE_NAMES = {
    "student": Role.STUDENT, "students": Role.STUDENT, "learner": Role.STUDENT,
    "staff": Role.STAFF, "supervisor": Role.STAFF, "supervisors": Role.STAFF, "lecturer": Role.STAFF,
    "academic": Role.STAFF,
}
# Plain ASCII addresses: university accounts are, and SQLite's lower() (the users table checks that
# emails are lower case) only folds ASCII.
EMAIL_RE = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
WIDE_CHOICE = re.compile(r"^(?:choice|preference|pref|option|rank)_?(\d+)$")


class BadFile(ValueError):
    """The file as a whole cannot be read (too big, not CSV, no header we understand)."""


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}"


@dataclass(frozen=True)
class Parsed:
    """What a reader found: the good rows (typed per reader), the bad ones, and ignored columns."""

    rows: tuple
    errors: tuple[RowError, ...]
    ignored_columns: tuple[str, ...] = ()
    fmt: str = ""  # preferences: "long" or "wide"


@dataclass(frozen=True)
class ImportItem:
    """One row of an import preview: what will happen to it."""

    line: int
    key: str  # the email, project code/title...
    description: str
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportPreview:
    added: tuple[ImportItem, ...]
    changed: tuple[ImportItem, ...]
    unchanged: tuple[ImportItem, ...]
    rejected: tuple[RowError, ...]
    ignored_columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.rejected

    @property
    def summary(self) -> str:
        parts = [f"{len(self.added)} to add", f"{len(self.changed)} to change", f"{len(self.unchanged)} unchanged"]
        if self.rejected:
            parts.append(f"{len(self.rejected)} rejected")
        return ", ".join(parts)


@dataclass(frozen=True)
class ImportResult:
    added: int
    changed: int
    unchanged: int
    skipped: int  # rejected rows left out (only with "import the valid rows")

    @property
    def summary(self) -> str:
        text = f"Imported: {self.added} added, {self.changed} changed, {self.unchanged} unchanged"
        return text + (f", {self.skipped} rejected rows skipped." if self.skipped else ".")


@dataclass(frozen=True)
class PersonRow:
    line: int
    email: str
    name: str  # "" when the cell is blank (keep the current name)
    role: str
    max_load: int | None = None
    has_max_load: bool = False  # the file has a max_load column (a blank cell then means "no limit")


@dataclass(frozen=True)
class ProjectRow:
    line: int
    code: str | None
    title: str
    capacity: int
    min_students: int
    description: str = ""
    supervisor_email: str | None = None
    tags: tuple[str, ...] = ()
    status: str | None = None
    # The optional columns the file has: absent ones leave an existing project's field as it is.
    present: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class StudentChoices:
    """One student's list as the file gives it: project references (code or title) in rank order."""

    line: int  # the first line of this student
    email: str
    choices: tuple[tuple[int, str], ...]  # (line, project reference), best first
