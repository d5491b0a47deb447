"""The data model: every rule the database can hold, it holds.

Services check the same rules first so people get a good message; the constraints here are what keeps
the data right when a service is wrong, two requests race, or someone edits the database by hand.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    TypeDecorator,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from allocator import domain

# Named constraints let Alembic's batch mode drop and recreate them on SQLite.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# The stored strings of each word of `allocator.domain` (defined there, once), for the check constraints.
ROLES = tuple(r.value for r in domain.MEMBER_ROLES)
PROJECT_STATUSES = domain.ProjectStatus.values()
OBJECTIVES = domain.Objective.values()
RUN_STATUSES = tuple(s.value for s in domain.STORED_RUN_STATUSES)
RUN_KINDS = domain.RunKind.values()
PHASES = domain.Phase.values()
INVITATION_STATUSES = domain.InvitationStatus.values()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Always hand back aware UTC datetimes: SQLite forgets the zone, PostgreSQL keeps it."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lowercase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(domain.EMAIL_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(domain.PERSON_NAME_MAX))
    # Microsoft's object id: stable even when a person's email changes.
    oid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Microsoft's tenant id of that object id: an account is bound to the first (oid, tid) that signs in.
    tid: Mapped[str | None] = mapped_column(String(64))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user", passive_deletes=True)
    supervised: Mapped[list[Project]] = relationship(back_populates="supervisor")


class Cohort(Base):
    __tablename__ = "cohorts"
    __table_args__ = (
        CheckConstraint("min_choices >= 0", name="min_choices_nonnegative"),
        CheckConstraint("max_choices >= 1 AND max_choices >= min_choices", name="max_choices_valid"),
        CheckConstraint(_in("default_objective", OBJECTIVES), name="default_objective_known"),
        CheckConstraint(f"phase_override IS NULL OR {_in('phase_override', PHASES)}", name="phase_override_known"),
        CheckConstraint(
            "proposals_close_at IS NULL OR proposals_open_at IS NULL OR proposals_close_at >= proposals_open_at",
            name="proposals_window_ordered",
        ),
        CheckConstraint(
            "preferences_close_at IS NULL OR preferences_open_at IS NULL OR preferences_close_at >= preferences_open_at",
            name="preferences_window_ordered",
        ),
        CheckConstraint("group_min_size >= 2 AND group_max_size >= group_min_size", name="group_sizes_valid"),
        CheckConstraint("places_per_student >= 1", name="places_per_student_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(domain.COHORT_NAME_MAX), unique=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    proposals_open_at: Mapped[datetime | None]
    proposals_close_at: Mapped[datetime | None]
    preferences_open_at: Mapped[datetime | None]
    preferences_close_at: Mapped[datetime | None]
    # A coordinator's "open it now" beats the dates, for the deadline extended at 11 pm.
    phase_override: Mapped[str | None] = mapped_column(String(20))
    min_choices: Mapped[int] = mapped_column(Integer, default=3)
    max_choices: Mapped[int] = mapped_column(Integer, default=8)
    allow_unranked: Mapped[bool] = mapped_column(Boolean, default=False)
    default_objective: Mapped[str] = mapped_column(String(20), default=domain.Objective.GENEROUS.value)
    auto_approve: Mapped[bool] = mapped_column(Boolean, default=False)
    responses_locked: Mapped[bool] = mapped_column(Boolean, default=False)
    # Students may form groups that are placed together on one project, or not at all. The defaults of
    # issue 16's columns are the database's own, so code that does not know them (an older revision's
    # data, a bulk insert) leaves them out and still writes a valid row.
    groups_allowed: Mapped[bool] = mapped_column(Boolean, server_default=false())
    group_min_size: Mapped[int] = mapped_column(Integer, server_default="2")
    group_max_size: Mapped[int] = mapped_column(Integer, server_default="4")
    # How many distinct projects each student is given (a student's own `Membership.places` overrides it).
    places_per_student: Mapped[int] = mapped_column(Integer, server_default="1")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="cohort", passive_deletes=True)
    projects: Mapped[list[Project]] = relationship(back_populates="cohort", passive_deletes=True)
    runs: Mapped[list[AllocationRun]] = relationship(back_populates="cohort", passive_deletes=True)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("cohort_id", "user_id"),
        CheckConstraint(_in("role", ROLES), name="role_known"),
        CheckConstraint("max_load IS NULL OR max_load >= 0", name="max_load_nonnegative"),
        CheckConstraint("places IS NULL OR places >= 1", name="places_positive"),
        CheckConstraint("tier >= 1", name="tier_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10))
    # Staff only: most students across all their projects in this cohort (None: no limit).
    max_load: Mapped[int | None] = mapped_column(Integer)
    # Students only: places this student is given (None: the cohort's `places_per_student`).
    places: Mapped[int | None] = mapped_column(Integer)
    # Students only: 1 is served first (e.g. students with a support plan), then 2, and so on.
    tier: Mapped[int] = mapped_column(Integer, server_default="1")
    preferences_saved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    cohort: Mapped[Cohort] = relationship(back_populates="memberships")


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        # Lets preferences and assignments prove their project belongs to their cohort.
        UniqueConstraint("id", "cohort_id"),
        UniqueConstraint("cohort_id", "code"),
        CheckConstraint("capacity >= 0", name="capacity_nonnegative"),
        CheckConstraint("min_students >= 0 AND min_students <= capacity", name="min_students_within_capacity"),
        CheckConstraint(_in("status", PROJECT_STATUSES), name="status_known"),
        CheckConstraint("length(title) > 0", name="title_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    # A supervisor who leaves keeps their projects' history; the coordinator reassigns.
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    code: Mapped[str | None] = mapped_column(String(domain.PROJECT_CODE_MAX))
    title: Mapped[str] = mapped_column(String(domain.PROJECT_TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    min_students: Mapped[int] = mapped_column(Integer, default=0)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(12), default=domain.ProjectStatus.PROPOSED.value)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    cohort: Mapped[Cohort] = relationship(back_populates="projects")
    supervisor: Mapped[User | None] = relationship(back_populates="supervised")


class Preference(Base):
    __tablename__ = "preferences"
    __table_args__ = (
        UniqueConstraint("cohort_id", "student_id", "rank"),
        UniqueConstraint("cohort_id", "student_id", "project_id"),
        CheckConstraint("rank >= 1", name="rank_positive"),
        # The student must be in the cohort, and the project must be the cohort's own.
        ForeignKeyConstraint(
            ["cohort_id", "student_id"], ["memberships.cohort_id", "memberships.user_id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["project_id", "cohort_id"], ["projects.id", "projects.cohort_id"], ondelete="CASCADE"),
        Index("ix_preferences_project_id", "project_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(Integer)
    student_id: Mapped[int] = mapped_column(Integer)
    project_id: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer)


class AllocationRun(Base):
    __tablename__ = "allocation_runs"
    __table_args__ = (
        CheckConstraint(_in("objective", OBJECTIVES), name="objective_known"),
        CheckConstraint(_in("status", RUN_STATUSES), name="status_known"),
        CheckConstraint(_in("kind", RUN_KINDS), name="kind_known"),
        CheckConstraint("students >= 0", name="students_nonnegative"),
        Index("ix_allocation_runs_cohort_id", "cohort_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20), default=domain.RunKind.SOLVE.value)
    # The origin of a derived run (a manual move, a restore, a re-run for declined students).
    parent_run_id: Mapped[int | None] = mapped_column(ForeignKey("allocation_runs.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    label: Mapped[str] = mapped_column(String(domain.RUN_LABEL_MAX), default="")
    objective: Mapped[str] = mapped_column(String(20))
    # How many students the run's problem has (the run list reads it without loading the record).
    students: Mapped[int] = mapped_column(Integer, default=0)
    # The problem and settings, in the form `services.run_record` reads and writes (nothing else does).
    record: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(12))
    solver: Mapped[str] = mapped_column(String(40), default="")
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    cost: Mapped[int | None] = mapped_column(Integer)
    profile: Mapped[list[Any]] = mapped_column(default=list)
    message: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    cohort: Mapped[Cohort] = relationship(back_populates="runs")
    assignments: Mapped[list[Assignment]] = relationship(back_populates="run", passive_deletes=True)


class Assignment(Base):
    __tablename__ = "assignments"
    __table_args__ = (
        # A student with several places has one row per project (one row with no project if unplaced).
        UniqueConstraint("run_id", "student_id", "project_id"),
        CheckConstraint("rank IS NULL OR rank >= 1", name="rank_positive"),
        CheckConstraint("project_id IS NOT NULL OR rank IS NULL", name="unplaced_has_no_rank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("allocation_runs.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # None: the student could not be placed in this run. No ondelete action on purpose: runs are
    # history, so a project that was ever allocated is withdrawn, never deleted on its own; the check
    # waits to the end of the statement, so deleting a whole cohort (runs and projects) still works.
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    # The student's rank of the project; None when placed on a project they did not rank.
    rank: Mapped[int | None] = mapped_column(Integer)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    manual: Mapped[bool] = mapped_column(Boolean, default=False)

    run: Mapped[AllocationRun] = relationship(back_populates="assignments")


class Response(Base):
    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("run_id", "student_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("allocation_runs.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    accepted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text, default="")
    responded_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The trail outlives the people and cohorts it mentions.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_email: Mapped[str] = mapped_column(String(domain.EMAIL_MAX), default="")
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(60))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)



class StudentGroup(Base):
    """Students of one cohort who apply together: placed on one project together, or not at all."""

    __tablename__ = "student_groups"
    __table_args__ = (
        # Lets members and the shared list prove they belong to the group's cohort.
        UniqueConstraint("id", "cohort_id"),
        CheckConstraint("length(name) > 0", name="name_not_empty"),
        Index("ix_student_groups_cohort_id", "cohort_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupMember(Base):
    __tablename__ = "group_members"
    __table_args__ = (
        # One group per student per cohort.
        UniqueConstraint("cohort_id", "user_id"),
        ForeignKeyConstraint(["group_id", "cohort_id"], ["student_groups.id", "student_groups.cohort_id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["cohort_id", "user_id"], ["memberships.cohort_id", "memberships.user_id"],
                             ondelete="CASCADE"),
        Index("ix_group_members_group_id", "group_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(Integer)
    cohort_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(Integer)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupInvitation(Base):
    __tablename__ = "group_invitations"
    __table_args__ = (
        UniqueConstraint("group_id", "email"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint(_in("status", INVITATION_STATUSES), name="status_known"),
        Index("ix_group_invitations_email", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("student_groups.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(10), default=domain.InvitationStatus.PENDING.value)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]


class GroupChoice(Base):
    """One project of a group's shared ranking, with who put it at this rank and when."""

    __tablename__ = "group_choices"
    __table_args__ = (
        UniqueConstraint("group_id", "rank"),
        UniqueConstraint("group_id", "project_id"),
        CheckConstraint("rank >= 1", name="rank_positive"),
        ForeignKeyConstraint(["group_id", "cohort_id"], ["student_groups.id", "student_groups.cohort_id"],
                             ondelete="CASCADE"),
        ForeignKeyConstraint(["project_id", "cohort_id"], ["projects.id", "projects.cohort_id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(Integer)
    cohort_id: Mapped[int] = mapped_column(Integer)
    project_id: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer)
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupChange(Base):
    """What happened to a group, by whom: every member sees the list (joins, leaves, ranking changes)."""

    __tablename__ = "group_changes"
    __table_args__ = (Index("ix_group_changes_group_id", "group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("student_groups.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    description: Mapped[str] = mapped_column(Text)
