"""A real app server and a real browser for the tests that need them (tests/load, tests/security).

`app_server(url, workdir)` runs `streamlit run app.py` on a free port against a database, in local
sign-in mode without demo data, and kills its process group on the way out. `chromium(p)` launches
Debian's Chromium through Playwright; callers skip when it is missing (`HAVE_CHROMIUM`).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
HAVE_CHROMIUM = os.path.exists(CHROMIUM)
NO_CHROMIUM = f"{CHROMIUM} is missing: browser test skipped"


def chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM,
                                      args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def app_server(url: str, workdir: Path):
    """`streamlit run app.py` on a free port against `url`, in local sign-in mode without demo data;
    its whole process group is killed on the way out."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("MS_CLIENT_ID", "MS_TENANT_ID", "SMTP_HOST")}
    env.update(DATABASE_URL=url, ALLOCATOR_NO_DEMO="1", ALLOCATOR_SECRETS=str(workdir / "no-secrets.toml"))
    log = workdir / "app.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.headless", "true", "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                assert proc.poll() is None, "the app exited:\n" + log.read_text(errors="replace")[-3000:]
                try:
                    with urllib.request.urlopen(base + "/_stcore/health", timeout=1) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "the app did not answer within 30 s"
                time.sleep(0.2)
            yield base
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def idle(page) -> None:
    """Wait until the app is connected and its script has finished running (as Streamlit's e2e suite)."""
    page.locator('[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
                 '[data-test-script-state="notRunning"]').wait_for()


def warm_up(context, base: str) -> None:
    """One throwaway session first. The first session a fresh server opens is made while Streamlit still
    treats `pages/` as a folder of pages (see ui._leave_pages_folder_mode), and its widgets change ids
    after the first run: its first click is lost. Later sessions are unaffected (and find the app's
    scripts in the browser's cache)."""
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
