"""What every view of the allocation studio shares: the session-state keys, the data of one script run
(`Studio`), run names, switching to a run, and reads cached per run.

Streamlit code only: data comes from services through `ui.read` / `ui.run_action`.
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field

import streamlit as st

from allocator import services, ui
from allocator.domain import RunStatus

RUN_KEY = "studio-run"  # the run shown in See, Adjust, Publish and Export
NEXT_RUN = "studio-next-run"  # set by an action; becomes RUN_KEY on the next script run
VIEW_KEY = "studio-view"
NEXT_VIEW = "studio-next-view"  # set by an action; becomes VIEW_KEY on the next script run
RUN_ASKED = "studio-run-asked"  # set by the Run button's callback; the run is made at the top of the next script run
PINS, FORBIDS = "studio-pins", "studio-forbids"
PROJECT_EDITS = "studio-project-edits"  # {project id: {"Capacity": v, "Minimum": v}} differing from the catalogue
SUPERVISOR_EDITS = "studio-supervisor-edits"  # {supervisor id: most students}
NOTICE = "studio-notice"  # (kind, text, details) shown once after an action's rerun
EXPORT = "studio-export"
CACHE = "studio-cache"
CACHE_ENTRIES = 24  # reads, tables and figures of the few runs a coordinator goes back and forth between
# A widget drawn in one view keeps its value while another view is on screen.
KEEP = "session"
# Drag-to-zoom is off in every figure; the toolbar would only cover the legends.
CHART_CONFIG = {"displayModeBar": False}


@dataclass(frozen=True)
class Studio:
    """What one script run of the studio knows: the cohort's setup, its runs and the run on screen."""

    ctx: ui.Context
    setup: services.StudioSetup
    defaults: services.RunParameters
    runs: list[services.RunView]
    by_id: dict[int, services.RunView] = field(init=False)
    students_by_id: dict[int, services.SetupStudent] = field(init=False)
    projects_by_id: dict[int, services.SetupProject] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {r.id: r for r in self.runs})
        object.__setattr__(self, "students_by_id", {s.id: s for s in self.setup.students})
        object.__setattr__(self, "projects_by_id", {p.id: p for p in self.setup.projects})

    @functools.cached_property
    def notes(self) -> dict[int, services.RunNote]:
        """Every run's note (the runs table, Compare), read when first asked for: it reads every run's
        settings from its record, a cost that grows with the runs, and most views need one note or none."""
        return ui.read(services.run_notes, actor=self.ctx.actor, cohort_id=self.ctx.cohort_id)

    def note(self, run_id: int) -> services.RunNote | None:
        """One run's note (the whole list's, when already read)."""
        if "notes" in self.__dict__:
            return self.notes.get(run_id)
        return ui.read(services.run_notes, actor=self.ctx.actor, cohort_id=self.ctx.cohort_id,
                       run_ids=[run_id]).get(run_id)

    @property
    def current(self) -> services.RunView | None:
        return self.by_id.get(st.session_state.get(RUN_KEY))

    @property
    def published(self) -> services.RunView | None:
        return next((r for r in self.runs if r.published), None)

    def run_name(self, run_id: int | None) -> str:
        if run_id is None or run_id not in self.by_id:
            return "—"
        run = self.by_id[run_id]
        flags = " · published" if run.published else ""
        state = "" if run.status == RunStatus.OPTIMAL else f" · {run.status}"
        return f"{run.name}{state}{flags} · {ui.fmt_datetime(run.created_at)}"


def load(ctx: ui.Context, before_runs=None) -> Studio:
    """The studio's data; `before_runs(studio)`, when given, acts (a run) after the cohort's setup is read
    and before its runs are, so this same script run shows what it made."""
    studio = Studio(
        ctx=ctx,
        setup=ui.read(services.studio_setup, actor=ctx.actor, cohort_id=ctx.cohort_id),
        defaults=ui.read(services.default_parameters, actor=ctx.actor, cohort_id=ctx.cohort_id),
        runs=[],
    )
    if before_runs is not None:
        before_runs(studio)
    return dataclasses.replace(studio, runs=ui.read(services.list_runs, actor=ctx.actor, cohort_id=ctx.cohort_id))


def choose_run(studio: Studio) -> None:
    """The run on screen: the one an action just made, else the coordinator's pick, else the published run
    (what students see, and what an export should be of), else the newest."""
    if NEXT_RUN in st.session_state:
        st.session_state[RUN_KEY] = st.session_state.pop(NEXT_RUN)
    if st.session_state.get(RUN_KEY) not in studio.by_id:
        start = studio.published or (studio.runs[0] if studio.runs else None)
        st.session_state[RUN_KEY] = start.id if start else None


def switch_to(run_id: int, notice: tuple[str, str, tuple[str, ...]] | None = None, *,
              view: str | None = None, rerun: bool = True) -> None:
    """Show `run_id` (and `view`) from the next script run on, with a notice, and rerun now (or, with
    `rerun=False`, from the view selector on, when the action came before it in this script run)."""
    st.session_state[NEXT_RUN] = run_id
    if view:
        st.session_state[NEXT_VIEW] = view
    if notice:
        st.session_state[NOTICE] = notice
    if rerun:
        st.rerun()


def cached_read(studio: Studio, fn, **kwargs):
    """A read about immutable runs (charts, assignments, a comparison), made once per session: runs never
    change once stored, so the same arguments give the same answer. The session is the coordinator's own,
    and their identity and role are checked again on every script run before a view is drawn."""
    return cached(_read_key(fn, kwargs), lambda: ui.read(fn, actor=studio.ctx.actor, **kwargs))


def remember_read(fn, value, **kwargs) -> None:
    """Keep `value` as what `cached_read(studio, fn, **kwargs)` would read (a service that made the run
    returned it), so that the read is not made again."""
    cached(_read_key(fn, kwargs), lambda: value)


def _read_key(fn, kwargs: dict) -> tuple:
    return fn.__name__, tuple(sorted(kwargs.items()))


def cached(key: tuple, build):
    """`build()` once per session for `key`, which must name the immutable runs the value is made of (a
    figure or a table of one run, of a set of compared runs); it is kept among the last CACHE_ENTRIES."""
    cache = st.session_state.setdefault(CACHE, {})
    if key not in cache:
        cache[key] = build()
        while len(cache) > CACHE_ENTRIES:
            cache.pop(next(iter(cache)))
    return cache[key]


def pct(value: float) -> str:
    return f"{value:.1f}%"
