"""The groups row's instance (2,000 students, 300 groups of 2-4) drawn with other seeds: greedy and
generous solved in process, engine seconds per instance, then the median and the worst.

    .venv/bin/python benchmarks/groups_seeds.py 1 2 3 4 5 6 7 8 [--limit 60]

HiGHS's path through the groups program depends on every detail of it (a start, a weight), so one
instance alone can move by seconds either way with any change: a change is judged on all of them.
Seed 4 is `engine.py --groups-only`'s own instance.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine import make_instance  # noqa: E402  (benchmarks/engine.py, beside this file)
from groups_table import with_groups  # noqa: E402

from allocator import engine  # noqa: E402

OBJECTIVES = ("greedy", "generous")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seeds", type=int, nargs="+")
    parser.add_argument("--limit", type=float, default=60.0)
    args = parser.parse_args()
    print(f"{'instance seed':>13} {'greedy s':>9} {'generous s':>11}  status")
    times: dict[str, list[float]] = {o: [] for o in OBJECTIVES}
    for seed in args.seeds:
        data = with_groups(make_instance(2000, 200, 8, seed=seed, slack=1.1), 300, seed=seed)
        problem = engine.parse_problem(data)
        results = {o: engine.solve(problem, o, time_limit=args.limit) for o in OBJECTIVES}
        for o, r in results.items():
            times[o].append(r.seconds)
        print(f"{seed:>13} {results['greedy'].seconds:>9.2f} {results['generous'].seconds:>11.2f}  "
              + ", ".join(sorted({r.status for r in results.values()})))
    print(f"{'median':>13} {statistics.median(times['greedy']):>9.2f} {statistics.median(times['generous']):>11.2f}")
    print(f"{'worst':>13} {max(times['greedy']):>9.2f} {max(times['generous']):>11.2f}")


if __name__ == "__main__":
    main()
