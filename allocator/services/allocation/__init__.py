"""The allocation studio: tune, run, read, compare, adjust and explain allocation runs (coordinators).

One module per job, each importing what it shares with the others by its public name:
- `common`: finding a cohort or a run, labels and reasons, the names behind a problem's keys, a run's record;
- `views`: the read classes, and a run's row as a `RunView`;
- `settings`: the Tune tab's setup, the cohort's defaults, raw values parsed into `RunParameters`;
- `problem`: the engine's `Problem` from the database, derived, scored, and what to change if infeasible;
  the cohort's problem as a file (`build_problem_json`, `export_problem`);
- `runs`: solve and store a run (one snapshot), list and get runs;
- `reading`: a run's assignments, the numbers behind its charts, runs compared;
- `adjusting`: move one student, restore an older run;
- `explaining`: why a student got what they got.
Publishing and exporting a run live beside this package (`allocation_publish`, `allocation_export`).

A run is immutable once stored. Its kind ("solve", "move", "restore", "rerun-declined") and its origin
(`parent_run_id`) are columns; the problem its allocation answers and the settings it was made with are
its record (`services.run_record`), which every run holds for itself, so any run can be reproduced,
charted, exported, adjusted and explained on its own, after a restore as before. A derived run's
problem is its origin's with the rules the derivation changed (a move drops the moved student's pin and
allows an unranked placement when it made one), so `engine.validate` and `engine.explain` work on it.

Keys in a problem are "S<user id>" for students, "P<project id>" for projects and "L<user id>" for
supervisors (`run_record.student_key` and friends); `problem.build_problem_json` writes the same.

`Assignment.rank` is the student's own rank of the project (what they are told). The run's `profile`
and `cost` are the engine's, over the problem's preference lists (which leave out projects that are no
longer approved); they only differ from the stored ranks when a ranked project was withdrawn.
"""
from allocator.services.allocation import (
    adjusting,
    common,
    explaining,
    mix,
    problem,
    reading,
    runs,
    settings,
    views,
)
from allocator.services.allocation.adjusting import *  # noqa: F401,F403
from allocator.services.allocation.common import *  # noqa: F401,F403
from allocator.services.allocation.explaining import *  # noqa: F401,F403
from allocator.services.allocation.mix import *  # noqa: F401,F403
from allocator.services.allocation.problem import *  # noqa: F401,F403
from allocator.services.allocation.reading import *  # noqa: F401,F403
from allocator.services.allocation.runs import *  # noqa: F401,F403
from allocator.services.allocation.settings import *  # noqa: F401,F403
from allocator.services.allocation.views import *  # noqa: F401,F403

__all__ = [name for module in (views, settings, common, problem, runs, reading, adjusting, explaining, mix)
           for name in module.__all__]
