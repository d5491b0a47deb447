"""The allocation engine: a typed `Problem` in, a typed `Result` out.

Pure by design: the standard library, numpy and OR-Tools only (OR-Tools' MathOpt and HiGHS are
imported only when a problem has binding minimum project sizes), so the app, the CLI and the tests
share one solve path.

    from allocator import engine
    problem = engine.load_problem("problem.json")
    result = engine.solve(problem, objective="greedy", seed=3)
    assert engine.validate(problem, result) == []
    engine.explain(problem, result, "S1")
"""
from .fileformat import (
    MalformedResult,
    dump_problem,
    dump_result,
    dumps_problem,
    dumps_result,
    load_problem,
    load_result,
    loads_problem,
    loads_result,
    parse_problem,
    parse_result,
    problem_to_dict,
    result_to_dict,
)
from .model import (
    OBJECTIVES,
    STATUSES,
    BadOptions,
    Group,
    MalformedProblem,
    Problem,
    Project,
    Result,
    Student,
    Supervisor,
)
from .explain import REASONS, Reason, explain
from .solver import DEFAULT_TIME_LIMIT, SOLVERS, solve
from .validate import validate

__all__ = [
    "BadOptions", "DEFAULT_TIME_LIMIT", "Group", "MalformedProblem", "MalformedResult", "OBJECTIVES", "Problem",
    "Project", "REASONS", "Reason", "Result", "SOLVERS", "STATUSES", "Student", "Supervisor", "dump_problem",
    "dump_result", "dumps_problem", "dumps_result", "explain", "load_problem", "load_result",
    "loads_problem", "loads_result", "parse_problem", "parse_result", "problem_to_dict", "result_to_dict",
    "solve", "validate",
]
