"""Allocation engine benchmark: whole processes, median of 5, printed as a table.

    .venv/bin/python benchmarks/engine.py [--repeats 5] [--quick]
    .venv/bin/python benchmarks/engine.py --minimums-only [--sizes 2000 5000 10000] [--objectives ...] [--limits-only]
    .venv/bin/python benchmarks/engine.py --groups-only

Instances are seeded, with Zipf-skewed popularity. Each timed run is a fresh `python -m allocator
solve` process (the way a coordinator or the app's worker runs it), beside a bare script that only
reads the same JSON, runs one vectorised OR-Tools max-flow-min-cost and writes the assignment. Runs
are interleaved so that load from anything else on the machine falls on both alike. The old
system's "highest preference first" heuristic and random serial dictatorship are run on the same
instances for their profiles.

`--groups-only` prints only the rows for groups and places (also printed after the main table):
2,000 students with 300 groups of 2-4 (every objective; weighted with weights 1, 2, 4, ..., 128),
and 5,000 students with one place beside the same students with two places each (capacities
doubled), each with the engine's own solve time from its result. Its targets line gives the groups
row's solve seconds for all four objectives (the target: each proven in under 5 s).
Those rows are built in `benchmarks/groups_table.py`; `benchmarks/groups_seeds.py 1 2 3 4 5 6 7 8`
solves that row's instance drawn with each seed.

`--minimums-only` prints the table for minimum project sizes instead: the seed's own cohorts (through
a throwaway SQLite file and the studio's problem export) and random instances with binding
minimums, each solved by the engine's CLI and by an independent HiGHS MILP
(benchmarks/milp_reference.py), both as whole processes, with the values compared; then how closely
short time limits (0.5, 2 and 4 s) are kept at 5,000 and 10,000 students.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BARE_SCRIPT = r'''
import json, sys
import numpy as np
from ortools.graph.python import min_cost_flow
data = json.load(open(sys.argv[1]))
students, projects = data["students"], data["projects"]
n, m = len(students), len(projects)
pidx = {p["id"]: j for j, p in enumerate(projects)}
lens = np.fromiter((len(s["preferences"]) for s in students), np.int64, n)
flat = np.fromiter((pidx[p] for s in students for p in s["preferences"]), np.int64, int(lens.sum()))
sidx = np.repeat(np.arange(n), lens)
rank = np.arange(len(flat)) - np.repeat(np.cumsum(lens) - lens, lens) + 1
cap = np.fromiter((p["capacity"] for p in projects), np.int64, m)
src, sink = n + m, n + m + 1
tails = np.concatenate([np.full(n, src), sidx, n + np.arange(m)]).astype(np.int32)
heads = np.concatenate([np.arange(n), n + flat, np.full(m, sink)]).astype(np.int32)
caps = np.concatenate([np.ones(n + len(flat), np.int64), cap])
costs = np.concatenate([np.zeros(n, np.int64), rank, np.zeros(m, np.int64)])
f = min_cost_flow.SimpleMinCostFlow()
f.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
f.set_node_supply(src, n); f.set_node_supply(sink, -n)
f.solve_max_flow_with_min_cost()
used = f.flows(np.arange(n, n + len(flat), dtype=np.int32)) > 0
out = {students[i]["id"]: projects[j]["id"] for i, j in zip(sidx[used].tolist(), flat[used].tolist())}
json.dump(out, open(sys.argv[2], "w"))
'''


def make_instance(n: int, m: int, k: int, seed: int, *, minimums: float = 0.0, supervisors: int = 0,
                  slack: float = 1.2, zipf: float = 1.0) -> dict:
    """Preferences drawn without replacement, popularity ∝ 1/rank^zipf (Gumbel top-k sampling)."""
    rng = np.random.default_rng(seed)
    weight = 1.0 / np.arange(1, m + 1) ** zipf
    rng.shuffle(weight)
    keys = np.log(weight)[None, :] + rng.gumbel(size=(n, m))
    top = np.argpartition(-keys, k, axis=1)[:, :k]
    prefs = np.take_along_axis(top, np.argsort(-np.take_along_axis(keys, top, 1), axis=1), 1)
    cap = rng.integers(6, 13, size=m)
    cap = np.maximum(1, np.round(cap * slack * n / cap.sum())).astype(int)
    projects = [{"id": f"P{j}", "capacity": int(c)} for j, c in enumerate(cap)]
    for j in rng.choice(m, int(minimums * m), replace=False):
        projects[j]["min_students"] = int(min(cap[j], rng.integers(3, 7)))
    sups = []
    if supervisors:
        owner = rng.integers(0, supervisors, size=m)
        for j in range(m):
            projects[j]["supervisor"] = f"L{owner[j]}"
        sups = [{"id": f"L{v}", "capacity": int(np.ceil(0.75 * cap[owner == v].sum()))} for v in range(supervisors)]
    return {
        "students": [{"id": f"S{i}", "preferences": [f"P{j}" for j in row]} for i, row in enumerate(prefs.tolist())],
        "projects": projects,
        "supervisors": sups,
    }


# ---------------------------------------------------------------- heuristics, for their profiles


def _arrays(data: dict):
    pos = {p["id"]: j for j, p in enumerate(data["projects"])}
    prefs = [[pos[p] for p in s["preferences"]] for s in data["students"]]
    cap = np.array([p["capacity"] for p in data["projects"]])
    sup_ids = {v["id"]: i for i, v in enumerate(data.get("supervisors", []))}
    owner = np.array([sup_ids.get(p.get("supervisor"), -1) for p in data["projects"]])
    sup_cap = np.array([v["capacity"] for v in data.get("supervisors", [])] + [10**9])
    return prefs, cap, owner, sup_cap


def highest_preference_first(data: dict, seed: int = 0) -> list:
    """The old system: every student's 1st choice where there is room (a random draw among the
    applicants of a full project), then the 2nd choices of those left, and so on."""
    rng = np.random.default_rng(seed)
    prefs, cap, owner, sup_cap = _arrays(data)
    load, sup_load = np.zeros_like(cap), np.zeros_like(sup_cap)
    project_of = [-1] * len(prefs)
    for r in range(max(map(len, prefs), default=0)):
        waiting = [i for i in rng.permutation(len(prefs)).tolist() if project_of[i] < 0 and len(prefs[i]) > r]
        for i in waiting:  # random order within a round is the random draw between applicants
            j = prefs[i][r]
            if load[j] < cap[j] and sup_load[owner[j]] < sup_cap[owner[j]]:
                project_of[i] = j
                load[j] += 1
                sup_load[owner[j]] += 1
    return project_of


def serial_dictatorship(data: dict, seed: int = 0) -> list:
    """Random serial dictatorship: in a random order, each student takes their best choice with room."""
    rng = np.random.default_rng(seed)
    prefs, cap, owner, sup_cap = _arrays(data)
    load, sup_load = np.zeros_like(cap), np.zeros_like(sup_cap)
    project_of = [-1] * len(prefs)
    for i in rng.permutation(len(prefs)).tolist():
        for j in prefs[i]:
            if load[j] < cap[j] and sup_load[owner[j]] < sup_cap[owner[j]]:
                project_of[i] = j
                load[j] += 1
                sup_load[owner[j]] += 1
                break
    return project_of


def heuristic_row(data: dict, project_of: list) -> dict:
    prefs, cap, _, _ = _arrays(data)
    k = max(map(len, prefs), default=0)
    ranks = [prefs[i].index(j) + 1 for i, j in enumerate(project_of) if j >= 0]
    mins = np.array([p.get("min_students", 0) for p in data["projects"]])
    load = np.bincount([j for j in project_of if j >= 0], minlength=len(cap))
    return {"profile": [ranks.count(r) for r in range(1, k + 2)],
            "below_min": int(((load > 0) & (load < mins)).sum())}


# ---------------------------------------------------------------- timing


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    return env


def timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=ROOT)
    return time.perf_counter() - start, done


def bench(jobs: dict[str, list[str]], repeats: int,
          after: Callable[[str], None] | None = None) -> dict[str, float]:
    """Median wall time per job, runs interleaved; `after(name)`, when given, follows each timed run."""
    for cmd in jobs.values():  # warm-up: disk cache and bytecode, as on any machine that ran it once
        timed(cmd)
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for _ in range(repeats):
        for name, cmd in jobs.items():
            seconds, done = timed(cmd)
            if done.returncode != 0:
                raise SystemExit(f"{name} failed ({done.returncode}): {done.stderr.strip()}")
            times[name].append(seconds)
            if after is not None:
                after(name)
    return {name: statistics.median(t) for name, t in times.items()}


def summary(profile: list[int], n: int) -> str:
    placed = sum(profile)
    ranks = [r for r, c in enumerate(profile, 1) for _ in range(c)]
    worst = max(ranks, default=0)
    avg = sum(ranks) / placed if placed else 0
    return (f"{placed:>6} {100 * profile[0] / n if n else 0:5.1f}% {100 * sum(profile[:3]) / n if n else 0:5.1f}% "
            f"{avg:5.2f} {worst:>5}  {profile}")


def seed_instance(students: int, path: Path) -> None:
    """The app's own demo cohort at this size (allocator.seeding through a throwaway SQLite file and
    the problem export the studio uses), with unranked placements allowed, as the issue ran it."""
    from sqlalchemy import select

    from allocator import db, migrate, seeding
    from allocator.models import Cohort
    from allocator.services.allocation.problem import build_problem_json

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/seed.db"
        migrate.upgrade(url)
        seeding.seed(url, students=students, projects=int(0.3 * students), staff=max(25, students // 20))
        engine = db.create(url)
        with db.sessionmaker_for(engine)() as session:
            cohort_id = session.scalars(select(Cohort.id)).first()
            problem = build_problem_json(session, cohort_id, overrides={"allow_unranked": True})
        engine.dispose()
    path.write_text(json.dumps(problem))


def minimum_table(instances: list[tuple[str, Path]], objectives: list[str], limit: float) -> None:
    """Engine (whole CLI process) beside the independent HiGHS MILP (benchmarks/milp_reference.py,
    a whole process too), one run each: these take seconds to minutes, not milliseconds."""
    py = sys.executable
    print(f"\n{'instance':<34} {'objective':<9} {'engine s':>9} {'status':<9} {'solver':<20} "
          f"{'reference s':>11} {'ref status':<10} {'same value':<10} {'ratio':>6}")
    for label, path in instances:
        for objective in objectives:
            out = path.with_name(f"{path.stem}-{objective}-out.json")
            cmd = [py, "-m", "allocator", "solve", str(path), "--objective", objective, "--out", str(out),
                   "--time-limit", str(limit)]
            if objective == "weighted":
                k = max(len(s["preferences"]) for s in json.loads(path.read_text())["students"])
                cmd += ["--weights", ",".join(str(r) for r in range(1, k + 2))]
            seconds, done = timed(cmd)
            result = json.loads(out.read_text()) if done.returncode == 0 and out.exists() else {}
            ref_cmd = [py, str(ROOT / "benchmarks" / "milp_reference.py"), str(path), "--objective", objective,
                       "--time-limit", str(limit)]
            ref_seconds, ref_done = timed(ref_cmd)
            ref = json.loads(ref_done.stdout) if ref_done.returncode == 0 else {"status": "error"}
            same = "-"
            if result.get("status") == "optimal" and ref.get("status") == "optimal":
                mine = [-len(result["assignment"])]
                if objective in ("min-cost", "weighted"):
                    mine.append(result["cost"])
                elif objective == "greedy":  # the reference's levels: -placed, then -count at rank 1, 2, ...
                    mine += [-c for c in result["profile"]]
                else:  # generous: -placed, then the count unranked, at rank k, k - 1, ...
                    mine += result["profile"][::-1]
                n = min(len(mine), len(ref["values"]))
                same = "yes" if mine[:n] == ref["values"][:n] else f"NO {mine} {ref['values']}"
            print(f"{label:<34} {objective:<9} {seconds:9.2f} {result.get('status', 'error'):<9} "
                  f"{result.get('solver', ''):<20} {ref_seconds:11.2f} {ref.get('status'):<10} {same:<10} "
                  f"{seconds / ref_seconds:5.2f}×", flush=True)


def minimums_only(args) -> None:
    """The table of instances with minimums beside the MILP reference, alone."""
    work = Path(tempfile.mkdtemp(prefix="allocator-bench-"))
    instances = []
    for n in args.sizes:
        path = work / f"seed{n}.json"
        seed_instance(n, path)
        instances.append((f"seed cohort {n:,} (+unranked)", path))
    for n, m, seed in ((2000, 200, 2), (600, 200, 3)):
        path = work / f"random{n}.json"
        data = make_instance(n, m, 8, seed=seed, minimums=0.6, supervisors=m // 5, slack=1.1)
        data["allow_unranked"] = seed == 3
        path.write_text(json.dumps(data))
        instances.append((f"random {n:,}×{m} 60% min" + (" +unranked" if seed == 3 else ""), path))
    if not args.limits_only:
        minimum_table(instances, args.objectives, args.limit)
    limit_table([i for i in instances if "seed" in i[0] and "2,000" not in i[0]], ["min-cost", "greedy"],
                [0.5, 2.0, 4.0])


def instance_rows(big: Path, quotas: Path, n_big: int, wall: dict, quota_wall: dict, work: Path) -> None:
    """One row per method and instance: the engine's whole processes, the bare script, the heuristics."""
    for path, label, timings in (
        (big, f"{n_big:,} × {n_big // 10:,} × 10", wall),
        (quotas, "2,000 × 200 × 10 +minimums+sups", quota_wall),
    ):
        data = json.loads(path.read_text())
        n = len(data["students"])
        for name, seconds in timings.items():
            ratio = f"{seconds / wall['bare script']:6.2f}×" if path == big else ""
            if name == "bare script":
                out = json.loads((work / "bare-out.json").read_text())
                prefs = {s["id"]: s["preferences"] for s in data["students"]}
                ranks = [prefs[s].index(p) + 1 for s, p in out.items()]
                profile = [ranks.count(r) for r in range(1, 12)]
                status, solver = "optimal", "bare script (max-flow-min-cost)"
            else:
                result = json.loads((work / f"{path.stem}-{name.split()[1]}.json").read_text())
                profile, status, solver = result["profile"], result["status"], f"{name} [{result['solver']}]"
            print(f"{label:<32} {solver:<40} {seconds:7.3f} {ratio:>7} {status:<9} {summary(profile, n)}")
        for heuristic in (highest_preference_first, serial_dictatorship):
            row = heuristic_row(data, heuristic(data))
            name = heuristic.__name__.replace("_", " ")
            print(f"{label:<32} {name:<40} {'':>7} {'':>7} {'heuristic':<9} {summary(row['profile'], n)}"
                  + (f"  [{row['below_min']} projects run below their minimum]" if path == quotas else ""))
        print()


def limit_table(instances: list[tuple[str, Path]], objectives: list[str], limits: list[float]) -> None:
    """How closely the time limit is kept: the engine's own seconds (the Result's, from the call to
    the answer; a CLI process adds Python's start and imports) against the limit, on runs that
    reach it."""
    py = sys.executable
    print(f"\n{'instance':<34} {'objective':<9} {'limit s':>7} {'engine s':>8} {'over':>6} {'status':<9} message")
    for label, path in instances:
        for objective in objectives:
            for limit in limits:
                out = path.with_name(f"{path.stem}-{objective}-{limit}-out.json")
                _, done = timed([py, "-m", "allocator", "solve", str(path), "--objective", objective, "--out",
                                 str(out), "--time-limit", str(limit)])
                result = json.loads(out.read_text()) if done.returncode == 0 and out.exists() else {}
                seconds = result.get("seconds", float("nan"))
                print(f"{label:<34} {objective:<9} {limit:7.1f} {seconds:8.2f} {100 * (seconds / limit - 1):5.0f}% "
                      f"{result.get('status', 'error'):<9} {result.get('message', '')[:160]}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="1,000 students instead of 10,000")
    parser.add_argument("--groups-only", action="store_true", help="only the rows for groups and places")
    parser.add_argument("--minimums-only", action="store_true",
                        help="only the table of instances with minimums beside the MILP reference")
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000, 10000])
    parser.add_argument("--objectives", nargs="+", default=["min-cost", "weighted", "greedy", "generous"])
    parser.add_argument("--limit", type=float, default=600, help="time limit for each engine and reference run")
    parser.add_argument("--limits-only", action="store_true",
                        help="with --minimums-only: only the table of runs stopped by short time limits")
    args = parser.parse_args()
    from groups_table import groups_table  # beside this file; it builds on this one's instances
    if args.groups_only:
        groups_table(Path(tempfile.mkdtemp(prefix="allocator-bench-")), args.repeats, args.limit)
        return
    if args.minimums_only:
        minimums_only(args)
        return
    from allocator.engine import flow, load_problem, network, quota

    n_big = 1000 if args.quick else 10_000
    work = Path(tempfile.mkdtemp(prefix="allocator-bench-"))
    big, quotas = work / "big.json", work / "quota.json"
    big.write_text(json.dumps(make_instance(n_big, n_big // 10, 10, seed=1)))
    quotas.write_text(json.dumps(make_instance(2000, 200, 10, seed=2, minimums=0.4, supervisors=80)))
    bare = work / "bare.py"
    bare.write_text(BARE_SCRIPT)
    py = sys.executable

    def ours(path: Path, objective: str) -> list[str]:
        return [py, "-m", "allocator", "solve", str(path), "--objective", objective, "--out",
                str(work / f"{path.stem}-{objective}.json"), "--time-limit", "60"]

    jobs = {"bare script": [py, str(bare), str(big), str(work / "bare-out.json")]}
    jobs |= {f"engine {o}": ours(big, o) for o in ("min-cost", "greedy", "generous")}
    quota_jobs = {f"engine {o}": ours(quotas, o) for o in ("min-cost", "generous", "greedy")}
    wall = bench(jobs, args.repeats)
    quota_wall = bench(quota_jobs, args.repeats)

    problem = load_problem(quotas)
    res = network.residual(problem)
    short = quota.short_projects(problem, res, flow.allocate(problem, res, "min-cost", None, 0)).size
    with_min = sum(1 for p in problem.projects if p.min_students > 1)

    print(f"\nMachine: {os.cpu_count()} cores; whole processes, median of {args.repeats}, interleaved; "
          f"python {sys.version.split()[0]}\n")
    header = (f"{'instance':<32} {'method':<40} {'wall s':>7} {'× bare':>7} {'status':<9} "
              f"{'placed':>6} {'1st':>6} {'top3':>6} {'avg':>5} {'worst':>5}  profile (rank 1..k, unranked)")
    print(header)
    print("-" * len(header))
    instance_rows(big, quotas, n_big, wall, quota_wall, work)
    print(f"Quota instance: {with_min} of 200 projects have a minimum above 1; the flow optimum without "
          f"minimums leaves {short} of them short, so the minimums bind.")
    print("Targets: min-cost ≤ 1.3× bare: {}; greedy ≤ 2×: {}; generous ≤ 2×: {}; quota instance proven in "
          "< 10 s: {}".format(
              *(f"{wall[f'engine {o}'] / wall['bare script']:.2f}×" for o in ("min-cost", "greedy", "generous")),
              ", ".join(f"{o} {quota_wall[f'engine {o}']:.2f} s" for o in ("min-cost", "generous", "greedy"))))
    groups_table(work, args.repeats, 60)


if __name__ == "__main__":
    main()
