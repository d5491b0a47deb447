"""Exact allocations on the flow network with OR-Tools' min-cost flow.

Lexicographic objectives are solved one level at a time instead of as one weighted sum: a profile
encoded as weights (n+1)^(k-r) overflows int64 at a handful of ranks, whereas each level here costs
only -1, 0 or +1 per arc. After a level is solved, node potentials on its residual graph (from a
vectorised Bellman-Ford) certify its optimality; by complementary slackness every optimum of that
level leaves arcs of positive reduced cost empty and arcs of negative reduced cost full, so those arcs
are deleted or fixed and the next level can only choose among this level's optima.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
from ortools.graph.python import min_cost_flow

from allocator.domain import Objective

from .network import Network, build_network, permutation
from .objectives import Level, hub_allowed, levels, placed_level

_MCF = min_cost_flow.SimpleMinCostFlow


class FlowError(RuntimeError):
    """OR-Tools refused the network: a bug, or costs beyond its range."""


class Flow(NamedTuple):
    flow: np.ndarray  # per arc of the network
    placed: int


def allocate(problem, res, objective: str, weights, seed: int, capacity: np.ndarray | None = None,
             lower: np.ndarray | None = None, cutoff: tuple | None = None,
             lv: list[Level] | None = None) -> np.ndarray | None:
    """The project of each free student (-1: unplaced) in an optimal allocation that ignores
    minimums; `capacity` overrides the residual project capacities (0 closes a project) and `lower`
    makes projects take at least that many free students. None if they cannot, or if the optimum's
    level values ("placed" negated first) are lexicographically no better than `cutoff`, which must
    line up with `lv`, the levels after "placed" (by default those of the objective on this network)."""
    net = build_network(problem, res, seed, hub=hub_allowed(objective, weights), capacity=capacity, lower=lower)
    if lv is None:
        present = np.zeros(problem.k + 2, bool)
        present[net.level] = True
        present[0] = False
        lv = levels(problem, objective, weights, present)
    cut = Cutoff(cutoff)
    if lower is not None:
        result = solve_circulation(net, [placed_level(problem.k)] + lv, cut)
    else:
        if objective == Objective.GENEROUS and lv and cutoff is None:
            net, lv = _without_needless_ranks(net, lv)
        result = solve(net, lv, cut)
    if result is None or cut.no_better():
        return None
    return placements(net, result.flow, len(res.free), seed)


class Cutoff:
    """Stops a lexicographic solve as soon as its level values so far are worse than a bound's."""

    def __init__(self, bound: tuple | None):
        self.bound, self.values, self.live = bound, [], bound is not None

    def worse(self, value: int) -> bool:
        self.values.append(value)
        if not self.live:
            return False
        mine, theirs = tuple(self.values), tuple(self.bound[: len(self.values)])
        if mine != theirs:
            self.live = False
        return mine > theirs

    def no_better(self) -> bool:
        """After a complete solve: equal to the bound all the way, so not an improvement."""
        return self.bound is not None and tuple(self.values) >= tuple(self.bound)


def solve(net: Network, levels: list[Level], cut: Cutoff | None = None) -> Flow | None:
    """A maximum flow that is lexicographically optimal for `levels` (None if `cut` stops it)."""
    cut = cut or Cutoff(None)
    costs = _costs(net, levels[0]) if levels else np.zeros(net.tails.size, np.int64)
    mcf = _new(net.tails, net.heads, net.caps, costs)
    n_free = int(net.caps[net.tails == net.source].sum())
    mcf.set_node_supply(net.source, n_free)
    mcf.set_node_supply(net.sink, -n_free)
    _check(mcf.solve_max_flow_with_min_cost())
    flow = np.asarray(mcf.flows(np.arange(net.tails.size, dtype=np.int32)), np.int64)
    placed = int(mcf.maximum_flow())
    if cut.worse(-placed) or (levels and cut.worse(int(costs @ flow))):
        return None
    if len(levels) > 1:
        supply = np.zeros(net.n_nodes, np.int64)
        supply[net.source], supply[net.sink] = placed, -placed
        flow = _Levels(net, supply, flow).run(levels, cut)
        if flow is None:
            return None
    return Flow(flow, placed)


def solve_circulation(net: Network, levels: list[Level], cut: Cutoff | None = None) -> Flow | None:
    """Like `solve` for a network with lower bounds, whose first level must be "placed"; None when
    the lower bounds cannot all be met."""
    cut = cut or Cutoff(None)
    costs = _costs(net, levels[0])
    mcf = _new(net.tails, net.heads, net.caps, costs)
    nodes = np.flatnonzero(net.supply).astype(np.int32)
    mcf.set_nodes_supplies(nodes, net.supply[nodes])
    status = mcf.solve()
    if status == _MCF.INFEASIBLE:
        return None
    _check(status)
    flow = np.asarray(mcf.flows(np.arange(net.tails.size, dtype=np.int32)), np.int64)
    if cut.worse(int(costs @ flow)):
        return None
    if len(levels) > 1:
        flow = _Levels(net, net.supply.copy(), flow).run(levels, cut)
        if flow is None:
            return None
    placed = int(flow[(net.tails == net.sink) & (net.heads == net.source)].sum())
    return Flow(flow, placed)


class _Levels:
    """The network shrinking level by level. Each original arc carries a committed flow `base`, a
    remaining capacity `cap` and the current flow `flow` on top of `base`; the arcs still free
    (`alive`) form the next level's network."""

    def __init__(self, net: Network, supply: np.ndarray, flow: np.ndarray):
        self.net = net
        self.base = np.zeros(net.tails.size, np.int64)
        self.cap = net.caps.copy()
        self.flow = flow
        self.alive = np.arange(net.tails.size)
        self.supply = supply

    def run(self, levels: list[Level], cut: Cutoff) -> np.ndarray | None:
        costs = _costs(self.net, levels[0])
        for level in levels[1:]:
            self._fix(costs[self.alive])
            level_costs = _costs(self.net, level)
            if level_costs[self.alive].any():  # else the level is constant on what is left
                self.flow[self.alive] = self._solve(level_costs[self.alive])
                costs = level_costs
            if cut.worse(int(level_costs @ (self.base + self.flow))):
                return None
        return self.base + self.flow

    def _fix(self, costs: np.ndarray) -> None:
        net, alive = self.net, self.alive
        tails, heads, caps = net.tails[alive], net.heads[alive], self.cap[alive]
        d = potentials(net.n_nodes, tails, heads, caps, self.flow[alive], costs)
        reduced = costs + d[tails] - d[heads]
        full = reduced < 0
        self._commit(alive[full], caps[full])
        self.alive = alive[reduced == 0]
        self._settle()

    def _commit(self, arcs: np.ndarray, amount: np.ndarray) -> None:
        """Move `amount` of flow on `arcs` out of the free network and into the supplies; the current
        flow carries it already, since every optimum of the levels so far does."""
        self.base[arcs] += amount
        self.cap[arcs] -= amount
        self.flow[arcs] -= amount
        np.subtract.at(self.supply, self.net.tails[arcs], amount)
        np.add.at(self.supply, self.net.heads[arcs], amount)

    def _settle(self) -> None:
        """Push surplus supply through a node's only way out and pull demand through its only way in
        (such flow is forced), then drop arcs that can carry nothing. This strips every student whose
        place is settled, so later levels solve a network of the undecided students only."""
        net = self.net
        inner = np.ones(net.n_nodes, bool)
        inner[[net.source, net.sink]] = False
        for _ in range(net.n_nodes):
            alive = self.alive[self.cap[self.alive] > 0]
            tails, heads = net.tails[alive], net.heads[alive]
            outs = np.bincount(tails, minlength=net.n_nodes)
            ins = np.bincount(heads, minlength=net.n_nodes)
            dead = inner & (self.supply == 0) & ((ins == 0) != (outs == 0))
            alive = alive[~dead[tails] & ~dead[heads]]
            tails, heads = net.tails[alive], net.heads[alive]
            push = inner[tails] & (self.supply[tails] > 0) & (outs[tails] == 1)
            pull = inner[heads] & (self.supply[heads] < 0) & (ins[heads] == 1) & ~push
            self.alive = alive
            if not (push.any() or pull.any() or dead.any()):
                break
            self._commit(alive[push], self.supply[tails[push]])
            self._commit(alive[pull], -self.supply[heads[pull]])
        if (self.cap < 0).any() or (self.flow < 0).any():
            raise FlowError("forced flow exceeds a capacity: the levels went wrong")

    def _solve(self, costs: np.ndarray) -> np.ndarray:
        alive = self.alive
        nodes, tails, heads = _compact(self.net.tails[alive], self.net.heads[alive], self.supply)
        mcf = _new(tails, heads, self.cap[alive], costs)
        mcf.set_nodes_supplies(np.arange(nodes.size, dtype=np.int32), self.supply[nodes])
        _check(mcf.solve())
        return np.asarray(mcf.flows(np.arange(alive.size, dtype=np.int32)), np.int64)


def _compact(tails: np.ndarray, heads: np.ndarray, supply: np.ndarray):
    """Renumber the nodes still in use, so the solver's arrays span the undecided part only."""
    used = np.zeros(supply.size, bool)
    used[tails] = used[heads] = True
    used |= supply != 0
    new = np.cumsum(used) - 1
    return np.flatnonzero(used), new[tails].astype(np.int32), new[heads].astype(np.int32)


def potentials(n_nodes: int, tails, heads, caps, flow, costs) -> np.ndarray:
    """Shortest distances in the residual graph from a virtual root joined to every node at cost 0.
    They exist because an optimal flow leaves no negative cycle, and at an optimum of a ±1 level the
    paths are short, so the vectorised passes stop after a few rounds."""
    fwd, bwd = flow < caps, flow > 0
    rt = np.concatenate([tails[fwd], heads[bwd]])
    rh = np.concatenate([heads[fwd], tails[bwd]])
    rc = np.concatenate([costs[fwd], -costs[bwd]])
    d = np.zeros(n_nodes, np.int64)
    for _ in range(n_nodes + 1):
        cand = d[rt] + rc
        better = cand < d[rh]
        if not better.any():
            return d
        np.minimum.at(d, rh[better], cand[better])
    raise FlowError("the residual graph has a negative cycle: the flow was not optimal")


def _without_needless_ranks(net: Network, lv: list[Level]) -> tuple[Network, list[Level]]:
    """Generous starts by minimising the worst ranks, which are usually avoidable altogether. The
    smallest r such that placing as many students needs no rank worse than r is found with a few
    plain max flows (far cheaper than min-cost flows); the levels above r are then zero in every
    optimum, so their arcs go and their solves are skipped."""
    from ortools.graph.python import max_flow

    def most_placed(worst: int) -> int:
        keep = net.level <= worst
        mf = max_flow.SimpleMaxFlow()
        mf.add_arcs_with_capacity(net.tails[keep], net.heads[keep], net.caps[keep])
        if mf.solve(net.source, net.sink) != mf.OPTIMAL:
            raise FlowError("max flow failed")
        return mf.optimal_flow()

    ranks = sorted({int(np.flatnonzero(level.coef)[0]) for level in lv})
    ranks.append(int(net.level.max()))
    target = most_placed(ranks[-1])
    lo, hi = 0, len(ranks) - 1  # ranks[hi] suffices; find the first that does
    while lo < hi:
        mid = (lo + hi) // 2
        if most_placed(ranks[mid]) == target:
            hi = mid
        else:
            lo = mid + 1
    worst = ranks[lo]
    keep = net.level <= worst
    net = Network(net.n_nodes, net.source, net.sink, *(a[keep] for a in net[3:9]))
    return net, [level for level in lv if int(np.flatnonzero(level.coef)[0]) <= worst]


def placements(net: Network, flow: np.ndarray, n_students: int, seed: int = 0) -> np.ndarray:
    """The project of each student (-1: not placed by this flow). Students who reach their project
    through the unranked hub are dealt its slots in the seed's order, so the lottery covers
    unranked placements too instead of handing them out in file order."""
    project_of = np.full(n_students, -1, np.int64)
    used = flow > 0
    direct = used & (net.arc_student >= 0) & (net.arc_project >= 0)
    project_of[net.arc_student[direct]] = net.arc_project[direct]
    into_hub = used & (net.arc_student >= 0) & (net.arc_project < 0)
    out_of_hub = used & (net.arc_student < 0) & (net.arc_project >= 0)
    if into_hub.any():
        # Any pairing is optimal: hub students have no forbidden pair and ranked none of these projects.
        slots = np.repeat(net.arc_project[out_of_hub], flow[out_of_hub])
        slots = slots[permutation(slots.size, seed, 5)]
        project_of[net.arc_student[into_hub]] = slots
    return project_of


def _costs(net: Network, level: Level) -> np.ndarray:
    return level.coef[net.level]


def _new(tails, heads, caps, costs) -> min_cost_flow.SimpleMinCostFlow:
    mcf = _MCF()
    mcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    return mcf


def _check(status) -> None:
    if status != _MCF.OPTIMAL:
        raise FlowError(f"min-cost flow ended with status {status.name}")
