"""Groups, several places and tiers against exhaustive search on tiny problems, for every objective,
with capacities, minimums, supervisor caps, pins and forbids mixed in."""
from hypothesis import HealthCheck, given, settings

from allocator import engine

from .conftest import OBJECTIVES, weights_for
from .extended_cases import brute_force, tiered_key, tiny_extended

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(problem, seed=0):
    best = brute_force(problem)
    for objective in OBJECTIVES:
        weights = weights_for(problem) if objective == "weighted" else None
        result = engine.solve(problem, objective=objective, weights=weights, seed=seed, time_limit=5)
        if best is None:
            assert result.status == "infeasible", (objective, result)
            assert result.message
            continue
        assert result.status == "optimal", (objective, result)
        assert engine.validate(problem, result) == [], (objective, engine.validate(problem, result))
        assert tiered_key(problem, objective, weights, result.assignment) == best[objective], objective


@SETTINGS
@given(tiny_extended())
def test_groups_places_tiers_match_brute_force(problem):
    check(problem)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_extended(minimums=True))
def test_with_minimums_match_brute_force(problem):
    check(problem, seed=5)


def test_regression_a_pin_forces_a_project_that_no_free_choice_can_join():
    # S1's other place cannot go to P2 again, and S0 is pinned elsewhere: P2 stays below its minimum.
    from allocator.engine import Problem, Project, Student

    problem = Problem([Student("S0", ()), Student("S1", (), places=2)],
                      [Project("P0", 2), Project("P1", 0), Project("P2", 2, 2)],
                      pinned={"S0": "P0", "S1": "P2"}, allow_unranked=True)
    check(problem, seed=5)
