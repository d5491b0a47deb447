"""The hostile-input checks a real browser makes (issue 8): one app server and one Chromium for the module,
on a database holding the hostile cohort of test_markup.py. Skipped where Chromium is missing."""
from __future__ import annotations

import re

import pytest

from allocator import db, migrate
from tests.load.browser import (
    served,
    HAVE_CHROMIUM,
    NO_CHROMIUM,
    idle,
    sign_in,
)
from tests.security.test_markup import (
    ADMIN,
    SCRIPT,
    STUDENT,
    STUDENT_NAME,
    seed_hostile,
)
from tests.security.test_uploads import counts, oversized, png

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not HAVE_CHROMIUM, reason=NO_CHROMIUM)]


@pytest.fixture(scope="module")
def site(tmp_path_factory, chromium_browser):
    workdir = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{workdir / 'app.db'}"
    migrate.upgrade(url)
    seed_hostile(url)
    with served(chromium_browser, url, workdir) as (base, context):
        yield url, base, context


def test_hostile_markup_runs_nothing(site):
    _, base, context = site
    page = sign_in(context, base, f"{STUDENT_NAME} · {STUDENT}")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.locator('a[href$="student_projects"]:visible').first.click()
    page.get_by_text("Kites").first.wait_for()
    page.locator('[data-testid="stExpander"] summary').filter(has_text="Robots").first.click()
    page.get_by_text("a javascript link").wait_for()
    page.wait_for_timeout(300)  # time for an injected handler to fire, were there one
    injected = page.evaluate("""() => ({
        scripts: [...document.querySelectorAll('script')].filter(s => s.textContent.includes('alert(1)')).length,
        handlers: document.querySelectorAll('[onerror], [onload]').length,
        frames: document.querySelectorAll('iframe[src^="javascript:"], svg[onload]').length,
        links: [...document.querySelectorAll('a')].filter(a => (a.getAttribute('href') || '')
            .trim().toLowerCase().startsWith('javascript:')).length,
    })""")
    body = page.locator("body").inner_text()
    assert injected == {"scripts": 0, "handlers": 0, "frames": 0, "links": 0}
    assert dialogs == []
    assert SCRIPT in body  # the title, shown as the text it is
    assert "Build robots." in body


def test_a_png_and_an_oversized_file_are_refused_with_a_message(site):
    url, base, context = site
    with db.session(url) as s:
        before = counts(s)
    page = sign_in(context, base, f"Casey Coordinator · {ADMIN}")
    page.locator('a[href$="admin_people"]').first.click()
    page.get_by_role("tab", name="Import from CSV").click()
    chooser = page.locator(".st-key-people-file-0 [data-testid='stFileUploaderDropzoneInput']")
    refusals = page.locator(".st-key-people-file-0").get_by_text(re.compile("^Error:"))
    for n, (name, mime, data) in enumerate((("photo.png", "image/png", png()),
                                            ("big.csv", "text/csv", oversized()))):
        chooser.set_input_files(files=[{"name": name, "mimeType": mime, "buffer": data}])
        refusals.nth(n).wait_for()
        idle(page)
    assert refusals.all_inner_texts() == ["Error: image/png files are not allowed.",
                                          "Error: File must be 5.0MB or smaller."]
    assert page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]').count() == 0
    with db.session(url) as s:
        assert counts(s) == before
