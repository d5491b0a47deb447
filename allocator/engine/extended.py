"""Groups, several places per student and priority tiers.

A problem that uses any of them is solved here, so the single-place path (solver, flow, quota) stays
as it was. The objective is lexicographic over tiers: tier 1's placements, then tier 1's profile
for the objective, then tier 2's placements given those, and so on. Each placement arc carries a
code `tier index × (k + 2) + rank`, and a level is a cost per code, so the levels of
`objectives.levels` (costs per rank) are reused per tier.

Without groups the model is still a network: a student's source arc carries their places, each
(student, project) arc one, and a return arc from sink to source makes it a circulation, so that the
first level is "tier 1 placed" rather than "everyone placed". It is solved with the same
level-by-level min-cost flows as the single-place path. Groups (a group takes all its seats on one
project or none) and binding minimums are not a network; they go to the program in `groups.py`,
though a problem with minimums first tries the flow, which is the answer when no project runs short.
"""
from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from . import clash, flow, groups
from .model import Problem, Result
from .network import Network, pair_codes, permutation, residual
from .objectives import Level, levels, rank_costs


# Min-cost flow works in int64 and scales costs by about the number of nodes; merged costs stay far below.
FLOW_MERGE_LIMIT = 2**31


class Units(NamedTuple):
    """What the solver chooses for: a free student (their remaining places) or a free group (one
    project for all its members), with every project each unit may take."""

    members: list[np.ndarray]  # per unit, student positions
    lead: np.ndarray  # per unit, its first member
    supply: np.ndarray  # per unit: placements still to choose (1 for a group)
    size: np.ndarray  # per unit: seats one placement takes
    tier_count: np.ndarray  # units × tiers: members in each tier
    choice_unit: np.ndarray
    choice_project: np.ndarray
    choice_rank: np.ndarray
    pinned: np.ndarray  # per student: a pinned project (one of several), -1 if none
    tiers: list[int]


def solve(problem: Problem, objective: str, weights, seed: int, start: float, deadline: float) -> Result:
    res = residual(problem)
    units = build_units(problem, res)
    lv = tier_levels(problem, units, objective, weights)
    minimum = problem.index.minimum
    binding = (minimum >= 2) & (res.pinned_count < minimum)
    if not problem.groups:
        chosen = flow_allocation(problem, res, units, lv, seed)
        if not binding.any() or not short(problem, res, units, chosen).size:
            return result(problem, units, chosen, objective, weights, seed, start, "optimal", "min-cost-flow")
    out = groups.solve(problem, res, units, lv, binding, seed, deadline,
                       lambda placed: fill(problem, res, units, lv, seed, placed),
                       lambda *room: split_shares(problem, res, units, lv, seed, *room), objective)
    if out.chosen is None:
        message = out.message
        if out.status == "infeasible":
            # Only pins can rule every allocation out, through a project they force to run.
            forced = ((res.pinned_count > 0) & binding).any()
            message = clash.forced_minimum_clash(problem, res) or (
                clash.generic_minimum_clash(problem, res) if forced else "no allocation keeps every pin at once")
        return _empty(problem, objective, weights, seed, start, out.status, message)
    return result(problem, units, out.chosen, objective, weights, seed, start, out.status, groups.SOLVER,
                  out.message, out.bound)


def build_units(problem: Problem, res) -> Units:
    ix = problem.index
    n, m, k = len(ix.student_ids), len(ix.project_ids), ix.k
    pinned = np.full(n, -1, np.int64)
    pinned[ix.pinned_student] = ix.pinned_project
    remaining = ix.places - np.bincount(ix.pinned_student, minlength=n)
    singles = np.flatnonzero((ix.group_of < 0) & (remaining > 0))
    free_groups = [g for g in ix.group_members if pinned[g[0]] < 0]
    members = list(singles.astype(np.int32).reshape(-1, 1)) + free_groups
    n_units, n_singles = len(members), singles.size
    supply = np.concatenate([remaining[singles], np.ones(len(free_groups), np.int64)]).astype(np.int64)
    size = np.concatenate([np.ones(n_singles, np.int64), [g.size for g in free_groups]]).astype(np.int64)
    tiers = sorted(set(ix.tier.tolist()))
    tier_pos = np.searchsorted(np.array(tiers), ix.tier)
    tier_count = np.zeros((n_units, len(tiers)), np.int64)
    tier_count[np.arange(n_singles), tier_pos[singles]] = 1
    unit_of = np.full(n, -1, np.int64)  # every member's unit
    unit_of[singles] = np.arange(n_singles)
    for u, g in enumerate(free_groups, start=n_singles):
        unit_of[g] = u
        np.add.at(tier_count[u], tier_pos[g], 1)
    rep_unit = np.full(n, -1, np.int64)
    lead = np.concatenate([singles, [int(g[0]) for g in free_groups]]).astype(np.int64)
    rep_unit[lead] = np.arange(n_units)
    keep = rep_unit[ix.pref_student] >= 0
    cu, cp, cr = rep_unit[ix.pref_student[keep]], ix.pref_project[keep].astype(np.int64), ix.pref_rank[keep]
    if problem.allow_unranked and n_units:
        grid = np.ones((n_units, m), bool)
        grid[cu, cp] = False
        uu, up = np.nonzero(grid)
        cu, cp = np.concatenate([cu, uu]), np.concatenate([cp, up])
        cr = np.concatenate([cr, np.full(uu.size, k + 1)])
    ok = res.capacity[cp] >= size[cu]
    # A member's forbidden pair keeps their whole unit off the project, and a student pinned to
    # some projects takes their other places elsewhere.
    barred_s = np.concatenate([ix.forbidden_student, ix.pinned_student]).astype(np.int64)
    barred_p = np.concatenate([ix.forbidden_project, ix.pinned_project]).astype(np.int64)
    barred_u = unit_of[barred_s]
    barred = pair_codes(barred_u[barred_u >= 0], barred_p[barred_u >= 0], m)
    ok &= ~np.isin(pair_codes(cu, cp, m), barred)
    return Units(members, lead, supply, size, tier_count, cu[ok], cp[ok], cr[ok].astype(np.int64), pinned, tiers)


def codes(units: Units, k: int) -> np.ndarray:
    """Each choice's level code for a single student: tier index × (k + 2) + rank."""
    tier_index = units.tier_count.argmax(axis=1)
    return tier_index[units.choice_unit] * (k + 2) + units.choice_rank


def tier_levels(problem: Problem, units: Units, objective: str, weights) -> list[Level]:
    """Per tier with a choice to make: its placements (maximised), then the objective's levels."""
    k, n_tiers = problem.k, len(units.tiers)
    width = k + 2
    out = []
    for t, tier in enumerate(units.tiers):
        has = units.tier_count[units.choice_unit, t] > 0
        if not has.any():
            continue
        present = np.zeros(width, bool)
        present[units.choice_rank[has]] = True
        present[0] = False
        suffix = "" if n_tiers == 1 else f" (tier {tier})"
        placed = np.zeros(n_tiers * width, np.int64)
        placed[t * width + 1: (t + 1) * width] = -1
        out.append(Level("placed" + suffix, placed))
        for level in levels(problem, objective, weights, present):
            coef = np.zeros(n_tiers * width, np.int64)
            coef[t * width: (t + 1) * width] = level.coef
            out.append(Level(level.name + suffix, coef))
    return out


def choice_costs(units: Units, level: Level, k: int) -> np.ndarray:
    """A level's cost per choice: the sum over the unit's members, each at their own tier."""
    per_tier = level.coef.reshape(len(units.tiers), k + 2)[:, units.choice_rank].T  # choices × tiers
    return (per_tier * units.tier_count[units.choice_unit]).sum(axis=1)


def flow_allocation(problem: Problem, res, units: Units, lv: list[Level], seed: int):
    """The positions of the chosen choices in an optimum that ignores minimums, on a network whose
    node numbers follow the seed (the lottery between equally good allocations, as in
    network.build_network)."""
    ix = problem.index
    n_units, m, v = len(units.members), len(ix.project_ids), len(ix.supervisor_ids)
    unit_node = 1 + np.argsort(permutation(n_units, seed, 1))
    project_node = 1 + n_units + np.argsort(permutation(m, seed, 2))
    supervisor_node = 1 + n_units + m + np.arange(v)
    sink = 1 + n_units + m + v
    has_sup = ix.supervisor_of >= 0
    out_head = np.full(m, sink)
    out_head[has_sup] = supervisor_node[ix.supervisor_of[has_sup]]
    order = permutation(n_units, seed, 1)
    total = int(units.supply.sum())
    parts = [  # (tails, heads, caps, level, arc_student, arc_project)
        (np.zeros(n_units), unit_node[order], units.supply[order], 0, -1, -1),
        (unit_node[units.choice_unit], project_node[units.choice_project], 1, codes(units, ix.k),
         units.choice_unit, units.choice_project),
        (project_node, out_head, np.maximum(res.capacity, 0), 0, -1, -1),
        (supervisor_node, np.full(v, sink), np.maximum(res.supervisor_capacity, 0), 0, -1, -1),
        (np.array([sink]), np.array([0]), total, 0, -1, -1),
    ]
    cols = [np.concatenate([np.broadcast_to(part[c], np.shape(part[0])) for part in parts]) for c in range(6)]
    tails, heads, caps, level, arc_unit, arc_project = cols
    net = Network(sink + 1, 0, sink, tails.astype(np.int32), heads.astype(np.int32),
                  np.minimum(caps, max(total, 1)).astype(np.int64), level.astype(np.int32),
                  arc_unit.astype(np.int32), arc_project.astype(np.int32), np.zeros(sink + 1, np.int64))
    if not lv:
        return np.zeros(0, np.int64)
    if len(units.tiers) == 1:
        # One tier: "placed" first is a plain maximum flow of least cost, as on the single-place path.
        net = Network(*net[:3], *(a[:-1] for a in net[3:9]), None)
        out = flow.solve(net, lv[1:])
    else:
        # Levels merged into weighted sums while small, as the program does: each min-cost flow settles
        # several levels at once (one unit of a level outweighs every change of the later ones).
        merged = [Level("+".join(level.name for level, _ in part), sum(scale * level.coef for level, scale in part))
                  for part in groups.merge(lv, total, FLOW_MERGE_LIMIT)]
        out = flow.solve_circulation(net, merged)
    if out is None:
        raise flow.FlowError("a circulation without lower bounds is always feasible: a bug")
    # The choice arcs follow the source's arcs, in the order of the choices.
    return np.flatnonzero(out.flow[n_units: n_units + units.choice_unit.size] > 0)


def fill(problem: Problem, res, units: Units, lv: list[Level], seed: int, group_choices: np.ndarray) -> np.ndarray:
    """The groups on `group_choices` (positions among the choices, which must fit the seats) and the
    free students as the lexicographic flow places them in the seats left: the positions of all the
    chosen choices. Given where the groups are, this is optimal on every level at once (the free
    students alone are a network), so it never does worse than any allocation with those groups."""
    ix = problem.index
    cu, cp = units.choice_unit, units.choice_project
    seats = units.size[cu[group_choices]]
    sup = ix.supervisor_of[cp[group_choices]]
    left = res._replace(
        capacity=res.capacity - np.bincount(cp[group_choices], seats, res.capacity.size).astype(np.int64),
        supervisor_capacity=res.supervisor_capacity - np.bincount(
            sup[sup >= 0], seats[sup >= 0], res.supervisor_capacity.size).astype(np.int64))
    alone, origin = _as_singles(problem, units, np.zeros(0, np.int64))
    return np.concatenate([np.asarray(group_choices, np.int64), origin[flow_allocation(problem, left, alone, lv, seed)]])


def split_shares(problem: Problem, res, units: Units, lv: list[Level], seed: int, open_groups: np.ndarray,
                 capacity: np.ndarray, supervisor_capacity: np.ndarray) -> np.ndarray:
    """Each choice's share of its unit in the lexicographic flow where the groups `open_groups` are
    split into their members, each placed alone on the group's choices, the other groups are left
    out, and the seats are those given: the LP relaxation of placing those groups, solved as a flow."""
    split, origin = _as_singles(problem, units, open_groups)
    left = res._replace(capacity=np.asarray(capacity, np.int64),
                        supervisor_capacity=np.asarray(supervisor_capacity, np.int64))
    share = np.zeros(units.choice_unit.size)
    np.add.at(share, origin[flow_allocation(problem, left, split, lv, seed)], 1.0)
    return share / units.size[units.choice_unit]


def _as_singles(problem: Problem, units: Units, split_groups: np.ndarray) -> tuple[Units, np.ndarray]:
    """The free students, and each member of `split_groups` as a student of their own with the
    group's choices (and their own tier), as units; with each of their choices' position among
    `units`' choices. The other groups are left out."""
    cu = units.choice_unit
    single = np.flatnonzero(units.size == 1)
    unit_at = np.full(len(units.members), -1, np.int64)
    unit_at[single] = np.arange(single.size)
    alone = np.flatnonzero(units.size[cu] == 1)
    origin, new_unit, members = [alone], [unit_at[cu[alone]]], []
    for g in split_groups.tolist():
        own = np.flatnonzero(cu == g)
        for member in units.members[g].tolist():
            origin.append(own)
            new_unit.append(np.full(own.size, single.size + len(members)))
            members.append(member)
    flat = np.array(members, np.int64)
    tier_count = np.zeros((flat.size, len(units.tiers)), np.int64)
    tier_count[np.arange(flat.size), np.searchsorted(np.array(units.tiers), problem.index.tier[flat])] = 1
    origin = np.concatenate(origin)
    return Units([units.members[u] for u in single.tolist()] + list(flat.reshape(-1, 1)),
                 np.concatenate([units.lead[single], flat]),
                 np.concatenate([units.supply[single], np.ones(flat.size, np.int64)]),
                 np.ones(single.size + flat.size, np.int64), np.vstack([units.tier_count[single], tier_count]),
                 np.concatenate(new_unit), units.choice_project[origin], units.choice_rank[origin], units.pinned,
                 units.tiers), origin


def short(problem: Problem, res, units: Units, chosen: np.ndarray) -> np.ndarray:
    """Projects that run below their minimum with these choices."""
    ix = problem.index
    seats = units.size[units.choice_unit[chosen]]
    load = np.bincount(units.choice_project[chosen], weights=seats, minlength=len(ix.project_ids))
    load = load.astype(np.int64) + res.pinned_count
    return np.flatnonzero((load > 0) & (load < ix.minimum))


def placements(problem: Problem, units: Units, chosen: np.ndarray):
    """(student, project, rank) of every placement, pinned ones included, as arrays."""
    ix = problem.index
    unit_of, project_of, rank_of = (a[chosen] for a in (units.choice_unit, units.choice_project, units.choice_rank))
    single = units.size[unit_of] == 1
    sizes = units.size[unit_of[~single]]
    in_groups = [units.members[u] for u in unit_of[~single].tolist()]
    pin_rank = [problem.rank(ix.student_ids[i], ix.project_ids[j])
                for i, j in zip(ix.pinned_student.tolist(), ix.pinned_project.tolist())]
    s = np.concatenate([units.lead[unit_of[single]], *in_groups, ix.pinned_student]).astype(np.int64)
    p = np.concatenate([project_of[single], np.repeat(project_of[~single], sizes), ix.pinned_project])
    r = np.concatenate([rank_of[single], np.repeat(rank_of[~single], sizes), pin_rank])
    return s, p.astype(np.int64), r.astype(np.int64)


def result(problem: Problem, units: Units, chosen, objective, weights, seed, start, status, solver,
           message="", bound=None) -> Result:
    ix = problem.index
    s, p, rank = placements(problem, units, chosen)
    # Students in file order; a student's projects best rank first.
    order = np.lexsort((p, rank, s))
    s, p, rank = s[order], p[order], rank[order]
    sid, pid = ix.student_ids, ix.project_ids
    one = ix.places[s] == 1
    assignment = dict(zip([sid[i] for i in s[one].tolist()], [pid[j] for j in p[one].tolist()]))
    ranks = dict(zip([sid[i] for i in s[one].tolist()], rank[one].tolist()))
    if not one.all():
        # Slices of two flat lists, not appends per placement: thousands of students have several places.
        many_s, names = s[~one], [pid[j] for j in p[~one].tolist()]
        rank_list = rank[~one].tolist()
        starts = np.flatnonzero(np.r_[True, many_s[1:] != many_s[:-1]]).tolist()
        spans = list(zip(starts, starts[1:] + [many_s.size]))
        who = [sid[i] for i in many_s[starts].tolist()]
        assignment.update(zip(who, [names[a:b] for a, b in spans]))
        ranks.update(zip(who, [rank_list[a:b] for a, b in spans]))
        # Students in file order, whatever their number of places.
        assignment = {x: assignment[x] for x in sid if x in assignment}
    return Result(
        status=status, objective=objective, assignment=assignment,
        unassigned=[sid[i] for i in np.setdiff1d(np.arange(len(sid)), s).tolist()],
        profile=np.bincount(rank, minlength=ix.k + 2)[1:].tolist(),
        cost=int(rank_costs(problem, objective, weights)[rank].sum()),
        seconds=round(time.perf_counter() - start, 4), solver=solver, message=message, seed=seed,
        weights=list(weights) if weights is not None else None, ranks=ranks, bound=dict(bound or {}),
    )


def _empty(problem, objective, weights, seed, start, status, message) -> Result:
    return Result(
        status=status, objective=objective, assignment={}, unassigned=list(problem.index.student_ids),
        profile=[0] * (problem.k + 1), cost=0, seconds=round(time.perf_counter() - start, 4), solver=groups.SOLVER,
        message=message, seed=seed, weights=list(weights) if weights is not None else None,
    )
