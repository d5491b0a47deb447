"""Stopping at the time limit: an honest `feasible` with what is proven, never an invalid allocation."""
from allocator import engine

from .conftest import random_problem


def test_cp_sat_stopped_early_reports_feasible_with_a_bound(cp_sat_only):
    problem = random_problem(21, 400, 40, 6, minimums=0.5, supervisors=10, slack=1.0)
    full = engine.solve(problem, objective="min-cost", time_limit=60)
    assert full.status == "optimal" and full.solver == "cp-sat"
    early = engine.solve(problem, objective="min-cost", time_limit=0.05)
    assert early.status in ("feasible", "optimal")
    assert engine.validate(problem, early) == []
    if early.status == "feasible":
        assert not early.proven and early.message.startswith("the time limit came")
        assert early.bound.get("placed", full.placed) >= full.placed
        assert early.bound.get("cost", full.cost) <= full.cost
        assert (early.placed, -early.cost) <= (full.placed, -full.cost)


def test_the_flow_search_proves_the_same_optimum_as_cp_sat():
    problem = random_problem(21, 400, 40, 6, minimums=0.5, supervisors=10, slack=1.0)
    result = engine.solve(problem, objective="min-cost")
    assert result.status == "optimal" and result.solver == "min-cost-flow+branch"
    assert (result.placed, result.cost) == (313, 512)  # what CP-SAT proves in the test above
