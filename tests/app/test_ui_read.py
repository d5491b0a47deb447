"""`ui.read`: a page's read runs in a read-only session, and a domain error is a sentence, not a traceback."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _page(outcome: str) -> None:
    import streamlit as st

    from allocator import services, ui

    def service(session, *, what):
        if what == "gone":
            raise services.NotFound("That run no longer exists.")
        if what == "bug":
            raise KeyError("S4")
        if what == "write":
            return session.get_bind().get_execution_options().get("allocator_read_only")
        return what

    value = ui.read(service, what=outcome)
    st.markdown(f"drawn after the read: {value}")


def run(outcome: str) -> AppTest:
    at = AppTest.from_function(_page, args=(outcome,), default_timeout=30)
    at.run()
    return at


def test_a_read_returns_the_service_result_from_a_read_only_session(app_database):
    assert [m.value for m in run("fine").markdown] == ["drawn after the read: fine"]
    assert [m.value for m in run("write").markdown] == ["drawn after the read: True"]


def test_a_domain_error_is_a_sentence_and_the_page_stops(app_database):
    at = run("gone")
    assert not at.exception
    assert [e.value for e in at.error] == ["That run no longer exists."]
    assert not at.markdown  # nothing is drawn from data that was not read


def test_a_bug_is_a_plain_message_not_a_traceback(app_database):
    at = run("bug")
    assert not at.exception
    assert "Something went wrong" in at.error[0].value and "S4" not in at.error[0].value
