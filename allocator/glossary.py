"""One-line explanations of the words the allocation studio shows beside a run: its status ("optimal",
"feasible", "infeasible"), its cost, and the solver that made it. Each is written once here and shown as a
help tooltip wherever the word appears; the words themselves are the engine's and the models'
(`domain.STORED_RUN_STATUSES` and their labels, the engine's solver names), so a new status or solver is
added here too.
"""
from __future__ import annotations

from allocator.domain import RunStatus

STATUS_HELP = {
    RunStatus.OPTIMAL: f"{RunStatus.OPTIMAL.label}: proven best — no allocation places more students or gives a "
                       "better rank profile for this objective.",
    RunStatus.FEASIBLE: f"{RunStatus.FEASIBLE.label}: a valid allocation that keeps every rule, but not proven best "
                        "(the solver stopped at its time limit, or the allocation was changed by hand).",
    RunStatus.INFEASIBLE: f"{RunStatus.INFEASIBLE.label}: no allocation can keep every rule of this run (pins, "
                          "forbids, capacities, minimums); change a setting and run again.",
}

SOLVER_HELP = {
    "min-cost-flow": "Min-cost flow: an exact network algorithm; its answer is proven optimal.",
    "min-cost-flow+highs": "Min-cost flow, then HiGHS: the network algorithm first; when minimum group sizes "
                           "bind, the HiGHS integer-programming solver decides which projects run, one "
                           "level of the objective after another.",
    "highs": "HiGHS: an integer-programming solver, used for student groups placed together (and for "
             "minimum group sizes alongside several places or tiers), one level of the objective after "
             "another.",
    "min-cost-flow+branch": "Min-cost flow with branching (runs made by an earlier version): the network "
                            "algorithm, repeated with projects opened or closed to meet minimum group sizes.",
    "cp-sat": "CP-SAT: Google OR-Tools' constraint solver, used by an earlier version when minimum group "
              "sizes needed it.",
    "manual": "Made by hand: a coordinator's move or restore, checked against every rule but not solved.",
}

COST_HELP = ("Cost: the sum of each placed student's rank of their project (1 for a first choice, 2 for a "
             "second, …; a project they did not rank counts as one more than the longest list); lower is "
             "better. For a weighted run, the sum of the weights.")

UNPLACED_HELP = ("Students the run could not place. Those who never submitted a list can only be placed when "
                 "placing students on projects they did not rank is allowed.")


def status_help(status: str) -> str:
    return STATUS_HELP.get(status, f"{status}: the state the solver reported for this run.")


def solver_help(solver: str) -> str:
    return SOLVER_HELP.get(solver, f"{solver}: the method that made this allocation.")


def run_words_help(status: str, solver: str) -> str:
    """The tooltip of a line that shows a run's status, cost and solver together."""
    return "\n\n".join((status_help(status), COST_HELP, solver_help(solver)))
