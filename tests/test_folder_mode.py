"""Streamlit's folder mode, as allocator/folder_mode.py relies on it. If Streamlit renames the flag or the
folder runner, or stops running an app with a `pages/` folder through it, these fail: then revisit that
module (and the first-visit browser tests in tests/e2e/test_first_visit_after_restart.py)."""
from __future__ import annotations

import pytest
from streamlit.runtime import pages_manager
from streamlit.runtime.scriptrunner import script_runner
from streamlit.testing.v1 import AppTest, app_test

from allocator import folder_mode

APP = """
import streamlit as st
from allocator import folder_mode
st.write(f"folder mode run: {folder_mode.in_folder_mode_run()}")
"""


@pytest.fixture
def app_with_pages_folder(tmp_path, monkeypatch):
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "other.py").write_text("import streamlit as st\nst.write('other page')\n")
    (tmp_path / "app.py").write_text(APP)
    # This test's AppTest uses Streamlit's own PagesManager, as the server does; the flag is put back after.
    monkeypatch.setattr(app_test, "PagesManager", pages_manager.PagesManager)
    monkeypatch.setattr(pages_manager.PagesManager, folder_mode.FLAG, getattr(pages_manager.PagesManager,
                                                                              folder_mode.FLAG))
    return str(tmp_path / "app.py")


def test_streamlit_still_has_the_flag_and_the_folder_runner_relied_on():
    assert hasattr(pages_manager.PagesManager, folder_mode.FLAG), "Streamlit renamed the folder-mode flag"
    assert callable(getattr(script_runner, "_mpa_v1", None)), "Streamlit renamed its folder-mode runner"


def test_an_app_with_a_pages_folder_starts_in_folder_mode_and_the_run_is_recognised(app_with_pages_folder):
    at = AppTest.from_file(app_with_pages_folder, default_timeout=30).run()
    assert not at.exception
    assert [m.value for m in at.markdown] == ["folder mode run: True"]


def test_once_left_no_run_is_in_folder_mode(app_with_pages_folder, monkeypatch):
    # AppTest forgets the mode before each run (as a new process would): remember it left, as the server does.
    monkeypatch.setattr(app_test, "PagesManager", type("Left", (pages_manager.PagesManager,), {}))
    folder_mode.leave()
    at = AppTest.from_file(app_with_pages_folder, default_timeout=30).run()
    assert not at.exception
    assert [m.value for m in at.markdown] == ["folder mode run: False"]
