"""The domain's vocabulary, defined once: objectives, run statuses and kinds, project statuses, roles,
phases, each with its one human label, and the limits of what people type or import.

Every other module takes its words and limits from here: the models build their check constraints and
column lengths from it, the file readers and the services check the same limits (so a project imported
from a file can always be saved again by its supervisor), the engine names its objectives and statuses
with it, and the pages draw its labels. It is pure standard library, so the engine may import it and
stay pure (`tests/test_layering.py` holds both to that).

Each member's value is the string stored in the database and written in files (`Objective.MIN_COST ==
"min-cost"`): members are `str`, so they compare, hash, bind and serialise as those strings, and data
read back as plain strings matches them.
"""
from __future__ import annotations

from enum import StrEnum


class Labelled(StrEnum):
    """A StrEnum whose members are declared as `NAME = "stored value", "Human label"`."""

    label: str

    def __new__(cls, value: str, label: str) -> Labelled:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def values(cls) -> tuple[str, ...]:
        """The stored strings, in the order the members are declared."""
        return tuple(m.value for m in cls)

    @classmethod
    def labels(cls) -> dict[str, str]:
        """Stored string → label, in declaration order (what a selectbox's `format_func` wants)."""
        return {m.value: m.label for m in cls}

    @classmethod
    def label_of(cls, value: str) -> str:
        """The label of a stored string; the string itself if it is not a member (old or damaged data)."""
        try:
            return cls(value).label
        except ValueError:
            return str(value)


class Objective(Labelled):
    """What an allocation optimises once as many students as possible are placed."""

    MIN_COST = "min-cost", "Minimum cost: the lowest sum of ranks"
    GREEDY = "greedy", "Greedy: as many first choices as possible, then seconds, …"
    GENEROUS = "generous", "Generous: nobody gets a worse choice than necessary"
    WEIGHTED = "weighted", "Weighted: the lowest sum of your weights per rank"


class RunStatus(Labelled):
    """What the solver could say of its allocation."""

    OPTIMAL = "optimal", "Optimal"
    FEASIBLE = "feasible", "Feasible"
    INFEASIBLE = "infeasible", "Infeasible"
    UNKNOWN = "unknown", "Unknown"


# A solve that ends without an answer either way is reported, never stored as a run.
STORED_RUN_STATUSES = (RunStatus.OPTIMAL, RunStatus.FEASIBLE, RunStatus.INFEASIBLE)


class RunKind(Labelled):
    """How a run was made."""

    SOLVE = "solve", "Solved"
    MOVE = "move", "Moved by hand"
    RESTORE = "restore", "Restored"
    RERUN_DECLINED = "rerun-declined", "Re-run for declined students"


class ProjectStatus(Labelled):
    PROPOSED = "proposed", "Waiting for approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


# Projects a supervisor still stands behind: what a copied cohort keeps and what counts as their load.
LIVE_PROJECT_STATUSES = (ProjectStatus.PROPOSED, ProjectStatus.APPROVED)


class Role(Labelled):
    """Who someone is on a page. Student and staff are held per cohort (`Membership.role`); admin is a
    flag on the user (`User.is_admin`), never a membership."""

    STUDENT = "student", "Student"
    STAFF = "staff", "Supervisor"
    ADMIN = "admin", "Coordinator"


MEMBER_ROLES = (Role.STUDENT, Role.STAFF)


class InvitationStatus(Labelled):
    """Where an invitation to join a student group stands."""

    PENDING = "pending", "Waiting for an answer"
    ACCEPTED = "accepted", "Accepted"
    DECLINED = "declined", "Declined"


class Phase(Labelled):
    """Where a cohort is in its year; it follows the coordinator's dates unless they force one."""

    SETUP = "setup", "Not yet open"
    PROPOSALS = "proposals", "Proposals open"
    PREFERENCES = "preferences", "Preferences open"
    CLOSED = "closed", "Preferences closed"
    PUBLISHED = "published", "Allocation published"


# --- limits ---------------------------------------------------------------------------------------
# One number each, for the form, the service, the file import and the backup restore alike: whatever
# one of them lets in, the others accept back. Column lengths in `models` are these numbers.
EMAIL_MAX = 320
PERSON_NAME_MAX = 200
COHORT_NAME_MAX = 200
PROJECT_CODE_MAX = 40
PROJECT_TITLE_MAX = 300
PROJECT_DESCRIPTION_MAX = 20_000
# Places on a project, and a supervisor's maximum load. Generous on purpose: a catch-all project of a
# large cohort ("own proposal", 400 places) must be importable and then editable by its supervisor.
PROJECT_CAPACITY_MIN = 0
PROJECT_CAPACITY_MAX = 10_000
PROJECT_TAGS_MAX = 20
PROJECT_TAG_LENGTH_MAX = 50
REJECT_REASON_MAX = 2000
RESPONSE_REASON_MAX = 2000
RUN_LABEL_MAX = 200
MOVE_REASON_MAX = 500
# Most projects a cohort can let a student rank.
CHOICES_MAX = 50
