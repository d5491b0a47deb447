"""Fill a database with a realistic demo deployment (`allocator seed` or `python seed.py`).

    python seed.py                        # one cohort, 200 students, into DATABASE_URL
    python seed.py --reset                # wipe it first (SQLite; other databases also need --yes)
    python seed.py --students 5000 --projects 600 --cohorts 3 --seed 7

Exit codes: 0 seeded, 1 could not seed (cohort exists, database unreachable), 2 bad usage or a wipe
refused for want of --yes.
"""
from __future__ import annotations

import argparse
import sys
import time

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seed.py", description="Add a demo deployment (cohorts, people, projects, preferences) to the database.")
    parser.add_argument("--students", type=_positive, default=200, help="students per cohort (default 200)")
    parser.add_argument("--projects", type=_positive, default=60, help="projects per cohort (default 60)")
    parser.add_argument("--staff", type=_positive, default=25, help="staff per cohort, some shared (default 25)")
    parser.add_argument("--cohorts", type=_positive, default=1, help="number of cohorts (default 1)")
    parser.add_argument("--seed", type=int, default=42, help="random seed: the same seed gives the same data")
    parser.add_argument("--reset", action="store_true", help="delete all existing data first")
    parser.add_argument("--yes", action="store_true", help="confirm --reset on a database that is not SQLite")
    parser.add_argument("--database-url", help="database to fill (default: DATABASE_URL or the embedded SQLite file)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Imported late so --help and a refused wipe answer at once, without loading the app.
    from allocator import config

    url = args.database_url or config.load().database_url
    try:
        parsed = make_url(url)
    except ArgumentError:
        print(f"seed.py: not a database URL: {url!r}", file=sys.stderr)
        return 2
    shown = parsed.render_as_string(hide_password=True)
    # Decided before connecting: a shared server must never be wiped by a mistyped command.
    if args.reset and parsed.get_backend_name() != "sqlite" and not args.yes:
        print(f"seed.py: refusing to wipe {shown} (not SQLite) without --yes", file=sys.stderr)
        return 2

    from tqdm import tqdm

    from allocator import migrate, seeding

    started = time.perf_counter()
    bars: list[tqdm] = []  # made on the first rows, so a failure before them prints no empty bar

    def progress(done: int, total: int, stage: str) -> None:
        if not bars:
            bars.append(tqdm(total=total, unit=" rows", file=sys.stderr, dynamic_ncols=True))
        bar = bars[0]
        bar.set_description(stage, refresh=False)
        bar.update(done - bar.n)

    def close() -> None:
        for bar in bars:
            bar.close()

    try:
        migrate.upgrade(url)
        summary = seeding.seed(url, students=args.students, projects=args.projects, staff=args.staff,
                               cohorts=args.cohorts, seed=args.seed, reset=args.reset, progress=progress)
    except seeding.CohortExists as err:
        close()
        print(f"seed.py: {err} in {shown}; use --reset to replace the data", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        close()
        print("seed.py: interrupted; nothing was written", file=sys.stderr)
        return 130
    except SQLAlchemyError as err:
        close()
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        print(f"seed.py: could not seed {shown}: {reason}", file=sys.stderr)
        return 1
    close()
    print(f"{summary.line()} in {time.perf_counter() - started:.1f} s ({shown})")
    return 0

