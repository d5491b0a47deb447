"""A realistic demo deployment from a seed: cohorts, people, a project catalogue and preferences.

The same seed gives the same rows (ids and order included, on an empty database), so a demo, a bug
report or a benchmark can be reproduced. Only the dates follow the clock: the first cohort is always
open for preferences when someone tries the app, whenever they try it.

Rows go in with Core executemany in one transaction, never one ORM flush per row, and names come from
a small Faker pool combined at random, because Faker per person is what makes naive seeders slow.
"""
from __future__ import annotations

import dataclasses
import functools
import random
import time
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from collections.abc import Callable, Iterable, Sequence

import numpy as np
from faker import Faker
from sqlalchemy import Connection, Engine, exists, insert, or_, select, text
from sqlalchemy.orm import Session

from allocator import db
from allocator.models import Base, Cohort, Membership, Preference, Project, User, utcnow

__all__ = [
    "DEMO_ACCOUNTS", "DEMO_ADMIN", "DEMO_STAFF", "DEMO_STUDENT", "CohortExists", "DemoAccount", "SeedError",
    "SeedSummary", "cohort_names", "is_empty", "reset", "seed",
]

Progress = Callable[[int, int, str], None]
"""Called as rows go in: (rows written so far, rows to write in all, what is being written)."""


@dataclass(frozen=True)
class DemoAccount:
    email: str
    name: str
    role: str  # "student", "staff" or "admin": what a local sign-in screen files them under


DEMO_STUDENT = "student@demo.example"
DEMO_STAFF = "staff@demo.example"
DEMO_ADMIN = "admin@demo.example"
# The first users of a seeded database, in this order, so a local sign-in screen can offer them by name.
DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(DEMO_STUDENT, "Sam Student (student)", "student"),
    DemoAccount(DEMO_STAFF, "Sasha Staff (supervisor)", "staff"),
    DemoAccount(DEMO_ADMIN, "Alex Admin (coordinator)", "admin"),
)


class SeedError(Exception):
    """The seed cannot go ahead; the message says why, for a person."""


class CohortExists(SeedError):
    def __init__(self, names: Sequence[str]):
        self.names = tuple(names)
        listed = ", ".join(f"'{n}'" for n in self.names)
        super().__init__(f"cohort {listed} already exists" if len(names) == 1 else f"cohorts {listed} already exist")


@dataclass(frozen=True)
class SeedSummary:
    cohorts: tuple[str, ...]
    users: int  # rows added to `users` (demo accounts already present are reused, not counted)
    students: int  # student memberships, over all cohorts
    staff: int  # distinct staff people (one may serve several cohorts)
    admins: int
    projects: int
    proposed: int  # projects awaiting the coordinator's approval
    preferences: int  # preference rows
    submitted: int  # students who have saved a ranking
    seconds: float = field(default=0.0, compare=False)

    def line(self) -> str:
        names = "; ".join(self.cohorts)
        plural = "" if len(self.cohorts) == 1 else "s"
        return (f"Seeded {len(self.cohorts)} cohort{plural} ({names}): {self.students:,} students "
                f"({self.submitted:,} submitted), {self.staff:,} staff, {self.admins} admin, "
                f"{self.projects:,} projects ({self.proposed} proposed), {self.preferences:,} preferences")


# --- vocabulary -------------------------------------------------------------------------------------------

# tag: (methods, applications, skills). Titles read as "<method> for <application>".
TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "machine learning": (
        ("Graph neural networks", "Self-supervised learning", "Few-shot learning", "Reinforcement learning",
         "Transformer models", "Active learning", "Bayesian optimisation", "Contrastive learning"),
        ("early detection of crop disease", "predicting student drop-out", "traffic forecasting",
         "low-resource machine translation", "anomaly detection in server logs", "protein function prediction",
         "energy demand forecasting", "sign language recognition"),
        ("Python", "PyTorch", "experimental design", "statistics", "scikit-learn", "GPU computing"),
    ),
    "data science": (
        ("Causal inference", "Interactive dashboards", "Time-series analysis", "Record linkage",
         "Spatial statistics", "Topic modelling", "Survival analysis"),
        ("NHS waiting-list data", "open government spending data", "bike-sharing demand",
         "air-quality sensor networks", "customer churn", "football match data", "library loan records"),
        ("Python", "pandas", "SQL", "data visualisation", "statistics", "R"),
    ),
    "security": (
        ("Fuzzing", "Static analysis", "Formal verification", "Side-channel analysis", "Threat modelling",
         "Differential privacy", "Honeypots"),
        ("smart-home devices", "browser extensions", "CAN-bus vehicle networks", "password managers",
         "contact-tracing apps", "industrial control systems", "Rust crates"),
        ("C", "Linux", "reverse engineering", "cryptography", "networking", "Rust"),
    ),
    "HCI": (
        ("Participatory design", "Eye tracking", "Conversational agents", "Haptic feedback",
         "Accessible interfaces", "Gamification"),
        ("older adults managing medication", "visually impaired programmers", "museum visitors",
         "remote pair programming", "citizen science volunteers", "first-year students learning to code"),
        ("user studies", "prototyping", "qualitative analysis", "JavaScript", "Figma", "ethics applications"),
    ),
    "embedded": (
        ("Low-power firmware", "Real-time scheduling", "Energy harvesting", "TinyML",
         "Over-the-air updates", "Sensor fusion"),
        ("wearable health monitors", "beehive monitoring", "smart irrigation", "wildlife tracking collars",
         "e-bike controllers", "building occupancy sensing"),
        ("C", "microcontrollers", "electronics", "RTOS", "oscilloscopes", "PCB design"),
    ),
    "robotics": (
        ("Visual SLAM", "Imitation learning", "Motion planning", "Swarm coordination", "Soft grippers",
         "Human-robot handover"),
        ("warehouse picking", "agricultural robots", "underwater inspection", "assistive feeding",
         "drone search and rescue", "robot football"),
        ("ROS", "C++", "Python", "linear algebra", "control theory", "simulation"),
    ),
    "bioinformatics": (
        ("Sequence alignment", "Phylogenetic inference", "Single-cell clustering", "Variant calling",
         "Protein structure prediction", "Metagenomic binning"),
        ("antibiotic resistance genes", "cancer genomes", "ancient DNA", "gut microbiome samples",
         "plant pathogen surveillance", "rare disease diagnosis"),
        ("Python", "biology basics", "statistics", "high-performance computing", "Snakemake", "R"),
    ),
    "networks": (
        ("Software-defined networking", "Congestion control", "Network telemetry", "Peer-to-peer overlays",
         "Edge caching", "Network simulation"),
        ("5G campus networks", "video streaming", "satellite internet", "data-centre fabrics",
         "community mesh networks", "online gaming"),
        ("networking", "Linux", "C", "Go", "measurement", "Wireshark"),
    ),
    "theory": (
        ("Approximation algorithms", "Parameterised complexity", "Online algorithms", "Matching under preferences",
         "Graph colouring", "Automata learning"),
        ("fair division", "scheduling with deadlines", "kidney exchange", "student-project allocation",
         "routing problems", "string processing"),
        ("discrete mathematics", "proofs", "algorithms", "complexity theory", "LaTeX", "Python"),
    ),
    "graphics": (
        ("Neural rendering", "Procedural generation", "Physically based rendering", "Mesh simplification",
         "Real-time ray tracing", "Motion capture"),
        ("open-world games", "cultural heritage sites", "virtual reality training", "terrain visualisation",
         "cloth simulation", "architectural walkthroughs"),
        ("C++", "OpenGL", "linear algebra", "GPU programming", "Blender", "shaders"),
    ),
    "sustainability": (
        ("Carbon-aware scheduling", "Life-cycle assessment", "Digital twins", "Optimisation models",
         "Citizen sensing", "Green software metrics"),
        ("data-centre workloads", "urban heat islands", "food waste in canteens", "electric vehicle charging",
         "campus energy use", "flood risk"),
        ("Python", "optimisation", "data analysis", "stakeholder interviews", "GIS", "statistics"),
    ),
    "software engineering": (
        ("Mutation testing", "Program repair", "Code review analytics", "Property-based testing",
         "Continuous integration mining", "Refactoring recommendation"),
        ("open-source Python projects", "scientific software", "student programming assignments",
         "microservice systems", "mobile apps", "infrastructure as code"),
        ("Java", "Python", "Git", "testing", "empirical methods", "static analysis"),
    ),
    "distributed systems": (
        ("Consensus protocols", "CRDTs", "Serverless computing", "Stream processing", "Chaos engineering",
         "Distributed tracing"),
        ("collaborative text editing", "IoT fleets", "financial transactions", "multiplayer games",
         "scientific workflows", "edge clusters"),
        ("Go", "Kubernetes", "Rust", "distributed algorithms", "Docker", "benchmarking"),
    ),
    "natural language processing": (
        ("Large language models", "Named entity recognition", "Argument mining", "Speech recognition",
         "Retrieval-augmented generation", "Text simplification"),
        ("legal contracts", "clinical notes", "parliamentary debates", "customer support chats",
         "low-resource languages", "scientific literature"),
        ("Python", "Hugging Face", "linguistics", "evaluation methods", "PyTorch", "annotation"),
    ),
}
TAGS = tuple(TOPICS)
# Real catalogues lean towards AI and data; the rest share what is left.
_TAG_WEIGHTS = np.array([3.0 if t in ("machine learning", "data science", "natural language processing") else 1.0
                         for t in TAGS])

_TITLE_TEMPLATES = ("{M} for {a}", "{M} for {a}", "{M} for {a}", "{M} applied to {a}", "{A}: {an} {m} approach")
_SENTENCES = (
    "You will start from a short review of recent work, build a prototype, and evaluate it against a "
    "simple baseline.",
    "The aim is a working system and an honest evaluation of where {m} helps and where it does not.",
    "A strong result could become a workshop paper, and previous students have presented at conferences.",
    "Data and equipment come from the supervisor's group; no prior experience with them is needed.",
    "There is room to steer the project towards {other} if that interests you.",
    "Expect weekly meetings, a shared repository from the first week, and a demo at the end of term.",
    "The first milestone is a reproducible pipeline; everything after that builds on it.",
    "Part of the work is talking to the people who would use the result, so good communication matters.",
)

# Latin-script locales (plus romanised Chinese), weighted like an international UK department.
_LOCALES = (("en_GB", 0.40), ("en_IN", 0.10), ("zh_CN", 0.10), ("en_IE", 0.05), ("de_DE", 0.04),
            ("fr_FR", 0.04), ("es_ES", 0.04), ("it_IT", 0.04), ("pl_PL", 0.04), ("nl_NL", 0.03),
            ("pt_PT", 0.03), ("tr_TR", 0.03), ("yo_NG", 0.03), ("ro_RO", 0.03))
_POOL_SIZE = 500  # first and last names each, over all locales

_COHORT_KINDS = (("MEng individual projects", "ME"), ("MSc group projects", "MG"),
                 ("BSc final-year projects", "BF"), ("MSc individual projects", "MI"),
                 ("MRes research projects", "MR"))
_ACADEMIC_YEAR = 2026  # fixed, not today's: names are part of the compared content


def cohort_names(cohorts: int) -> list[str]:
    """The names `seed` gives its cohorts, e.g. 'MEng individual projects 2026/27'."""
    names = []
    for i in range(cohorts):
        kind, _ = _COHORT_KINDS[i % len(_COHORT_KINDS)]
        year = _ACADEMIC_YEAR - i // len(_COHORT_KINDS)
        names.append(f"{kind} {year}/{(year + 1) % 100:02d}")
    return names


# --- names ------------------------------------------------------------------------------------------------

_TRANSLIT = str.maketrans({"ı": "i", "ł": "l", "Ł": "l", "ß": "ss", "ø": "o", "æ": "ae", "đ": "d", "ð": "d",
                           "þ": "th", "œ": "oe"})


def _slug(name: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", name.translate(_TRANSLIT)).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_.lower() if "a" <= ch <= "z")


@functools.lru_cache(maxsize=8)
def _name_pool(seed: int) -> tuple[tuple[str, ...], tuple[float, ...], tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]]:
    """Per locale, distinct first and last names: people are drawn from one locale so names stay plausible."""
    locales, weights, pools = [], [], []
    for i, (locale, weight) in enumerate(_LOCALES):
        fake = Faker(locale)
        fake.seed_instance(seed * 1000 + i)
        want = max(8, round(_POOL_SIZE * weight))
        if locale == "zh_CN":
            first_fn, last_fn = fake.first_romanized_name, fake.last_romanized_name
        else:
            first_fn, last_fn = fake.first_name, fake.last_name
        firsts = tuple(n for n in dict.fromkeys(first_fn() for _ in range(want)) if _slug(n))
        lasts = tuple(n for n in dict.fromkeys(last_fn() for _ in range(want)) if _slug(n))
        locales.append(locale)
        weights.append(weight)
        pools.append((firsts, lasts))
    total = sum(weights)
    return tuple(locales), tuple(w / total for w in weights), tuple(pools)


@functools.lru_cache(maxsize=8)
def _companies(seed: int) -> tuple[str, ...]:
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    return tuple(dict.fromkeys(fake.company() for _ in range(40)))


class _People:
    """Draws names from the pool and hands out unique lowercase emails."""

    def __init__(self, seed: int, rng: np.random.Generator, taken: Iterable[str]):
        _, weights, self._pools = _name_pool(seed)
        self._weights = np.array(weights)
        self._rng = rng
        self._taken = set(taken)

    def names(self, n: int) -> list[tuple[str, str]]:
        locale = self._rng.choice(len(self._pools), size=n, p=self._weights)
        u_first, u_last = self._rng.random(n), self._rng.random(n)
        out = []
        for loc, a, b in zip(locale.tolist(), u_first.tolist(), u_last.tolist()):
            firsts, lasts = self._pools[loc]
            out.append((firsts[int(a * len(firsts))], lasts[int(b * len(lasts))]))
        return out

    def email(self, first: str, last: str, domain: str, *, initial: bool = False) -> str:
        head = _slug(first)[:1] if initial else _slug(first)
        base = f"{head}.{_slug(last)}"
        candidate, n = f"{base}@{domain}", 1
        while candidate in self._taken:
            n += 1
            candidate = f"{base}{n}@{domain}"
        self._taken.add(candidate)
        return candidate


# --- the plan: everything decided in memory before a row is written --------------------------------------

@dataclass
class _CohortPlan:
    row: dict
    staff: list[str]  # emails
    students: list[str]
    projects: list[dict]  # rows without ids; "supervisor" holds an email until insert
    rankings: dict[str, list[int]]  # student email -> indices into projects, best first
    saved_at: dict[str, datetime]


def _lc(phrase: str) -> str:
    # Keep acronyms and proper nouns ("NHS", "TinyML", "CRDTs") as they are.
    first = phrase.split()[0]
    return phrase if any(c.isupper() for c in first[1:]) else phrase[0].lower() + phrase[1:]


def _uc(phrase: str) -> str:
    return phrase[0].upper() + phrase[1:]


def _project_text(r: random.Random, tags: list[str], capacity: int, min_students: int,
                  companies: Sequence[str], used: set[str]) -> tuple[str, str]:
    methods, applications, skills = TOPICS[tags[0]]
    for _ in range(25):
        method, application = r.choice(methods), r.choice(applications)
        an = "an" if method[0].lower() in "aeio" else "a"
        title = r.choice(_TITLE_TEMPLATES).format(M=method, m=_lc(method), a=application, A=_uc(application), an=an)
        if title not in used:
            break
    else:
        title = f"{title} ({len(used) + 1})"
    used.add(title)
    other = tags[1] if len(tags) > 1 else r.choice([t for t in TAGS if t != tags[0]])
    sentences = [f"This project applies {_lc(method)} to {application}."]
    sentences += [s.format(m=_lc(method), other=other) for s in r.sample(_SENTENCES, r.randint(2, 3))]
    if min_students >= 2:
        sentences.append(f"It is a group project for {min_students} to {capacity} students, "
                         "with the work split into parts that each person owns.")
    elif capacity > 1:
        sentences.append(f"Up to {capacity} students can take it, each on their own variant.")
    picked = r.sample(sorted(set(skills) | {s for t in tags[1:] for s in TOPICS[t][2][:2]}), r.randint(3, 5))
    lines = [f"### {title}", "", " ".join(sentences), "", "**Skills you will use**", ""]
    lines += [f"- {s}" for s in picked]
    if r.random() < 0.2:
        lines += ["", f"*In collaboration with {r.choice(companies)}.*"]
    return title, "\n".join(lines) + "\n"


def _plan(*, students: int, projects: int, staff: int, cohorts: int, seed: int, now: datetime,
          taken_emails: Iterable[str]) -> tuple[list[dict], list[_CohortPlan]]:
    rng = np.random.default_rng(seed)
    r = random.Random(seed)
    people = _People(seed, rng, taken_emails)
    companies = _companies(seed)
    users: list[dict] = []

    def person(email: str, name: str, is_admin: bool = False) -> str:
        users.append(dict(email=email, name=name, oid=None, is_admin=is_admin, active=True, created_at=now))
        return email

    for account in DEMO_ACCOUNTS:
        people._taken.add(account.email)
        person(account.email, account.name, is_admin=account.role == "admin")

    base = now.replace(minute=0, second=0, microsecond=0)
    day = timedelta(days=1)
    staff_pool: list[str] = []
    plans: list[_CohortPlan] = []
    for c, name in enumerate(cohort_names(cohorts)):
        _, prefix = _COHORT_KINDS[c % len(_COHORT_KINDS)]
        if c == 0:
            # Open for preferences now, so every demo role has something to do today.
            prefs_open, prefs_close = base - 7 * day, base + 7 * day
        else:
            # Closed yesterday: the coordinator can go straight to the allocation studio.
            prefs_open, prefs_close = base - 21 * day, base - day
        cohort_row = dict(
            name=name, archived=False, proposals_open_at=prefs_open - 35 * day, proposals_close_at=prefs_open - 7 * day,
            preferences_open_at=prefs_open, preferences_close_at=prefs_close, phase_override=None,
            min_choices=3, max_choices=8, allow_unranked=False, default_objective="generous", auto_approve=False,
            responses_locked=False, created_at=now,
        )

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

        # Projects.
        n = projects
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

        titles: set[str] = set()
        project_rows = []
        for i in range(n):
            k_tags = r.choices((1, 2, 3), weights=(0.35, 0.45, 0.20))[0]
            primary = TAGS[int(rng.choice(len(TAGS), p=_TAG_WEIGHTS / _TAG_WEIGHTS.sum()))]
            tags = [primary] + r.sample([t for t in TAGS if t != primary], k_tags - 1)
            min_students = 2 if i in groups else 0
            title, description = _project_text(r, tags, capacity[i], min_students, companies, titles)
            project_rows.append(dict(
                code=f"{prefix}-{i + 1:03d}", title=title, description=description, capacity=capacity[i],
                min_students=min_students, tags=tags, status="proposed" if i in proposed else "approved",
                reject_reason=None, supervisor=supervisors[i], created_at=now, updated_at=now,
            ))

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
            top = min(cohort_row["max_choices"], len(popularity))
            order = np.argsort(-keys, axis=1, kind="stable")[:, :top]
            lengths = np.minimum(rng.integers(5, 9, size=len(submitters)), top)
            fraction = rng.random(len(submitters))
            window = (min(now, prefs_close) - prefs_open).total_seconds()
            for s, row, k, f in zip(submitters, order.tolist(), lengths.tolist(), fraction.tolist()):
                rankings[s] = [popularity[j] for j in row[:k]]
                saved_at[s] = prefs_open + timedelta(seconds=round(f * window))

        plans.append(_CohortPlan(cohort_row, cohort_staff, cohort_students, project_rows, rankings, saved_at))
    return users, plans


# --- writing ----------------------------------------------------------------------------------------------

_CHUNK = 2000


class _Writer:
    def __init__(self, conn: Connection, total: int, progress: Progress | None):
        self.conn, self.total, self.done, self.progress = conn, total, 0, progress

    def insert(self, model, rows: list[dict], stage: str, *, ids: bool = False) -> list[int]:
        table = model.__table__
        statement = insert(table)
        if ids:
            statement = statement.returning(table.c.id, sort_by_parameter_order=True)
        out: list[int] = []
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start:start + _CHUNK]
            result = self.conn.execute(statement, chunk)
            if ids:
                out.extend(result.scalars().all())
            self.done += len(chunk)
            if self.progress:
                self.progress(self.done, self.total, stage)
        return out


def _engine_for(target: str | Engine) -> tuple[Engine, bool]:
    if isinstance(target, Engine):
        return target, False
    return db.create(target), True


def reset(target: str | Engine | Connection) -> None:
    """Delete every row of every application table (the schema and its version stay)."""
    if isinstance(target, Connection):
        _reset(target)
        return
    engine, owned = _engine_for(target)
    try:
        with engine.begin() as conn:
            _reset(conn)
    finally:
        if owned:
            engine.dispose()


def _reset(conn: Connection) -> None:
    tables = Base.metadata.sorted_tables
    if conn.dialect.name == "postgresql":
        # TRUNCATE also restarts the id sequences, so a reseed gives the same ids as a fresh database.
        quote = conn.dialect.identifier_preparer.quote
        conn.execute(text(f"TRUNCATE TABLE {', '.join(quote(t.name) for t in tables)} RESTART IDENTITY CASCADE"))
        return
    # Children first, so no cascade or foreign-key check has anything left to do.
    for table in reversed(tables):
        conn.execute(table.delete())


def is_empty(bind: Session | Connection) -> bool:
    """True when the database holds no people and no cohorts: the app's cue to seed the demo."""
    return not bind.execute(select(or_(exists(select(User.id)), exists(select(Cohort.id))))).scalar()


def seed(target: str | Engine | Connection, *, students: int = 200, projects: int = 60, staff: int = 25,
         cohorts: int = 1, seed: int = 42, progress: Progress | None = None, reset: bool = False,
         now: datetime | None = None) -> SeedSummary:
    """Add a demo deployment to a migrated database and say what was added.

    `target` is a URL or an Engine (one transaction, committed) or a Connection (the caller's
    transaction, e.g. a test's that is rolled back). `students`, `staff` and `projects` are per cohort,
    the demo accounts included; staff may serve several cohorts. With `reset`, every row goes first, in
    the same transaction. Raises CohortExists when a cohort of the same name is already there. `now` is
    the clock the cohort dates follow.
    """
    for label, value in (("students", students), ("projects", projects), ("staff", staff), ("cohorts", cohorts)):
        if value < 1:
            raise ValueError(f"{label} must be at least 1, not {value}")
    options = dict(students=students, projects=projects, staff=staff, cohorts=cohorts, seed=seed,
                   progress=progress, reset=reset, now=now or utcnow())
    started = time.perf_counter()
    if isinstance(target, Connection):
        summary = _seed(target, **options)
    else:
        engine, owned = _engine_for(target)
        try:
            with engine.begin() as conn:
                summary = _seed(conn, **options)
        finally:
            if owned:
                engine.dispose()
    return dataclasses.replace(summary, seconds=time.perf_counter() - started)


def _seed(conn: Connection, *, students: int, projects: int, staff: int, cohorts: int, seed: int,
          progress: Progress | None, reset: bool, now: datetime) -> SeedSummary:
    if reset:
        _reset(conn)
    names = cohort_names(cohorts)
    clash = conn.execute(select(Cohort.name).where(Cohort.name.in_(names)).order_by(Cohort.name)).scalars().all()
    if clash:
        raise CohortExists(clash)
    existing = dict(conn.execute(select(User.email, User.id)).all())
    users, plans = _plan(students=students, projects=projects, staff=staff, cohorts=cohorts, seed=seed,
                         now=now, taken_emails=existing)
    # Demo accounts left by an earlier seed or made by hand are reused: one sign-in per address.
    new_users = [u for u in users if u["email"] not in existing]
    total = (len(new_users) + len(plans)
             + sum(len(p.staff) + len(p.students) + len(p.projects) for p in plans)
             + sum(len(ranks) for p in plans for ranks in p.rankings.values()))
    writer = _Writer(conn, total, progress)
    user_ids = dict(existing)
    user_ids.update(zip((u["email"] for u in new_users), writer.insert(User, new_users, "users", ids=True)))
    cohort_ids = writer.insert(Cohort, [p.row for p in plans], "cohorts", ids=True)

    memberships = []
    for plan, cohort_id in zip(plans, cohort_ids):
        memberships += [dict(cohort_id=cohort_id, user_id=user_ids[e], role="staff", max_load=None,
                             preferences_saved_at=None, created_at=now) for e in plan.staff]
        memberships += [dict(cohort_id=cohort_id, user_id=user_ids[e], role="student", max_load=None,
                             preferences_saved_at=plan.saved_at.get(e), created_at=now) for e in plan.students]
    writer.insert(Membership, memberships, "memberships")

    project_rows = []
    for plan, cohort_id in zip(plans, cohort_ids):
        for p in plan.projects:
            row = {k: v for k, v in p.items() if k != "supervisor"}
            project_rows.append(dict(row, cohort_id=cohort_id, supervisor_id=user_ids[p["supervisor"]]))
    project_ids = writer.insert(Project, project_rows, "projects", ids=True)

    preferences, offset = [], 0
    for plan, cohort_id in zip(plans, cohort_ids):
        ids = project_ids[offset:offset + len(plan.projects)]
        offset += len(plan.projects)
        for email in plan.students:
            for rank, index in enumerate(plan.rankings.get(email, ()), start=1):
                preferences.append(dict(cohort_id=cohort_id, student_id=user_ids[email], project_id=ids[index],
                                        rank=rank))
    writer.insert(Preference, preferences, "preferences")

    return SeedSummary(
        cohorts=tuple(names),
        users=len(new_users),
        students=sum(len(p.students) for p in plans),
        staff=len({e for p in plans for e in p.staff}),
        admins=sum(1 for u in users if u["is_admin"]),
        projects=len(project_rows),
        proposed=sum(1 for p in project_rows if p["status"] == "proposed"),
        preferences=len(preferences),
        submitted=sum(len(p.rankings) for p in plans),
    )
