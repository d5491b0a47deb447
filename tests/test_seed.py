"""The demo seeder: sizes, determinism, popularity skew, and the CLI's refusals."""
from __future__ import annotations

import statistics
import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from allocator import migrate, seeding
from allocator.config import ROOT
from allocator.models import (Base, Cohort, GroupChoice, GroupMember, Membership, Preference, Project, StudentGroup,
                              User, UTCDateTime, utcnow)
from allocator.services.phases import phase_of
from tests.conftest import BACKENDS


def _fresh_sqlite(tmp_path, name: str) -> str:
    url = f"sqlite:///{tmp_path / name}"
    migrate.upgrade(url)
    return url


def _content(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in id order, without the columns that follow the clock."""
    engine = create_engine(url)
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if not isinstance(c.type, UTCDateTime)]
            out[table.name] = [tuple(r) for r in conn.execute(select(*columns).order_by(*table.primary_key.columns))]
    engine.dispose()
    return out


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "seed.py"), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("fresh_database", BACKENDS, indirect=True)
def test_default_deployment(fresh_database):
    summary = seeding.seed(fresh_database)
    engine = create_engine(fresh_database)
    with Session(engine) as s:
        roles = Counter(s.execute(select(Membership.role)).scalars())
        assert roles == {"student": 200, "staff": 25}
        assert summary.students == 200 and summary.staff == 25 and summary.admins == 1 and summary.projects == 60
        assert s.scalars(select(User.email).where(User.is_admin)).all() == [seeding.DEMO_ADMIN]

        # The demo accounts come first, in the order a sign-in screen lists them.
        first = s.execute(select(User.email, User.name).order_by(User.id).limit(3)).all()
        assert first == [(a.email, a.name) for a in seeding.DEMO_ACCOUNTS]
        emails = s.scalars(select(User.email)).all()
        assert len(emails) == len(set(emails)) and all(e == e.lower() and "@" in e for e in emails)

        projects = s.scalars(select(Project)).all()
        assert len(projects) == 60
        assert {p.capacity for p in projects} <= set(range(1, 7)) and len({p.capacity for p in projects}) >= 3
        groups = [p for p in projects if p.min_students == 2]
        assert 5 <= len(groups) <= 12 and all(p.min_students <= p.capacity for p in projects)
        assert all(1 <= len(p.tags) <= 3 and set(p.tags) <= set(seeding.TAGS) for p in projects)
        assert all(p.description.startswith("### ") and "\n- " in p.description for p in projects)
        assert 1 <= sum(p.status == "proposed" for p in projects) <= 6
        assert all(p.status in ("approved", "proposed") for p in projects)
        staff_ids = set(s.scalars(select(Membership.user_id).where(Membership.role == "staff")))
        assert {p.supervisor_id for p in projects} <= staff_ids

        lengths = dict(s.execute(select(Preference.student_id, func.count()).group_by(Preference.student_id)).all())
        assert set(lengths.values()) <= set(range(5, 9)) and len(set(lengths.values())) == 4
        assert 200 - len(lengths) == pytest.approx(20, abs=6)
        ranked = s.scalars(select(Project.status).join(Preference, Preference.project_id == Project.id)).all()
        assert set(ranked) == {"approved"}
        saved = {m.user_id: m.preferences_saved_at for m in s.scalars(select(Membership).where(Membership.role == "student"))}
        assert {u for u, at in saved.items() if at is not None} == set(lengths)

        cohort = s.scalars(select(Cohort)).one()
        assert cohort.name == "MEng individual projects 2026/27" and (cohort.min_choices, cohort.max_choices) == (3, 8)
        assert phase_of(cohort) == "preferences"
        assert cohort.preferences_close_at - utcnow() > timedelta(days=6)

        by_email = dict(s.execute(select(User.email, User.id)).all())
        student, supervisor = by_email[seeding.DEMO_STUDENT], by_email[seeding.DEMO_STAFF]
        assert student in lengths
        own = [p for p in projects if p.supervisor_id == supervisor]
        assert {p.status for p in own} == {"approved", "proposed"}
        demand = s.scalar(select(func.count()).select_from(Preference)
                          .where(Preference.project_id.in_([p.id for p in own])))
        assert demand > 0
        assert not seeding.is_empty(s)
    engine.dispose()


def test_options_scale_per_cohort_and_share_staff(fresh_database):
    summary = seeding.seed(fresh_database, students=30, projects=12, staff=6, cohorts=3, seed=7)
    engine = create_engine(fresh_database)
    with Session(engine) as s:
        cohorts = s.scalars(select(Cohort).order_by(Cohort.id)).all()
        assert [c.name for c in cohorts] == ["MEng individual projects 2026/27", "MSc group projects 2026/27",
                                             "BSc final-year projects 2026/27"]
        assert [phase_of(c) for c in cohorts] == ["preferences", "closed", "closed"]
        for c in cohorts:
            roles = Counter(s.scalars(select(Membership.role).where(Membership.cohort_id == c.id)))
            assert roles == {"student": 30, "staff": 6}
            assert s.scalar(select(func.count()).select_from(Project).where(Project.cohort_id == c.id)) == 12
            # Preferences stay inside their cohort (the database also insists).
            assert s.scalar(select(func.count()).select_from(Preference).join(Project, Preference.project_id == Project.id)
                            .where(Preference.cohort_id == c.id, Project.cohort_id != c.id)) == 0
        students = s.scalars(select(Membership.user_id).where(Membership.role == "student")).all()
        assert len(students) == len(set(students)) == 90
        staff = set(s.scalars(select(Membership.user_id).where(Membership.role == "staff")))
        assert 6 < len(staff) < 18 and summary.staff == len(staff)
        assert s.scalar(select(func.count()).select_from(User).where(User.is_admin)) == 1
    engine.dispose()


def test_same_seed_same_data_other_seed_other_data(tmp_path):
    one, two, other = (_fresh_sqlite(tmp_path, f"{n}.db") for n in ("one", "two", "other"))
    options = dict(students=60, projects=15, staff=8, cohorts=2)
    seeding.seed(one, seed=3, **options)
    seeding.seed(two, seed=3, now=utcnow() - timedelta(hours=5), **options)
    seeding.seed(other, seed=4, **options)
    a, b, c = _content(one), _content(two), _content(other)
    assert a["preferences"] and a == b
    assert a["users"] != c["users"] and a["projects"] != c["projects"] and a["preferences"] != c["preferences"]


def test_reset_empties_and_a_reseed_repeats_the_ids(fresh_database):
    engine = create_engine(fresh_database)
    with engine.connect() as conn:
        assert seeding.is_empty(conn)
    seeding.seed(fresh_database, students=20, projects=6, staff=3)
    before = _content(fresh_database)
    with pytest.raises(seeding.CohortExists):
        seeding.seed(fresh_database, students=20, projects=6, staff=3)
    seeding.reset(fresh_database)
    with engine.connect() as conn:
        assert seeding.is_empty(conn)
        assert all(not rows for rows in _content(fresh_database).values())
    seeding.seed(fresh_database, students=20, projects=6, staff=3, reset=True)
    assert _content(fresh_database) == before
    engine.dispose()


def test_existing_demo_account_is_reused(session):
    # Into the test's rolled-back transaction: the Connection form of the target.
    session.add(User(email=seeding.DEMO_STAFF, name="Already here"))
    session.flush()
    summary = seeding.seed(session.connection(), students=10, projects=5, staff=3)
    assert summary.users == 10 + 2 + 1  # students (the demo one included), new staff, admin
    staff = session.scalars(select(User).where(User.email == seeding.DEMO_STAFF)).one()
    assert staff.name == "Already here"
    assert session.scalar(select(func.count()).select_from(Project).where(Project.supervisor_id == staff.id)) >= 1


def test_popularity_is_zipf_skewed(fresh_database):
    seeding.seed(fresh_database, students=300, projects=40, staff=10, seed=11)
    engine = create_engine(fresh_database)
    with engine.connect() as conn:
        approved = conn.scalars(select(Project.id).where(Project.status == "approved")).all()
        firsts = Counter(conn.scalars(select(Preference.project_id).where(Preference.rank == 1)))
    engine.dispose()
    counts = sorted((firsts.get(p, 0) for p in approved), reverse=True)
    assert counts[0] >= 5 * max(1, statistics.median(counts))
    assert counts[0] >= 0.15 * sum(counts)


def test_progress_reaches_the_total(fresh_database):
    calls = []
    summary = seeding.seed(fresh_database, students=50, projects=10, staff=4, progress=lambda *a: calls.append(a))
    done = [d for d, _, _ in calls]
    assert done == sorted(done) and done[-1] == calls[-1][1]
    assert {stage for _, _, stage in calls} == {"users", "cohorts", "memberships", "projects", "preferences"}
    assert calls[-1][1] == summary.users + 1 + 50 + 4 + 10 + summary.preferences


def test_cli_refuses_to_wipe_postgresql_without_yes():
    # Port 1 refuses connections: a connect attempt would give exit 1 and a different message.
    done = _cli("--database-url", "postgresql+psycopg2://nobody@127.0.0.1:1/none", "--reset")
    assert done.returncode == 2
    assert "refusing to wipe" in done.stderr and "--yes" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_cli_end_to_end_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"  # not migrated: the CLI brings it to head
    args = ("--students", "40", "--projects", "10", "--staff", "5", "--database-url", url)
    done = _cli(*args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Seeded 1 cohort") and "40 students" in done.stdout and " s (" in done.stdout

    again = _cli(*args)
    assert again.returncode == 1
    assert "already exists" in again.stderr and "--reset" in again.stderr and "Traceback" not in again.stderr

    # SQLite is a local file: wiping it needs no --yes.
    assert _cli(*args, "--reset", "--seed", "5").returncode == 0
    assert _cli("--students", "0", "--database-url", url).returncode == 2
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Membership).where(Membership.role == "student")) == 40
    engine.dispose()


def test_a_group_project_cohort_has_groups_that_share_one_list(fresh_database):
    summary = seeding.seed(fresh_database, students=120, projects=30, staff=8, cohorts=2, seed=5)
    engine = create_engine(fresh_database)
    with Session(engine) as s:
        first, second = s.scalars(select(Cohort).order_by(Cohort.id)).all()
        assert (first.groups_allowed, second.groups_allowed) == (False, True)
        groups = s.scalars(select(StudentGroup).order_by(StudentGroup.id)).all()
        assert summary.groups == len(groups) > 0 and {g.cohort_id for g in groups} == {second.id}
        submitted = s.scalar(select(func.count(func.distinct(Preference.student_id)))
                             .where(Preference.cohort_id == second.id))
        members = s.execute(select(GroupMember.group_id, GroupMember.user_id)).all()
        assert 0.2 * submitted <= len(members) <= 0.3 * submitted
        demo = s.scalar(select(User.id).where(User.email == seeding.DEMO_STUDENT))
        assert demo not in {u for _, u in members}
        for g in groups:
            ids = [u for gid, u in members if gid == g.id]
            assert second.group_min_size <= len(ids) <= second.group_max_size and g.created_by_id in ids
            shared = s.scalars(select(GroupChoice.project_id).where(GroupChoice.group_id == g.id)
                               .order_by(GroupChoice.rank)).all()
            for u in ids:  # the list the engine reads is each member's own, and it is the group's
                assert s.scalars(select(Preference.project_id).where(Preference.student_id == u,
                                 Preference.cohort_id == second.id).order_by(Preference.rank)).all() == shared
    engine.dispose()
