"""Stopping at the time limit: an honest `feasible` with what is proven, never an invalid allocation,
and never much past the limit."""
import time

from allocator import engine

from .conftest import random_problem


def test_stopped_early_reports_feasible_with_a_bound():
    problem = random_problem(21, 400, 40, 6, minimums=0.5, supervisors=10, slack=1.0, unranked=True)
    full = engine.solve(problem, objective="min-cost", time_limit=60)
    assert full.status == "optimal"
    early = engine.solve(problem, objective="min-cost", time_limit=0.05)
    assert early.status in ("feasible", "optimal", "unknown")
    assert engine.validate(problem, early) == []
    if early.status == "feasible":
        assert not early.proven and early.message.startswith("the time limit came")
        # What was found, what is proven and how long a proof might take, in one message.
        assert "it places" in early.message or "nothing is proven" in early.message, early.message
        assert "estimate" in early.message or "nothing is proven" in early.message, early.message
        assert early.bound.get("placed", full.placed) >= full.placed
        assert early.bound.get("cost", full.cost) <= full.cost
        assert (early.placed, -early.cost) <= (full.placed, -full.cost)


def test_the_time_limit_is_honoured():
    problem = random_problem(3, 1500, 300, 8, minimums=0.6, supervisors=30, slack=1.0, unranked=True)
    relaxed = random_problem(3, 1500, 300, 8, minimums=0.0, supervisors=30, slack=1.0, unranked=True)
    started = time.perf_counter()
    engine.solve(relaxed, objective="greedy")
    one_flow = time.perf_counter() - started  # what a flow costs on this machine at this moment
    started = time.perf_counter()
    result = engine.solve(problem, objective="greedy", time_limit=3.0)
    took = time.perf_counter() - started
    assert engine.validate(problem, result) == []
    assert result.status == "feasible"  # else this test no longer reaches the limit
    # The engine aims at 10% (measured in benchmarks); this only catches a search that ignores the
    # clock, with room for the flows that must follow it on a loaded test machine.
    assert took <= 2 * 3.0 + 3 * one_flow, (took, one_flow)
