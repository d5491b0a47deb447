"""Every objective against exhaustive search on tiny problems with every rule in play."""
from hypothesis import HealthCheck, given, settings

from allocator import engine

from .conftest import OBJECTIVES, brute_force, key, tiny_problems, weights_for

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_against_brute_force(problem, seed=0):
    best = brute_force(problem)
    for objective in OBJECTIVES:
        weights = weights_for(problem) if objective == "weighted" else None
        # A proof that needs more than a few seconds on a tiny problem is a regression, not a pass.
        result = engine.solve(problem, objective=objective, weights=weights, seed=seed, time_limit=5)
        if best is None:
            assert result.status == "infeasible", (objective, result)
            assert result.message
            continue
        assert result.status == "optimal", (objective, result)
        assert engine.validate(problem, result) == [], objective
        assert key(problem, objective, weights, result.assignment) == best[objective], objective


@SETTINGS
@given(tiny_problems(max_students=7))
def test_flow_and_branching_match_brute_force(problem):
    check_against_brute_force(problem)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_problems(max_students=6, minimums=True))
def test_minimums_match_brute_force(problem):
    check_against_brute_force(problem, seed=7)


def test_regression_search_levels_line_up_with_closed_projects():
    # Closing a project removed a rank's arcs, so the flow's levels no longer matched the search's
    # cutoff and a worse allocation won.
    problem = engine.Problem(
        [engine.Student("S0", ("P2", "P0", "P1")), engine.Student("S1", ("P1", "P2")), engine.Student("S2", ("P0",)),
         engine.Student("S3", ("P0", "P1"))],
        [engine.Project("P0", 2, 2), engine.Project("P1", 2, 2), engine.Project("P2", 2, 2)],
    )
    check_against_brute_force(problem, seed=3)


def test_regression_search_judges_the_unranked_hub():
    # The search left out the unranked level when no free student had an explicit unranked arc, so
    # the flow sent S0 through the unranked hub to a project S0 had ranked 2nd.
    problem = engine.Problem(
        [engine.Student("S0", ("P1", "P0")), engine.Student("S1", ("P0", "P1")), engine.Student("S2", ()),
         engine.Student("S3", ("P0", "P1"))],
        [engine.Project("P0", 2, 2), engine.Project("P1", 3, 3)], [engine.Supervisor("L0", 0)],
        pinned={"S2": "P0"}, allow_unranked=True,
    )
    check_against_brute_force(problem, seed=3)
