"""What every part of the allocation studio shares: finding a cohort or a run, cleaning a run's label
or a reason, the names a problem's keys stand for, and reading a run's stored record."""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Executable, Row, select
from sqlalchemy.orm import Session, aliased, defer

from allocator.domain import MOVE_REASON_MAX, RUN_LABEL_MAX, Role
from allocator.models import (
    AllocationRun,
    Membership,
    Project,
    User,
)
from allocator.services import run_record
from allocator.services.cohorts import cohort_of  # noqa: F401  (shared by the package's modules)
from allocator.services.errors import Invalid, NotFound
from allocator.services.run_record import (
    RunRecord,
    project_key,
    student_key,
    supervisor_key,
)

__all__: list[str] = []



def project_label(code: str | None, title: str) -> str:
    """How a project is named on screen: 'CODE · Title', or the title alone when it has no code."""
    return f"{code} · {title}" if code else title


def run_of(session: Session, run_id: int, *, cohort_id: int | None = None) -> AllocationRun:
    """The run (of `cohort_id`, when given), or NotFound. Its record, the size of its problem, is read
    when first used (`stored_record`): most callers need only the other columns."""
    run = session.get(AllocationRun, run_id, options=[defer(AllocationRun.record)])
    if run is None or (cohort_id is not None and run.cohort_id != cohort_id):
        raise NotFound("That allocation run does not exist.")
    return run


def clean_label(label: str) -> str:
    """A run's label with its spaces tidied; Invalid when longer than RUN_LABEL_MAX."""
    label = " ".join((label or "").split())
    if len(label) > RUN_LABEL_MAX:
        raise Invalid(f"Please keep the run's name to {RUN_LABEL_MAX} characters.")
    return label


def clean_reason(reason: str) -> str:
    """A move's reason with its spaces tidied; Invalid when longer than MOVE_REASON_MAX."""
    reason = " ".join((reason or "").split())
    if len(reason) > MOVE_REASON_MAX:
        raise Invalid(f"Please keep the reason under {MOVE_REASON_MAX} characters.")
    return reason


def fetch(session: Session, query: Executable) -> Sequence[Row[Any]]:
    """Every row of a query of columns (no ORM entity), run on the session's connection in its
    transaction and fetched at once: for the thousands of rows a run reads, the ORM's per-row handling
    cost twice the query itself. Nothing is flushed first: a caller reading back what it added flushes."""
    return session.connection().execute(query).all()


def cohort_names(session: Session, cohort_id: int) -> dict[str, str]:
    """Display names for every key a problem of this cohort can mention (two queries)."""
    names: dict[str, str] = {}
    supervisor = aliased(User)
    for pid, code, title, sup_id, sup_name in fetch(session,
            select(Project.id, Project.code, Project.title, Project.supervisor_id, supervisor.name)
            .outerjoin(supervisor, supervisor.id == Project.supervisor_id).where(Project.cohort_id == cohort_id)):
        names[project_key(pid)] = project_label(code, title)
        if sup_id is not None:
            names[supervisor_key(sup_id)] = sup_name
    for uid, name in fetch(session,
            select(User.id, User.name).join(Membership, Membership.user_id == User.id)
            .where(Membership.cohort_id == cohort_id, Membership.role == Role.STUDENT)):
        names[student_key(uid)] = name
    return names


class LazyNames(Mapping[str, str]):
    """`cohort_names`, read on first use: a run needs names only to word a message or a refusal."""

    def __init__(self, session: Session, cohort_id: int) -> None:
        self._session, self._cohort_id = session, cohort_id
        self._names: dict[str, str] | None = None

    def _read(self) -> dict[str, str]:
        if self._names is None:
            self._names = cohort_names(self._session, self._cohort_id)
        return self._names

    def __getitem__(self, key: str) -> str:
        return self._read()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())


def humanise(text: str, names: Mapping[str, str]) -> str:
    """The engine's sentence with every key it mentions replaced by a name or title."""
    present = sorted((k for k in names if k in text), key=len, reverse=True)
    if not present:
        return text
    pattern = re.compile(r"(?<![\w-])(" + "|".join(re.escape(k) for k in present) + r")(?![\w-])")
    return pattern.sub(lambda m: names[m.group(0)], text)


def stored_record(session: Session, run: AllocationRun) -> RunRecord:
    """The run's record: the problem its allocation answers (as the engine reads it) and its settings."""
    try:
        return run_record.from_json(run.record)
    except run_record.DamagedRecord as err:
        raise unreadable(run, err) from None


def run_groups_ids(session: Session, run_id: int) -> list[list[int]]:
    """The user ids of each group in the run's problem, from the record's groups alone (one query, no
    parse of the rest); DamagedRecord when they cannot be read."""
    return run_record.stored_groups(session.scalar(select(AllocationRun.record[("problem", "groups")])
                                                   .where(AllocationRun.id == run_id)))


def unreadable(run: AllocationRun, err: run_record.DamagedRecord) -> Invalid:
    """What a coordinator is told of a run whose record cannot be read (whichever part was read)."""
    return Invalid(f"Run #{run.id} cannot be read: {err}.")
