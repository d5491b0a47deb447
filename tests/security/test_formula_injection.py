"""CSV formula injection: names, titles, codes and tags that a spreadsheet would run as formulas come
in through the importers and go out neutralised (a leading apostrophe) in every CSV and Excel export,
and the exports still import back unchanged (issue 8)."""
from __future__ import annotations

import csv
import io as _io

import openpyxl
import pytest

from allocator import services
from tests import factories as f

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HYPERLINK = '=HYPERLINK("http://evil.example","click")'
HOSTILE = (HYPERLINK, "+cmd|' /C calc'!A0", "-2+3", "@SUM(1+1)*cmd|' /C calc'!A0", "=1+1")


def csv_file(rows: list[list[str]]) -> bytes:
    out = _io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


PEOPLE = csv_file([
    ["email", "name", "role"],
    ["s1@uni.example", HYPERLINK, "student"],
    ["s2@uni.example", HOSTILE[1], "student"],
    ["s3@uni.example", "-2+3", "student"],
    ["s4@uni.example", HOSTILE[3], "student"],
    ["=1+1@uni.example", "Eq Email", "student"],  # a valid address that starts with "="
    ["sup@uni.example", "=1+1", "staff"],
])
PROJECTS = csv_file([
    ["code", "title", "description", "capacity", "supervisor_email", "tags"],
    ["=C1", HYPERLINK, HOSTILE[3], "2", "sup@uni.example", "+tag; plain"],
    ["C2", HOSTILE[1], "-2+3", "2", "sup@uni.example", ""],
    ["C3", "-2+3", "fine", "2", "sup@uni.example", "-x"],
    ["C4", HOSTILE[3], "=1+1", "2", "sup@uni.example", ""],
])
PREFERENCES = csv_file([
    ["student_email", "project", "rank"],
    *[[f"s{i}@uni.example", code, str(rank)] for i in range(1, 5)
      for rank, code in enumerate(["=C1", "C2", "C3", "C4"][i - 1:] + ["=C1", "C2", "C3", "C4"][:i - 1], 1)],
    ["=1+1@uni.example", "C4", "1"],
])


@pytest.fixture
def imported(session):
    """A cohort whose people, projects and preferences all came in through the CSV importers, and a run."""
    admin = f.actor(f.admin(session, email="coord@uni.example", name="Casey Coordinator"))
    c = f.cohort(session, phase="preferences", min_choices=1, max_choices=4)
    kw = dict(actor=admin, cohort_id=c.id)
    assert services.apply_people_import(session, data=PEOPLE, **kw).added == 6
    assert services.apply_projects_import(session, data=PROJECTS, **kw).added == 4
    assert services.apply_preferences_import(session, data=PREFERENCES, **kw).added == 5
    params = services.default_parameters(session, **kw)
    run = services.run_allocation(session, params=params, label="=run label", **kw)
    return session, admin, c.id, run.id


def csv_cells(data: bytes) -> list[str]:
    return [cell for row in csv.reader(_io.StringIO(data.decode("utf-8-sig"))) for cell in row]


def xlsx_cells(data: bytes) -> list:
    book = openpyxl.load_workbook(_io.BytesIO(data))
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    formulas = [c.coordinate for c in cells if c.data_type == "f"]
    assert formulas == [], f"formula cells: {formulas}"
    return [c.value for c in cells if isinstance(c.value, str)]


def exports(session, admin, cohort_id: int, run_id: int) -> dict[str, list[str]]:
    """Every text cell of every CSV and Excel download the coordinator can make, by file."""
    kw = dict(actor=admin, cohort_id=cohort_id)
    out = {}
    for name, export in (("people", services.export_people), ("projects", services.export_projects),
                         ("preferences", services.export_preferences)):
        out[f"{name}.csv"] = csv_cells(export(session, fmt="csv", **kw))
        out[f"{name}.xlsx"] = xlsx_cells(export(session, fmt="xlsx", **kw))
    run = services.export_run(session, actor=admin, run_id=run_id)
    out["run-students.csv"] = csv_cells(run.students_csv)
    out["run-projects.csv"] = csv_cells(run.roster_csv)
    out["run.xlsx"] = xlsx_cells(run.xlsx)
    return out


def test_no_exported_cell_starts_like_a_formula(imported):
    files = exports(*imported)
    live = {name: [c for c in cells if c.startswith(FORMULA_STARTS)] for name, cells in files.items()}
    assert live == {name: [] for name in files}


@pytest.mark.parametrize("value", HOSTILE)
def test_each_hostile_value_goes_out_with_an_apostrophe_in_both_formats(imported, value):
    files = exports(*imported)
    for kind in ("csv", "xlsx"):
        cells = [c for name, cells in files.items() if name.endswith(kind) for c in cells]
        assert "'" + value in cells, f"{value!r} is not in the {kind} exports as '{value}"


def test_the_roster_and_the_addresses_are_neutralised_too(imported):
    files = exports(*imported)
    assert "'=1+1@uni.example" in files["people.csv"]  # an email column
    assert "'=C1" in files["projects.csv"]  # a code column
    assert "'+tag; plain" in files["projects.csv"]  # tags
    roster = [c for c in files["run-projects.csv"] if "uni.example>" in c]
    assert roster and all(not c.startswith(FORMULA_STARTS) for c in roster)


def test_the_neutralised_exports_import_back_unchanged(imported):
    session, admin, cohort_id, _ = imported
    kw = dict(actor=admin, cohort_id=cohort_id)
    people = services.preview_people_import(session, data=services.export_people(session, fmt="csv", **kw), **kw)
    projects = services.preview_projects_import(session, data=services.export_projects(session, fmt="csv", **kw), **kw)
    prefs = services.preview_preferences_import(session, data=services.export_preferences(session, fmt="csv", **kw),
                                                **kw)
    for preview in (people, projects, prefs):
        assert (preview.added, preview.changed, preview.rejected) == ((), (), ()), preview.summary
    assert {i.description.split(" · ")[0] for i in people.unchanged} >= set(HOSTILE[:4])
