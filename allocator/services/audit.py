"""The audit trail: every coordinator action, with who, when and what — as a sentence a person reads."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from allocator.engine.words import listed
from allocator.models import AuditEvent, Project, User
from allocator.services.access import Actor, require_admin


__all__ = ['AuditView', 'record_audit', 'list_events', 'describe_event']


@dataclass(frozen=True)
class AuditView:
    id: int
    created_at: datetime
    actor_email: str
    cohort_id: int | None
    action: str
    detail: dict[str, Any]
    # What happened, in words ("Moved Zoë Student from “Robots” to “Drones”: swap with Sam.").
    description: str = ""


def record_audit(session: Session, *, actor: Actor, action: str, cohort_id: int | None = None, **detail: Any) -> None:
    """Write one event in the caller's transaction, so it lands exactly when the change does."""
    session.add(AuditEvent(actor_id=actor.user_id, actor_email=actor.email, cohort_id=cohort_id,
                           action=action, detail=detail))


def list_events(
    session: Session, *, actor: Actor, cohort_id: int | None = None, action: str | None = None, limit: int = 500
) -> list[AuditView]:
    """The latest events, newest first, each described in a sentence (people and projects by name)."""
    require_admin(session, actor)
    query = select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit)
    if cohort_id is not None:
        query = query.where(AuditEvent.cohort_id == cohort_id)
    if action:
        query = query.where(AuditEvent.action == action)
    events = list(session.scalars(query))
    people, projects = _names(session, [dict(e.detail or {}) for e in events])
    return [AuditView(e.id, e.created_at, e.actor_email, e.cohort_id, e.action, dict(e.detail or {}),
                      describe_event(e.action, dict(e.detail or {}), people=people, projects=projects))
            for e in events]


# --- sentences --------------------------------------------------------------------------------------------

_PERSON_KEYS = ("student_id", "user_id", "supervisor_id", "old_supervisor_id", "new_supervisor_id")
_PROJECT_KEYS = ("project_id", "from_project_id", "to_project_id")


def _ids(value: Any) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
    return []


def _names(session: Session, details: list[dict]) -> tuple[dict[int, str], dict[int, str]]:
    """Names of the people and titles of the projects the events mention: two queries for the page."""
    people: set[int] = set()
    projects: set[int] = set()
    for detail in details:
        for rows in (detail.get("pins"), detail.get("forbids"), detail.get("declined")):
            for row in rows if isinstance(rows, list) else ():
                if isinstance(row, dict):
                    people.update(_ids(row.get("student_id")))
                    projects.update(_ids(row.get("project_id")))
        for key in _PERSON_KEYS:
            people.update(_ids(detail.get(key)))
        for key in (*_PROJECT_KEYS, "project_ids"):
            projects.update(_ids(detail.get(key)))
        changes = detail.get("changes")
        if isinstance(changes, dict):  # a catalogue table edit, keyed by project id
            projects.update(int(k) for k in changes if str(k).isdigit())
    names = dict(session.execute(select(User.id, User.name).where(User.id.in_(people))).all()) if people else {}
    titles = dict(session.execute(select(Project.id, Project.title).where(Project.id.in_(projects))).all()) \
        if projects else {}
    return names, titles


class _Words:
    """How one event's details read: people and projects by name, values quoted, lists counted."""

    def __init__(self, detail: Mapping[str, Any], people: Mapping[int, str], projects: Mapping[int, str]):
        self.d, self.people, self.projects = detail, people, projects

    def get(self, key: str, default: Any = "") -> Any:
        value = self.d.get(key, default)
        return default if value is None else value

    def person(self, key: str) -> str:
        uid = self.d.get(key)
        return self.people.get(uid, f"person #{uid}") if uid is not None else "someone"

    def project(self, key: str) -> str:
        pid = self.d.get(key)
        return "no project" if pid is None else self._named(pid)

    def answered(self) -> str:
        """The projects a student accepted or declined: all of them when they have several places
        (`project_ids`), else the one `project_id`."""
        ids = _ids(self.d.get("project_ids"))
        if len(ids) < 2:
            return self.project("project_id")
        return listed([self._named(i) for i in ids])

    def _named(self, pid: int) -> str:
        return f"“{self.projects[pid]}”" if pid in self.projects else f"project #{pid}"

    def titles(self) -> str:
        titles = [t for t in self.d.get("titles") or [] if isinstance(t, str)]
        if not titles:
            return _count(len(self.d.get("project_ids") or []), "project")
        shown = ", ".join(f"“{t}”" for t in titles[:5])
        return shown + (f" and {len(titles) - 5} more" if len(titles) > 5 else "")

    def reason(self) -> str:
        reason = str(self.get("reason")).strip()
        return f" Reason: {reason}" if reason else ""

    def counts(self, *keys: str) -> str:
        return ", ".join(f"{self.d[k]} {k.replace('_', ' ')}" for k in keys if self.d.get(k) not in (None, 0, []))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "" or value == []:
        return "nothing"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')} {_value(v)}" for k, v in value.items())
    return str(value)


def _changes(changes: Any) -> str:
    """{"capacity": [2, 3]} -> "capacity 2 → 3"."""
    if not isinstance(changes, dict):
        return ""
    parts = []
    for field, pair in changes.items():
        if isinstance(pair, list) and len(pair) == 2:
            parts.append(f"{field.replace('_', ' ')} {_value(pair[0])} → {_value(pair[1])}")
        else:
            parts.append(f"{field.replace('_', ' ')} {_value(pair)}")
    return "; ".join(parts)


def _import(w: _Words, what: str) -> str:
    text = f"Imported {what}: " + (w.counts("added", "changed", "unchanged", "skipped") or "nothing to do")
    if w.get("accounts_created"):
        text += f", {_count(w.get('accounts_created'), 'new account')}"
    return text + "."


def _bulk_edit(w: _Words) -> str:
    changes = w.get("changes", {})
    if not isinstance(changes, dict):
        return "Edited projects in the catalogue table."
    parts = []
    for pid, diff in list(changes.items())[:10]:
        key = int(pid) if str(pid).isdigit() else None
        title = f"“{w.projects[key]}”" if key in w.projects else f"project #{pid}"
        parts.append(f"{title}: {_changes(diff)}")
    more = f" and {len(changes) - 10} more" if len(changes) > 10 else ""
    return f"Edited {_count(len(changes), 'project')} in the catalogue table — " + "; ".join(parts) + more + "."


def _run(w: _Words) -> str:
    text = f"Ran an allocation ({w.get('objective', 'default')} objective"
    if w.get("label"):
        text += f", “{w.get('label')}”"
    text += f"): {w.get('status', 'finished')}"
    if w.get("students"):
        text += f", {w.get('placed', 0)} of {w.get('students')} students placed"
    extras = [_count(len(w.get(k, [])), noun) for k, noun in (("pins", "pin"), ("forbids", "forbidden pair"))
              if w.get(k)]
    return text + (f" ({', '.join(extras)})" if extras else "") + f". Run #{w.get('run_id', '?')}."


_SENTENCES: dict[str, Callable[[_Words], str]] = {
    "allocation.run": _run,
    "allocation.moved": lambda w: (f"Moved {w.person('student_id')}"
                                   + (f" and their group ({_count(len(w.get('group', [])), 'student')})"
                                      if w.get("group") else "")
                                   + f" from {w.project('from_project_id')} to "
                                   f"{w.project('to_project_id')} (new run #{w.get('run_id', '?')})."
                                   + w.reason()),
    "allocation.restored": lambda w: (f"Restored run #{w.get('restored_from', '?')} as new run "
                                      f"#{w.get('run_id', '?')}."),
    "allocation.published": lambda w: (f"Published run #{w.get('run_id', '?')} to {_count(w.get('students', 0), 'student')}"
                                       f"; {_count(w.get('notified', 0), 'message')} in the app"
                                       + (", email on." if w.get("email") else ", no email configured.")),
    "allocation.emailed": lambda w: f"Emailed the published allocation to {_count(w.get('emailed', 0), 'student')}.",
    "allocation.exported": lambda w: f"Exported run #{w.get('run_id', '?')}.",
    "allocation.rerun_declined": lambda w: (f"Placed again the {_count(len(w.get('declined', [])), 'student')} "
                                            f"who declined, keeping {w.get('kept', 0)} placements "
                                            f"(new run #{w.get('run_id', '?')}, {w.get('status', '')})."
                                            + (f" Let go {_count(w.get('let_go'), 'placement')} beyond the "
                                               "places a student has now." if w.get("let_go") else "")),
    "allocation.accepted": lambda w: f"Accepted {w.answered()} (run #{w.get('run_id', '?')}).",
    "allocation.declined": lambda w: f"Declined {w.answered()} (run #{w.get('run_id', '?')})." + w.reason(),
    "responses.locked": lambda w: "Locked the students' answers to the allocation.",
    "responses.unlocked": lambda w: "Let students answer the allocation again.",
    "projects.approve": lambda w: f"Approved {w.titles()}.",
    "projects.reject": lambda w: f"Rejected {w.titles()}." + w.reason(),
    "projects.bulk_edit": _bulk_edit,
    "projects.import": lambda w: _import(w, "projects"),
    "project.proposed": lambda w: f"Proposed “{w.get('title')}” ({w.get('status')}).",
    "project.edited": lambda w: (f"Edited {w.project('project_id')}: {', '.join(w.get('changed', [])) or 'no field'}"
                                 f" changed ({w.get('status')})."),
    "project.withdrawn": lambda w: f"Withdrew “{w.get('title')}”.",
    "project.updated": lambda w: f"Edited {w.project('project_id')} in the catalogue: {_changes(w.get('changes'))}.",
    "preferences.import": lambda w: _import(w, "preferences"),
    "people.import": lambda w: _import(w, "people"),
    "people.add": lambda w: f"Added {w.get('email')} as {w.get('role')}.",
    "people.role": lambda w: f"Changed {w.get('email')} from {w.get('old')} to {w.get('new')}.",
    "people.max_load": lambda w: (f"Set {w.person('user_id')}'s maximum number of students from "
                                  f"{_value(w.d.get('old'))} to {_value(w.d.get('new'))}."),
    "people.remove": lambda w: (f"Removed {w.get('email')} ({w.get('role')}) from the cohort"
                                + (f", deleting {_count(w.get('preferences_deleted'), 'ranked choice')}"
                                   if w.get("preferences_deleted") else "") + "."),
    "people.promote": lambda w: f"Made {w.get('email')} a coordinator.",
    "people.demote": lambda w: f"Made {w.get('email')} no longer a coordinator.",
    "people.remind": lambda w: f"Sent a reminder to {_count(w.get('count', 0), 'student')}.",
    "cohort.create": lambda w: f"Created the cohort “{w.get('name')}”.",
    "cohort.rename": lambda w: f"Renamed the cohort “{w.get('old')}” to “{w.get('new')}”.",
    "cohort.archive": lambda w: f"Archived the cohort “{w.get('name')}”.",
    "cohort.unarchive": lambda w: f"Brought back the cohort “{w.get('name')}” from the archive.",
    "cohort.copy": lambda w: (f"Copied “{w.get('source')}” into the new cohort “{w.get('name')}” "
                              f"({_count(w.get('staff', 0), 'staff member')}, {_count(w.get('projects', 0), 'project')})."),
    "cohort.settings": lambda w: f"Changed the cohort's settings: {_changes(w.get('changes'))}.",
    "data.backup": lambda w: (f"Downloaded a backup ({_count(w.get('people', 0), 'person')}, "
                              f"{_count(w.get('projects', 0), 'project')}, {_count(w.get('runs', 0), 'run')})."),
    "data.restore": lambda w: (f"Restored a backup of “{w.get('source')}” as “{w.get('name')}” "
                               f"({_count(w.get('people', 0), 'person')}, {_count(w.get('projects', 0), 'project')}, "
                               f"{_count(w.get('runs', 0), 'run')})."),
    "data.export_projects": lambda w: f"Exported the projects ({_count(w.get('rows', 0), 'row')}).",
    "data.export_people": lambda w: f"Exported the people ({_count(w.get('rows', 0), 'row')}).",
    "data.export_preferences": lambda w: f"Exported the preferences ({_count(w.get('rows', 0), 'row')}).",
    "data.export_problem": lambda w: (f"Exported the allocation problem ({_count(w.get('students', 0), 'student')}, "
                                      f"{_count(w.get('projects', 0), 'project')})."),
}


def describe_event(action: str, detail: Mapping[str, Any], *, people: Mapping[int, str] | None = None,
                   projects: Mapping[int, str] | None = None) -> str:
    """One event as a sentence. An action without its own wording (a new one) still reads as words:
    its name and each detail as "name: value"."""
    words = _Words(detail, people or {}, projects or {})
    known = _SENTENCES.get(action)
    if known is not None:
        try:
            return known(words)
        except (TypeError, ValueError, AttributeError, KeyError):  # an older event with other details
            pass
    what = action.replace(".", " — ").replace("_", " ").capitalize()
    parts = [f"{k.replace('_', ' ')}: {_value(v)}" for k, v in detail.items()]
    return what + (". " + "; ".join(parts) + "." if parts else ".")
