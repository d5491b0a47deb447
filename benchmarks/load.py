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

The stack (database, nginx, replicas' helpers) is in `load_stack.py`, the clients (websocket sessions,
Chromium tabs) in `load_client.py`; this file runs them and reports.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import queue
import random
import shutil
import signal
import ssl
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from allocator import db, services  # noqa: E402
from tests.appserver import Server  # noqa: E402
from benchmarks.load_stack import (Nginx, Seeded, create_database, drop_database, rss_mb, seed,  # noqa: E402
                                   stored_lists, websockets_on)
from benchmarks import load_client as client  # noqa: E402
from benchmarks.load_client import CHROMIUM, Plan, Stats, browser_sessions, student_session, warm_up  # noqa: E402


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
    parser.add_argument("--step-timeout", type=float, default=client.STEP_TIMEOUT,
                        help="seconds a page may take before the step counts as timed out (default 300)")
    parser.add_argument("--server", default=os.environ.get("LOAD_DATABASE_SERVER",
                                                           "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"),
                        help="PostgreSQL server on which a fresh database is made and dropped")
    args = parser.parse_args()
    client.STEP_TIMEOUT = args.step_timeout  # read by every step as it runs
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
    await asyncio.wait(tasks, timeout=duration + 4 * client.STEP_TIMEOUT)
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
        browsers.join(4 * client.STEP_TIMEOUT)
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
        (f"steps timed out (no page within {client.STEP_TIMEOUT:.0f} s)", str(len(stats.timeouts))),
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
