"""The one place that knows Streamlit's folder mode, and the internals of Streamlit it relies on.

Streamlit treats an app with a `pages/` folder as a folder-driven (v1) multipage app until `st.navigation`
first runs in the process: while `PagesManager.uses_pages_directory` is true, a script run executes
`_mpa_v1` (the folder's own navigation) instead of app.py, so a URL runs a page file without app.py's
sign-in, and widgets get other ids than on later runs (a first click is lost). Every session created
before the flag is switched off starts in that mode, so on a fresh replica several sessions opened at
once all do. tests/test_folder_mode.py fails loudly when Streamlit changes any of this.
"""
from __future__ import annotations

import sys

from streamlit.runtime import pages_manager
from streamlit.runtime.scriptrunner import script_runner

FLAG = "uses_pages_directory"


def leave() -> None:
    """Switch folder mode off for the process: every script run from now on is app.py's."""
    setattr(pages_manager.PagesManager, FLAG, False)


def in_folder_mode_run() -> bool:
    """Whether the current script run was started in folder mode (app.py runs inside `_mpa_v1`). Such a
    run is thrown away (`st.rerun()`) so that each session's first run goes through app.py's navigation."""
    folder_runner = script_runner._mpa_v1.__code__
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is folder_runner:
            return True
        frame = frame.f_back
    return False


def apptest_runs_app_py() -> None:
    """Make AppTest run app.py on every run, as the server does: AppTest resets the flag before each run,
    so its later runs would execute the page file alone, skipping app.py (sign-in, navigation). AppTest
    is given a PagesManager of its own to reset, and the real one stays out of folder mode."""
    from streamlit.testing.v1 import app_test

    leave()
    app_test.PagesManager = type("AppTestPagesManager", (pages_manager.PagesManager,), {})
