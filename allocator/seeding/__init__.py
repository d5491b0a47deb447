"""A realistic demo deployment from a seed: cohorts, people, a project catalogue and preferences.

The same seed gives the same rows (ids and order included, on an empty database), so a demo, a bug
report or a benchmark can be reproduced. Only the dates follow the clock: the first cohort is always
open for preferences when someone tries the app, whenever they try it.

Rows go in with Core executemany in one transaction, never one ORM flush per row, and names come from
a small Faker pool combined at random, because Faker per person is what makes naive seeders slow.

One module per job: `demo` (the demo accounts, the summary, the errors), `names` (people's names and
emails, cohort names), `catalogue` (project titles and descriptions by topic), `plan` (every row decided
in memory from the seed) and `writer` (the rows written in one transaction; `reset`).
"""
from __future__ import annotations

from allocator.seeding.catalogue import TAGS
from allocator.seeding.demo import (DEMO_ACCOUNTS, DEMO_ADMIN, DEMO_STAFF, DEMO_STUDENT, CohortExists, DemoAccount,
                                   Progress, SeedError, SeedSummary)
from allocator.seeding.names import cohort_names
from allocator.seeding.writer import is_empty, reset, seed

__all__ = [
    "DEMO_ACCOUNTS", "DEMO_ADMIN", "DEMO_STAFF", "DEMO_STUDENT", "CohortExists", "DemoAccount", "SeedError",
    "SeedSummary", "cohort_names", "is_empty", "reset", "seed", "Progress", "TAGS",
]
