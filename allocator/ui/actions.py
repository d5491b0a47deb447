"""Calling services from a page: `read` to draw, `run_action` for one transaction per user action; the calm
pages shown when the database or the settings fail, with the cause in the log only."""
from __future__ import annotations

import logging
import sys
import traceback

import streamlit as st

from allocator import config, db, services

log = logging.getLogger("allocator.ui")  # one logger for the Streamlit glue, as before the split


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
