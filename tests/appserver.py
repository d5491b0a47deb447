"""A real app server for the browser tests (tests/e2e, tests/load, tests/security): `streamlit run app.py`
on a free port against a given database, in local sign-in mode without demo data, in a process group of
its own that is ended as a whole."""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVER_START_TIMEOUT = 60  # seconds; a cold start imports streamlit, pandas, plotly and ortools


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(url: str, tmp: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MS_", "SMTP_")) and k not in ("ADMIN_EMAILS", "LOCAL_MODE", "APP_URL")}
    env.update(
        DATABASE_URL=url,
        ALLOCATOR_NO_DEMO="1",
        # A developer's .streamlit/secrets.toml (Microsoft sign-in, SMTP) must not reach the test server.
        ALLOCATOR_SECRETS=str(tmp / "no-secrets.toml"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


def wait_healthy(process: subprocess.Popen, base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
                if response.status == 200 and response.read().strip() == b"ok":
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"streamlit not healthy after {SERVER_START_TIMEOUT} s:\n{log_path.read_text()[-4000:]}")


def stop_process(process: subprocess.Popen) -> None:
    """End the server's whole process group (helpers included), politely first."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:  # the group is gone already
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


class Server:
    """`streamlit run app.py` in its own process group, on a free port, against `database_url`."""

    def __init__(self, database_url: str, tmp: Path, env: dict[str, str] | None = None):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"streamlit-{self.port}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port),
                 "--server.address", "127.0.0.1", "--server.headless", "true",
                 "--server.fileWatcherType", "none"],
                cwd=REPO_ROOT, env=server_env(database_url, tmp, env), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, ended as a whole by stop()
            )
        try:
            wait_healthy(self.process, self.base_url, self.log_path)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        stop_process(self.process)


@contextmanager
def app_server(url: str, workdir: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """A `Server` for the length of a `with` block; yields its base URL. `env` adds or overrides variables."""
    server = Server(url, workdir, env)
    try:
        yield server.base_url
    finally:
        server.stop()
