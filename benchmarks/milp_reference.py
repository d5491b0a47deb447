"""An independent lexicographic MILP for allocation problems with minimum sizes: HiGHS via scipy.

Written from the problem's JSON alone (no engine code), so the engine's answers can be checked and
timed against a textbook formulation. Unranked placements go through one hub per problem (student →
hub → project) so that `allow_unranked` costs n + m variables instead of n × m; students with a
forbidden pair get explicit unranked arcs instead.

    python benchmarks/milp_reference.py problem.json --objective min-cost
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array


def _choices(data: dict, pos: dict, pinned: dict, k: int) -> tuple[np.ndarray, list[int]]:
    """(arcs as (student, project, rank) rows, students who may go anywhere through the hub)."""
    forbidden = {(d["student"], d["project"]) for d in data.get("forbidden", [])}
    unranked = bool(data.get("allow_unranked"))
    has_forbid = {s for s, _ in forbidden}
    projects = data["projects"]
    arcs, hub = [], []
    for i, s in enumerate(data["students"]):
        if s["id"] in pinned:
            continue
        prefs = s["preferences"]
        for r, p in enumerate(prefs, 1):
            if (s["id"], p) not in forbidden:
                arcs.append((i, pos[p], r))
        if unranked:
            if s["id"] in has_forbid:
                ranked = set(prefs)
                arcs += [(i, j, k + 1) for j, q in enumerate(projects)
                         if q["id"] not in ranked and (s["id"], q["id"]) not in forbidden]
            else:
                hub.append(i)
    return np.array(arcs, np.int64).reshape(-1, 3), hub


class Model:
    """Columns: ranked/explicit arcs x, hub arcs u (one per hub student), hub flows h (per project),
    open binaries y (per project with a minimum above 1 not reached by pins)."""

    def __init__(self, data: dict):
        students, projects = data["students"], data["projects"]
        pos = {p["id"]: j for j, p in enumerate(projects)}
        pinned = {d["student"]: d["project"] for d in data.get("pinned", [])}
        k = max((len(s["preferences"]) for s in students), default=0)
        self.k = k
        m = len(projects)
        cap = np.array([p["capacity"] for p in projects], np.int64)
        low = np.array([p.get("min_students", 0) for p in projects], np.int64)
        pin_count = np.zeros(m, np.int64)
        for p in pinned.values():
            pin_count[pos[p]] += 1
        a, hub = _choices(data, pos, pinned, k)
        self.students, self.projects, self.arcs, self.hub = students, projects, a, np.array(hub, np.int64)
        cap_left = cap - pin_count
        binding = (low >= 2) & (pin_count < low)
        forced = binding & (pin_count > 0)
        closable = np.flatnonzero(binding & ~forced)
        nx, nu, nh, ny = len(a), len(hub), (m if hub else 0), len(closable)
        self.nx, self.nu, self.nh, self.ny = nx, nu, nh, ny
        n_var = nx + nu + nh + ny
        self.rows, self.cols, self.vals, self.lo, self.hi = [], [], [], [], []
        self._student_rows(a, hub)
        ub = np.ones(n_var)
        y_of = {int(j): nx + nu + nh + t for t, j in enumerate(closable)}
        by_project: dict[int, list[int]] = {}
        for c, j in enumerate(a[:, 1].tolist()):
            by_project.setdefault(j, []).append(c)
        for j in range(m):
            cs = by_project.get(j, []) + ([nx + nu + j] if hub else [])
            if hub:
                ub[nx + nu + j] = max(0, cap_left[j])
            if j in y_of:
                y = y_of[j]
                self._add(cs + [y], [1] * len(cs) + [-int(cap_left[j])], -np.inf, 0)
                self._add(cs + [y], [1] * len(cs) + [-int(low[j])], 0, np.inf)
                for c in cs:  # closure cuts
                    self._add([c, y], [1, -(ub[c] if c >= nx + nu else 1)], -np.inf, 0)
            elif forced[j]:
                self._add(cs, [1] * len(cs), int(low[j] - pin_count[j]), int(cap_left[j]))
            else:
                self._add(cs, [1] * len(cs), 0, int(cap_left[j]))
        self._supervisor_rows(data, pos, pinned, a, hub)
        self.n_var, self.ub = n_var, ub
        self.integrality = np.ones(n_var)

    def _add(self, columns, coefs, low, high) -> None:
        self.rows.extend([len(self.lo)] * len(columns))
        self.cols.extend(columns)
        self.vals.extend(coefs)
        self.lo.append(low)
        self.hi.append(high)

    def _student_rows(self, a: np.ndarray, hub: list[int]) -> None:
        """Each student at most once; the hub passes on what it receives."""
        nx, nu, nh = self.nx, self.nu, self.nh
        by_student: dict[int, list[int]] = {}
        for c, i in enumerate(a[:, 0].tolist()):
            by_student.setdefault(i, []).append(c)
        for t, i in enumerate(hub):
            by_student.setdefault(i, []).append(nx + t)
        for cs in by_student.values():
            if len(cs) > 1:
                self._add(cs, [1] * len(cs), 0, 1)
        if hub:
            self._add(list(range(nx, nx + nu)) + list(range(nx + nu, nx + nu + nh)), [1] * nu + [-1] * nh, 0, 0)

    def _supervisor_rows(self, data: dict, pos: dict, pinned: dict, a: np.ndarray, hub: list[int]) -> None:
        """Each supervisor's capacity, less their pinned students."""
        nx, nu = self.nx, self.nu
        sup_pos = {}
        for j, p in enumerate(data["projects"]):
            if p.get("supervisor") is not None:
                sup_pos.setdefault(p["supervisor"], []).append(j)
        for v in data.get("supervisors", []):
            own = set(sup_pos.get(v["id"], []))
            used = sum(1 for p in pinned.values() if pos[p] in own)
            cs = [c for c, j in enumerate(a[:, 1].tolist()) if j in own] + ([nx + nu + j for j in own] if hub else [])
            self._add(cs, [1] * len(cs), 0, v["capacity"] - used)

    def levels(self, objective: str, weights=None) -> list[np.ndarray]:
        k = self.k
        rank = np.concatenate([self.arcs[:, 2], np.full(self.nu, k + 1)])
        pad = np.zeros(self.nh + self.ny)
        out = [np.concatenate([-np.ones(len(rank)), pad])]
        if objective == "min-cost":
            out.append(np.concatenate([rank.astype(float), pad]))
        elif objective == "weighted":
            w = np.asarray(weights, float)
            out.append(np.concatenate([w[rank - 1], pad]))
        elif objective == "greedy":
            out += [np.concatenate([-(rank == r).astype(float), pad]) for r in range(1, k + 2)]
        else:
            out += [np.concatenate([(rank == r).astype(float), pad]) for r in range(k + 1, 0, -1)]
        return out

    def solve(self, objective: str, weights=None, time_limit: float = 600) -> dict:
        """Lexicographic optimum: one MILP per level, each level's value then held fixed."""
        start = time.perf_counter()
        rows, cols, vals, lo, hi = list(self.rows), list(self.cols), list(self.vals), list(self.lo), list(self.hi)
        values = []
        for c in self.levels(objective, weights):
            if not c.any():
                values.append(0)
                continue
            A = csr_array((vals, (rows, cols)), shape=(len(lo), self.n_var))
            left = time_limit - (time.perf_counter() - start)
            res = milp(c, constraints=LinearConstraint(A, lo, hi), integrality=self.integrality,
                       bounds=Bounds(0, self.ub), options={"disp": False, "time_limit": max(left, 0.1),
                                                          "mip_rel_gap": 0})
            if res.status == 2:
                return {"status": "infeasible", "values": values, "seconds": time.perf_counter() - start}
            if res.status != 0:
                return {"status": "stopped", "values": values, "seconds": time.perf_counter() - start}
            value = int(round(res.fun))
            values.append(value)
            nz = np.flatnonzero(c).tolist()
            # The next stage keeps this one's optimum as an equality row.
            rows.extend([len(lo)] * len(nz))
            cols.extend(nz)
            vals.extend(c[nz].tolist())
            lo.append(value)
            hi.append(value)
        placed = -values[0] if values else 0
        return {"status": "optimal", "values": values, "placed": placed, "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problem")
    parser.add_argument("--objective", default="min-cost")
    parser.add_argument("--time-limit", type=float, default=600)
    args = parser.parse_args()
    data = json.load(open(args.problem))
    model = Model(data)
    weights = list(range(1, model.k + 2)) if args.objective == "weighted" else None  # as the benchmark's engine runs
    out = model.solve(args.objective, weights, time_limit=args.time_limit)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
