"""A starting solution given to HiGHS (each variable measured from its value there) changes where
the search starts, never what it proves: the same optimum, and answers feasible for the rows as given."""
import numpy as np
import pytest

from allocator.engine import highs


def random_program(seed: int):
    """Integer variables 0..upper under random rows that a known point satisfies."""
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(4, 12)), int(rng.integers(2, 7))
    upper = rng.integers(1, 4, n).astype(float)
    point = np.floor(rng.random(n) * (upper + 1))
    rows = highs.Rows()
    matrix = np.zeros((m, n))
    for i in range(m):
        cols = np.flatnonzero(rng.random(n) < 0.6)
        if not cols.size:
            cols = np.array([int(rng.integers(n))])
        vals = rng.integers(-3, 5, cols.size).astype(float)
        matrix[i, cols] = vals
        at = float(vals @ point[cols])
        lo = at - rng.integers(0, 4) if rng.random() < 0.7 else -np.inf
        hi = at + rng.integers(0, 4) if rng.random() < 0.7 else np.inf
        rows.groups(np.zeros(cols.size, np.int64), cols, vals, lo, hi)
    coef = rng.integers(-6, 7, n).astype(float)
    return highs.integer_model(upper), rows, coef, point, matrix, upper


@pytest.mark.parametrize("seed", range(25))
def test_a_start_gives_the_same_optimum(seed):
    base, rows, coef, point, matrix, upper = random_program(seed)
    cold = highs.minimise(base, rows, coef, 10.0)
    warm = highs.minimise(base, rows, coef, 10.0, start=point)
    assert cold.reason == warm.reason == highs.OPTIMAL
    assert round(coef @ cold.values) == round(coef @ warm.values) <= round(coef @ point)
    assert abs(warm.bound - cold.bound) < 0.5
    x = np.round(warm.values)
    _, _, _, lo, hi = rows.arrays()
    assert (x >= 0).all() and (x <= upper).all()
    assert (matrix @ x >= lo - 1e-9).all() and (matrix @ x <= hi + 1e-9).all()


@pytest.mark.parametrize("seed", range(10))
def test_warm_stages_keep_the_same_levels(seed):
    base, rows, coef, _, _, _ = random_program(seed)
    second = np.random.default_rng(seed + 100).integers(-3, 4, coef.size).astype(float)
    stages = [("first", coef, [coef]), ("second", second, [second])]
    cold = highs.lexicographic(base, _copy(rows), stages, 1e18)
    warm = highs.lexicographic(base, _copy(rows), stages, 1e18, warm=True)
    assert [s.value for s in cold.stages] == [s.value for s in warm.stages]
    assert all(s.proven for s in warm.stages)


def _copy(rows: highs.Rows) -> highs.Rows:
    out = highs.Rows()
    out.row, out.col, out.val = list(rows.row), list(rows.col), list(rows.val)
    out.lo, out.hi, out.n = list(rows.lo), list(rows.hi), rows.n
    return out
