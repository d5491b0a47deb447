"""The load test's clients: student sessions speaking Streamlit's websocket protocol, and real Chromium tabs."""
from __future__ import annotations

import asyncio
import contextlib
import os
import random
import ssl
import threading
import time
import urllib.request
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from tests.load.browser import open_keyboard_path
from benchmarks.load_stack import Seeded, Student, stored_lists

CHROMIUM = "/usr/bin/chromium"
SECURITY_HEADERS = ("strict-transport-security", "content-security-policy", "x-frame-options",
                    "x-content-type-options", "referrer-policy")
STUDENT_PAGE, PREFERENCES_PAGE = "student_projects", "student_preferences"
STEP_TIMEOUT = 300.0  # seconds one page may take before the step counts as timed out (a saturated machine)
SAVED_PREFIX = "Saved "  # the page's acknowledgement: st.success(f"Saved {when}.")


# ------------------------------------------------------------------------------------------- the client


class ServerError(Exception):
    """The page showed an exception or an error, or the server broke the protocol."""


@dataclass
class Page:
    """What one script run drew: widgets by their user key, and what it said."""
    widgets: dict[str, object] = field(default_factory=dict)  # key -> element proto (button, selectbox…)
    successes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Stats:
    page_seconds: list[float] = field(default_factory=list)
    save_seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    timeouts: list[str] = field(default_factory=list)  # overload, not a wrong answer: counted apart
    open_now: int = 0
    open_peak: int = 0
    reconnects: int = 0
    signin_repeats: int = 0
    saves: int = 0
    done: int = 0


def _element_key(element_id: str) -> str | None:
    # Streamlit's ids for keyed elements: "$$ID-<hash>-<user key>".
    parts = element_id.split("-", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "$$ID" else None


class Session:
    """One browser tab, as Streamlit's frontend speaks to the server: a websocket carrying protobufs."""

    def __init__(self, base: str, ssl_context: ssl.SSLContext, stats: Stats):
        self.base, self.ssl, self.stats = base, ssl_context, stats
        self.cookie = ""
        self.ws = None
        self.pages: dict[str, str] = {}  # url path -> page script hash
        self.page_hash = ""

    def _first_visit(self) -> None:
        """GET / as a browser's first visit: nginx's sticky cookie and the security headers."""
        request = urllib.request.Request(self.base + "/", headers=({"Cookie": self.cookie} if self.cookie else {}))
        with urllib.request.urlopen(request, context=self.ssl, timeout=STEP_TIMEOUT) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            if response.status != 200:
                raise ServerError(f"GET / answered {response.status}")
        missing = [h for h in SECURITY_HEADERS if h not in headers]
        if missing:
            raise ServerError(f"GET / lacks {', '.join(missing)}")
        cookie = headers.get("set-cookie", "")
        if cookie.startswith("allocator_route="):
            self.cookie = cookie.split(";", 1)[0]
        elif not self.cookie:
            raise ServerError("nginx set no allocator_route cookie on a first visit")

    async def connect(self) -> None:
        await asyncio.to_thread(self._first_visit)
        self.ws = await websockets.connect(
            self.base.replace("https://", "wss://") + "/_stcore/stream", ssl=self.ssl,
            subprotocols=["streamlit"], origin=self.base, additional_headers={"Cookie": self.cookie},
            # No websocket pings: Streamlit's frontend sends none either (it relies on the server's).
            max_size=None, open_timeout=STEP_TIMEOUT, ping_interval=None)
        self.stats.open_now += 1
        self.stats.open_peak = max(self.stats.open_peak, self.stats.open_now)

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
            self.ws = None
            self.stats.open_now -= 1

    def dropped(self) -> None:
        """The server went away under us (the killed replica): forget the socket."""
        if self.ws is not None:
            self.ws = None
            self.stats.open_now -= 1

    async def run(self, widgets: list | None = None, page: str | None = None) -> Page:
        """Ask for a script run (a click, a page change) and read until the app has settled."""
        if page is not None:
            self.page_hash = self.pages[page]
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = ""
        state.page_script_hash = self.page_hash
        state.page_name = ""
        for widget in widgets or []:
            state.widget_states.widgets.append(widget)
        started = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        drawn = Page()
        async with asyncio.timeout(STEP_TIMEOUT):
            while True:
                fwd = ForwardMsg()
                fwd.ParseFromString(await self.ws.recv())
                kind = fwd.WhichOneof("type")
                if kind == "delta":
                    self._read_delta(fwd, drawn)
                elif kind == "new_session":
                    # The page this run draws, as the browser tracks it: the next request names it.
                    self.page_hash = fwd.new_session.page_script_hash or self.page_hash
                elif kind == "navigation":
                    # The menu's pages; the page being drawn is new_session's (a sign-in screen drawn
                    # before st.navigation belongs to the main script, whatever the menu's default).
                    self.pages = {p.url_pathname: p.page_script_hash for p in fwd.navigation.app_pages}
                elif kind == "script_finished":
                    status = fwd.script_finished
                    if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                        raise ServerError("the script did not compile")
                    if status == ForwardMsg.FINISHED_SUCCESSFULLY:
                        break
                    drawn = Page()  # FINISHED_EARLY_FOR_RERUN (st.rerun): the next run draws anew
        self.stats.page_seconds.append(time.perf_counter() - started)
        if os.environ.get("LOAD_DEBUG"):
            print(f"{time.monotonic():.1f} {id(self) % 1000} page={page} sent={[w.id for w in widgets or []]} "
                  f"drew={sorted(drawn.widgets)[:6]} ok={drawn.successes}", flush=True)
        if drawn.errors:
            raise ServerError("; ".join(drawn.errors))
        return drawn

    @staticmethod
    def _read_delta(fwd: ForwardMsg, drawn: Page) -> None:
        if fwd.delta.WhichOneof("type") != "new_element":
            return
        element = fwd.delta.new_element
        kind = element.WhichOneof("type")
        inner = getattr(element, kind) if kind else None
        if kind == "exception":
            drawn.errors.append(f"exception {inner.type}: {inner.message}")
        elif kind == "alert":
            if inner.format == inner.ERROR:
                drawn.errors.append(f"error shown: {inner.body}")
            elif inner.format == inner.SUCCESS:
                drawn.successes.append(inner.body)
        element_id = getattr(inner, "id", "") if inner is not None else ""
        key = _element_key(element_id) if element_id else None
        if key:
            drawn.widgets[key] = inner

    @staticmethod
    def trigger(element) -> object:
        from streamlit.proto.WidgetStates_pb2 import WidgetState
        return WidgetState(id=element.id, trigger_value=True)

    @staticmethod
    def text(element, value: str) -> object:
        from streamlit.proto.WidgetStates_pb2 import WidgetState
        return WidgetState(id=element.id, string_value=value)


async def sign_in(session: Session, email: str) -> Page:
    """Type the email and press Sign in; again if the sign-in screen comes back, as a person would.

    A new session's first run can be redrawn under another page (Streamlit's folder-mode first run,
    which app.py restarts), and a click on the first drawing is then lost: counted, not hidden."""
    page = await session.run()
    for _attempt in range(3):
        form = page.widgets
        if "signin-email" not in form or "signin-by-email" not in form:
            raise ServerError(f"{email}: no sign-in by email on the sign-in screen")
        page = await session.run([Session.text(form["signin-email"], email),
                                  Session.trigger(form["signin-by-email"])])
        if "signin-email" not in page.widgets:
            if PREFERENCES_PAGE not in session.pages:
                raise ServerError(f"{email}: signed in without the student pages")
            return page
        session.stats.signin_repeats += 1
    raise ServerError(f"{email}: still on the sign-in screen after three clicks")


async def edit_and_save(session: Session, student: Student, rng: random.Random, draft: list[int],
                        first_visit: bool) -> None:
    """First visit: Projects, add one (or up to the cohort's minimum), My preferences, save. Later
    visits: My preferences, swap the first two, save."""
    page = await session.run(page=STUDENT_PAGE) if first_visit else Page()
    while True:  # one project, or as many as the cohort's minimum of three asks
        can_add = [int(k[4:]) for k, w in page.widgets.items() if k.startswith("add-") and not w.disabled]
        if not can_add:
            break
        pid = rng.choice(can_add)
        page = await session.run([Session.trigger(page.widgets[f"add-{pid}"])])
        draft.append(pid)
        if len(draft) >= 3:
            break
    page = await session.run(page=PREFERENCES_PAGE)
    if not first_visit and len(draft) >= 2 and "down-0" in page.widgets:
        page = await session.run([Session.trigger(page.widgets["down-0"])])
        draft[0], draft[1] = draft[1], draft[0]
    if "save-preferences" not in page.widgets:
        raise ServerError(f"{student.email}: no Save button on My preferences (drawn: "
                          f"{sorted(page.widgets)[:12]}, {page.successes})")
    sent = list(draft)
    student.unacknowledged.append(sent)
    started = time.perf_counter()
    page = await session.run([Session.trigger(page.widgets["save-preferences"])])
    if not any(s.startswith(SAVED_PREFIX) for s in page.successes):
        raise ServerError(f"{student.email}: no 'Saved' after Save ({page.successes})")
    session.stats.save_seconds.append(time.perf_counter() - started)
    session.stats.saves += 1
    student.acknowledged, student.unacknowledged = sent, []


@dataclass
class Plan:
    start_at: float  # seconds after the load starts: when this session connects
    second_at: float  # when it changes its list again
    end_at: float  # when it closes


async def student_session(base: str, ssl_context: ssl.SSLContext, stats: Stats, student: Student, plan: Plan,
                          t0: float, seeded: Seeded, seed_no: int) -> None:
    rng = random.Random(seed_no)
    session = Session(base, ssl_context, stats)
    rounds_left = 2
    await asyncio.sleep(max(0.0, t0 + plan.start_at - time.monotonic()))
    while True:
        try:
            if session.ws is None:
                await session.connect()
                await sign_in(session, student.email)
                # A new session drafts from what the database holds: the page shows it so.
                draft = (await asyncio.to_thread(stored_lists, seeded.url, seeded.open_cohort)).get(
                    student.user_id, [])
            if rounds_left == 1:
                await asyncio.sleep(max(0.0, t0 + plan.second_at - time.monotonic()))
            if rounds_left:
                await edit_and_save(session, student, rng, draft, first_visit=rounds_left == 2)
                rounds_left -= 1
                continue
            # Held open, as a tab left on the page, until the end; a dropped socket still reconnects.
            while time.monotonic() < t0 + plan.end_at:
                await asyncio.sleep(min(2.0, max(0.0, t0 + plan.end_at - time.monotonic())))
                if session.ws is not None and session.ws.close_code is not None:
                    raise websockets.ConnectionClosed(None, None)
            break
        except (websockets.ConnectionClosed, ConnectionError, OSError) as err:
            # The killed replica: nginx sends the next websocket to the surviving one.
            session.dropped()
            stats.reconnects += 1
            if stats.reconnects > 10 * len(seeded.students):
                stats.errors.append(f"{student.email}: reconnecting for ever ({err!r})")
                break
            await asyncio.sleep(rng.uniform(0.5, 2.0))
        except TimeoutError:
            stats.timeouts.append(f"{student.email}: no settled page within {STEP_TIMEOUT:.0f} s")
            break
        except ServerError as err:
            stats.errors.append(f"{student.email}: {err!r}"[:300])
            break
    await session.close()
    stats.done += 1


async def warm_up(port: int) -> None:
    """One first page straight from a new replica, as a deploy's smoke check would: a process's very first
    script run imports the app (seconds) and runs in Streamlit's folder mode, which app.py restarts."""
    msg = BackMsg()
    msg.rerun_script.query_string = ""
    async with websockets.connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                                  max_size=None, open_timeout=STEP_TIMEOUT) as ws:
        await ws.send(msg.SerializeToString())
        async with asyncio.timeout(STEP_TIMEOUT):
            while True:
                fwd = ForwardMsg()
                fwd.ParseFromString(await ws.recv())
                if fwd.WhichOneof("type") == "script_finished" and \
                        fwd.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                    return


# ---------------------------------------------------------------------------------------- browser tabs


def browser_sessions(base: str, seeded: Seeded, students: list[Student], stop: threading.Event,
                     stats: Stats) -> None:
    """A few real Chromium tabs through nginx: sign in by email, save from My preferences."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            for student in students:
                if stop.is_set():
                    return
                context = browser.new_context(ignore_https_errors=True)
                try:
                    page = context.new_page()
                    page.set_default_timeout(STEP_TIMEOUT * 1000)
                    response = page.goto(base + "/")
                    missing = [h for h in SECURITY_HEADERS if h not in response.headers]
                    if missing:
                        stats.errors.append(f"browser: GET / lacks {missing}")
                    for _ in range(3):  # a lost first click (see sign_in) is clicked again, and counted
                        page.get_by_label("Someone else: their email").fill(student.email)
                        page.locator(".st-key-signin-by-email button").click()
                        signed_in = page.locator('a[href$="student_preferences"]:visible').first
                        with contextlib.suppress(Exception):
                            signed_in.wait_for(timeout=60_000)
                        if signed_in.count():
                            break
                        stats.signin_repeats += 1
                    signed_in.click()
                    page.locator(".st-key-save-preferences button:visible").wait_for()
                    draft = stored_lists(seeded.url, seeded.open_cohort).get(student.user_id, [])
                    if len(draft) >= 2:
                        open_keyboard_path(page)  # Up/Down sit under the drag list's fold
                        page.locator(".st-key-down-0 button:visible").click()
                        page.locator(".st-key-discard-preferences button:visible").wait_for()
                        draft[0], draft[1] = draft[1], draft[0]
                    student.unacknowledged.append(list(draft))
                    started = time.perf_counter()
                    page.locator(".st-key-save-preferences button:visible").click()
                    page.locator('[data-testid="stAlertContentSuccess"]:has-text("Saved"), '
                                 '[data-testid="stAlertContentError"], [data-testid="stException"]').first.wait_for()
                    shown = page.locator('[data-testid="stAlertContentError"], [data-testid="stException"]')
                    if shown.count():
                        stats.errors.append(f"browser {student.email}: {shown.first.inner_text()[:200]}")
                    else:
                        stats.save_seconds.append(time.perf_counter() - started)
                        stats.saves += 1
                        student.acknowledged, student.unacknowledged = list(draft), []
                except Exception as err:  # noqa: BLE001 - every failure is a finding
                    stats.errors.append(f"browser {student.email}: {err!r}"[:300])
                finally:
                    context.close()
        finally:
            browser.close()
