"""The minimum-size stages' LP-first solve and reduced-cost fixing (allocator/engine/fixing.py): the
bound it fixes by is a bound whatever the LP solver returns, and the answer does not depend on the
LP's optimum being integral (the MIP fallback) or on the fixings."""
import itertools

import numpy as np
import pytest

from allocator import engine
from allocator.engine import fixing, highs

from .conftest import key, random_problem
from .test_milp import QUOTA_CASES


def _small_model(rng):
    """A few integer variables in a box and a few rows, both kinds of one-sided row and a range."""
    n = 4
    upper = rng.integers(1, 3, n).astype(float)
    rows = highs.Rows()
    for lo, hi in ((-np.inf, 3.0), (1.0, np.inf), (1.0, 4.0)):
        cols = np.flatnonzero(rng.random(n) < 0.7)
        if cols.size:
            rows.groups(np.zeros(cols.size, np.int64), cols, rng.integers(1, 3, cols.size), lo, hi)
    return fixing.Box(np.zeros(n), upper), rows, rng.integers(-5, 6, n).astype(float)


def _points(box, rows):
    row, col, val, lo, hi = rows.arrays()
    for x in itertools.product(*(range(int(u) + 1) for u in box.upper)):
        x = np.asarray(x, float)
        activity = np.bincount(row, val * x[col], minlength=lo.size)
        if ((activity >= lo) & (activity <= hi)).all():
            yield x


@pytest.mark.parametrize("seed", range(20))
def test_the_bound_holds_for_any_multipliers_and_fixing_keeps_every_optimum(seed):
    rng = np.random.default_rng(seed)
    box, rows, coef = _small_model(rng)
    points = list(_points(box, rows))
    if not points:
        return
    best = min(coef @ x for x in points)
    arrays = rows.arrays()
    for duals in (rng.normal(0, 3, rows.n), np.zeros(rows.n), rng.integers(-4, 5, rows.n).astype(float)):
        bound, reduced = fixing.safe_bound(box, arrays, coef, duals)
        assert bound <= best
        optimum = next(x for x in points if coef @ x == best)
        narrowed = fixing.fixed(box, fixing.Relaxed(optimum, reduced, bound), optimum, best)
        for x in points:
            if coef @ x == best:  # every optimum stays inside the narrowed box
                assert (narrowed.lower <= x).all() and (x <= narrowed.upper).all()


@pytest.mark.parametrize("case", QUOTA_CASES, ids=[f"seed{c['seed']}" for c in QUOTA_CASES])
@pytest.mark.parametrize("objective", ["generous", "greedy"])
def test_the_branch_and_bound_fallback_reaches_the_same_values(case, objective, monkeypatch):
    problem = random_problem(**case)
    first = engine.solve(problem, objective=objective, seed=case["seed"], time_limit=10)
    monkeypatch.setattr(fixing, "integral", lambda box, arrays, values: None)  # never take the LP's optimum
    forced = engine.solve(problem, objective=objective, seed=case["seed"], time_limit=10)
    assert first.status == forced.status == "optimal"
    assert key(problem, objective, None, first.assignment) == key(problem, objective, None, forced.assignment)


def test_the_cases_exercise_both_the_lp_and_the_branch_and_bound(monkeypatch):
    """Some stages of these cases are proven by the LP alone, some need HiGHS's MIP."""
    lps, mips = [], []
    relaxation, minimise = fixing.relaxation, highs.minimise
    monkeypatch.setattr(fixing, "relaxation", lambda *a: lps.append(1) or relaxation(*a))
    monkeypatch.setattr(highs, "minimise", lambda *a, **k: mips.append(1) or minimise(*a, **k))
    for case in QUOTA_CASES:
        for objective in ("min-cost", "greedy", "generous"):
            result = engine.solve(random_problem(**case), objective=objective, time_limit=10)
            assert result.status == "optimal"
    assert len(lps) > len(mips) > 0
