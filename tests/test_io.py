"""allocator.io: reading people, projects and preferences files, and writing safe CSV / Excel."""
from __future__ import annotations

import io as std_io

import openpyxl
import pytest

from allocator import domain, io


def csv(text: str, *, bom: bool = False, crlf: bool = False, encoding: str = "utf-8") -> bytes:
    if crlf:
        text = text.replace("\n", "\r\n")
    data = text.encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def errors(parsed: io.Parsed) -> dict[int, str]:
    return {e.line: e.message for e in parsed.errors}


# ---------------------------------------------------------------------------------------------- people


def test_people_clean_file():
    parsed = io.read_people(csv("email,name,role\nada@uni.example,Ada Lovelace,student\n"
                                "alan@uni.example,Alan Turing,staff\n"))
    assert not parsed.errors
    assert [(r.line, r.email, r.name, r.role) for r in parsed.rows] == [
        (2, "ada@uni.example", "Ada Lovelace", "student"), (3, "alan@uni.example", "Alan Turing", "staff")]


def test_people_bom_crlf_unicode_and_loose_headers():
    text = (" E-Mail ; Full Name ;ROLE\n"
            "Zoe.Angstrom@Uni.Example;Zoë Ångström-Łukasiewicz;Student\n"
            "\n"
            "li@uni.example;李小龙;Supervisor\n")
    parsed = io.read_people(csv(text, bom=True, crlf=True))
    assert not parsed.errors
    assert [(r.line, r.email, r.name, r.role) for r in parsed.rows] == [
        (2, "zoe.angstrom@uni.example", "Zoë Ångström-Łukasiewicz", "student"),
        (4, "li@uni.example", "李小龙", "staff"),
    ]


def test_people_every_kind_of_bad_row_is_reported_with_its_line():
    text = ("email,name,role\n"
            "ada@uni.example,Ada,student\n"      # 2 fine
            "not-an-email,Bob,student\n"         # 3 bad email
            "ada@uni.example,Ada again,staff\n"  # 4 duplicate of 2
            "carl@uni.example,Carl,professor\n"  # 5 unknown role
            ",Nobody,student\n"                  # 6 missing email
            "dan@uni.example,Dan,\n"             # 7 missing role
            "eve@uni.example,Eve,student,oops\n"  # 8 too many cells
            "zoë@uni.example,Zoë,student\n")     # 9 non-ASCII address
    parsed = io.read_people(csv(text))
    assert [r.email for r in parsed.rows] == ["ada@uni.example"]
    found = errors(parsed)
    assert "bad email" in found[3]
    assert "duplicate" in found[4] and "line 2" in found[4]
    assert "unknown role" in found[5] and "professor" in found[5]
    assert "missing email" in found[6]
    assert "missing role" in found[7]
    assert "4 cells" in found[8]
    assert "bad email" in found[9]
    assert str(parsed.errors[0]).startswith("Line 3: ")


def test_people_default_role_and_max_load():
    parsed = io.read_people(csv("Email,Name,Max load\na@uni.example,A,3\nb@uni.example,B,\nc@uni.example,C,x\n"),
                            default_role="staff")
    assert [(r.email, r.role, r.max_load, r.has_max_load) for r in parsed.rows] == [
        ("a@uni.example", "staff", 3, True), ("b@uni.example", "staff", None, True)]
    assert "not a whole number" in errors(parsed)[4]


def test_line_numbers_count_blank_lines_and_multiline_cells():
    text = ('\n'
            'title,capacity,description\n'         # header on line 2
            'One,2,"first line\nsecond line"\n'   # lines 3-4
            '\n'                                  # 5
            'Two,x,plain\n')                      # 6
    parsed = io.read_projects(csv(text, crlf=True))
    assert [r.line for r in parsed.rows] == [3]
    assert parsed.rows[0].description == "first line\nsecond line"
    assert list(errors(parsed)) == [6]


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (b"PK\x03\x04rest-of-a-zip", "Excel"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "old Excel"),
    (b"%PDF-1.4 ...", "PDF"),
    (bytes(range(256)) * 20, "text"),
    (b"email,name\nx@uni.example,X\n", "no “role” column"),
    (b"name,notes\nA,B\n", "no “email” and “role” columns"),
    (b"email,e-mail,role\n", "Two columns"),
])
def test_files_refused_as_a_whole(data, message):
    with pytest.raises(io.BadFile, match=message):
        io.read_people(data)


def test_size_limit():
    big = b"email,name,role\n" + b"x@uni.example,X,student\n" * (io.MAX_BYTES // 24 + 10)
    with pytest.raises(io.BadFile, match="limit is 5 MB"):
        io.read_people(big)


def test_windows_1252_and_utf16_files_are_read():
    parsed = io.read_people("email,name,role\njose@uni.example,José Müller,student\n".encode("cp1252"))
    assert parsed.rows[0].name == "José Müller"
    parsed = io.read_people("email\tname\trole\njose@uni.example\tJosé\tstudent\n".encode("utf-16"))
    assert parsed.rows[0].name == "José"


def test_a_utf8_file_with_one_stray_byte_is_refused_at_that_line_not_garbled():
    good = "email,name,role\nzoe@uni.example,Zoë Ünal,student\n".encode()
    data = good + b"bob@uni.example,Bob \xe9,student\n" + "ann@uni.example,Ann Ørsted,student\n".encode()
    with pytest.raises(io.BadFile, match=r"^Line 3: this line is not UTF-8"):
        io.read_people(data)


def test_an_unclosed_quote_is_refused_at_the_line_it_opens():
    data = b'email,name,role\nzoe@uni.example,"Zoe Unal,student\nbob@uni.example,Bob,student\n' \
           b"ann@uni.example,Ann,student\n"
    with pytest.raises(io.BadFile, match=r"^Line 2: a quote .* is never closed"):
        io.read_people(data)


def test_a_quoted_value_over_several_lines_is_still_read():
    data = b'title,capacity,description\nRobots,2,"Line one\nline two"\nKites,1,Fly\n'
    parsed = io.read_projects(data)
    assert [r.title for r in parsed.rows] == ["Robots", "Kites"] and not parsed.errors


# -------------------------------------------------------------------------------------------- projects


def test_projects_clean_file_with_tags_and_optional_columns():
    text = ("Code,Title,Capacity,Min students,Supervisor email,Tags,Description,Status\n"
            "AI-1,Robots that learn,3,1,Alan@uni.example,\"ML; vision, ml\",Build one.,approved\n"
            ",Quantum toys,2,,,,,\n")
    parsed = io.read_projects(csv(text))
    assert not parsed.errors
    first, second = parsed.rows
    assert (first.code, first.title, first.capacity, first.min_students, first.supervisor_email, first.tags,
            first.status) == ("AI-1", "Robots that learn", 3, 1, "alan@uni.example", ("ML", "vision"), "approved")
    assert (second.code, second.min_students, second.supervisor_email, second.tags, second.status) == (
        None, 0, None, (), None)
    assert "description" in first.present and "status" in first.present


def test_projects_every_kind_of_bad_row():
    text = ("code,title,capacity,min_students,supervisor_email,status\n"
            "A,Fine,2,1,,\n"            # 2
            "B,,2,0,,\n"                # 3 missing title
            "C,Cap,lots,0,,\n"          # 4 capacity not an integer
            "D,Frac,2.5,0,,\n"          # 5 not whole
            "E,Neg,-1,0,,\n"            # 6 negative
            "F,Min,2,3,,\n"             # 7 min > capacity
            "A,Dup code,2,0,,\n"        # 8 duplicate code
            "G,Sup,2,0,nobody,\n"       # 9 bad supervisor email
            "H,Status,2,0,,maybe\n"     # 10 unknown status
            "I,Blank cap,,0,,\n"        # 11 missing capacity
            ",Same title,1,0,,\n"       # 12
            ",same  TITLE,1,0,,\n")     # 13 duplicate title without code
    parsed = io.read_projects(csv(text))
    assert [r.code for r in parsed.rows] == ["A", None]
    found = errors(parsed)
    assert "missing title" in found[3]
    assert "capacity “lots” is not a whole number" in found[4]
    assert "not a whole number" in found[5]
    assert "0 or more" in found[6]
    assert "minimum 3 is more than capacity 2" in found[7]
    assert "duplicate code" in found[8] and "line 2" in found[8]
    assert "bad supervisor email" in found[9]
    assert "unknown status" in found[10]
    assert "missing capacity" in found[11]
    assert "duplicate title" in found[13] and "line 12" in found[13]


def test_projects_need_title_and_capacity_columns():
    with pytest.raises(io.BadFile, match="capacity"):
        io.read_projects(b"title\nA\n")


# ----------------------------------------------------------------------------------------- preferences


def test_preferences_long_format_sorted_by_rank():
    text = ("Student Email,Project,Rank\n"
            "a@uni.example,P2,2\n"
            "a@uni.example,P1,1\n"
            "b@uni.example,Robots,1\n")
    parsed = io.read_preferences(csv(text))
    assert parsed.fmt == "long" and not parsed.errors
    assert [(s.email, s.choices) for s in parsed.rows] == [
        ("a@uni.example", ((3, "P1"), (2, "P2"))), ("b@uni.example", ((4, "Robots"),))]


def test_preferences_long_format_bad_rows_reject_the_whole_student():
    text = ("student_email,project,rank\n"
            "a@uni.example,P1,1\n"   # 2 ok
            "b@uni.example,P1,1\n"   # 3 skipped with b
            "b@uni.example,P2,1\n"   # 4 rank repeated
            "c@uni.example,P1,1\n"   # 5 skipped with c
            "c@uni.example,p1,2\n"   # 6 project twice
            "d@uni.example,P1,0\n"   # 7 rank must be >= 1
            "e@uni.example,,1\n"     # 8 missing project
            "bad,P1,1\n")            # 9 bad email
    parsed = io.read_preferences(csv(text))
    assert [s.email for s in parsed.rows] == ["a@uni.example"]
    found = errors(parsed)
    assert "rank 1 repeated" in found[4] and "line 3" in found[4]
    assert "not imported" in found[3] and "line 4" in found[3]
    assert "twice" in found[6]
    assert "not imported" in found[5]
    assert "rank must be 1 or more" in found[7]
    assert "missing project" in found[8]
    assert "bad student email" in found[9]


def test_preferences_wide_format():
    text = ("email,choice_1,choice 2,Choice3\n"
            "a@uni.example,P1,,P3\n"
            "b@uni.example,P1,P1,\n"
            "a@uni.example,P2,,\n")
    parsed = io.read_preferences(csv(text, crlf=True, bom=True))
    assert parsed.fmt == "wide"
    assert [(s.email, [r for _, r in s.choices]) for s in parsed.rows] == [("a@uni.example", ["P1", "P3"])]
    found = errors(parsed)
    assert "twice" in found[3]
    assert "duplicate" in found[4]


def test_preferences_title_column_is_used_when_code_blank():
    parsed = io.read_preferences(csv("student_email,rank,project,project_title\n"
                                     "a@uni.example,1,,Robots\na@uni.example,2,Q1,Quantum\n"))
    assert [r for _, r in parsed.rows[0].choices] == ["Robots", "Q1"]


def test_preferences_without_project_columns_refused():
    with pytest.raises(io.BadFile, match="choice_1"):
        io.read_preferences(b"email,rank\na@uni.example,1\n")


# -------------------------------------------------------------------------------------------- writing


@pytest.mark.parametrize("cell", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "=HYPERLINK(\"http://x\")"])
def test_csv_neutralises_formulas(cell):
    data = io.to_csv_bytes([{"name": cell, "n": -3}])
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert ("'" + cell.replace('"', '""')) in text
    assert text.rstrip().endswith(",-3")  # numbers are left alone


def test_csv_round_trip_keeps_unicode_and_takes_apostrophe_off():
    data = io.to_csv_bytes([{"email": "zoe@uni.example", "name": "=Zoë 李", "role": "student"}])
    assert b"\r\n" in data
    parsed = io.read_people(data)
    assert parsed.rows[0].name == "=Zoë 李"


def test_xlsx_neutralises_formulas_and_keeps_unicode():
    data = io.to_xlsx_bytes({"People": [{"name": "=1+2", "who": "Zoë", "n": 4}]})
    sheet = openpyxl.load_workbook(std_io.BytesIO(data))["People"]
    assert [c.value for c in sheet[2]] == ["'=1+2", "Zoë", 4]
    assert sheet["A2"].data_type == "s"


def test_json_writer_is_valid_json():
    import json

    doc = {"a": [1, {"b": "é"}], "c": {"x": [1]}, "d": None, "e": []}
    assert json.loads(io.to_json_bytes(doc)) == doc
    with pytest.raises(io.BadFile):
        io.read_json(b"{nope")


def test_projects_file_refuses_a_description_longer_than_a_proposal_may_be():
    long = "x" * (domain.PROJECT_DESCRIPTION_MAX + 1)
    parsed = io.read_projects(f'title,capacity,description\nOK,2,short\nLong,2,"{long}"\n'.encode())
    assert [r.title for r in parsed.rows] == ["OK"]
    assert [(e.line, "description longer than 20,000 characters" in e.message) for e in parsed.errors] == [(3, True)]
