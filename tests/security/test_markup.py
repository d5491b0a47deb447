"""Hostile Markdown and HTML in what people type (project titles, descriptions, tags, names, run labels)
renders inert everywhere it is shown: pages, charts and emails (issue 8; a real browser: test_browser.py).

The pages are checked from what they send to the browser (AppTest's element protos), not by reading
their source: any Markdown element allowed to carry raw HTML must hold none of the user's text, no
`st.html` element may hold it, and every string of every plotly figure must have its markup escaped.
"""
from __future__ import annotations

import json
import re

import pytest
from streamlit.testing.v1 import AppTest

from allocator import db, services
from tests import factories as f
from tests.conftest import APP_PATH

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
TITLE = f"Robots {SCRIPT} {IMG}"
DESCRIPTION = (
    f"Build robots.\n\n{SCRIPT}\n\n{IMG}\n\n"
    "[a javascript link](javascript:alert(1)) and <a href=\"javascript:alert(1)\">a raw one</a>\n\n"
    "<iframe src=\"javascript:alert(1)\"></iframe> <svg onload=alert(1)></svg>"
)
NAME = f"Mal {IMG}"
LABEL = f"Run {SCRIPT}"
COHORT = f"MEng <b>2026</b> {IMG}"
# Raw markup the user's text would bring if it were not escaped.
RAW_TAG = re.compile(r"<\s*(script|img|iframe|svg|a)\b", re.IGNORECASE)
USER_MARKERS = ("alert(1)", "onerror", "javascript:")

STUDENT, STAFF, ADMIN = "stu@uni.example", "sup@uni.example", "coord@uni.example"
STUDENT_NAME = f"Stu {SCRIPT}"


def seed_hostile(url: str):
    """A published allocation in which the supervisor's name, the cohort, a project and a run label are
    all hostile; the student ranked that project first and got it. Returns the publication report."""
    with db.session(url) as s, s.begin():
        admin = f.admin(s, email=ADMIN, name="Casey Coordinator")
        c = f.cohort(s, name=COHORT, phase="preferences", min_choices=1, max_choices=3)
        sup = f.staff(s, c, person=f.user(s, email=STAFF, name=NAME))
        student = f.student(s, c, person=f.user(s, email=STUDENT, name=STUDENT_NAME))
        bad = f.project(s, c, sup, title=TITLE, description=DESCRIPTION, code="<b>X</b>", tags=[IMG, "robots"],
                        capacity=2)
        plain = f.project(s, c, sup, title="Kites", capacity=2)
        f.preferences(s, c, student, [bad, plain])
        actor = f.actor(admin)
        params = services.default_parameters(s, actor=actor, cohort_id=c.id)
        run = services.run_allocation(s, actor=actor, cohort_id=c.id, params=params, label=LABEL)
        return services.publish_run(s, actor=actor, run_id=run.id)


@pytest.fixture
def hostile(app_database):
    return app_database, seed_hostile(app_database)


def nodes(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from nodes(child)


def page(path: str, email: str) -> AppTest:
    at = AppTest.from_file(APP_PATH, default_timeout=30)
    at.session_state["local_user_email"] = email
    at.run()
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def unsafe_output(at: AppTest) -> list[str]:
    """What on this page could run the user's markup: Markdown allowed to carry HTML that holds user text,
    st.html holding it, plotly strings with raw tags."""
    found = []
    for node in nodes(at._tree):
        proto, kind = getattr(node, "proto", None), getattr(node, "type", "")
        if proto is None:
            continue
        if hasattr(proto, "allow_html") and proto.allow_html and any(m in proto.body for m in USER_MARKERS):
            found.append(f"{kind} with allow_html: {proto.body[:120]!r}")
        if kind == "html" and any(m in proto.body for m in USER_MARKERS):
            found.append(f"st.html: {proto.body[:120]!r}")
        if kind == "plotly_chart":
            spec = json.loads(proto.spec) if proto.spec else {}
            found += [f"plotly: {text[:120]!r}" for text in strings(spec) if RAW_TAG.search(text)]
    return found


PAGES = [
    (STUDENT, "pages/home.py"), (STUDENT, "pages/student_projects.py"), (STUDENT, "pages/student_preferences.py"),
    (STUDENT, "pages/student_allocation.py"), (STUDENT, "pages/notifications.py"),
    (STAFF, "pages/home.py"), (STAFF, "pages/staff_projects.py"), (STAFF, "pages/notifications.py"),
    (ADMIN, "pages/admin_projects.py"), (ADMIN, "pages/admin_people.py"), (ADMIN, "pages/admin_studio.py"),
    (ADMIN, "pages/admin_audit.py"), (ADMIN, "pages/admin_cohorts.py"),
]


@pytest.mark.parametrize("email,path", PAGES, ids=[f"{e.split('@')[0]}-{p[6:-3]}" for e, p in PAGES])
def test_no_page_lets_user_markup_through(hostile, email, path):
    at = page(path, email)
    assert unsafe_output(at) == []


def test_no_studio_view_lets_user_markup_through(hostile):
    """The studio draws one view at a time: each is checked."""
    at = page("pages/admin_studio.py", ADMIN)
    for view in ("Tune", "Run", "See", "Compare", "Adjust", "Publish", "Export"):
        at.segmented_control(key="studio-view").set_value(view).run()
        assert not at.exception and unsafe_output(at) == [], view


def test_the_projects_page_shows_the_description_as_plain_markdown(hostile):
    """Not vacuous: the hostile description is on the page, in a Markdown element without HTML."""
    at = page("pages/student_projects.py", STUDENT)
    holding = [n.proto for n in nodes(at._tree)
               if getattr(n, "type", "") == "markdown" and "javascript:alert(1)" in getattr(n.proto, "body", "")]
    assert holding and not any(p.allow_html for p in holding)


def test_the_studio_charts_carry_the_titles_escaped(hostile):
    at = page("pages/admin_studio.py", ADMIN)
    specs = []
    for chart, key in (("Project fill", "see-fill"), ("Supervisor load", "see-load"),
                       ("Demand versus capacity", "see-demand")):  # drawn one at a time, each showing all rows
        at.segmented_control(key="see-chart").set_value(chart).run()
        at.segmented_control(key=f"see-focus-{key}").set_value("all").run()
        specs += [json.loads(n.proto.spec) for n in nodes(at._tree) if getattr(n, "type", "") == "plotly_chart"]
    assert specs, "the studio drew no chart"
    text = "\n".join(t for spec in specs for t in strings(spec))
    assert "&lt;script&gt;" in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert not RAW_TAG.search(text)


def test_publication_emails_escape_every_user_string(hostile):
    _, report = hostile
    (outgoing,) = report.emails
    html = outgoing.email.html
    assert not RAW_TAG.search(html.replace('<a href="', "<A-OURS "))  # our own button link is the only tag
    assert "javascript:" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the title, shown literally
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the supervisor's name
    assert "\n" not in outgoing.email.subject and "\r" not in outgoing.email.subject


def test_the_check_itself_catches_html_let_through():
    """The page sweep would see a page that did let markup through."""
    at = AppTest.from_string(f'''
import plotly.graph_objects as go
import streamlit as st
st.markdown({TITLE!r}, unsafe_allow_html=True)
st.html({DESCRIPTION!r})
st.plotly_chart(go.Figure(layout=dict(title={TITLE!r})))
''', default_timeout=30).run()
    found = unsafe_output(at)
    assert [line.split(":")[0] for line in found] == ["markdown with allow_html", "st.html", "plotly"]
