"""A thin Playwright driver for the Streamlit app: wait for script runs the way Streamlit's own e2e suite
does, never with fixed sleeps.

Two signals say a user action is fully handled:
1. the server's `script_finished` message for the rerun the action caused (read from the websocket, so a
   run that starts and ends between two DOM polls is never missed), and
2. the `stApp` element's `data-test-script-state="notRunning"` and `data-test-connection-state="CONNECTED"`
   attributes (what Streamlit's e2e helper `wait_for_app_run` waits for), so the browser has drawn it.
Client-only actions (switching a tab, opening an expander, a download button with on_click="ignore")
cause no rerun and use plain Playwright calls with auto-waiting `expect` assertions.

Before a click, the widget must have settled (same place over two animation frames, no animation running):
on a busy machine an expander still opening moves its button between Playwright's checks and its click,
and the click lands beside it. The timeouts only bound a failure; nothing waits on a clock.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from google.protobuf.message import DecodeError
from playwright.sync_api import Locator, Page, expect
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

# Generous but bounded: CI machines are slow and busy (a cold first run imports pandas and plotly, and
# the load tests may share the cores). Nothing waits this long when all is well.
RUN_TIMEOUT_MS = 60_000
EXPECT_TIMEOUT_MS = 15_000  # for `expect(...)` assertions: what the browser shows once a run has finished
expect.set_options(timeout=EXPECT_TIMEOUT_MS)
IDLE_SELECTOR = ('[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
                 '[data-test-script-state="notRunning"]')
_EARLY_FOR_RERUN = ForwardMsg.ScriptFinishedStatus.Value("FINISHED_EARLY_FOR_RERUN")
# True once the element is where it was one animation frame ago and no finite animation is running.
_SETTLED_JS = """el => {
    const r = el.getBoundingClientRect();
    const where = [r.x, r.y, r.width, r.height].join();
    const still = el.__e2eWhere === where;
    el.__e2eWhere = where;
    const moving = el.ownerDocument.getAnimations().some(a => a.playState === 'running'
        && Number.isFinite(a.effect && a.effect.getComputedTiming().endTime));
    return still && !moving;
}"""


def _texts(locator: Locator) -> list[str]:
    """Visible text of each element, without the names of Material icons (drawn as ligature text)."""
    return locator.evaluate_all("""els => els.map(e => {
        const copy = e.cloneNode(true);
        copy.querySelectorAll('[data-testid="stIconMaterial"]').forEach(i => i.remove());
        return copy.innerText.trim();
    })""")


class ScriptError(AssertionError):
    """The app showed a Python exception (st.exception box) to the user."""


class App:
    """One browser tab on the app; every page load is a new Streamlit session."""

    def __init__(self, page: Page, base_url: str):
        self.page = page
        self.base_url = base_url.rstrip("/")
        self.finished_runs = 0  # script runs the server reported finished (reruns cut short excluded)
        self.requests = 0  # rerun requests the browser sent (a click that sent none never reached the app)
        self.runs_at_request = 0  # `finished_runs` when the latest rerun request was sent
        page.set_default_timeout(RUN_TIMEOUT_MS)
        page.on("websocket", self._watch)

    # --- waiting ------------------------------------------------------------------------------------

    def _watch(self, ws) -> None:
        ws.on("framereceived", self._frame)
        ws.on("framesent", self._sent)

    def _sent(self, payload) -> None:
        if not isinstance(payload, (bytes, bytearray)):
            return
        msg = BackMsg()
        try:
            msg.ParseFromString(bytes(payload))
        except DecodeError:
            return
        if msg.WhichOneof("type") == "rerun_script":
            self.requests += 1
            self.runs_at_request = self.finished_runs

    def _frame(self, payload) -> None:
        if not isinstance(payload, (bytes, bytearray)):
            return
        msg = ForwardMsg()
        try:
            msg.ParseFromString(bytes(payload))
        except DecodeError:  # not a ForwardMsg: nothing to count
            return
        if msg.WhichOneof("type") == "script_finished" and msg.script_finished != _EARLY_FOR_RERUN:
            self.finished_runs += 1

    def wait_for_runs(self, after: int, *, timeout_ms: int = RUN_TIMEOUT_MS, requests: int | None = None) -> None:
        """Until the server has finished a script run counted after `after`, then the browser is idle."""
        deadline = time.monotonic() + timeout_ms / 1000
        while self.finished_runs <= after:
            if time.monotonic() > deadline:
                sent = "" if requests is None else (
                    " (the browser sent the rerun request)" if self.requests > requests
                    else " (the browser sent no rerun request: the action never reached the app)")
                raise AssertionError(f"no Streamlit script run finished within {timeout_ms} ms{sent}")
            # Yields to Playwright's event loop, which is what delivers the websocket frames.
            self.page.wait_for_timeout(20)
        self.wait_idle(timeout_ms=timeout_ms)

    def wait_idle(self, *, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
        self.page.wait_for_selector(IDLE_SELECTOR, state="attached", timeout=timeout_ms)
        self.assert_no_exception()

    def assert_no_exception(self) -> None:
        boxes = self.page.locator('[data-testid="stException"]')
        if boxes.count():
            raise ScriptError("the app shows an exception:\n" + boxes.first.inner_text())

    def act(self, action: Callable[[], object], *, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
        """Do something that makes Streamlit rerun the script, and wait until that rerun is drawn."""
        before, requests = self.finished_runs, self.requests
        action()
        self.wait_for_runs(before, timeout_ms=timeout_ms, requests=requests)

    def settle(self, locator: Locator) -> None:
        """Until the element stays put: what a person's eye waits for before clicking."""
        locator.scroll_into_view_if_needed()
        self.page.wait_for_function(_SETTLED_JS, arg=locator.element_handle(), polling="raf")

    # --- navigation ---------------------------------------------------------------------------------

    def open(self, path: str = "/") -> None:
        """A full page load: a new websocket, so a new Streamlit session (signed out)."""
        before = self.finished_runs
        self.page.goto(self.base_url + "/" + path.lstrip("/"))
        expect(self.page.locator('[data-testid="stApp"]')).to_be_attached()
        self.wait_for_runs(before)

    def reload(self) -> None:
        before = self.finished_runs
        self.page.reload()
        self.wait_for_runs(before)

    def sign_in(self, name: str, email: str) -> None:
        """Local demo sign-in: the button reads "<name> · <email>"."""
        button = self.page.get_by_role("button", name=f"{name} · {email}", exact=True)
        self.act(button.click)
        expect(button).to_have_count(0)
        expect(self.page.get_by_text(email).first).to_be_visible()

    def expect_signed_in(self, name: str, email: str) -> None:
        """After a reload: the tab's remembered local sign-in opens the app as the same person, unasked
        (the sign-in screen's first run asks the tab for its token, the next run signs in with it)."""
        who = self.sidebar.locator('[data-testid="stCaptionContainer"]').filter(has_text=email)
        expect(who.first).to_be_attached()
        self.wait_idle()
        expect(who.first).to_contain_text(name)
        expect(self.page.get_by_text("Sign in as", exact=True)).to_have_count(0)

    @property
    def sidebar(self) -> Locator:
        return self.page.locator('[data-testid="stSidebar"]')

    @property
    def main(self) -> Locator:
        return self.page.locator('[data-testid="stMain"]')

    @property
    def top_nav(self) -> Locator:
        return self.page.get_by_role("navigation", name="App pages")

    def go(self, title: str) -> None:
        """Open a page from the app's menu, as a person would (client-side: the session, and sign-in, are
        kept). The menu is st.navigation's top bar, where a section is a drop-down; a sidebar menu of
        links works too."""
        link = self.top_nav.get_by_role("link", name=title, exact=True)
        if link.count():
            self.act(link.click)
            return
        for section in self.top_nav.get_by_role("button").all():
            section.click()
            item = self.page.get_by_role("menuitem", name=title, exact=True)
            try:
                expect(item).to_be_visible(timeout=2_000)
            except AssertionError:
                self.page.keyboard.press("Escape")
                continue
            self.act(item.click)
            return
        self.act(self.sidebar.get_by_role("link", name=title, exact=True).click)

    def menu_titles(self) -> list[str]:
        """Every page the menu offers: top bar links, each drop-down section opened in turn, sidebar links."""
        titles = _texts(self.top_nav.get_by_role("link"))
        for section in self.top_nav.get_by_role("button").all():
            section.click()
            menu = self.page.get_by_role("menu")
            expect(menu).to_be_visible()
            titles += _texts(menu.get_by_role("menuitem"))
            self.page.keyboard.press("Escape")
            expect(menu).to_have_count(0)
        titles += _texts(self.sidebar.locator('a:not([href^="mailto:"])'))
        return titles

    # --- widgets (by their stable `key=`, which Streamlit renders as the class st-key-<key>) ----------

    def keyed(self, key: str) -> Locator:
        return self.page.locator(f".st-key-{key}")

    def click(self, key: str) -> None:
        button = self.keyed(key).get_by_role("button")
        expect(button).to_be_enabled()
        self.settle(button)
        self.act(button.click)

    def unfold(self, title: str) -> None:
        """Open an expander by its title. A click that lands while the page is still being redrawn can
        be lost on a loaded machine, so the fold's own state decides whether to click again."""
        fold = self.main.locator("details").filter(has_text=title).first
        for _ in range(3):
            if fold.evaluate("el => el.open"):
                return
            summary = fold.locator("summary")
            self.settle(summary)
            summary.click()
            try:
                expect(fold).to_have_js_property("open", True, timeout=5_000)
                return
            except AssertionError:
                continue
        expect(fold).to_have_js_property("open", True)

    def type_text(self, key: str, value: str) -> None:
        """Fill a text input and press Enter (Streamlit commits a text input on Enter or blur)."""
        box = self.keyed(key).locator("input")
        box.fill(value)
        self.act(lambda: box.press("Enter"))

    def type_area(self, key: str, value: str) -> None:
        """Fill a text area and commit it with Ctrl+Enter, as Streamlit's own tests do."""
        area = self.keyed(key).locator("textarea")
        area.fill(value)
        self.act(lambda: area.press("Control+Enter"))

    def set_number(self, key: str, value: int) -> None:
        box = self.keyed(key).locator("input")
        box.fill(str(value))
        self.act(lambda: box.press("Enter"))

    def check(self, key: str) -> None:
        checkbox = self.keyed(key).get_by_role("checkbox")
        expect(checkbox).not_to_be_checked()
        # The input itself is visually hidden; the label is what a person clicks.
        self.act(lambda: self.keyed(key).locator("label").click())
        expect(checkbox).to_be_checked()

    def tab(self, name: str) -> None:
        """Switch a st.tabs tab: drawn in the browser only, no rerun."""
        tab = self.main.get_by_role("tab", name=name, exact=True)
        tab.click()
        expect(tab).to_have_attribute("aria-selected", "true")

    def segment(self, key: str, option: str) -> None:
        """Pick an option of a segmented control (a rerun), unless it is already the one picked."""
        choice = self.keyed(key).get_by_role("radio", name=option, exact=True)
        if choice.get_attribute("aria-checked") != "true":
            self.act(choice.click)
        expect(choice).to_have_attribute("aria-checked", "true")

    def screenshot(self, directory: Path, name: str) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


# --- what only a coordinator may see ----------------------------------------------------------------------

ADMIN_TITLES = ("Cohort settings", "People", "Allocation studio", "Data", "Audit log")
# The coordinator pages' URLs: st.Page derives each from its file name (pages/admin_studio.py -> /admin_studio).
ADMIN_URL_PATHS = ("admin_cohorts", "admin_projects", "admin_people", "admin_studio", "admin_data", "admin_audit")
# Key prefixes of the coordinator pages' widgets (Streamlit renders key=k as the CSS class st-key-k).
ADMIN_KEY_PREFIXES = ("studio-", "tune-", "publish-", "export-", "projects-", "project-", "cohort-", "settings-",
                      "people-", "data-", "audit-", "compare-", "adjust-", "see-", "dl-", "runs-", "responses-")


def assert_no_admin_content(app: App, *, signed_in: bool = True) -> None:
    """No coordinator page title and no coordinator widget anywhere on the page. ("Projects" is also a
    student page's title, so it counts only for someone not signed in.)"""
    titles = ADMIN_TITLES if signed_in else (*ADMIN_TITLES, "Projects")
    for title in titles:
        expect(app.main.get_by_role("heading", name=title, exact=True)).to_have_count(0)
    widgets = app.page.evaluate(
        """prefixes => [...document.querySelectorAll('[class*="st-key-"]')]
               .flatMap(e => [...e.classList])
               .filter(c => prefixes.some(p => c.startsWith('st-key-' + p)))""",
        list(ADMIN_KEY_PREFIXES))
    assert widgets == [], f"coordinator widgets on the page at {app.page.url}: {widgets}"
