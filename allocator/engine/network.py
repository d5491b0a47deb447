"""The problem as arrays: residual capacities after pins, candidate (student, project) arcs, rank
levels, and the flow network source → student → project → supervisor → sink.

Everything here is vectorised: a cohort of 10,000 students passes through without a Python loop per
student.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .model import Problem

class Residual(NamedTuple):
    """What is left for the students who are not pinned."""

    free: np.ndarray  # bool per student
    capacity: np.ndarray  # per project, after pinned students
    supervisor_capacity: np.ndarray  # per listed supervisor, after pinned students
    pinned_count: np.ndarray  # per project


class Candidates(NamedTuple):
    """Every placement a free student may take: ranked pairs, and unranked ones when allowed."""

    student: np.ndarray
    project: np.ndarray
    rank: np.ndarray


class Network(NamedTuple):
    """Arcs of the flow network. `level` is the rank an arc places a student at (0: not a placement).

    Unranked placements of students without forbidden pairs share one hub node (student → hub →
    project) instead of one arc per project each: that keeps `allow_unranked` at n + m arcs instead of
    n × m. An optimum never sends a student through the hub to a project they ranked, because the
    direct arc places them better for every objective the hub is used with.
    """

    n_nodes: int
    source: int
    sink: int
    tails: np.ndarray
    heads: np.ndarray
    caps: np.ndarray
    level: np.ndarray
    arc_student: np.ndarray  # -1 when the arc does not leave a student
    arc_project: np.ndarray  # -1 when the arc does not enter a project from a student or the hub
    # With lower bounds the network is a circulation (an arc returns sink to source) whose nodes have
    # these supplies; None for a plain source-to-sink network.
    supply: np.ndarray | None = None


def residual(problem: Problem) -> Residual:
    ix = problem.index
    n, m = len(ix.student_ids), len(ix.project_ids)
    free = np.ones(n, bool)
    free[ix.pinned_student] = False
    pinned_count = np.bincount(ix.pinned_project, minlength=m).astype(np.int64)
    sup = ix.supervisor_of[ix.pinned_project]
    sup_pinned = np.bincount(sup[sup >= 0], minlength=len(ix.supervisor_ids)).astype(np.int64)
    return Residual(free, ix.capacity - pinned_count, ix.supervisor_capacity - sup_pinned, pinned_count)


def pair_codes(students: np.ndarray, projects: np.ndarray, m: int) -> np.ndarray:
    return students.astype(np.int64) * max(m, 1) + projects


def candidates(problem: Problem, res: Residual, unranked_for: np.ndarray | None = None) -> Candidates:
    """Placements open to free students. `unranked_for` (bool per student) says who gets explicit
    unranked arcs; by default everyone does when the problem allows unranked placements."""
    ix = problem.index
    m = len(ix.project_ids)
    keep = res.free[ix.pref_student] & (res.capacity[ix.pref_project] > 0)
    s, p, r = ix.pref_student[keep], ix.pref_project[keep], ix.pref_rank[keep]
    if unranked_for is None:
        unranked_for = res.free if problem.allow_unranked else np.zeros(len(res.free), bool)
    if unranked_for.any():
        us, up = _unranked_pairs(problem, unranked_for & res.free, res.capacity > 0)
        s, p = np.concatenate([s, us]), np.concatenate([p, up])
        r = np.concatenate([r, np.full(us.size, ix.k + 1, np.int32)])
    if ix.forbidden_student.size:
        allowed = ~np.isin(pair_codes(s, p, m), pair_codes(ix.forbidden_student, ix.forbidden_project, m))
        s, p, r = s[allowed], p[allowed], r[allowed]
    return Candidates(s.astype(np.int32), p.astype(np.int32), r.astype(np.int32))


def _unranked_pairs(problem: Problem, who: np.ndarray, open_: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ix = problem.index
    rows = np.flatnonzero(who)
    row_of = np.full(len(who), -1)
    row_of[rows] = np.arange(rows.size)
    grid = np.broadcast_to(open_, (rows.size, open_.size)).copy()
    ranked = row_of[ix.pref_student] >= 0
    grid[row_of[ix.pref_student[ranked]], ix.pref_project[ranked]] = False
    r, p = np.nonzero(grid)
    return rows[r].astype(np.int32), p.astype(np.int32)


def shuffle_keys(size: int, seed: int, salt: int) -> np.ndarray:
    """Seeded pseudo-random sort keys (splitmix64), without paying for importing numpy.random."""
    x = np.arange(size, dtype=np.uint64) + np.uint64((seed * 0x9E3779B97F4A7C15 + salt * 0xBF58476D1CE4E5B9) % 2**64)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def permutation(size: int, seed: int, salt: int) -> np.ndarray:
    return np.argsort(shuffle_keys(size, seed, salt), kind="stable")


def build_network(
    problem: Problem, res: Residual, seed: int, *, hub: bool, capacity: np.ndarray | None = None,
    lower: np.ndarray | None = None,
) -> Network:
    """The flow network for free students. Node numbers follow the seed: min-cost flow returns
    whichever optimum its search meets first, so relabelling is what makes the seed a lottery between
    equally good allocations, fair to every student whatever their position in the input (measured on
    a symmetric instance over 300 seeds: each student's wins spread as a fair coin's would).
    `lower` (per project) is a number of free students a project must take."""
    ix = problem.index
    n, m, v = len(ix.student_ids), len(ix.project_ids), len(ix.supervisor_ids)
    capacity = res.capacity if capacity is None else capacity
    res_open = Residual(res.free, capacity, res.supervisor_capacity, res.pinned_count)
    hub_students = _hub_students(problem, res) if hub else np.zeros(n, bool)
    cand = candidates(problem, res_open, ~hub_students if problem.allow_unranked else None)

    student_order = permutation(n, seed, 1)
    student_node = 1 + np.argsort(student_order)
    project_node = 1 + n + np.argsort(permutation(m, seed, 2))
    supervisor_node = 1 + n + m + np.arange(v)
    hub_node = 1 + n + m + v
    sink = hub_node + 1
    # The source's arcs in node order: in input order they favour the first students in the file.
    free = student_order[res.free[student_order]]
    has_sup = ix.supervisor_of >= 0
    # In the seed's order, like the source's arcs: which students the hub takes is part of the lottery.
    hubbed = student_order[(hub_students & res.free)[student_order]]
    open_projects = np.flatnonzero(capacity > 0)
    out_cap = capacity if lower is None else capacity - lower
    out_head = np.full(m, sink)
    out_head[has_sup] = supervisor_node[ix.supervisor_of[has_sup]]

    parts = [
        # (tails, heads, caps, level, arc_student, arc_project)
        (np.zeros(free.size), student_node[free], 1, 0, -1, -1),
        (student_node[cand.student], project_node[cand.project], 1, cand.rank, cand.student, cand.project),
        (student_node[hubbed], np.full(hubbed.size, hub_node), 1, ix.k + 1, hubbed, -1),
        (np.full(open_projects.size, hub_node), project_node[open_projects], capacity[open_projects], 0, -1,
         open_projects),
        (project_node, out_head, out_cap, 0, -1, -1),
        (supervisor_node, np.full(v, sink), res.supervisor_capacity, 0, -1, -1),
    ]
    supply = None
    if lower is not None:
        # A lower bound l on project -> out becomes a demand of l at the project and a supply of l
        # at the out node; the return arc turns "place as many as possible" into a circulation.
        parts.append((np.array([sink]), np.array([0]), free.size, 0, -1, -1))
        supply = np.zeros(sink + 1, np.int64)
        np.subtract.at(supply, project_node, lower)
        np.add.at(supply, out_head, lower)
    if not hubbed.size:
        del parts[2:4]
    cols = [np.concatenate([np.broadcast_to(part[c], part[0].shape) for part in parts]) for c in range(6)]
    tails, heads, caps, level, arc_student, arc_project = cols
    return Network(
        sink + 1, 0, sink, tails.astype(np.int32), heads.astype(np.int32),
        np.minimum(caps, n).astype(np.int64), level.astype(np.int32),
        arc_student.astype(np.int32), arc_project.astype(np.int32), supply,
    )


def _hub_students(problem: Problem, res: Residual) -> np.ndarray:
    """Students whose unranked placements can go through the shared hub: those with no forbidden pair."""
    if not problem.allow_unranked:
        return np.zeros(len(res.free), bool)
    hub = res.free.copy()
    hub[problem.index.forbidden_student] = False
    return hub


def ranks_of(problem: Problem, project_of: np.ndarray) -> np.ndarray:
    """Rank of each student's project (k + 1 when unranked, 0 when unplaced)."""
    ix = problem.index
    match = project_of[ix.pref_student] == ix.pref_project
    rank = np.where(project_of >= 0, ix.k + 1, 0)
    rank[ix.pref_student[match]] = ix.pref_rank[match]
    return rank
