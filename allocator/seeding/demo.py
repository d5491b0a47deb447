"""What a seed promises its callers: the demo accounts, the summary of what was added, and its errors."""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Callable, Sequence

from allocator.domain import Role


Progress = Callable[[int, int, str], None]
"""Called as rows go in: (rows written so far, rows to write in all, what is being written)."""


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    role: Role  # what a local sign-in screen files them under


DEMO_STUDENT = "student@demo.example"
DEMO_STAFF = "staff@demo.example"
DEMO_ADMIN = "admin@demo.example"
# The first users of a seeded database, in this order, so a local sign-in screen can offer them by name.
DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(DEMO_STUDENT, "Sam Student (student)", Role.STUDENT),
    DemoAccount(DEMO_STAFF, "Sasha Staff (supervisor)", Role.STAFF),
    DemoAccount(DEMO_ADMIN, "Alex Admin (coordinator)", Role.ADMIN),
)


class SeedError(Exception):
    """The seed cannot go ahead; the message says why, for a person."""


class CohortExists(SeedError):
    def __init__(self, names: Sequence[str]):
        self.names = tuple(names)
        listed = ", ".join(f"'{n}'" for n in self.names)
        super().__init__(f"cohort {listed} already exists" if len(names) == 1 else f"cohorts {listed} already exist")


@dataclass(frozen=True)
class SeedSummary:
    cohorts: tuple[str, ...]
    users: int  # rows added to `users` (demo accounts already present are reused, not counted)
    students: int  # student memberships, over all cohorts
    staff: int  # distinct staff people (one may serve several cohorts)
    admins: int
    projects: int
    proposed: int  # projects awaiting the coordinator's approval
    preferences: int  # preference rows
    submitted: int  # students who have saved a ranking
    groups: int = 0  # groups of students applying together (group-project cohorts only)
    seconds: float = field(default=0.0, compare=False)

    def line(self) -> str:
        names = "; ".join(self.cohorts)
        plural = "" if len(self.cohorts) == 1 else "s"
        return (f"Seeded {len(self.cohorts)} cohort{plural} ({names}): {self.students:,} students "
                f"({self.submitted:,} submitted), {self.staff:,} staff, {self.admins} admin, "
                f"{self.projects:,} projects ({self.proposed} proposed), {self.preferences:,} preferences"
                + (f", {self.groups:,} student groups" if self.groups else ""))
