"""How long the demo seeder takes on SQLite, for a few cohort sizes.

    python benchmarks/seed.py [--repeat 3] [--students 200 1000 5000]

Each size seeds a freshly migrated SQLite file in a temporary directory, cold (Faker's name pool is
rebuilt, as in a fresh `python seed.py`); the best of --repeat runs is shown, as the slower runs
measure the machine's other work rather than the seeder. Migration time is not included. The issue's bar is
5,000 students in under a minute.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from allocator import migrate, seeding  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, nargs="+", default=[200, 1000, 5000])
    parser.add_argument("--projects", type=int, default=60)
    parser.add_argument("--staff", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    print(f"{'students':>9} {'users':>7} {'preferences':>12} {'seconds':>8} {'rows/s':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for students in args.students:
            best, summary = float("inf"), None
            for attempt in range(args.repeat):
                url = f"sqlite:///{Path(tmp) / f'seed_{students}_{attempt}.db'}"
                migrate.upgrade(url)
                seeding.names.name_pool.cache_clear()
                seeding.names.company_names.cache_clear()
                started = time.perf_counter()
                summary = seeding.seed(url, students=students, projects=args.projects, staff=args.staff)
                best = min(best, time.perf_counter() - started)
            rows = summary.users + summary.students + summary.staff + summary.projects + summary.preferences
            print(f"{students:>9,} {summary.users:>7,} {summary.preferences:>12,} {best:>8.2f} {rows / best:>9,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
