"""The staged path for groups (`engine/staged.py`): the same optima as exhaustive search and the
independent MILP when every level gets a stage of its own or when the LP narrows the spans; levels
a first allocation already proves cost no search; stopped runs keep a valid allocation."""
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

from allocator import engine
from allocator.engine import Group, Problem, Project, Student, groups, highs, staged

from .conftest import OBJECTIVES, weights_for
from .extended_cases import brute_force, random_extended, tiered_key, tiny_extended
from .test_groups_milp import milp_key


@pytest.fixture
def small_stages(monkeypatch):
    """A merge limit so low that nearly every level is a stage of its own, so that tiny problems
    take the staged path, with its first allocation, its kept levels and its LP spans."""
    monkeypatch.setattr(groups, "MERGE_LIMIT", 12)
    monkeypatch.setattr(staged, "MERGE_LIMIT", 12)


def searches(monkeypatch) -> list:
    """Every HiGHS search the run makes, as it makes it."""
    calls: list = []
    real = highs.minimise

    def spy(*args, **kwargs):
        calls.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(highs, "minimise", spy)
    return calls


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                    HealthCheck.function_scoped_fixture])
@given(tiny_extended())
def test_tiny_problems_in_many_stages_match_brute_force(small_stages, problem):
    assume(problem.groups)
    best = brute_force(problem)
    for objective in OBJECTIVES:
        weights = weights_for(problem) if objective == "weighted" else None
        result = engine.solve(problem, objective=objective, weights=weights, seed=3, time_limit=5)
        if best is None:
            assert result.status == "infeasible"
            continue
        assert result.status == "optimal", (objective, result.message)
        assert engine.validate(problem, result) == []
        assert tiered_key(problem, objective, weights, result.assignment) == best[objective], objective


CASES = [
    dict(seed=11, n=60, m=12, k=4, groups=8, two_places=0.3, tiers=2, supervisors=4, pins=2, forbids=4),
    dict(seed=12, n=50, m=10, k=5, groups=7, slack=1.0, unranked=True),
    dict(seed=13, n=70, m=14, k=4, groups=10, tiers=3, supervisors=3),
]


@pytest.mark.parametrize("case", CASES, ids=[f"seed{c['seed']}" for c in CASES])
@pytest.mark.parametrize("objective", ["greedy", "generous"])
@pytest.mark.parametrize("limit", [2**12, 2**20])
def test_medium_problems_match_the_milp_with_narrowed_spans(monkeypatch, case, objective, limit):
    # At these limits the LP's spans decide how many levels share a stage.
    monkeypatch.setattr(groups, "MERGE_LIMIT", limit)
    monkeypatch.setattr(staged, "MERGE_LIMIT", limit)
    problem = random_extended(**case)
    result = engine.solve(problem, objective=objective, seed=case["seed"], time_limit=30)
    assert result.status == "optimal", result.message
    assert engine.validate(problem, result) == []
    assert tiered_key(problem, objective, None, result.assignment) == milp_key(problem, objective, None)


def roomy(p0_seats: int = 5) -> Problem:
    """Two groups that want only P0 (2 and 3 students) and three free students who want P1 first."""
    students = [Student(f"S{i}", ("P0",)) for i in range(5)] + [Student(f"S{i}", ("P1", "P0")) for i in (5, 6, 7)]
    return Problem(students, [Project("P0", p0_seats), Project("P1", 3)],
                   groups=[Group("G0", ("S0", "S1")), Group("G1", ("S2", "S3", "S4"))])


def test_levels_the_first_allocation_holds_at_their_floors_need_no_search(small_stages, monkeypatch):
    calls = searches(monkeypatch)
    result = engine.solve(roomy(), objective="greedy", time_limit=5)
    assert result.status == "optimal"
    assert result.profile[:2] == [8, 0]
    assert calls == []  # placed and rank 1 at their floors: everyone placed, everyone first


def test_a_level_above_its_floor_is_searched(small_stages, monkeypatch):
    calls = searches(monkeypatch)
    result = engine.solve(roomy(p0_seats=4), objective="greedy", time_limit=5)
    assert result.status == "optimal"
    assert sorted(result.assignment) == ["S2", "S3", "S4", "S5", "S6", "S7"]  # only the group of 3 fits
    assert calls  # "placed" could not be at its floor (8), so it was searched


def test_the_same_seed_gives_the_same_allocation(monkeypatch):
    problem = random_extended(seed=21, n=120, m=20, k=5, groups=15, slack=1.0)
    first = engine.solve(problem, objective="generous", seed=4, time_limit=30)
    again = engine.solve(problem, objective="generous", seed=4, time_limit=30)
    assert first.status == again.status == "optimal"
    assert first.assignment == again.assignment


def test_a_run_stopped_early_keeps_a_valid_allocation():
    problem = random_extended(seed=22, n=1500, m=150, k=8, groups=220, slack=1.05)
    result = engine.solve(problem, objective="greedy", seed=0, time_limit=0.3)
    assert result.status == "feasible"
    assert "time limit" in result.message
    assert engine.validate(problem, result) == []
    assert len(result.assignment) > 0.9 * len(problem.students)


def test_fill_places_the_free_students_best_around_fixed_groups():
    from allocator.engine.extended import build_units, fill, tier_levels
    from allocator.engine.network import residual

    problem = roomy(p0_seats=6)
    res = residual(problem)
    units = build_units(problem, res)
    lv = tier_levels(problem, units, "greedy", None)
    group_choices = np.flatnonzero(units.size[units.choice_unit] == 3)  # G1 on P0, G0 left out
    chosen = fill(problem, res, units, lv, 0, group_choices)
    singles = chosen[units.size[units.choice_unit[chosen]] == 1]
    # The free students all take P1 first (3 seats), not P0's 3 seats left: rank 1 before anything.
    assert sorted(units.choice_rank[singles].tolist()) == [1, 1, 1]
    assert set(units.choice_project[singles].tolist()) == {1}
    assert (units.size[units.choice_unit[chosen]] > 1).sum() == 1  # the groups were not touched


def test_split_shares_is_the_relaxation_with_the_open_groups_split_into_seats():
    from allocator.engine.extended import build_units, split_shares, tier_levels
    from allocator.engine.network import residual

    # G0 (3 students) ranks P0 then P1; S3 and S4 want only P0, G1 (S5, S6) only P1.
    students = [Student(f"S{i}", ("P0", "P1")) for i in range(3)] + [Student(f"S{i}", ("P0",)) for i in (3, 4)] + \
        [Student(f"S{i}", ("P1",)) for i in (5, 6)]
    problem = Problem(students, [Project("P0", 3), Project("P1", 5)],
                      groups=[Group("G0", ("S0", "S1", "S2")), Group("G1", ("S5", "S6"))])
    res = residual(problem)
    units = build_units(problem, res)
    lv = tier_levels(problem, units, "greedy", None)
    g0 = int(np.flatnonzero(units.size == 3)[0])
    share = split_shares(problem, res, units, lv, 0, np.array([g0]), res.capacity, res.supervisor_capacity)
    own = units.choice_unit == g0
    # Everyone placed first, so S3 and S4 take two of P0's seats: one seat of G0 there, two on P1.
    assert dict(zip(units.choice_project[own].tolist(), share[own].round(6).tolist())) == {0: 0.333333, 1: 0.666667}
    assert share[units.size[units.choice_unit] == 2].sum() == 0  # G1 was not in the flow
    assert share[units.size[units.choice_unit] == 1].sum() == 2  # S3 and S4, placed
