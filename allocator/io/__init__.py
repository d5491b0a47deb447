"""Files in and out: CSV (and .xlsx, JSON) for people, projects and preferences.

Pure: no database, no Streamlit. Readers take the uploaded bytes and return the rows that parse, plus
every bad row with its line number in the file (the header is line 1) and a reason a coordinator can
act on. What needs the database (is this supervisor staff here? does that project exist?) is checked
by the services, which report it the same way.

How a file is read:
- at most `MAX_BYTES`; Excel workbooks, PDFs and other binary files are refused with a clear message;
- UTF-8 with or without a byte-order mark (what "CSV UTF-8" in Excel writes), UTF-16 with a BOM
  ("Unicode text"), else Windows-1252 (Excel's plain "CSV" on Windows) — but a file that is UTF-8 save
  for some bytes is refused with the line of the first bad byte, since reading it as Windows-1252 would
  garble every accented name in it;
- a quote that is never closed is refused with the line where it opens (it would swallow the rows after it);
- Windows (CRLF), Unix and old Mac line endings; comma, semicolon or tab delimiters (from the header);
- column names matched case-insensitively, trimmed, with spaces and hyphens read as underscores and a
  few common synonyms ("E-mail", "Supervisor email", "Places"); unknown columns are listed and ignored;
- blank lines and rows of empty cells are skipped; cells are trimmed; a leading apostrophe that our own
  writers added before `= + - @` is taken off again, so an export imports back unchanged.

Python's csv module tokenises the file because it knows on which line each record starts even when a
quoted description spans several lines (pandas' parser does not report that); the columns are then
validated as pandas Series. Writers go through pandas too.

The package has one module per job: `records` (limits, errors, the row classes), `decoding` (bytes to
text, JSON), `table` (the CSV tokeniser and column checks the readers share), `people_projects` and
`preferences` (the readers), `writers` (safe CSV / Excel / JSON) and `templates` (the import templates).
"""
from __future__ import annotations

from allocator.io.records import (MAX_BYTES, MAX_JSON_BYTES, ROLE_NAMES, EMAIL_RE, FORMULA_STARTS,
                                  WIDE_CHOICE, BadFile, RowError, Parsed,
                                  ImportItem, ImportPreview, ImportResult, PersonRow, ProjectRow, StudentChoices)
from allocator.io.decoding import decode, read_json
from allocator.io.people_projects import read_people, split_tags, tag_problem, read_projects
from allocator.io.preferences import read_preferences
from allocator.io.writers import neutralise, to_csv_bytes, to_xlsx_bytes, to_json_bytes
from allocator.io.templates import (TemplateColumn, EXAMPLE_STUDENT, EXAMPLE_SUPERVISOR, EXAMPLE_PROJECT_CODE,
                                    TEMPLATES, template_csv)

__all__ = ["MAX_BYTES", "MAX_JSON_BYTES", "ROLE_NAMES", "EMAIL_RE", "FORMULA_STARTS", "WIDE_CHOICE", "BadFile",
           "RowError", "Parsed", "ImportItem", "ImportPreview",
           "ImportResult", "PersonRow", "ProjectRow", "StudentChoices", "decode", "read_json",
           "read_people", "split_tags", "tag_problem",
           "read_projects", "read_preferences", "neutralise", "to_csv_bytes", "to_xlsx_bytes", "to_json_bytes",
           "TemplateColumn", "EXAMPLE_STUDENT", "EXAMPLE_SUPERVISOR", "EXAMPLE_PROJECT_CODE", "TEMPLATES",
           "template_csv"]
