"""Streamlit glue shared by app.py and the pages: who is signed in, which cohort, which role.

app.py re-derives the identity on every script run and stores the resulting `Context` for this run only;
pages read it with `page_context(role)`, which also checks the role again at the top of each page.
Services check everything once more: this module is convenience, not the security boundary.
"""
from __future__ import annotations

import logging
import re
import sys
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from collections.abc import Iterator

import streamlit as st

from allocator import auth, config, db, demo_sign_in, folder_mode, services

log = logging.getLogger(__name__)


# Switched off when app.py first imports this module; a session whose run had already started in folder
# mode (several opened at once on a fresh replica) is restarted by `_restart_folder_mode_run`.
folder_mode.leave()


def _restart_folder_mode_run() -> None:
    """Rerun a script run that Streamlit started in folder mode, so it too goes through app.py's navigation."""
    if folder_mode.in_folder_mode_run():
        st.rerun()


_CONTEXT_KEY = "_allocator_context"
LOCAL_KEY = "local_user_email"
COHORT_KEY = "cohort_id"
REQUESTED_PAGE_KEY = "_requested_page"
NEXT_COHORT_KEY = "_select_cohort_next_run"


@dataclass(frozen=True)
class Context:
    actor: services.Actor
    roles: services.Roles
    cohort_id: int | None
    cohort_name: str
    role: str  # "admin", "staff", "student" or "none" for the selected cohort
    local_mode: bool

    @property
    def is_admin(self) -> bool:
        return self.actor.is_admin


def log_failure(message: str, *args: object) -> None:
    """Log the exception being handled with its stack, but with `db.describe_failure`'s wording of it, so
    people's emails and names in a failed statement never reach the log."""
    err = sys.exc_info()[1]
    # The usual "Traceback" heading, so log watchers (and the browser tests) still spot it.
    stack = ("Traceback (most recent call last):\n" + "".join(traceback.format_tb(err.__traceback__))
             if err is not None else "")
    log.error(message + " — %s\n%s", *args, db.describe_failure(err) if err else "", stack)


MSG_UNAVAILABLE = ("**The service is unavailable right now.** Nothing you entered was lost: please try again in "
                   "a few minutes. If this goes on, tell the coordinator.")


def service_unavailable(what: str) -> None:
    """Stop this run with a calm page; the cause (hosts, paths, the traceback) goes to the log only."""
    log_failure("%s failed; the visitor was shown the 'service unavailable' page", what)
    st.title("Project Allocator")
    st.warning(MSG_UNAVAILABLE, icon=":material/cloud_off:")
    st.stop()


def settings_unreadable(err: config.SettingsError) -> None:
    """Stop with one line naming the settings file and its problem (nothing else can work without it)."""
    _log_once(f"Project Allocator cannot start: {err}")
    st.title("Project Allocator")
    st.error(f"The app cannot start: {err}")
    st.stop()


_logged: set[str] = set()


def _log_once(message: str) -> None:
    if message not in _logged:
        _logged.add(message)
        log.error(message)


@contextmanager
def action() -> Iterator:
    """One user action: a session and a transaction; a domain error becomes a message, nothing is saved."""
    try:
        with db.session() as session, session.begin():
            yield session
    except services.DomainError as err:
        st.error(str(err))
        st.stop()


def run_action(fn, *args, success: str | None = None, **kwargs):
    """Call a service in its own transaction; show a domain error instead of raising. Returns the result or None."""
    try:
        with db.session() as session, session.begin():
            result = fn(session, *args, **kwargs)
    except services.DomainError as err:
        st.error(str(err))
        return None
    except Exception:  # a bug or a lost race: the transaction rolled back, so say so plainly
        log_failure("action %s failed", getattr(fn, "__name__", fn))
        st.error("Something went wrong and nothing was saved. Please try again.")
        return None
    if success:
        st.toast(success)
    return result


def read(fn, *args, **kwargs):
    """Call a service in a read-only session for drawing the page. A domain error (the run is gone, the
    role was withdrawn) is shown as its sentence and the page stops there, instead of a traceback."""
    try:
        with db.read() as session:
            return fn(session, *args, **kwargs)
    except services.DomainError as err:
        st.error(str(err))
    except Exception:  # a bug: say so plainly, the log has the details
        log.exception("read %s failed", getattr(fn, "__name__", fn))
        st.error("Something went wrong while reading this page's data. Please reload the page.")
    st.stop()


def read_courtesy(fn, *args, **kwargs):
    """Like `read`, for an extra the page can do without (an explanation): any failure is logged and the
    page carries on without it (returns None) instead of stopping."""
    try:
        with db.read() as session:
            return fn(session, *args, **kwargs)
    except Exception:
        log.exception("read %s failed; the page is drawn without it", getattr(fn, "__name__", fn))
        return None


def check(fn, *args, **kwargs):
    """Call a service that only checks something (a new order of a list) in a read session; its domain
    error is raised for the page to show where it belongs, as `read` would stop the page instead."""
    with db.read() as session:
        return fn(session, *args, **kwargs)


def _local_sign_in(settings: config.Settings) -> str | None:
    allowed, message = auth.local_mode_allowed(settings)
    if not allowed:
        st.error(message)
        st.stop()
    email = st.session_state.get(LOCAL_KEY)
    if email:
        return email
    st.title("Project Allocator")
    st.warning("**Local demo mode.** Anyone can sign in as anyone: this is for trying the app on your own "
               "machine. Configure Microsoft sign-in before real students use it.", icon="⚠️")
    try:
        with db.read() as session:
            people = services.sign_in_choices(session)
    except Exception:
        service_unavailable("The local sign-in list")
    if not people:
        st.info("No people yet: run `python seed.py` to create a demo cohort.")
        st.stop()
    st.subheader("Sign in as")
    for role, label in (("admin", "Coordinator"), ("staff", "Staff"), ("student", "Students")):
        choices = [p for p in people if p.role == role]
        if not choices:
            continue
        st.markdown(f"**{label}**")
        for person in choices:
            if st.button(f"{person.name} · {person.email}", key=f"signin-{person.email}",
                         use_container_width=True):
                st.session_state[LOCAL_KEY] = person.email
                st.rerun()
    # The lists stop at a few per role; anyone else (the 200th student) is reached by email.
    with st.form("signin-other", border=False):
        typed = st.text_input("Someone else: their email", key="signin-email", placeholder="name@example.ac.uk")
        if st.form_submit_button("Sign in", key="signin-by-email") and typed.strip():
            st.session_state[LOCAL_KEY] = typed.strip().lower()
            st.rerun()
    if remembered := demo_sign_in.offer_resume():  # this tab was signed in before a reload
        st.session_state[LOCAL_KEY] = remembered
        st.rerun()
    st.stop()


def _identity(settings: config.Settings) -> tuple[str, str, str | None, str | None, bool]:
    """(email, name, oid, tid, local_mode) of a verified person, or stop the script at a sign-in screen."""
    if _CONTEXT_KEY not in st.session_state:
        _remember_requested_page()
    if settings.microsoft_configured:
        if settings.local_mode_requested:
            _, refusal = auth.local_mode_allowed(settings)  # also logs the refusal
            st.warning(refusal)
        verified = auth.microsoft_identity(settings)
        if verified is None:
            st.stop()
        return verified.email, verified.name, verified.oid, verified.tenant_id, False
    email = _local_sign_in(settings)
    return email, "", None, None, True


def sidebar_account(ctx: Context) -> None:
    """Who is signed in, and the way out in local mode. The menu itself is app.py's top bar."""
    with st.sidebar:
        st.caption(f"{ctx.actor.name}  \n{ctx.actor.email}")
        if not ctx.local_mode:
            return
        if st.button("Sign out", key="sign-out"):
            st.session_state.pop(LOCAL_KEY, None)
            st.session_state.pop(COHORT_KEY, None)
            demo_sign_in.forget()
            st.rerun()
        demo_sign_in.keep_in_tab()


def _remember_requested_page() -> None:
    """A link to a page (from an email, a bookmark, a reload) survives the sign-in screen."""
    url = st.context.url or ""
    page = url.rstrip("/").rsplit("/", 1)[-1] if url.count("/") > 2 else ""
    st.session_state.setdefault(REQUESTED_PAGE_KEY, page)


def go_to_requested_page(sections: dict, current) -> None:
    """After sign-in, open the page the person first asked for, if their menu holds it."""
    wanted = st.session_state.pop(REQUESTED_PAGE_KEY, "")
    if not wanted or wanted == current.url_path:
        return
    for pages in sections.values():
        for page in pages:
            if page.url_path == wanted:
                st.switch_page(page)


def establish(settings: config.Settings) -> Context:
    """Verify who is here and pick the cohort; called by app.py on every run with the process's settings."""
    _restart_folder_mode_run()
    email, name, oid, tid, local_mode = _identity(settings)
    try:
        with db.session() as session, session.begin():
            actor = services.resolve_actor(session, email=email, name=name, oid=oid, tid=tid,
                                           admin_emails=settings.admin_emails)
            roles = services.roles_of(session, actor=actor) if actor else None
            cohorts = services.list_cohorts(session, actor=actor) if actor else []
    except Exception:  # the database is down or unreachable: no traceback on anyone's screen
        service_unavailable("The sign-in lookup")
    if actor is None:
        st.session_state.pop(LOCAL_KEY, None)
        if local_mode:
            demo_sign_in.forget()
        ctx = Context(services.Actor(0, email, name or email, False), services.Roles(False, ()), None, "", "none",
                      local_mode)
        st.session_state[_CONTEXT_KEY] = ctx
        return ctx
    if local_mode and not demo_sign_in.bind(actor.user_id, actor.email):
        st.session_state.pop(LOCAL_KEY, None)  # a remembered sign-in that no longer names this account
        st.rerun()
    cohort_id, cohort_name = _choose_cohort(cohorts)
    if actor.is_admin:
        role = "admin"
    else:
        role = next((c.role for c in roles.cohorts if c.cohort_id == cohort_id), "none")
    ctx = Context(actor, roles, cohort_id, cohort_name, role, local_mode)
    st.session_state[_CONTEXT_KEY] = ctx
    return ctx


def _choose_cohort(cohorts: list[services.CohortView]) -> tuple[int | None, str]:
    if not cohorts:
        return None, ""
    ids = [c.id for c in cohorts]
    names = {c.id: c.name for c in cohorts}
    if (wanted := st.session_state.pop(NEXT_COHORT_KEY, None)) in ids:
        st.session_state[COHORT_KEY] = wanted
    if st.session_state.get(COHORT_KEY) not in ids:
        st.session_state[COHORT_KEY] = ids[0]
    if len(ids) > 1:
        st.sidebar.selectbox("Cohort", ids, format_func=names.get, key=COHORT_KEY)
    else:
        st.sidebar.caption(names[ids[0]])
    chosen = st.session_state[COHORT_KEY]
    return chosen, names[chosen]


def select_cohort_next_run(cohort_id: int) -> None:
    """Make `cohort_id` the selected cohort from the next run on (then `st.rerun()`).

    A page acts in its body, after the sidebar's cohort picker is drawn, and a drawn widget's value cannot
    be set; the next run's `establish` applies it before drawing the picker. (Acting in a button callback
    instead would act before this run's identity check, with the previous run's actor.)"""
    st.session_state[NEXT_COHORT_KEY] = cohort_id


def page_context(*roles: str) -> Context:
    """The context of this run, checked against the roles the page is for; stops the page otherwise."""
    _restart_folder_mode_run()
    ctx = st.session_state.get(_CONTEXT_KEY)
    if ctx is None or (roles and ctx.role not in roles):
        st.error("This page is not available to you.")
        st.stop()
    if ctx.cohort_id is None and "admin" not in roles:
        st.info("You are not in any cohort yet.")
        st.stop()
    return ctx


def fmt_datetime(value, tz_name: str | None = None) -> str:
    """A date and time in the deployment's time zone, as people read it: 'Fri 4 Dec 2026, 17:00'."""
    if value is None:
        return "—"
    from zoneinfo import ZoneInfo

    local = value.astimezone(ZoneInfo(tz_name or config.load().timezone))
    return local.strftime("%a %-d %b %Y, %H:%M")


def md(text: object) -> str:
    """User text placed inside Markdown (labels, bold titles) shown as typed, never read as Markdown."""
    return "".join("\\" + c if c in "\\`*_[]<>#~|$" else c for c in str(text))


# Markdown people type (project descriptions) may link to web pages, nothing else: an image would make every
# viewer's browser fetch an address of the author's choosing, and other schemes (data:, javascript:, file:)
# have no business in a description.
_SAFE_LINK = re.compile(r"https?://", re.IGNORECASE)
_INLINE_LINK = re.compile(r"\]\(\s*<?([^\s)>]*)")
_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s<>]*)>")
_REFERENCE = re.compile(r"^( {0,3})\[([^\]]+)\]:[ \t]*<?([^\s>]*)", re.MULTILINE)


def safe_markdown(text: object) -> str:
    """User Markdown kept as Markdown (emphasis, lists, http(s) links) but with every image shown as its
    source text and every link to anything but http(s) shown as text. A real Markdown parser then checks
    the result; should anything slip through, the whole text is shown escaped instead."""
    source = str(text)
    out = source.replace("![", "!\\[")
    out = _INLINE_LINK.sub(lambda m: m.group(0) if _SAFE_LINK.match(m.group(1)) else "]\\(" + m.group(0)[2:], out)
    out = _AUTOLINK.sub(lambda m: m.group(0) if _SAFE_LINK.match(m.group(1)) else "\\" + m.group(0), out)
    out = _REFERENCE.sub(lambda m: m.group(0) if _SAFE_LINK.match(m.group(3)) else m.group(1) + "\\" + m.group(0).lstrip(" "), out)
    return out if _only_web_links(out) else md(source)


def _only_web_links(text: str) -> bool:
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    parser.validateLink = lambda url: True  # see every link, including those a browser library would drop
    stack = list(parser.parse(text))
    while stack:
        token = stack.pop()
        if token.type == "image" or (token.type == "link_open" and not _SAFE_LINK.match(str(token.attrGet("href")))):
            return False
        stack.extend(token.children or ())
    return True


def user_markdown(text: object, *, title: str | None = None, empty: str = "_No description._") -> None:
    """Show Markdown someone typed (a project description): the one way pages render user Markdown.
    Given the `title` the page already shows, a heading repeating it is dropped (`description_markdown`)."""
    if not text:
        st.markdown(empty)
        return
    st.markdown(safe_markdown(description_markdown(title, str(text)) if title is not None else text))


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


PREFERENCE_DRAFT_KEY = "pref-draft"


def preference_draft(cohort_id: int, saved: tuple[int, ...]) -> dict:
    """The list a student is editing, shared by Projects and My preferences: the saved list unless they
    have changed it since (then their unsaved edits survive moving between the two pages)."""
    draft = st.session_state.get(PREFERENCE_DRAFT_KEY)
    stale = (draft is None or draft["cohort"] != cohort_id
             or (draft["ids"] == list(draft["base"]) and tuple(draft["base"]) != saved))
    if stale:
        draft = {"cohort": cohort_id, "ids": list(saved), "base": tuple(saved)}
        st.session_state[PREFERENCE_DRAFT_KEY] = draft
    return draft


def warn_before_leaving(unsaved: bool) -> None:
    """While `unsaved`, the browser asks before a reload or closing the tab would drop the student's draft
    (the draft lives in this Streamlit session, which a reload ends). Each run states the flag afresh, so
    saving or discarding turns the question off; the listener itself is added once per browser tab."""
    flag = "true" if unsaved else "false"
    st.html(f"""<script>
window.__allocatorUnsaved = {flag};
if (!window.__allocatorUnloadGuard) {{
  window.__allocatorUnloadGuard = true;
  window.addEventListener("beforeunload", (event) => {{
    if (window.__allocatorUnsaved) {{ event.preventDefault(); event.returnValue = ""; }}
  }});
}}
</script>""", unsafe_allow_javascript=True, width="content")


# Streamlit closes its sidebar menu after a choice only when the browser says it is a phone (user agent);
# a narrow window (a phone in desktop mode, a split screen) keeps it open over the page. Below Streamlit's
# `md` breakpoint the sidebar covers the page, so it is closed after a page is chosen there too.
_CLOSE_MENU_SCRIPT = """<script>
if (!window.__allocatorMenuCloser) {
  window.__allocatorMenuCloser = true;
  document.addEventListener("click", (event) => {
    const link = event.target.closest('[data-testid="stSidebarNav"] a');
    if (!link || window.innerWidth >= 768) return;
    setTimeout(() => {
      const close = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
      const sidebar = document.querySelector('[data-testid="stSidebar"]');
      if (close && sidebar && sidebar.getAttribute("aria-expanded") !== "false") close.click();
    }, 0);
  }, true);
}
</script>"""


def close_menu_after_choice() -> None:
    """On a narrow screen, close the sidebar menu once a page has been chosen from it."""
    st.sidebar.html(_CLOSE_MENU_SCRIPT, unsafe_allow_javascript=True)


# A selectbox's drop-down cuts each option to one line, which on a phone leaves "…— Nikita Ku" of a long
# project title and its supervisor: let the options wrap instead. (The chosen value sits in an <input>,
# which cannot wrap, so pages show a chosen project's title as text.)
_WRAP_OPTIONS_STYLE = """<style>
[data-testid="stSelectboxVirtualDropdown"] [role="option"],
[data-testid="stSelectboxVirtualDropdown"] [role="option"] > div {
  white-space: normal !important; height: auto !important; overflow: visible !important;
  text-overflow: clip !important;
}
[data-testid="stSelectboxVirtualDropdown"] [role="option"] { padding-top: 6px; padding-bottom: 6px; }
</style>"""


def wrap_long_options() -> None:
    """Long options of this page's drop-downs wrap instead of being cut (phones)."""
    st.html(_WRAP_OPTIONS_STYLE)


def description_markdown(title: str, description: str) -> str:
    """A project's Markdown description for a page that already shows its title: a first heading that
    only repeats the title is dropped, and headings become small ones, so they do not outshout the page."""
    lines = (description or "").strip().splitlines()
    if lines and lines[0].lstrip().startswith("#"):
        heading = lines[0].lstrip().lstrip("#").strip().casefold()
        if heading == title.strip().casefold():
            lines = lines[1:]
            while lines and not lines[0].strip():
                lines = lines[1:]
    smaller = []
    in_code = False
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            in_code = not in_code
        stripped = line.lstrip()
        level = len(stripped) - len(stripped.lstrip("#"))
        if not in_code and 1 <= level <= 6 and stripped[level:level + 1] in (" ", ""):
            line = "#####" + stripped[level:]
        smaller.append(line)
    return "\n".join(smaller).strip() or "_No description._"


def show_import_preview(preview, key: str, key_label: str = "Key") -> None:
    """A dry-run report: what an import would add, change and reject (each rejected row by line)."""
    st.markdown(f"**Dry run:** {preview.summary}. Nothing has been written yet.")
    if preview.rejected:
        listed = "\n".join(f"- Line {e.line}: {md(e.message)}" for e in preview.rejected[:20])
        more = f"\n- … and {len(preview.rejected) - 20} more (see the table)" if len(preview.rejected) > 20 else ""
        st.error(f"{len(preview.rejected)} row(s) rejected:\n{listed}{more}")
        if len(preview.rejected) > 20:
            st.dataframe([{"Line": e.line, "Reason": e.message} for e in preview.rejected], hide_index=True,
                         key=f"{key}-rejected")
    for label, items in (("To add", preview.added), ("To change", preview.changed), ("Unchanged", preview.unchanged)):
        if items:
            with st.expander(f"{label} ({len(items)})", expanded=label != "Unchanged" and len(items) <= 20):
                st.dataframe([{"Line": i.line, key_label: i.key, "What": i.description,
                               "Changes": "; ".join(i.changes)}
                              for i in items], hide_index=True, width="stretch", key=f"{key}-{label}")
    if preview.ignored_columns:
        st.caption("Ignored columns: " + ", ".join(md(c) for c in preview.ignored_columns))
    for note in preview.notes:
        st.caption(note)
