"""Deadline night on one machine: replicas behind nginx on PostgreSQL, hundreds of students at once.

    .venv/bin/python benchmarks/load.py                                   # 300 sessions, 2 replicas, 900 s
    .venv/bin/python benchmarks/load.py --sessions 50 --duration 60       # the reduced run in .ci/run

Without Docker: makes a fresh PostgreSQL database on the local server (dropped afterwards), migrates it
once and seeds it (`allocator.seeding`: an open cohort of students plus a closed one), starts the
replicas (`streamlit run app.py` on free loopback ports, MIGRATE_ON_START=false as in
deploy/docker-compose.yml) and Debian's nginx with deploy/nginx.conf itself (only its upstream servers,
listen addresses, certificate and file paths rewritten; a self-signed certificate), so the sticky
routing and the security headers measured here are the deployed ones.

Then it opens `--sessions` student sessions speaking Streamlit's own websocket protocol (BackMsg /
ForwardMsg protobufs, as the browser does) through nginx over HTTPS, plus `--browsers` real Chromium
tabs. Each signs in, browses the Projects page, adds a project, opens My preferences, swaps its first two
choices and saves; later it changes and saves again. Meanwhile a coordinator (through the services, in
this process) runs allocations in the open cohort and runs and publishes in the closed one. Halfway
through the second round one replica is killed (SIGKILL): its sessions reconnect through nginx to the
other replica, sign in again and carry on. Finally every save a client saw acknowledged ("Saved …" on
the page) is checked against the database.

Prints sessions held, p50/p95 time to a settled page (a script run finished) and to a saved list, errors,
memory (RSS) per replica, and exits non-zero on a lost save, a server error or a timeout. Figures are noisy on a
small shared machine: the load generator, nginx, PostgreSQL and the replicas share its cores.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import queue
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import websockets  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from allocator import db, migrate, seeding, services  # noqa: E402
from allocator.models import Cohort, Membership, Preference, User  # noqa: E402
from tests.load.browser import open_keyboard_path  # noqa: E402
from tests.appserver import Server  # noqa: E402

NGINX = "/usr/sbin/nginx"
CHROMIUM = "/usr/bin/chromium"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"
SECURITY_HEADERS = ("strict-transport-security", "content-security-policy", "x-frame-options",
                    "x-content-type-options", "referrer-policy")
STEP_TIMEOUT = 300.0  # seconds one page may take before the step counts as timed out (a saturated machine)
STUDENT_PAGE, PREFERENCES_PAGE = "student_projects", "student_preferences"
SAVED_PREFIX = "Saved "  # the page's acknowledgement: st.success(f"Saved {when}.")


# ----------------------------------------------------------------------------------------- environment


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_database(server_url: str) -> str:
    name = f"load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, url: str) -> None:
    db.dispose_all()
    admin = create_engine(make_url(server_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def self_signed_certificate(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "fullchain.pem", tmp / "privkey.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def nginx_config(replica_ports: list[int], https_port: int, http_port: int, cert: Path, key: Path,
                 tmp: Path) -> str:
    """deploy/nginx.conf with only its deployment-specific lines replaced; fails loudly if one is gone."""
    conf = NGINX_CONF.read_text()

    def sub(pattern: str, replacement: str) -> None:
        nonlocal conf
        conf, n = re.subn(pattern, lambda _m: replacement, conf, flags=re.MULTILINE)
        if not n:
            raise SystemExit(f"deploy/nginx.conf no longer has a line matching {pattern!r}")

    sub(r"^\s*server app:8501 (.*)$", "\n".join(
        f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in replica_ports))
    sub(r"^\s*listen \[::\]:\d+.*$", "")
    sub(r"^\s*listen 80;$", f"        listen 127.0.0.1:{http_port};")
    sub(r"^\s*listen 443 ssl(.*);$", f"        listen 127.0.0.1:{https_port} ssl\\1;".replace("\\1", " http2"))
    sub(r"^\s*ssl_certificate .*$", f"        ssl_certificate {cert};")
    sub(r"^\s*ssl_certificate_key .*$", f"        ssl_certificate_key {key};")
    sub(r"^error_log .*$", f"error_log {tmp / 'error.log'} warn;")
    sub(r"^pid .*$", f"pid {tmp / 'nginx.pid'};")
    # Which replica served each websocket, for the report (the deployed file logs nginx's default format).
    sub(r"^\s*access_log .*$", "    log_format upstreams '$status $upstream_addr $request_uri';\n"
        f"    access_log {tmp / 'access.log'} upstreams;\n" + "".join(
        f"    {kind}_temp_path {tmp / kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")))
    return conf


class Nginx:
    def __init__(self, replica_ports: list[int], tmp: Path):
        self.port, http_port = free_port(), free_port()
        cert, key = self_signed_certificate(tmp)
        tmp.chmod(0o755)  # workers may run as another user: they need the temp folders
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (tmp / kind).mkdir(mode=0o777, exist_ok=True)
            (tmp / kind).chmod(0o777)
        conf = tmp / "nginx.conf"
        conf.write_text(nginx_config(replica_ports, self.port, http_port, cert, key, tmp))
        check = subprocess.run([NGINX, "-t", "-p", str(tmp), "-c", str(conf)], capture_output=True, text=True, check=False)
        if check.returncode:
            raise SystemExit(f"nginx -t refused the configuration:\n{check.stderr}")
        self.log = tmp / "nginx.out"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([NGINX, "-p", str(tmp), "-c", str(conf), "-g", "daemon off;"],
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.base = f"https://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.1)
        raise SystemExit(f"nginx did not listen on {self.port}: {self.log.read_text()}")

    def websockets_served(self, replica_ports: list[int]) -> list[int]:
        """Websockets each replica accepted (101), from nginx's access log: written when they close."""
        counts = [0] * len(replica_ports)
        log = self.log.with_name("access.log")
        for line in log.read_text().splitlines() if log.exists() else []:
            status, *rest = line.split(" ")
            if status != "101" or "/_stcore/stream" not in line:
                continue
            last = " ".join(rest[:-1]).split(",")[-1].strip()  # after a failover, the replica that answered
            for i, port in enumerate(replica_ports):
                if last.endswith(f":{port}"):
                    counts[i] += 1
        return counts

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def websockets_on(port: int) -> int:
    """Connections open to a replica's port: websockets, and nginx's requests in flight (a browser loading
    the app's scripts opens dozens at once)."""
    if shutil.which("ss") is None:  # iproute2 missing: the figure is left out (0)
        return 0
    out = subprocess.run(["ss", "-Htn", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True, check=False).stdout
    return sum(1 for line in out.splitlines() if line.strip())


# ------------------------------------------------------------------------------------------------ data


@dataclass
class Student:
    user_id: int
    email: str
    saved: list[int]  # the list in the database when the test starts
    acknowledged: list[int] | None = None  # the last list the page said was saved
    unacknowledged: list[list[int]] = field(default_factory=list)  # sent after that, no answer seen


@dataclass
class Seeded:
    url: str
    open_cohort: int
    closed_cohort: int
    admin: services.Actor
    students: list[Student]


def seed(url: str, sessions: int) -> Seeded:
    migrate.upgrade(url)  # once, as deploy/docker-compose.yml's `migrate` job; the replicas only check
    seeding.seed(url, students=sessions + 20, projects=60, staff=25, cohorts=2, seed=17)
    engine = db.engine(url)
    with engine.connect() as conn:
        open_id, closed_id = conn.execute(select(Cohort.id).order_by(Cohort.id)).scalars().all()[:2]
        admin = conn.execute(select(User.id, User.email, User.name).where(User.email == seeding.DEMO_ADMIN)).one()
        rows = conn.execute(select(User.id, User.email).join(Membership, Membership.user_id == User.id)
                            .where(Membership.cohort_id == open_id, Membership.role == "student")
                            .order_by(User.id)).all()
        lists: dict[int, list[int]] = {}
        for sid, pid in conn.execute(select(Preference.student_id, Preference.project_id)
                                     .where(Preference.cohort_id == open_id)
                                     .order_by(Preference.student_id, Preference.rank)):
            lists.setdefault(sid, []).append(pid)
    students = [Student(uid, email, lists.get(uid, [])) for uid, email in rows[:sessions]]
    return Seeded(url, open_id, closed_id, services.Actor(admin.id, admin.email, admin.name, True), students)


def stored_lists(url: str, cohort_id: int) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    with db.engine(url).connect() as conn:
        for sid, pid in conn.execute(select(Preference.student_id, Preference.project_id)
                                     .where(Preference.cohort_id == cohort_id)
                                     .order_by(Preference.student_id, Preference.rank)):
            out.setdefault(sid, []).append(pid)
    return out


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


# ------------------------------------------------------------------------------------------ coordinator


def coordinator(seeded: Seeded, stop, out, interval: float) -> None:
    """Allocations in the open cohort (the coordinator watching demand), runs published in the closed one.

    A process of its own, so the solver does not hold this process's GIL while the clients time pages."""
    counts, errors = {"runs": 0, "published": 0}, []
    try:
        with db.session(seeded.url) as s, s.begin():
            open_params = services.default_parameters(s, actor=seeded.admin, cohort_id=seeded.open_cohort)
            closed_params = services.default_parameters(s, actor=seeded.admin, cohort_id=seeded.closed_cohort)
        while not stop.wait(interval):
            with db.session(seeded.url) as s, s.begin():
                services.run_allocation(s, actor=seeded.admin, cohort_id=seeded.open_cohort, params=open_params)
            counts["runs"] += 1
            with db.session(seeded.url) as s, s.begin():
                run = services.run_allocation(s, actor=seeded.admin, cohort_id=seeded.closed_cohort,
                                              params=closed_params)
            with db.session(seeded.url) as s, s.begin():
                services.publish_run(s, actor=seeded.admin, run_id=run.id)
            counts["runs"] += 1
            counts["published"] += 1
    except Exception as err:  # noqa: BLE001
        errors.append(f"coordinator: {err!r}"[:300])
    out.put((counts, errors))


# ------------------------------------------------------------------------------------------------- main


def pct(values: list[float], q: float) -> str:
    if not values:
        return "—"
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))]:.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=300, help="websocket student sessions (default 300)")
    parser.add_argument("--browsers", type=int, default=3, help="real Chromium tabs besides (default 3)")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--duration", type=float, default=900, help="seconds the sessions stay open (default 900)")
    parser.add_argument("--no-kill", action="store_true", help="keep every replica up")
    parser.add_argument("--coordinator-every", type=float, default=20,
                        help="seconds between the coordinator's rounds of run + run-and-publish (default 20)")
    parser.add_argument("--step-timeout", type=float, default=STEP_TIMEOUT,
                        help="seconds a page may take before the step counts as timed out (default 300)")
    parser.add_argument("--server", default=os.environ.get("LOAD_DATABASE_SERVER",
                                                           "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"),
                        help="PostgreSQL server on which a fresh database is made and dropped")
    args = parser.parse_args()
    globals()["STEP_TIMEOUT"] = args.step_timeout  # read by every step as it runs
    if args.replicas < 2 and not args.no_kill:
        raise SystemExit("killing a replica needs at least two")

    url = create_database(args.server)
    tmp = Path(tempfile.mkdtemp(prefix="allocator-load-"))
    replicas: list[Server] = []
    nginx = None
    status = 1
    try:
        seeded = seed(url, args.sessions + args.browsers)
        os.environ["MIGRATE_ON_START"] = "false"
        replicas = [Server(url, tmp) for _ in range(args.replicas)]
        for replica in replicas:
            asyncio.run(warm_up(replica.port))
        nginx = Nginx([r.port for r in replicas], tmp)
        idle_rss = [rss_mb(r.process.pid) for r in replicas]
        result = asyncio.run(load(args, seeded, nginx, replicas))
        nginx.stop()  # closes the websockets' log lines
        result["served"] = nginx.websockets_served([r.port for r in replicas])
        result["idle_rss"] = idle_rss
        result["lost"] = check_saves(seeded)
        result["tracebacks"] = sum(r.log_path.read_text(errors="replace").count("Traceback") for r in replicas)
        status = report(args, result)
    finally:
        if nginx is not None:
            nginx.stop()
        for replica in replicas:
            replica.stop()
        drop_database(args.server, url)
    if status:
        print(f"replica and nginx logs kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return status


async def load(args, seeded: Seeded, nginx: Nginx, replicas: list[Server]) -> dict:
    ssl_context = ssl.create_default_context()
    ssl_context.check_hostname = False
    ssl_context.verify_mode = ssl.CERT_NONE
    stats = Stats()
    duration = args.duration
    ramp = duration * 0.35  # sessions arrive over the first third
    second = (duration * 0.45, duration * 0.8)  # second saves spread over this window
    kill_at = (second[0] + second[1]) / 2
    rng = random.Random(1)
    # Browser tabs only swap and save: they take students whose seeded list is already long enough.
    browser_students = [s for s in seeded.students if len(s.saved) >= 3][:args.browsers]
    websocket_students = [s for s in seeded.students if s not in browser_students][:args.sessions]
    plans = [Plan(rng.uniform(0, ramp), rng.uniform(*second), duration) for _ in websocket_students]

    spawn = multiprocessing.get_context("spawn")
    stop_coordinator, coordinator_out = spawn.Event(), spawn.Queue()
    coord = spawn.Process(target=coordinator, args=(seeded, stop_coordinator, coordinator_out, args.coordinator_every), daemon=True)
    stop = threading.Event()
    browsers = None
    if args.browsers and os.path.exists(CHROMIUM):
        browsers = threading.Thread(target=browser_sessions,
                                    args=(nginx.base, seeded, browser_students, stop, stats), daemon=True)

    peak_rss = [0.0] * len(replicas)
    peak_ws = [0] * len(replicas)
    killed: list[int] = []
    result_kill_at = [0.0]

    async def monitor() -> None:
        while True:
            for i, r in enumerate(replicas):
                if i in killed:
                    continue
                peak_rss[i] = max(peak_rss[i], rss_mb(r.process.pid))
                peak_ws[i] = max(peak_ws[i], await asyncio.to_thread(websockets_on, r.port))
            await asyncio.sleep(1.0)

    async def killer() -> None:
        await asyncio.sleep(kill_at)
        if args.no_kill:
            return
        # The tabs save before it, unless the machine is so slow that they would hold the kill up long.
        patience = time.monotonic() + 60
        while browsers is not None and browsers.is_alive() and time.monotonic() < patience:
            await asyncio.sleep(1.0)
        victim = 0
        killed.append(victim)
        os.killpg(replicas[victim].process.pid, signal.SIGKILL)
        result_kill_at[0] = time.monotonic() - t0
        print(f"t={result_kill_at[0]:.0f}s: killed replica 1 (port {replicas[victim].port}), "
              f"{stats.open_now} sessions open", flush=True)

    t0 = time.monotonic()
    coord.start()
    if browsers is not None:
        browsers.start()
    watch = asyncio.create_task(monitor())
    kill = asyncio.create_task(killer())
    tasks = [asyncio.create_task(student_session(nginx.base, ssl_context, stats, s, p, t0, seeded, i))
             for i, (s, p) in enumerate(zip(websocket_students, plans))]
    await asyncio.wait(tasks, timeout=duration + 4 * STEP_TIMEOUT)
    stuck = sum(1 for t in tasks if not t.done())
    for t in tasks:
        t.cancel()
    if stuck:
        stats.timeouts.append(f"{stuck} sessions still busy at the time limit")
    elapsed = time.monotonic() - t0
    stop.set()
    stop_coordinator.set()
    watch.cancel()
    kill.cancel()
    try:
        counts, coordinator_errors = coordinator_out.get(timeout=120)
    except queue.Empty:
        counts, coordinator_errors = {"runs": 0, "published": 0}, ["coordinator: no answer"]
    coord.join(10)
    if browsers is not None:
        browsers.join(4 * STEP_TIMEOUT)
    stats.errors += coordinator_errors
    return {"stats": stats, "peak_rss": peak_rss, "peak_ws": peak_ws, "killed": killed, "counts": counts,
            "elapsed": elapsed, "kill_at": result_kill_at[0] if killed else None, "replicas": replicas}


def check_saves(seeded: Seeded) -> list[str]:
    """Every list a page acknowledged is the student's list now, unless they sent a later one."""
    stored = stored_lists(seeded.url, seeded.open_cohort)
    lost = []
    for student in seeded.students:
        if student.acknowledged is None:
            continue
        now = stored.get(student.user_id, [])
        if now != student.acknowledged and now not in student.unacknowledged:
            lost.append(f"{student.email}: acknowledged {student.acknowledged}, stored {now}")
    return lost


def report(args, result: dict) -> int:
    stats: Stats = result["stats"]
    replicas: list[Server] = result["replicas"]
    acknowledged = stats.saves
    rows = [
        ("sessions (websocket + browser)", f"{args.sessions} + {args.browsers}"),
        ("websocket sessions held at once (peak)", str(stats.open_peak)),
        ("replicas", str(len(replicas))),
        ("page settled p50 / p95 (s)", (f"{pct(stats.page_seconds, .5)} / {pct(stats.page_seconds, .95)}"
                                       f"  ({len(stats.page_seconds)} script runs)")),
        ("list saved p50 / p95 (s)", f"{pct(stats.save_seconds, .5)} / {pct(stats.save_seconds, .95)}"),
        ("saves acknowledged", str(acknowledged)),
        ("coordinator runs / publications", f"{result['counts']['runs']} / {result['counts']['published']}"),
        ("replica killed at", f"{result['kill_at']:.0f} s" if result["kill_at"] is not None else "—"),
        ("reconnections", str(stats.reconnects)),
        ("sign-in clicks repeated (first click lost)", str(stats.signin_repeats)),
        ("server errors (exception, error shown, protocol)", str(len(stats.errors))),
        (f"steps timed out (no page within {STEP_TIMEOUT:.0f} s)", str(len(stats.timeouts))),
        ("tracebacks in replica logs", str(result["tracebacks"])),
        ("lost saves (acknowledged, not in DB)", str(len(result["lost"]))),
        ("wall time (s)", f"{result['elapsed']:.0f}"),
    ]
    for i, _replica in enumerate(replicas):
        state = " (killed)" if i in result["killed"] else ""
        rows.append((f"replica {i + 1}{state}: websockets served / upstream connections peak",
                     f"{result['served'][i]} / {result['peak_ws'][i]}"))
        rows.append((f"replica {i + 1}{state}: RSS idle / peak (MB)",
                     f"{result['idle_rss'][i]:.0f} / {result['peak_rss'][i]:.0f}"))
    width = max(len(k) for k, _ in rows)
    print(f"\n{'measure'.ljust(width)} | value")
    print(f"{'-' * width}-|-{'-' * 30}")
    for k, v in rows:
        print(f"{k.ljust(width)} | {v}")
    for line in (stats.errors + result["lost"] + stats.timeouts)[:20]:
        print("  ", line)
    failed = bool(stats.errors or result["lost"] or result["tracebacks"] or stats.timeouts)
    print("\nFAILED: server errors, timeouts or lost saves" if failed else
          "\nOK: no lost save, no server error, no timeout")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
