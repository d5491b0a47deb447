"""A real app server and a real browser for the tests that need them (tests/load, tests/security).

`app_server(url, workdir)` runs `streamlit run app.py` on a free port against a database, in local
sign-in mode without demo data, and kills its process group on the way out. `chromium(p)` launches
Debian's Chromium through Playwright; callers skip when it is missing (`HAVE_CHROMIUM`).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.appserver import app_server  # noqa: F401  (re-exported for the load and security tests)

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
HAVE_CHROMIUM = os.path.exists(CHROMIUM)
NO_CHROMIUM = f"{CHROMIUM} is missing: browser test skipped"


def chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM,
                                      args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])


def idle(page) -> None:
    """Wait until the app is connected and its script has finished running (as Streamlit's e2e suite)."""
    page.locator('[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
                 '[data-test-script-state="notRunning"]').wait_for()


def warm_up(context, base: str) -> None:
    """One throwaway session first, so the timed sessions find the app's scripts in the browser's cache
    and the server's imports done."""
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(base)
    page.get_by_text("Sign in as", exact=True).wait_for()
    idle(page)
    page.close()


def sign_in(context, base: str, button: str):
    """A new app session (a tab: Streamlit keeps one session per tab, so tabs of one browser context are
    different people) signed in with the local sign-in button labelled `button` ("<name> · <email>");
    returns the page once the signed-in app has drawn."""
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(base)
    choice = page.get_by_role("button", name=button)
    choice.wait_for()
    idle(page)
    choice.click()
    page.get_by_text("Sign in as", exact=True).wait_for(state="detached")
    idle(page)
    return page


@contextmanager
def served(chromium_browser, url: str, workdir: Path) -> Iterator[tuple[str, object]]:
    """An app server on `url` and a warmed-up browser context on it: (base address, context)."""
    from allocator import db

    with app_server(url, workdir) as base:
        context = chromium_browser.new_context()
        try:
            warm_up(context, base)
            yield base, context
        finally:
            context.close()
    db.dispose_all()


def open_keyboard_path(page) -> None:
    """Unfold the Up/Down buttons under the drag list. A click that lands while the page is still being
    redrawn can be lost on a loaded machine, so the fold's own state decides whether to click again."""
    fold = page.locator("details").filter(has_text="Move, remove or change choices with buttons")
    for _ in range(3):
        idle(page)
        if fold.get_attribute("open") is None:
            fold.locator("summary").click()
        try:
            page.locator(".st-key-down-0 button:visible").wait_for(timeout=10_000)
            return
        except Exception:  # noqa: BLE001 - Playwright's timeout: look at the fold again
            continue
    page.locator(".st-key-down-0 button:visible").wait_for()
