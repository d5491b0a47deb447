"""Groups, places and tiers for the engine tests: random problems, an exhaustive brute force and the
tiered lexicographic key, written from the problem's fields alone (no engine code)."""
from __future__ import annotations

import itertools

import numpy as np
from hypothesis import assume, strategies as st

from allocator.engine import Group, Problem, Project, Student, Supervisor

from .conftest import OBJECTIVES, k_of, random_problem, rank_of, weights_for


def placements(assignment: dict) -> list[tuple[str, str]]:
    return [(s, p) for s, got in assignment.items() for p in ([got] if isinstance(got, str) else got)]


def tiered_key(problem: Problem, objective: str, weights, assignment: dict) -> tuple:
    """Per tier, 1 first: minus its placements, then what the objective minimises over them."""
    k = k_of(problem)
    tier = {s.id: s.tier for s in problem.students}
    out: list = []
    for t in sorted(set(tier.values())):
        ranks = [rank_of(problem, s, p) for s, p in placements(assignment) if tier[s] == t]
        profile = [ranks.count(r) for r in range(1, k + 2)]
        out.append(-len(ranks))
        if objective == "min-cost":
            out.append(sum(ranks))
        elif objective == "weighted":
            out.append(sum(weights[r - 1] for r in ranks))
        elif objective == "greedy":
            out += [-c for c in profile]
        else:
            out += list(reversed(profile))
    return tuple(out)


def _allowed(problem: Problem, student: Student, who: tuple[str, ...]) -> list[str]:
    pool = [p.id for p in problem.projects] if problem.allow_unranked else list(student.preferences)
    return [p for p in pool if not any((s, p) in problem.forbidden for s in who)]


def unit_options(problem: Problem):
    """(members, options) per student outside groups and per group; an option is a set of projects."""
    grouped = {s for g in problem.groups for s in g.members}
    by_id = {s.id: s for s in problem.students}
    out = []
    for s in problem.students:
        if s.id in grouped:
            continue
        got = problem.pinned.get(s.id, ())
        pins = frozenset([got] if isinstance(got, str) else got)
        if any((s.id, pin) in problem.forbidden for pin in pins):
            return None
        allowed = [p for p in _allowed(problem, s, (s.id,)) if p not in pins]
        free = s.places - len(pins)
        combos = [frozenset(c) for size in range(free + 1) for c in itertools.combinations(allowed, size)]
        out.append(((s.id,), [c | pins for c in combos]))
    for g in problem.groups:
        pin = problem.pinned.get(g.members[0])
        if pin is not None:
            if any((s, pin) in problem.forbidden for s in g.members):
                return None
            out.append((g.members, [frozenset([pin])]))
        else:
            first = by_id[g.members[0]]
            out.append((g.members, [frozenset()] + [frozenset([p]) for p in _allowed(problem, first, g.members)]))
    return out


def feasible(problem: Problem):
    """Every allocation that keeps every rule."""
    projects = {p.id: p for p in problem.projects}
    sup_cap = {v.id: v.capacity for v in problem.supervisors}
    units = unit_options(problem)
    if units is None:
        return
    for combo in itertools.product(*(options for _, options in units)):
        count: dict = {}
        for (members, _), chosen in zip(units, combo):
            for p in chosen:
                count[p] = count.get(p, 0) + len(members)
        if any(c > projects[p].capacity or c < projects[p].min_students for p, c in count.items()):
            continue
        load: dict = {}
        for p, c in count.items():
            load[projects[p].supervisor] = load.get(projects[p].supervisor, 0) + c
        if any(load.get(v, 0) > c for v, c in sup_cap.items()):
            continue
        yield {s: set(chosen) for (members, _), chosen in zip(units, combo) for s in members if chosen}


def brute_force(problem: Problem) -> dict[str, tuple] | None:
    best: dict[str, tuple] = {}
    weights = weights_for(problem)
    for assignment in feasible(problem):
        as_lists = {s: sorted(ps) for s, ps in assignment.items()}
        for objective in OBJECTIVES:
            value = tiered_key(problem, objective, weights, as_lists)
            if objective not in best or value < best[objective]:
                best[objective] = value
    return best or None


@st.composite
def tiny_extended(draw, max_students: int = 5, max_projects: int = 3, minimums: bool = False,
                  multi_pin: bool = False):
    """A tiny problem; `multi_pin`: one student with two places is pinned to two projects."""
    m = draw(st.integers(2 if multi_pin else 1, max_projects))
    n = draw(st.integers(2, max_students))
    project_ids = [f"P{j}" for j in range(m)]
    supervisors = [Supervisor("L0", draw(st.integers(1, 5)))] if draw(st.booleans()) else []
    projects = []
    for pid in project_ids:
        cap = draw(st.integers(0, 4))
        low = draw(st.integers(2, max(cap, 2))) if minimums and cap >= 2 and draw(st.booleans()) else 0
        projects.append(Project(pid, cap, low, "L0" if supervisors and draw(st.booleans()) else None))
    unranked = draw(st.booleans())
    sids = [f"S{i}" for i in range(n)]
    # Groups first: consecutive students, so members can share their first member's list.
    groups, i = [], 0
    while i < n - 1 and draw(st.booleans()):
        size = draw(st.integers(2, min(3, n - i)))
        groups.append(Group(f"G{len(groups)}", tuple(sids[i: i + size])))
        i += size
    in_group = {s: g for g in groups for s in g.members}
    students, lists = [], {}
    for s in sids:
        g = in_group.get(s)
        if g is not None and g.members[0] != s:
            prefs = lists[g.members[0]]
            places = 1
        else:
            prefs = tuple(draw(st.permutations(project_ids)))[: draw(st.integers(0, m))]
            places = 1 if g is not None else 2 if multi_pin else draw(st.integers(1, 2))
            if places > len(prefs) and not unranked and prefs:
                places = len(prefs)
        lists[s] = prefs
        students.append(Student(s, prefs, places, draw(st.integers(1, 2))))
    pinned, forbidden = {}, set()
    for s in draw(st.lists(st.sampled_from(sids), max_size=2, unique=True)):
        p = draw(st.sampled_from(project_ids))
        for member in (in_group[s].members if s in in_group else (s,)):
            pinned[member] = p
    two = [s.id for s in students if s.places == 2]
    assume(two or not multi_pin)
    if two and (multi_pin or draw(st.booleans())):
        s = draw(st.sampled_from(two))
        pinned[s] = tuple(draw(st.permutations(project_ids))[:2])
    forbidden = set(draw(st.lists(st.tuples(st.sampled_from(sids), st.sampled_from(project_ids)), max_size=2)))
    return Problem(students, projects, supervisors, pinned, frozenset(forbidden), unranked, groups)


def random_extended(seed: int, n: int, m: int, k: int, *, groups: int = 0, two_places: float = 0.0,
                    tiers: int = 1, **kw) -> Problem:
    """`conftest.random_problem` with groups of 2-4 (members take their first member's list), some
    students with two places and random tiers; pins of a group's members cover the whole group."""
    base = random_problem(seed, n, m, k, **kw)
    rng = np.random.default_rng(seed + 1000)
    students = list(base.students)
    order = rng.permutation(n).tolist()
    made, pinned = [], dict(base.pinned)
    for _ in range(groups):
        size = int(rng.integers(2, 5))
        if len(order) < size:
            break
        members = [students[i].id for i in order[:size]]
        lead = students[order[0]]
        for i in order[:size]:
            students[i] = Student(students[i].id, lead.preferences)
        pins = {pinned.pop(s) for s in members if s in pinned}
        if pins:
            pinned.update({s: sorted(pins)[0] for s in members})
        made.append(Group(f"G{len(made)}", tuple(members)))
        order = order[size:]
    for i in order:
        if rng.random() < two_places and len(students[i].preferences) >= 2:
            students[i] = students[i]._replace(places=2)
    students = [s._replace(tier=int(rng.integers(1, tiers + 1))) for s in students]
    return Problem(students, base.projects, base.supervisors, pinned, base.forbidden, base.allow_unranked, made)
