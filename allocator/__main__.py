"""Command line: `python -m allocator solve PROBLEM.json [options]` (installed: `allocator solve`), and
`allocator seed [options]` for a demo deployment (the same as `python seed.py`).

Exit codes: 0 an allocation (optimal or feasible), 2 infeasible (the clash on stderr), 3 no
allocation found or ruled out within the time limit, 1 a malformed file or bad option (one line on
stderr, no traceback).
"""
from __future__ import annotations

import argparse
import sys

from allocator.domain import Objective, RunStatus

EXIT_OK, EXIT_BAD_INPUT, EXIT_INFEASIBLE, EXIT_UNKNOWN = 0, 1, 2, 3


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    # argparse exits with 2 on a usage error, which here means "infeasible".
    def error(self, message: str):
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    from allocator.engine import DEFAULT_TIME_LIMIT, OBJECTIVES

    parser = _Parser(prog="python -m allocator", description="Allocate students to projects.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    # Listed for --help; `main` hands `seed` and its options to allocator.seed_cli before parsing.
    commands.add_parser("seed", help="add a demo deployment to the database (allocator seed --help)")
    solve = commands.add_parser("solve", help="solve a problem file and write the result as JSON")
    solve.add_argument("problem", metavar="PROBLEM.json")
    solve.add_argument("--objective", choices=OBJECTIVES, default=Objective.MIN_COST.value)
    solve.add_argument("--weights", type=_weights, help="comma-separated, one per rank (weighted objective)")
    solve.add_argument("--seed", type=int, default=0, help="picks one of equally good allocations")
    solve.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT, metavar="SECONDS")
    solve.add_argument("--out", metavar="RESULT.json", help="write here instead of standard output")
    return parser


def _weights(text: str) -> list[int]:
    try:
        return [int(w) for w in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"weights must be whole numbers separated by commas, not {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["seed"]:
        from allocator.seed_cli import main as seed

        return seed(argv[1:])
    try:
        args = _parser().parse_args(argv)
    except _UsageError as e:
        return _fail(f"usage: {e}")
    if args.weights is not None and args.objective != Objective.WEIGHTED:
        return _fail("--weights only applies to --objective weighted")
    return _solve(args)


def _solve(args: argparse.Namespace) -> int:
    from allocator import engine

    try:
        problem = engine.load_problem(args.problem)
        result = engine.solve(problem, objective=args.objective, weights=args.weights, seed=args.seed,
                              time_limit=args.time_limit)
    except (engine.MalformedProblem, engine.BadOptions) as e:
        return _fail(f"{args.problem}: {e}")
    except OSError as e:
        return _fail(f"cannot read {args.problem}: {e.strerror or e}")
    try:
        engine.dump_result(result, args.out if args.out else sys.stdout)
    except OSError as e:
        return _fail(f"cannot write {args.out}: {e.strerror or e}")
    if not args.out:
        sys.stdout.write("\n")
    if result.status == RunStatus.INFEASIBLE:
        return _fail(f"infeasible: {result.message}", EXIT_INFEASIBLE)
    if result.status == RunStatus.UNKNOWN:
        return _fail(f"unknown: {result.message}", EXIT_UNKNOWN)
    return EXIT_OK


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> int:
    print(f"error: {message}" if code == EXIT_BAD_INPUT else message, file=sys.stderr)
    return code


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
