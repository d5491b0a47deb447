"""Shared helpers for the engine tests: random tiny problems, an exhaustive brute force, and the
lexicographic keys every objective is judged by."""
from __future__ import annotations

import itertools

import numpy as np
from hypothesis import strategies as st

from allocator.engine import Problem, Project, Student, Supervisor

OBJECTIVES = ("min-cost", "greedy", "generous", "weighted")


def k_of(problem: Problem) -> int:
    return max((len(s.preferences) for s in problem.students), default=0)


def rank_of(problem: Problem, student: str, project: str) -> int:
    prefs = next(s.preferences for s in problem.students if s.id == student)
    return prefs.index(project) + 1 if project in prefs else k_of(problem) + 1


def key(problem: Problem, objective: str, weights, assignment: dict) -> tuple:
    """What each objective minimises, as one tuple compared lexicographically."""
    k = k_of(problem)
    ranks = [rank_of(problem, s, p) for s, p in assignment.items()]
    profile = [ranks.count(r) for r in range(1, k + 2)]
    placed = len(ranks)
    if objective == "min-cost":
        return (-placed, sum(ranks))
    if objective == "weighted":
        return (-placed, sum(weights[r - 1] for r in ranks))
    if objective == "greedy":
        return (-placed, *(-c for c in profile))
    return (-placed, *reversed(profile))


def weights_for(problem: Problem) -> list[int]:
    """Deliberately not increasing, so that the weighted objective is not a disguised min-cost."""
    return [(3 * r + 5) % 7 for r in range(k_of(problem) + 1)]


def options(problem: Problem, student: Student) -> list[str | None]:
    if student.id in problem.pinned:
        pin = problem.pinned[student.id]
        return [] if (student.id, pin) in problem.forbidden else [pin]
    allowed = [p.id for p in problem.projects] if problem.allow_unranked else list(student.preferences)
    return [None] + [p for p in allowed if (student.id, p) not in problem.forbidden]


def feasible_assignments(problem: Problem):
    """Every allocation that keeps every rule (placing as many as possible is not a rule)."""
    projects = {p.id: p for p in problem.projects}
    sup_cap = {v.id: v.capacity for v in problem.supervisors}
    choices = [options(problem, s) for s in problem.students]
    for combo in itertools.product(*choices):
        count: dict = {}
        for p in combo:
            if p is not None:
                count[p] = count.get(p, 0) + 1
        if any(c > projects[p].capacity or c < projects[p].min_students for p, c in count.items()):
            continue
        load: dict = {}
        for p, c in count.items():
            load[projects[p].supervisor] = load.get(projects[p].supervisor, 0) + c
        if any(load.get(v, 0) > c for v, c in sup_cap.items()):
            continue
        yield {s.id: p for s, p in zip(problem.students, combo) if p is not None}


def brute_force(problem: Problem) -> dict[str, tuple] | None:
    """The best key of every objective over all allocations; None if no allocation keeps the rules."""
    best: dict[str, tuple] = {}
    weights = weights_for(problem)
    for assignment in feasible_assignments(problem):
        for objective in OBJECTIVES:
            value = key(problem, objective, weights, assignment)
            if objective not in best or value < best[objective]:
                best[objective] = value
    return best or None


@st.composite
def tiny_problems(draw, max_students: int = 6, max_projects: int = 4, minimums: bool | None = None):
    """Problems small enough to enumerate, exercising every rule of the format."""
    m = draw(st.integers(1, max_projects))
    n = draw(st.integers(3 if minimums else 0, max_students))
    project_ids = [f"P{j}" for j in range(m)]
    n_sup = draw(st.integers(0, 2))
    supervisors = [Supervisor(f"L{v}", draw(st.integers(0, 4))) for v in range(n_sup)]
    projects = []
    for pid in project_ids:
        cap = draw(st.integers(2, 3) if minimums else st.integers(0, 3))
        want_min = draw(st.booleans()) if minimums is None else minimums
        low = draw(st.integers(2 if minimums else 0, cap)) if want_min else 0
        sup = draw(st.sampled_from([None, "L0", "L1", "L9"])) if n_sup else None
        sup = sup if sup in {v.id for v in supervisors} or sup == "L9" else None
        projects.append(Project(pid, cap, low, sup))
    students = []
    for i in range(n):
        prefs = draw(st.permutations(project_ids))
        students.append(Student(f"S{i}", tuple(prefs[: draw(st.integers(0, m))])))
    sids = [s.id for s in students]
    pinned = {}
    forbidden = set()
    if sids:
        for s in draw(st.lists(st.sampled_from(sids), max_size=2, unique=True)):
            pinned[s] = draw(st.sampled_from(project_ids))
        forbidden = set(draw(st.lists(st.tuples(st.sampled_from(sids), st.sampled_from(project_ids)), max_size=3)))
    return Problem(students, projects, supervisors, pinned, frozenset(forbidden), draw(st.booleans()))


def random_problem(seed: int, n: int, m: int, k: int, *, minimums: float = 0.0, supervisors: int = 0,
                   slack: float = 1.1, unranked: bool = False, pins: int = 0, forbids: int = 0) -> Problem:
    """A seeded medium problem with Zipf-skewed popularity."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, m + 1)
    rng.shuffle(popularity)
    keys = np.log(popularity)[None, :] + rng.gumbel(size=(n, m))
    prefs = np.argsort(-keys, axis=1)[:, :k]
    lengths = rng.integers(max(1, k - 2), k + 1, size=n)
    cap = rng.integers(1, 6, size=m)
    cap = np.maximum(1, np.round(cap * slack * n / cap.sum())).astype(int)
    owners = rng.integers(0, max(supervisors, 1), size=m)
    projects = []
    for j in range(m):
        low = int(rng.integers(2, cap[j] + 1)) if cap[j] >= 2 and rng.random() < minimums else 0
        projects.append(Project(f"P{j}", int(cap[j]), low, f"L{owners[j]}" if supervisors else None))
    sups = [Supervisor(f"L{v}", int(np.ceil(0.8 * cap[owners == v].sum()))) for v in range(supervisors)]
    students = [Student(f"S{i}", tuple(f"P{j}" for j in prefs[i, : lengths[i]])) for i in range(n)]
    pinned = {f"S{i}": f"P{prefs[i, 0]}" for i in rng.choice(n, pins, replace=False)}
    forbidden = {(f"S{i}", f"P{prefs[i, 1]}") for i in rng.choice(n, forbids, replace=False)}
    forbidden = {(s, p) for s, p in forbidden if s not in pinned}
    return Problem(students, projects, sups, pinned, frozenset(forbidden), unranked)
