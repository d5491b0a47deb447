"""Hypothesis against what reads files from outside (issue 8): the CSV importers (io readers, then the
services' preview and apply on a rolled-back session) and the engine's problem reader and CLI.

The documented errors are the only ones allowed out: `io.BadFile` from a reader, `services.Invalid` from
an import service, `engine.MalformedProblem` / `engine.MalformedResult` from the engine's reader, exit
code 1 with one line on stderr from the CLI. Nothing is ever half-written: an import with rejected rows
writes nothing, an applied import previews as already done, a failed CLI solve leaves no --out file.
Examples are few (the suite's budget is small); failures Hypothesis finds are kept in .hypothesis.
"""
from __future__ import annotations

import csv
import io as _io
import json
import os
import subprocess
import sys
import tempfile
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from allocator import db, engine, io, services
from allocator.__main__ import main as cli
from allocator.models import AuditEvent, Membership, Preference, Project, User
from tests import factories as f

ROOT = Path(__file__).resolve().parents[2]
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(max_examples=25, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# ------------------------------------------------------------------------------------------ CSV-ish files

EMAILS = ["ann@uni.example", "bob@uni.example", "sup@uni.example", "coord@uni.example", "new@uni.example",
          "ANN@UNI.EXAMPLE", "not-an-email", "=1+1@uni.example", ""]
HOSTILE = ['=HYPERLINK("http://evil","x")', "'=1+1", "+cmd", "@SUM(1)", '"', '""', "a,b", "a;b", "line\nbreak",
           "tab\tbed", "\u202e", "é", "🎓" * 3, "x" * 400, "<script>alert(1)</script>"]
NUMBERS = ["0", "1", "2", "3.0", "2.5", "-1", "1e9", "10001", "1,000", "NaN", "inf", " 3 ", ""]
PROJECT_REFS = ["K1", "k1", "Kites", "kites ", "Boats", "Withdrawn", "P1", "unknown", ""]
# Per importer: each column's spellings (the first is canonical) and its cells, plain and hostile.
COLUMNS = {
    "people": {
        "email": (["email", "E-mail", "UPN"], EMAILS),
        "name": (["name", "Full Name"], ["Ann", "Ann Other", "", *HOSTILE]),
        "role": (["role"], ["student", "staff", "Supervisor", "wizard", ""]),
        "max_load": (["max_load", "Max Load"], NUMBERS),
    },
    "projects": {
        "title": (["title", "Project Title"], ["Kites", "Boats", "New", "new ", "Withdrawn", "", *HOSTILE]),
        "capacity": (["capacity", "Places"], NUMBERS),
        "code": (["code"], ["K1", "k1", "N1", "", "x" * 41, "=C1"]),
        "description": (["description"], ["", "About", *HOSTILE]),
        "min_students": (["min_students", "minimum"], NUMBERS),
        "supervisor_email": (["supervisor_email", "Supervisor"], EMAILS),
        "tags": (["tags"], ["", "a; b", "a, A", "x" * 60, ";".join(f"t{i}" for i in range(25))]),
        "status": (["status"], ["approved", "proposed", "withdrawn", "rejected", "Approved", "wizard", ""]),
    },
    "preferences": {
        "student_email": (["student_email", "Student", "email"], EMAILS),
        "project": (["project", "code"], PROJECT_REFS),
        "project_title": (["project_title"], PROJECT_REFS),
        "rank": (["rank", "Choice"], ["1", "2", "3", "1", "0", "-1", "2.5", "x", ""]),
        "choice_1": (["choice_1", "Choice 1"], PROJECT_REFS),
        "choice_2": (["choice_2", "pref_2"], PROJECT_REFS),
        "choice_3": (["choice_3"], PROJECT_REFS),
    },
}
REQUIRED = {"people": ["email"], "projects": ["title", "capacity"], "preferences": ["student_email"]}
USUAL = {"people": [["name", "role"], ["name"]], "projects": [["code", "supervisor_email"], ["status"]],
         "preferences": [["project", "rank"], ["project_title", "rank"], ["choice_1", "choice_2", "choice_3"]]}


@st.composite
def csv_files(draw, kind: str) -> bytes:
    """A file for one importer: its required columns (usually) and some optional ones, in any order and
    spelling, rows of plausible and hostile cells, written with a random delimiter, line ending, quoting
    and encoding; now and then a ragged row, an unknown column or a break in the quoting."""
    spec = COLUMNS[kind]
    optional = [c for c in spec if c not in REQUIRED[kind]]
    names = REQUIRED[kind] + draw(st.lists(st.sampled_from(optional), unique=True, max_size=len(optional)))
    if draw(st.integers(0, 4)):
        names += [c for c in draw(st.sampled_from(USUAL[kind])) if c not in names]
    if draw(st.integers(0, 9)) == 0:
        names.remove(draw(st.sampled_from(names)))
    names = draw(st.permutations(names))
    header = [draw(st.sampled_from(spec[c][0])) for c in names]
    cells = [st.one_of(st.sampled_from(spec[c][1]), st.text(max_size=6)) if draw(st.integers(0, 9)) == 0
             else st.sampled_from(spec[c][1]) for c in names]
    if draw(st.integers(0, 5)) == 0:
        header.append("Notes")
        cells.append(st.sampled_from(HOSTILE))
    rows = draw(st.lists(st.tuples(*cells).map(list), max_size=8))
    for row in rows:
        if draw(st.integers(0, 14)) == 0:
            row.extend(draw(st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=2)))
    delimiter = draw(st.sampled_from([",", ",", ";", "\t"]))
    out = _io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=draw(st.sampled_from(["\n", "\r\n", "\r"])),
                        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])))
    writer.writerow(header)
    writer.writerows(rows)
    text = out.getvalue()
    if draw(st.integers(0, 9)) == 0:
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(['"', '"\n', "\n\n", '","', "\x00"])) + text[at:]
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    return text.encode(encoding, errors="replace")


def file_bytes(kind: str):
    return st.one_of(csv_files(kind), csv_files(kind), csv_files(kind), st.binary(max_size=600),
                     st.text(max_size=300).map(str.encode))


READERS = {"people": io.read_people, "projects": io.read_projects, "preferences": io.read_preferences}


def read(reader, data: bytes):
    try:
        parsed = reader(data)
    except io.BadFile as err:
        assert str(err).strip()
        return None
    assert isinstance(parsed, io.Parsed)
    lines = [row.line for row in parsed.rows] + [e.line for e in parsed.errors]
    assert all(type(n) is int and n >= 2 for n in lines), lines  # the header is line 1
    return parsed


@pytest.mark.parametrize("kind", READERS)
@FEW
@given(data=st.data())
def test_a_reader_returns_rows_or_says_badfile(kind, data):
    read(READERS[kind], data.draw(st.one_of(file_bytes("people"), file_bytes("projects"),
                                            file_bytes("preferences"))))


# ------------------------------------------------------------------------------------------ import services


def counts(session) -> dict[str, int]:
    return {m.__name__: session.scalar(select(func.count()).select_from(m))
            for m in (User, Membership, Project, Preference, AuditEvent)}


@contextmanager
def rolled_back(url: str):
    """A session whose every write is thrown away, one per example (the suite's `session` fixture is per
    test, and Hypothesis runs many examples in one test)."""
    with db.engine(url).connect() as connection:
        transaction = connection.begin()
        with Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
            yield s
        transaction.rollback()


def cohort(session):
    admin = f.actor(f.admin(session, email="coord@uni.example", name="Casey"))
    c = f.cohort(session, phase="preferences", min_choices=0, max_choices=3)
    f.student(session, c, person=f.user(session, email="ann@uni.example", name="Ann"))
    f.student(session, c, person=f.user(session, email="bob@uni.example", name="Bob"))
    sup = f.staff(session, c, person=f.user(session, email="sup@uni.example", name="Sup"))
    f.project(session, c, sup, title="Kites", code="K1")
    f.project(session, c, sup, title="Boats")
    f.project(session, c, sup, title="Withdrawn", status="withdrawn")
    return admin, c.id


IMPORTS = {
    "people": (services.preview_people_import, services.apply_people_import, {"default_role": "student"}),
    "projects": (services.preview_projects_import, services.apply_projects_import, {}),
    "preferences": (services.preview_preferences_import, services.apply_preferences_import, {}),
}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("what", IMPORTS)
@FEWER
@given(data=st.data(), valid_rows_only=st.booleans())
def test_an_import_refuses_whole_or_applies_whole(database_url, what, data, valid_rows_only):
    data = data.draw(file_bytes(what), label="file")
    preview_fn, apply_fn, options = IMPORTS[what]
    with rolled_back(database_url) as session:
        admin, cid = cohort(session)
        kw = dict(actor=admin, cohort_id=cid, data=data, **options)
        before = counts(session)
        try:
            preview = preview_fn(session, **kw)
        except services.Invalid:
            preview = None
        assert counts(session) == before  # a preview writes nothing
        try:
            result = apply_fn(session, valid_rows_only=valid_rows_only, **kw)
        except services.Invalid as err:
            event("refused: the file" if preview is None else "refused: rejected rows")
            assert str(err).strip()
            assert counts(session) == before  # refused: nothing written, not even half a file
            assert preview is None or (preview.rejected and not valid_rows_only)
            return
        event(f"applied: {'some' if result.added + result.changed else 'no'} rows written")
        assert preview is not None and (preview.ok or valid_rows_only)
        assert (result.added, result.changed) == (len(preview.added), len(preview.changed))
        again = preview_fn(session, **kw)
        assert (again.added, again.changed) == ((), ()), f"applied, yet the file would still change: {again}"


# ------------------------------------------------------------------------------------------ the engine


JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 2**70) | st.floats() | st.text(max_size=4),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                 max_size=3), max_leaves=12)
IDS = st.one_of(st.sampled_from(["S1", "S2", "P1", "P2", "L1", ""]), JSON)
COUNT = st.one_of(st.integers(-2, 5), st.sampled_from([True, 1.0, "2", None, 2**64, [], 10**400 // 10**395]))


@st.composite
def problems(draw) -> dict:
    """Problem-shaped JSON whose every field may be wrong in type, reference or value."""
    def maybe(key: str, strategy, into: dict) -> None:
        if draw(st.booleans()):
            into[key] = draw(strategy)

    student = st.fixed_dictionaries({"id": IDS}, optional={"preferences": st.one_of(st.lists(IDS, max_size=4), JSON),
                                                           "extra": JSON})
    project = st.fixed_dictionaries({"id": IDS, "capacity": COUNT},
                                    optional={"min_students": COUNT, "supervisor": IDS})
    pair = st.fixed_dictionaries({"student": IDS, "project": IDS})
    data: dict = {"students": draw(st.one_of(st.lists(student, max_size=4), JSON)),
                  "projects": draw(st.one_of(st.lists(project, max_size=4), JSON))}
    maybe("supervisors", st.lists(st.fixed_dictionaries({"id": IDS, "capacity": COUNT}), max_size=2), data)
    maybe("pinned", st.lists(pair, max_size=2), data)
    maybe("forbidden", st.lists(pair, max_size=2), data)
    maybe("allow_unranked", st.one_of(st.booleans(), JSON), data)
    maybe("meta", JSON, data)
    maybe(draw(st.sampled_from(["student", "Projects", "weights", "x"])), JSON, data)
    if draw(st.integers(0, 9)) == 0:
        data.pop(draw(st.sampled_from(["students", "projects"])))
    return data


@FEW
@given(data=problems())
def test_the_engine_reads_a_problem_or_says_malformed(data):
    try:
        problem = engine.parse_problem(data)
    except engine.MalformedProblem as err:
        assert str(err).strip() and "\n" not in str(err)
        return
    assert isinstance(problem, engine.Problem)
    # What it accepts, it writes back and reads again the same.
    assert engine.loads_problem(engine.dumps_problem(problem)) == problem


@FEW
@given(text=st.one_of(problems().map(lambda d: json.dumps(d, allow_nan=True)), st.binary(max_size=200),
                      st.text(max_size=100)))
def test_the_engine_reads_any_bytes_or_text_or_says_malformed(text):
    try:
        engine.loads_problem(text)
    except engine.MalformedProblem as err:
        assert "\n" not in str(err)


SMALL = {"students": [{"id": "S1", "preferences": ["P1", "P2"]}, {"id": "S2", "preferences": ["P2"]}],
         "projects": [{"id": "P1", "capacity": 1}, {"id": "P2", "capacity": 1}]}


@FEW
@given(data=st.one_of(JSON, st.fixed_dictionaries(
    {"status": st.one_of(st.sampled_from(engine.STATUSES), JSON),
     "objective": st.one_of(st.sampled_from(engine.OBJECTIVES), JSON),
     "assignment": st.one_of(st.dictionaries(IDS.filter(lambda v: isinstance(v, str)), IDS, max_size=3), JSON),
     "unassigned": st.one_of(st.lists(IDS, max_size=3), JSON),
     "profile": st.one_of(st.lists(COUNT, max_size=4), JSON), "cost": COUNT,
     "seconds": st.one_of(st.floats(), JSON), "solver": JSON})))
def test_the_engine_reads_a_result_or_says_malformed(data):
    try:
        engine.parse_result(data, engine.parse_problem(SMALL))
    except engine.MalformedResult as err:
        assert "\n" not in str(err)


# ------------------------------------------------------------------------------------------ the CLI


def solve(args: list[str]) -> tuple[int, str, str]:
    out, err = _io.StringIO(), _io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli(["solve", *args])
    return code, out.getvalue(), err.getvalue()


@FEW
@given(data=problems())
def test_the_cli_fails_in_one_line_and_leaves_no_file(data):
    with tempfile.TemporaryDirectory() as tmp:
        problem, result = Path(tmp, "problem.json"), Path(tmp, "result.json")
        problem.write_text(json.dumps(data))
        code, out, err = solve([str(problem), "--out", str(result), "--time-limit", "5"])
        left = sorted(p.name for p in Path(tmp).iterdir())
        if code == 1:
            assert err.startswith("error: ") and err.count("\n") == 1 and out == ""
            assert left == ["problem.json"]
        else:  # the fuzz happened on a well-formed problem: a whole result file, nothing else
            assert code in (0, 2, 3), (code, err)
            assert left == ["problem.json", "result.json"]
            engine.loads_result(result.read_text(), engine.parse_problem(data))


FUZZED = {
    "not json": b"{\"students\": [",
    "deep": b"[" * 100_000,
    "bad capacity": json.dumps({**SMALL, "projects": [{"id": "P1", "capacity": "lots"}]}).encode(),
    "binary": bytes(range(256)) * 4,
}


@pytest.mark.parametrize("name", FUZZED)
def test_the_cli_as_a_process_prints_one_line_and_keeps_an_old_result(name, tmp_path):
    problem, result = tmp_path / "problem.json", tmp_path / "result.json"
    problem.write_bytes(FUZZED[name])
    result.write_text("an older result\n")
    done = subprocess.run([sys.executable, "-m", "allocator", "solve", str(problem), "--out", str(result)],
                          check=False, cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert result.read_text() == "an older result\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["problem.json", "result.json"]
