"""Who is here: the identity re-verified on every run, the chosen cohort and role (`Context`), the page guard."""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from allocator import auth, config, db, demo_sign_in, folder_mode, services
from allocator.domain import Role
from allocator.ui.actions import service_unavailable


# Switched off when app.py first imports this module; a session whose run had already started in folder
# mode (several opened at once on a fresh replica) is restarted by `_restart_folder_mode_run`.
folder_mode.leave()


def _restart_folder_mode_run() -> None:
    """Rerun a script run that Streamlit started in folder mode, so it too goes through app.py's navigation."""
    if folder_mode.in_folder_mode_run():
        st.rerun()


CONTEXT_KEY = "_allocator_context"
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
    role: str  # a Role (admin, staff, student) or "none" for the selected cohort
    local_mode: bool

    @property
    def is_admin(self) -> bool:
        return self.actor.is_admin


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
    for role in (Role.ADMIN, Role.STAFF, Role.STUDENT):
        choices = [p for p in people if p.role == role]
        if not choices:
            continue
        st.markdown(f"**{role.label}**")
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
    if CONTEXT_KEY not in st.session_state:
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
        st.session_state[CONTEXT_KEY] = ctx
        return ctx
    if local_mode and not demo_sign_in.bind(actor.user_id, actor.email):
        st.session_state.pop(LOCAL_KEY, None)  # a remembered sign-in that no longer names this account
        st.rerun()
    cohort_id, cohort_name = _choose_cohort(cohorts)
    if actor.is_admin:
        role = Role.ADMIN
    else:
        role = next((c.role for c in roles.cohorts if c.cohort_id == cohort_id), "none")
    ctx = Context(actor, roles, cohort_id, cohort_name, role, local_mode)
    st.session_state[CONTEXT_KEY] = ctx
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
    ctx = st.session_state.get(CONTEXT_KEY)
    if ctx is None or (roles and ctx.role not in roles):
        st.error("This page is not available to you.")
        st.stop()
    if ctx.cohort_id is None and Role.ADMIN not in roles:
        st.info("You are not in any cohort yet.")
        st.stop()
    return ctx
