"""The load test's stack on one machine: a fresh PostgreSQL database, the seed, nginx with the deployed
configuration, and the replicas' figures (memory, connections)."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from allocator import db, migrate, seeding, services
from allocator.models import Cohort, Membership, Preference, User

ROOT = Path(__file__).resolve().parent.parent

NGINX = "/usr/sbin/nginx"
NGINX_CONF = ROOT / "deploy" / "nginx.conf"


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
