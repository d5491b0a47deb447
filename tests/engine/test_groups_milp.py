"""Medium problems with groups, places and tiers against an independent MILP (scipy's HiGHS): the
same value at every tiered lexicographic level, for every objective."""
import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from allocator import engine

from .conftest import OBJECTIVES, k_of, weights_for
from .extended_cases import random_extended, tiered_key


def choices(problem):
    """(members, project index, rank, fixed) per variable: one per unit and project it may take."""
    k = k_of(problem)
    pos = {p.id: j for j, p in enumerate(problem.projects)}
    grouped = {s: g for g in problem.groups for s in g.members}
    by_id = {s.id: s for s in problem.students}
    units = [(s.id,) for s in problem.students if s.id not in grouped] + [g.members for g in problem.groups]
    out, places = [], []
    for u, members in enumerate(units):
        lead = by_id[members[0]]
        places.append(lead.places)
        pin = problem.pinned.get(lead.id)
        pool = [p.id for p in problem.projects] if problem.allow_unranked else list(lead.preferences)
        if pin is not None and pin not in pool:
            pool.append(pin)
        for p in pool:
            if p != pin and any((s, p) in problem.forbidden for s in members):
                continue
            rank = lead.preferences.index(p) + 1 if p in lead.preferences else k + 1
            out.append((u, members, pos[p], rank, p == pin))
    return out, places


def tiered_levels(problem, x, objective, weights):
    """Per tier, one cost vector per lexicographic level; a group's choice counts each member at their tier."""
    k = k_of(problem)
    tier = {s.id: s.tier for s in problem.students}
    levels = []
    for t in sorted(set(tier.values())):
        count = np.array([sum(tier[s] == t for s in e[1]) for e in x], float)
        rank = np.array([e[3] for e in x])
        levels.append(-count)
        if objective == "min-cost":
            levels.append(count * rank)
        elif objective == "weighted":
            levels.append(count * np.array([weights[r - 1] for r in rank]))
        elif objective == "greedy":
            levels += [-count * (rank == r) for r in range(1, k + 2)]
        else:
            levels += [count * (rank == r) for r in range(k + 1, 0, -1)]
    return levels


def milp_key(problem, objective, weights):
    x, places = choices(problem)
    n_x = len(x)
    quota = [j for j, p in enumerate(problem.projects) if p.min_students > 1]
    n_var = n_x + len(quota)
    rows, cols, vals, lo, hi = [], [], [], [], []

    def add(columns, coefs, low, high):
        rows.extend([len(lo)] * len(columns))
        cols.extend(columns)
        vals.extend(coefs)
        lo.append(low)
        hi.append(high)

    lb = np.zeros(n_var)
    for c, (_, _, _, _, fixed) in enumerate(x):
        lb[c] = 1 if fixed else 0
    for u, cap in enumerate(places):
        mine = [c for c, v in enumerate(x) if v[0] == u]
        add(mine, [1] * len(mine), 0, cap)
    seats = [len(v[1]) for v in x]
    for j, p in enumerate(problem.projects):
        mine = [c for c, v in enumerate(x) if v[2] == j]
        if j in quota:
            y = n_x + quota.index(j)
            add(mine + [y], [seats[c] for c in mine] + [-p.capacity], -np.inf, 0)
            add(mine + [y], [seats[c] for c in mine] + [-p.min_students], 0, np.inf)
        else:
            add(mine, [seats[c] for c in mine], 0, p.capacity)
    for v in problem.supervisors:
        own = {j for j, p in enumerate(problem.projects) if p.supervisor == v.id}
        mine = [c for c, e in enumerate(x) if e[2] in own]
        add(mine, [seats[c] for c in mine], 0, v.capacity)

    levels = tiered_levels(problem, x, objective, weights)
    values = []
    for c in levels:
        full = np.concatenate([c, np.zeros(len(quota))])
        A = coo_array((vals, (rows, cols)), shape=(len(lo), n_var)).tocsr()
        res = milp(full, constraints=LinearConstraint(A, lo, hi), integrality=np.ones(n_var),
                   bounds=Bounds(lb, 1), options={"disp": False})
        if res.status == 2:
            return None
        assert res.status == 0, res.message
        value = int(round(res.fun))
        values.append(value)
        nz = np.flatnonzero(c).tolist()
        add(nz, c[nz].tolist(), value, value)
    return tuple(values)


CASES = [
    dict(seed=1, n=50, m=10, k=4, groups=6, two_places=0.3, tiers=2),
    dict(seed=2, n=60, m=12, k=4, groups=8, tiers=3, supervisors=4, pins=3, forbids=6),
    dict(seed=3, n=50, m=10, k=5, groups=5, two_places=0.4, minimums=0.5, slack=1.0),
    dict(seed=4, n=60, m=12, k=4, groups=6, two_places=0.2, tiers=2, minimums=0.4, supervisors=4, pins=2,
         forbids=4),
    dict(seed=5, n=40, m=8, k=3, groups=4, two_places=0.3, tiers=2, unranked=True, slack=1.2, forbids=5),
    dict(seed=6, n=60, m=10, k=4, two_places=0.5, tiers=2, supervisors=3, slack=0.9, pins=2),
]


@pytest.mark.parametrize("case", CASES, ids=[f"seed{c['seed']}" for c in CASES])
@pytest.mark.parametrize("objective", OBJECTIVES)
def test_matches_milp(case, objective):
    problem = random_extended(**case)
    weights = weights_for(problem) if objective == "weighted" else None
    expected = milp_key(problem, objective, weights)
    result = engine.solve(problem, objective=objective, weights=weights, seed=case["seed"], time_limit=20)
    if expected is None:
        assert result.status == "infeasible"
        return
    assert result.status == "optimal", result.message
    assert engine.validate(problem, result) == []
    assert tiered_key(problem, objective, weights, result.assignment) == expected


def test_the_cases_are_what_they_say():
    for case in CASES:
        problem = random_extended(**case)
        assert len(problem.groups) == case.get("groups", 0)
        assert any(s.places > 1 for s in problem.students) == bool(case.get("two_places"))
        assert len({s.tier for s in problem.students}) == case.get("tiers", 1)
