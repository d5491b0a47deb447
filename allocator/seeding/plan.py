"""The plan: every row of a demo deployment decided in memory from the seed, before a row is written."""
from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from collections.abc import Iterable

import numpy as np

from allocator.domain import Objective, ProjectStatus, Role
from allocator.seeding.demo import DEMO_ACCOUNTS, DEMO_STAFF, DEMO_STUDENT
from allocator.seeding.catalogue import TAGS, TAG_WEIGHTS, project_text
from allocator.seeding.names import COHORT_KINDS, GROUP_KIND, People, cohort_names, company_names


@dataclass
class CohortPlan:
    row: dict
    staff: list[str]  # emails
    students: list[str]
    projects: list[dict]  # rows without ids; "supervisor" holds an email until insert
    rankings: dict[str, list[int]]  # student email -> indices into projects, best first
    saved_at: dict[str, datetime]
    groups: list[list[str]] = dataclasses.field(default_factory=list)  # members' emails, who made it first


def _cohort_people(c: int, staff: int, students: int, r: random.Random, people: People, person,
                   staff_pool: list[str]) -> tuple[list[str], list[str]]:
    """The emails of a cohort's staff (adding the new ones to `staff_pool`) and students."""
    # Staff: the demo supervisor everywhere; later cohorts share about a third of their staff.
    shared = r.sample(staff_pool, min(len(staff_pool), round((staff - 1) * 0.3))) if c else []
    fresh = []
    for first, last in people.names(staff - 1 - len(shared)):
        fresh.append(person(people.email(first, last, "demo.example", initial=True), f"{first} {last}"))
    staff_pool += fresh
    cohort_staff = [DEMO_STAFF] + shared + fresh

    cohort_students = [DEMO_STUDENT] if c == 0 else []
    for first, last in people.names(students - len(cohort_students)):
        cohort_students.append(person(people.email(first, last, "students.demo.example"), f"{first} {last}"))
    return cohort_staff, cohort_students


def _project_shape(n: int, students: int, cohort_staff: list[str], rng: np.random.Generator,
                   r: random.Random) -> tuple[list[str], list[int], set[int], list[int], list[int], set]:
    """(supervisor per project, the demo supervisor's slots, proposed and approved projects, capacities,
    group projects) of a cohort's `n` projects."""
    others = cohort_staff[1:]
    if others:
        load = rng.gamma(2.0, size=len(others))
        supervisors = [others[i] for i in rng.choice(len(others), size=n, p=load / load.sum()).tolist()]
    else:
        supervisors = [DEMO_STAFF] * n
    demo_slots = sorted(rng.choice(n, size=min(3, n), replace=False).tolist())
    for i in demo_slots:
        supervisors[i] = DEMO_STAFF
    n_proposed = max(1, round(0.06 * n)) if n >= 5 else 0
    proposed: set[int] = set()
    if n_proposed:
        # The demo supervisor has one awaiting approval, so both sides of approval can be tried.
        if len(demo_slots) >= 3:
            proposed.add(demo_slots[-1])
        rest = [i for i in range(n) if i not in demo_slots]
        proposed.update(r.sample(rest, min(len(rest), n_proposed - len(proposed))))
    approved = [i for i in range(n) if i not in proposed]

    # Capacities 1..6 around the mean that gives ~15% more places than students.
    mean = min(4.5, max(1.8, 1.15 * students / max(1, len(approved))))
    capacity = (1 + rng.binomial(5, (mean - 1) / 5, size=n)).tolist()
    group_ok = [i for i in range(n) if capacity[i] >= 2]
    groups = set(rng.choice(group_ok, size=min(len(group_ok), round(0.15 * n)), replace=False).tolist()) \
        if group_ok else set()
    return supervisors, demo_slots, proposed, approved, capacity, groups


# A group-project cohort: the share of submitting students who apply in groups, and the groups' sizes.
GROUP_SHARE, GROUP_SIZES = 0.3, (2, 4)


def _groups(rankings: dict[str, list[int]], r: random.Random) -> list[list[str]]:
    """Groups of 2-4 among about GROUP_SHARE of the submitting students; each member's list becomes the
    first member's, as the app copies a group's one list to every member. The demo student stays out:
    forming a group is theirs to try."""
    pool = sorted(s for s in rankings if s != DEMO_STUDENT)
    r.shuffle(pool)
    target, out = round(GROUP_SHARE * len(pool)), []
    while True:
        size = r.randint(*GROUP_SIZES)
        if size > target:
            return out
        members, pool, target = pool[:size], pool[size:], target - size
        for m in members[1:]:
            rankings[m] = list(rankings[members[0]])
        out.append(members)


def _rankings(cohort_students: list[str], approved: list[int], demo_slots: list[int], proposed: set[int],
              max_choices: int, prefs_open: datetime, prefs_close: datetime, now: datetime,
              rng: np.random.Generator, r: random.Random) -> tuple[dict[str, list[int]], dict[str, datetime]]:
    """Each submitting student's ranked list (indices into the projects) and when they saved it."""
    # Preferences: Zipf popularity over a shuffled catalogue, sampled without replacement by the
    # Gumbel-top-k trick (one vectorised draw instead of a loop of rng.choice calls).
    popularity = [approved[i] for i in rng.permutation(len(approved)).tolist()]
    demo_approved = [i for i in demo_slots if i not in proposed]
    if demo_approved and len(popularity) > 1:
        # The demo supervisor sees real demand for at least one project.
        popularity.remove(demo_approved[0])
        popularity.insert(1, demo_approved[0])
    weights = 1.0 / np.arange(1, len(popularity) + 1) ** 1.1
    n_silent = round(0.10 * len(cohort_students))
    candidates = [s for s in cohort_students if s != DEMO_STUDENT]
    silent = set(r.sample(candidates, min(len(candidates), n_silent)))
    submitters = [s for s in cohort_students if s not in silent]
    rankings: dict[str, list[int]] = {}
    saved_at: dict[str, datetime] = {}
    if popularity and submitters:
        keys = np.log(weights) + rng.gumbel(size=(len(submitters), len(popularity)))
        top = min(max_choices, len(popularity))
        order = np.argsort(-keys, axis=1, kind="stable")[:, :top]
        lengths = np.minimum(rng.integers(5, 9, size=len(submitters)), top)
        fraction = rng.random(len(submitters))
        window = (min(now, prefs_close) - prefs_open).total_seconds()
        for s, row, k, f in zip(submitters, order.tolist(), lengths.tolist(), fraction.tolist()):
            rankings[s] = [popularity[j] for j in row[:k]]
            saved_at[s] = prefs_open + timedelta(seconds=round(f * window))
    return rankings, saved_at


def _cohort_row(name: str, prefix: str, prefs_open: datetime, prefs_close: datetime, now: datetime) -> dict:
    """A cohort's row: its dates from the preference window, the rules every seeded cohort shares."""
    day = timedelta(days=1)
    return dict(
        name=name, archived=False, proposals_open_at=prefs_open - 35 * day, proposals_close_at=prefs_open - 7 * day,
        preferences_open_at=prefs_open, preferences_close_at=prefs_close, phase_override=None,
        min_choices=3, max_choices=8, allow_unranked=False, default_objective=Objective.GENEROUS.value, auto_approve=False,
        responses_locked=False, created_at=now, groups_allowed=prefix == GROUP_KIND,
        group_min_size=GROUP_SIZES[0], group_max_size=GROUP_SIZES[1],
    )


def make_plan(*, students: int, projects: int, staff: int, cohorts: int, seed: int, now: datetime,
              taken_emails: Iterable[str]) -> tuple[list[dict], list[CohortPlan]]:
    rng = np.random.default_rng(seed)
    r = random.Random(seed)
    people = People(seed, rng, taken_emails)
    companies = company_names(seed)
    users: list[dict] = []

    def person(email: str, name: str, is_admin: bool = False) -> str:
        users.append(dict(email=email, name=name, oid=None, is_admin=is_admin, active=True, created_at=now))
        return email

    for account in DEMO_ACCOUNTS:
        people.take(account.email)
        person(account.email, account.name, is_admin=account.role == Role.ADMIN)

    base = now.replace(minute=0, second=0, microsecond=0)
    day = timedelta(days=1)
    staff_pool: list[str] = []
    plans: list[CohortPlan] = []
    for c, name in enumerate(cohort_names(cohorts)):
        _, prefix = COHORT_KINDS[c % len(COHORT_KINDS)]
        if c == 0:
            # Open for preferences now, so every demo role has something to do today.
            prefs_open, prefs_close = base - 7 * day, base + 7 * day
        else:
            # Closed yesterday: the coordinator can go straight to the allocation studio.
            prefs_open, prefs_close = base - 21 * day, base - day
        cohort_row = _cohort_row(name, prefix, prefs_open, prefs_close, now)

        cohort_staff, cohort_students = _cohort_people(c, staff, students, r, people, person, staff_pool)

        n = projects
        supervisors, demo_slots, proposed, approved, capacity, groups = _project_shape(
            n, students, cohort_staff, rng, r)

        titles: set[str] = set()
        project_rows = []
        for i in range(n):
            k_tags = r.choices((1, 2, 3), weights=(0.35, 0.45, 0.20))[0]
            primary = TAGS[int(rng.choice(len(TAGS), p=TAG_WEIGHTS / TAG_WEIGHTS.sum()))]
            tags = [primary] + r.sample([t for t in TAGS if t != primary], k_tags - 1)
            min_students = 2 if i in groups else 0
            title, description = project_text(r, tags, capacity[i], min_students, companies, titles)
            project_rows.append(dict(
                code=f"{prefix}-{i + 1:03d}", title=title, description=description, capacity=capacity[i],
                min_students=min_students, tags=tags, status=(ProjectStatus.PROPOSED if i in proposed else ProjectStatus.APPROVED).value,
                reject_reason=None, supervisor=supervisors[i], created_at=now, updated_at=now,
            ))

        rankings, saved_at = _rankings(cohort_students, approved, demo_slots, proposed, cohort_row["max_choices"],
                                       prefs_open, prefs_close, now, rng, r)

        # Its own random stream, so the other cohorts' rows stay what they were before groups existed.
        groups = _groups(rankings, random.Random(f"{seed}-groups-{c}")) if prefix == GROUP_KIND else []
        plans.append(CohortPlan(cohort_row, cohort_staff, cohort_students, project_rows, rankings, saved_at, groups))
    return users, plans
