"""Exact allocations on the flow network with OR-Tools' min-cost flow.

Lexicographic objectives are solved one level at a time instead of as one weighted sum: a profile
encoded as weights (n+1)^(k-r) overflows int64 at a handful of ranks, whereas each level here costs
only -1, 0 or +1 per arc. After a level is solved, node potentials on its residual graph (from a
vectorised Bellman-Ford) certify its optimality; by complementary slackness every optimum of that
level leaves arcs of positive reduced cost empty and arcs of negative reduced cost full, so those arcs
are deleted or fixed and the next level can only choose among this level's optima.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from .network import Network
from .objectives import Level

_MCF = min_cost_flow.SimpleMinCostFlow


class FlowError(RuntimeError):
    """OR-Tools refused the network: a bug, or costs beyond its range."""


@dataclass(frozen=True, slots=True)
class Flow:
    flow: np.ndarray  # per arc of the network
    placed: int


def solve(net: Network, levels: list[Level]) -> Flow:
    """A maximum flow that is lexicographically optimal for `levels`."""
    costs = _costs(net, levels[0]) if levels else np.zeros(net.tails.size, np.int64)
    mcf = _new(net.tails, net.heads, net.caps, costs)
    n_free = int(net.caps[net.tails == net.source].sum())
    mcf.set_node_supply(net.source, n_free)
    mcf.set_node_supply(net.sink, -n_free)
    _check(mcf.solve_max_flow_with_min_cost())
    flow = np.asarray(mcf.flows(np.arange(net.tails.size, dtype=np.int32)), np.int64)
    placed = int(mcf.maximum_flow())
    if len(levels) > 1:
        flow = _remaining_levels(net, levels, costs, flow, placed)
    return Flow(flow, placed)


def _remaining_levels(net: Network, levels: list[Level], costs: np.ndarray, flow: np.ndarray, placed: int) -> np.ndarray:
    alive = np.arange(net.tails.size)
    fixed = np.zeros(net.tails.size, np.int64)
    supply = np.zeros(net.n_nodes, np.int64)
    supply[net.source], supply[net.sink] = placed, -placed
    for level in levels[1:]:
        tails, heads, caps = net.tails[alive], net.heads[alive], net.caps[alive]
        d = potentials(net.n_nodes, tails, heads, caps, flow, costs)
        reduced = costs + d[tails] - d[heads]
        full = reduced < 0
        np.subtract.at(supply, tails[full], caps[full])
        np.add.at(supply, heads[full], caps[full])
        fixed[alive[full]] = caps[full]
        keep = reduced == 0
        alive = alive[keep]
        costs = _costs(net, level)[alive]
        if not costs.any():
            flow = flow[keep]
            continue
        mcf = _new(net.tails[alive], net.heads[alive], net.caps[alive], costs)
        nodes = np.flatnonzero(supply).astype(np.int32)
        mcf.set_nodes_supplies(nodes, supply[nodes])
        _check(mcf.solve())
        flow = np.asarray(mcf.flows(np.arange(alive.size, dtype=np.int32)), np.int64)
    fixed[alive] += flow
    return fixed


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


def placements(net: Network, flow: np.ndarray, n_students: int) -> np.ndarray:
    """The project of each student (-1: not placed by this flow)."""
    project_of = np.full(n_students, -1, np.int64)
    used = flow > 0
    direct = used & (net.arc_student >= 0) & (net.arc_project >= 0)
    project_of[net.arc_student[direct]] = net.arc_project[direct]
    into_hub = used & (net.arc_student >= 0) & (net.arc_project < 0)
    out_of_hub = used & (net.arc_student < 0) & (net.arc_project >= 0)
    if into_hub.any():
        # Any pairing is optimal: hub students have no forbidden pair and ranked none of these projects.
        slots = np.repeat(net.arc_project[out_of_hub], flow[out_of_hub])
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


def allocate(problem, res, objective: str, weights, seed: int, capacity: np.ndarray | None = None) -> np.ndarray:
    """The project of each free student (-1: unplaced) in an optimal allocation that ignores
    minimums; `capacity` overrides the residual project capacities (0 closes a project)."""
    from .network import build_network
    from .objectives import hub_allowed, levels

    net = build_network(problem, res, seed, hub=hub_allowed(objective, weights), capacity=capacity)
    present = np.zeros(problem.k + 2, bool)
    present[net.level] = True
    present[0] = False
    result = solve(net, levels(problem, objective, weights, present))
    return placements(net, result.flow, len(res.free))
