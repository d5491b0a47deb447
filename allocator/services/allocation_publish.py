"""Publishing an allocation run, telling students, and handling their answers (coordinators).

Publishing writes in-app notifications in the caller's transaction and hands back the emails to send;
the page sends them with `deliver_publication` after the commit (a slow mail server must never hold a
database transaction open) and then records who was emailed with `mark_emailed`.
"""
from __future__ import annotations

from types import SimpleNamespace

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from collections.abc import Iterable

from sqlalchemy import and_, delete, distinct, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from allocator import config, mail
from allocator.domain import ProjectStatus, Role, RunKind, RunStatus
from allocator.models import (
    AllocationRun,
    Assignment,
    Cohort,
    Membership,
    Notification,
    Project,
    Response,
    User,
    utcnow,
)
from allocator.services.access import Actor, require_admin
from allocator.services.allocation.common import clean_label, cohort_of, run_of, stored_record
from allocator.services.allocation.runs import one_snapshot, solve_and_store
from allocator.services.allocation.views import RunView
from allocator.services.audit import record_audit
from allocator.services.cohorts import published_run_id
from allocator.services.errors import Invalid
from allocator.services.notifications import notify
from allocator.services.run_record import RunParameters, check_settings

__all__ = [
    "DeclinedRow", "DeliveryReport", "OutgoingEmail", "PUBLISHED_KIND", "PublishReport", "ResponsesView",
    "deliver_publication", "list_declined", "mark_emailed", "publish_run", "rerun_declined",
    "set_responses_locked",
]

PUBLISHED_KIND = "allocation.published"


@dataclass(frozen=True)
class OutgoingEmail:
    user_id: int
    email: mail.Email


@dataclass(frozen=True)
class PublishReport:
    run_id: int
    cohort_id: int
    published_at: datetime
    notified: int  # in-app notifications written (students and supervisors)
    emails: tuple[OutgoingEmail, ...]  # one per student, to send after the commit
    email_configured: bool
    changed: int = 0  # students told their project changed (all of them at a first publication)
    answers_kept: int = 0  # answers carried over from the previous publication (project unchanged)

    @property
    def in_app_only(self) -> bool:
        return not self.email_configured


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: tuple[tuple[str, str], ...]  # (address, reason)
    sent_user_ids: tuple[int, ...]
    in_app_only: bool  # no SMTP settings: nothing was sent

    @property
    def summary(self) -> str:
        if self.in_app_only:
            return "Email is not set up, so students were notified in the app only."
        text = f"{self.sent} email{'s' if self.sent != 1 else ''} sent."
        if self.failed:
            text += f" {len(self.failed)} could not be sent (first: {self.failed[0][0]}: {self.failed[0][1]})."
        return text


@dataclass(frozen=True)
class DeclinedRow:
    student_id: int
    name: str
    email: str
    project_id: int | None
    project_title: str
    reason: str
    responded_at: datetime


@dataclass(frozen=True)
class ResponsesView:
    run_id: int | None  # the published run; None before publication
    locked: bool
    accepted: int
    declined: int
    pending: int
    declined_rows: tuple[DeclinedRow, ...]


def _plain(text: str) -> str:
    """A project title inside a Markdown notification, shown as typed (services cannot use ui.md)."""
    return "".join("\\" + c if c in "\\`*_[]<>#~|$" else c for c in text)


def _news(cohort_name: str, before: str | None, after: str | None) -> tuple[str, str]:
    """(subject, body) telling a student their project changed in a republished allocation."""
    subject = f"Your project allocation for {cohort_name} has changed"
    if after is None:
        body = (f"You were on **{_plain(before or '')}**; you are no longer placed on a project. The coordinator "
                "will be in touch.")
    elif before is None:
        body = f"You now have a project: **{_plain(after)}**. Open **My allocation** to accept or decline it."
    else:
        body = (f"You were on **{_plain(before)}**; you are now on **{_plain(after)}**. Open **My allocation** "
                "to accept or decline it.")
    return subject, body


def _carry_answers(session: Session, *, run_id: int, previous_id: int | None, unchanged: set[int]) -> int:
    """The run's answers become the previous publication's for the `unchanged` students (every one of
    their projects the same, none added or lost); everyone else is asked again. An answer belongs to a
    placement, not to a run, so answers left in this run by an earlier publication of it are replaced.
    Returns how many answers were kept."""
    session.execute(delete(Response).where(Response.run_id == run_id))
    if previous_id is None:
        return 0
    kept = [dict(run_id=run_id, student_id=s, accepted=a, reason=r, responded_at=t) for s, a, r, t in session.execute(
        select(Response.student_id, Response.accepted, Response.reason, Response.responded_at)
        .where(Response.run_id == previous_id)) if s in unchanged]
    if kept:
        session.execute(insert(Response), kept)
    return len(kept)


def _placements(session: Session, run_id: int | None) -> dict[int, SimpleNamespace]:
    """Per student of the run: their project ids ({None} when unplaced), titles and supervisors."""
    out: dict[int, SimpleNamespace] = {}
    if run_id is None:
        return out
    for sid, pid, title, supervisor_id in session.execute(
            select(Assignment.student_id, Assignment.project_id, Project.title, Project.supervisor_id)
            .outerjoin(Project, Project.id == Assignment.project_id)
            .where(Assignment.run_id == run_id).order_by(Assignment.student_id, Assignment.id)):
        mine = out.setdefault(sid, SimpleNamespace(project_ids=set(), titles=[], supervisor_ids=set()))
        mine.project_ids.add(pid)
        if pid is not None:
            mine.titles.append(title)
            mine.supervisor_ids.add(supervisor_id)
    for mine in out.values():
        mine.title = " and ".join(mine.titles) or None
    return out


def _run_rows(session: Session, run_id: int) -> list:
    """Each student of the run with their project, its supervisor and their rank, by student id."""
    student, supervisor = aliased(User), aliased(User)
    return session.execute(
        select(student.id.label("sid"), student.name.label("name"), student.email.label("email"),
               Project.title.label("title"), Project.supervisor_id.label("supervisor_id"),
               supervisor.name.label("supervisor_name"), Assignment.rank.label("rank"),
               Assignment.project_id.label("project_id"))
        .select_from(Assignment)
        .join(student, student.id == Assignment.student_id)
        .outerjoin(Project, Project.id == Assignment.project_id)
        .outerjoin(supervisor, supervisor.id == Project.supervisor_id)
        .where(Assignment.run_id == run_id)
        .order_by(student.id)
    ).all()


def _one_per_student(rows: list) -> list:
    """One row per student: a student with several places is told once, of all their projects."""
    merged: dict[int, SimpleNamespace] = {}
    for r in rows:
        if r.sid in merged:
            first = merged[r.sid]
            first.title = " and ".join(t for t in (first.title, r.title) if t) or None
        else:
            merged[r.sid] = SimpleNamespace(**r._asdict())
    return list(merged.values())


def _notify_publication(session: Session, cohort: Cohort, *, rows, told, before: dict[int, SimpleNamespace],
                        first: bool) -> int:
    """Tell the people a publication concerns in the app; how many notifications were made. The first
    publication tells every student and supervisor of the run; a republication only the students in
    `told` (with what changed) and the supervisors of the projects they left or joined."""
    if first:
        notified = notify(session, user_ids=[r.sid for r in told], cohort_id=cohort.id, kind=PUBLISHED_KIND,
                          subject=f"Your project allocation for {cohort.name} is published",
                          body="Open **My allocation** to see your project, and accept or decline it.")
        supervisors = {r.supervisor_id for r in rows}
        staff_subject = f"The project allocation for {cohort.name} is published"
    else:
        news: dict[tuple[str, str], list[int]] = {}
        for r in told:
            title_before = before[r.sid].title if r.sid in before else None
            news.setdefault(_news(cohort.name, title_before, r.title), []).append(r.sid)
        notified = sum(notify(session, user_ids=uids, cohort_id=cohort.id, kind=PUBLISHED_KIND, subject=subject,
                              body=body) for (subject, body), uids in news.items())
        told_ids = {r.sid for r in told}
        supervisors = ({r.supervisor_id for r in rows if r.sid in told_ids}
                       | {v for r in told if r.sid in before for v in before[r.sid].supervisor_ids})
        staff_subject = f"The project allocation for {cohort.name} has changed"
    notified += notify(session, user_ids=sorted(s for s in supervisors if s is not None), cohort_id=cohort.id,
                       kind="allocation.published.staff", subject=staff_subject,
                       body="Open **My projects** to see the students allocated to your projects.")
    return notified


def publish_run(session: Session, *, actor: Actor, run_id: int) -> PublishReport:
    """Make `run_id` the cohort's published allocation (the only one) and tell the people it concerns.

    The first publication notifies every student of the run and the supervisors in the app, and hands
    back one email per student for the page to send after the commit. A republication carries each
    student's answer over when their projects are unchanged (every one of them) and tells nobody about
    that; only students whose projects changed are told, with what changed, and asked again (and the
    supervisors of the projects they left or joined)."""
    require_admin(session, actor)
    run = run_of(session, run_id)
    if run.status == RunStatus.INFEASIBLE:
        raise Invalid("An infeasible run has no allocation to publish.")
    if run.published_at is not None:
        raise Invalid(f"Run #{run.id} is already the published allocation.")
    cohort = session.get(Cohort, run.cohort_id)
    previous_id = published_run_id(session, run.cohort_id)
    now = utcnow()
    session.execute(update(AllocationRun)
                    .where(AllocationRun.cohort_id == run.cohort_id, AllocationRun.id != run.id,
                           AllocationRun.published_at.is_not(None))
                    .values(published_at=None, published_by_id=None))
    run.published_at = now
    run.published_by_id = actor.user_id
    rows = _run_rows(session, run.id)
    # A student with several places is unchanged only when all of them are: compared as sets.
    before, after = _placements(session, previous_id), {}
    for r in rows:
        after.setdefault(r.sid, set()).add(r.project_id)
    unchanged = {sid for sid, now in after.items() if sid in before and before[sid].project_ids == now}
    kept = _carry_answers(session, run_id=run.id, previous_id=previous_id, unchanged=unchanged)
    told = _one_per_student([r for r in rows if r.sid not in unchanged])

    def title_before(sid: int) -> str | None:
        return before[sid].title if sid in before else None

    notified = _notify_publication(session, cohort, rows=rows, told=told, before=before,
                                   first=previous_id is None)
    settings = config.load()
    emails = tuple(
        OutgoingEmail(r.sid, mail.allocation_email(
            to=r.email, student_name=r.name, project_title=r.title,
            supervisor_name=r.supervisor_name if r.title else None, rank=r.rank, cohort_name=cohort.name,
            app_url=settings.app_url, changed=previous_id is not None, previous_title=title_before(r.sid)))
        for r in told
    )
    session.flush()
    record_audit(session, actor=actor, action="allocation.published", cohort_id=cohort.id, run_id=run.id,
                 previous_run_id=previous_id, students=len(rows), changed=len(told), answers_kept=kept,
                 notified=notified, email=settings.email_configured)
    return PublishReport(run_id=run.id, cohort_id=cohort.id, published_at=now, notified=notified, emails=emails,
                         email_configured=settings.email_configured, changed=len(told), answers_kept=kept)


def deliver_publication(report: PublishReport, *, settings: config.Settings | None = None) -> DeliveryReport:
    """Send the publication's emails over SMTP (no database work: call it after the commit)."""
    settings = settings or config.load()
    if not settings.email_configured or not report.emails:
        return DeliveryReport(0, (), (), in_app_only=not settings.email_configured)
    result = mail.send_all(settings, [e.email for e in report.emails])
    failed = {address for address, _ in result.failed}
    sent_ids = tuple(e.user_id for e in report.emails if e.email.to not in failed)
    return DeliveryReport(result.sent, tuple(result.failed), sent_ids, in_app_only=False)


def mark_emailed(session: Session, *, actor: Actor, cohort_id: int, user_ids: Iterable[int]) -> int:
    """Record that the publication email reached these students (one UPDATE); returns how many."""
    require_admin(session, actor)
    ids = sorted({int(u) for u in user_ids})
    if not ids:
        return 0
    count = session.execute(
        update(Notification)
        .where(Notification.cohort_id == cohort_id, Notification.kind == PUBLISHED_KIND,
               Notification.user_id.in_(ids), Notification.emailed_at.is_(None))
        .values(emailed_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    record_audit(session, actor=actor, action="allocation.emailed", cohort_id=cohort_id, emailed=len(ids))
    return count


def set_responses_locked(session: Session, *, actor: Actor, cohort_id: int, locked: bool) -> bool:
    """Stop (or let again) students accept or decline the published allocation."""
    require_admin(session, actor)
    cohort = cohort_of(session, cohort_id)
    cohort.responses_locked = bool(locked)
    session.flush()
    record_audit(session, actor=actor, action="responses.locked" if locked else "responses.unlocked",
                 cohort_id=cohort_id)
    return cohort.responses_locked


def _declined(session: Session, run_id: int) -> list[DeclinedRow]:
    rows = session.execute(
        select(User.id, User.name, User.email, Assignment.project_id, Project.title, Response.reason,
               Response.responded_at)
        .select_from(Response)
        .join(User, User.id == Response.student_id)
        .join(Assignment, and_(Assignment.run_id == Response.run_id, Assignment.student_id == Response.student_id))
        .outerjoin(Project, Project.id == Assignment.project_id)
        .where(Response.run_id == run_id, Response.accepted.is_(False))
        .order_by(User.name, User.id)
    ).all()
    return [DeclinedRow(uid, name, email, pid, title or "", reason or "", at)
            for uid, name, email, pid, title, reason, at in rows]


def list_declined(session: Session, *, actor: Actor, cohort_id: int) -> ResponsesView:
    """The answers to the published allocation: counts, and every decline with its reason."""
    require_admin(session, actor)
    cohort = cohort_of(session, cohort_id)
    run_id = published_run_id(session, cohort_id)
    if run_id is None:
        return ResponsesView(None, cohort.responses_locked, 0, 0, 0, ())
    counts = dict(session.execute(select(Response.accepted, func.count()).where(Response.run_id == run_id)
                                  .group_by(Response.accepted)).all())
    placed = session.scalar(select(func.count(distinct(Assignment.student_id)))
                            .where(Assignment.run_id == run_id, Assignment.project_id.is_not(None))) or 0
    accepted, declined = counts.get(True, 0), counts.get(False, 0)
    return ResponsesView(run_id, cohort.responses_locked, accepted, declined, max(0, placed - accepted - declined),
                         tuple(_declined(session, run_id)))


def _without_stranded(session: Session, keep: list[tuple[int, int, str]],
                      base: RunParameters) -> list[tuple[int, int, str]]:
    """The kept placements, less those on a project its decliners would leave below its minimum: pinned
    alone there, they would make the re-run infeasible, so they are re-placed with the decliners."""
    kept = Counter(p for _, p, _ in keep)
    minimum = dict(session.execute(select(Project.id, Project.min_students).where(Project.id.in_(list(kept)))).all())
    minimum.update(dict(base.minimum_overrides))
    stranded = {p for p, n in kept.items() if n < minimum.get(p, 0)}
    return [k for k in keep if k[1] not in stranded]


def _within_places(session: Session, cohort: Cohort, keep: list) -> tuple[list, list]:
    """Each student's kept projects up to the places they have now, best rank first (`keep` is in
    that order), and the rest: places lowered since publication would otherwise make every re-run
    refuse, with pins the coordinator cannot edit."""
    own = dict(session.execute(select(Membership.user_id, Membership.places).where(
        Membership.cohort_id == cohort.id, Membership.role == Role.STUDENT)).all())
    taken: Counter = Counter()
    within, beyond = [], []
    for pin in keep:
        places = own.get(pin[0]) or cohort.places_per_student
        taken[pin[0]] += 1
        (within if taken[pin[0]] <= places else beyond).append(pin)
    return within, beyond


def rerun_declined(session: Session, *, actor: Actor, cohort_id: int, label: str = "") -> RunView:
    """A new run that re-places only the students who declined the published allocation: everyone else
    is pinned to their current projects, all of them for a student with several places (except where a
    decline leaves a project below its minimum: its other students are re-placed too). A decline is of
    the whole allocation: all of a decliner's places are re-solved, each project they declined
    forbidden for them. The
    published run's other settings (objective, overrides, forbids, seed) carry over."""
    # The kept pins, the declines and the preferences from one moment; set before the guard's first read.
    one_snapshot(session)
    require_admin(session, actor)
    cohort = cohort_of(session, cohort_id)
    run_id = published_run_id(session, cohort_id)
    if run_id is None:
        raise Invalid("Nothing is published yet, so nobody has declined.")
    published = run_of(session, run_id)
    declined = _declined(session, run_id)
    if not declined:
        raise Invalid("Nobody has declined the published allocation.")
    declined_ids = {d.student_id for d in declined}
    base = stored_record(session, published).settings
    students = set(session.scalars(
        select(Membership.user_id).join(User, User.id == Membership.user_id)
        .where(Membership.cohort_id == cohort_id, Membership.role == Role.STUDENT, User.active.is_(True))))
    approved = set(session.scalars(select(Project.id).where(Project.cohort_id == cohort_id,
                                                            Project.status == ProjectStatus.APPROVED)))
    keep = [(s, p, f"kept from run #{run_id}") for s, p in session.execute(
        select(Assignment.student_id, Assignment.project_id)
        .where(Assignment.run_id == run_id, Assignment.project_id.is_not(None))
        .order_by(Assignment.student_id, Assignment.rank.is_(None), Assignment.rank, Assignment.id))
        if s not in declined_ids and s in students and p in approved]
    # A student with several places keeps every one of them pinned: they answered for all of them.
    keep, let_go = _within_places(session, cohort, keep)
    keep = _without_stranded(session, keep, base)
    kept = {s for s, _, _ in keep}
    pins = [pin for pin in base.pins if pin[0] not in kept and pin[0] not in declined_ids] + keep
    forbids = list(base.forbids) + [
        (d.student_id, d.project_id, f"declined in run #{run_id}" + (f": {d.reason}" if d.reason else ""))
        for d in declined if d.project_id is not None and d.project_id in approved and d.student_id in students]
    params = check_settings(RunParameters(
        objective=base.objective, weights=base.weights, allow_unranked=base.allow_unranked,
        capacity_overrides=base.capacity_overrides, minimum_overrides=base.minimum_overrides, pins=pins,
        forbids=forbids, supervisor_capacity_overrides=base.supervisor_capacity_overrides, seed=base.seed,
        time_limit=base.time_limit))
    label = clean_label(label) or f"Re-run for {len(declined_ids)} declined"
    run, view = solve_and_store(session, actor=actor, cohort=cohort, params=params, label=label,
                                kind=RunKind.RERUN_DECLINED, parent_run_id=run_id,
                                declined=declined_ids)
    record_audit(session, actor=actor, action="allocation.rerun_declined", cohort_id=cohort_id, run_id=run.id,
                 parent_run_id=run_id, status=run.status, kept=len(keep), let_go=len(let_go),
                 declined=[{"student_id": d.student_id, "project_id": d.project_id, "reason": d.reason}
                           for d in declined])
    return view
