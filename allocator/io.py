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
"""
from __future__ import annotations

import csv
import io as _io
import json
import re
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

# The limits a proposal form enforces; an import must not let longer text in by the back door.
PROJECT_TITLE_MAX = 300
PROJECT_DESCRIPTION_MAX = 20_000
PROJECT_CODE_MAX = 40
PERSON_NAME_MAX = 200

MAX_BYTES = 5 * 1024 * 1024
MAX_JSON_BYTES = 50 * 1024 * 1024
ROLE_NAMES = {
    "student": "student", "students": "student", "learner": "student",
    "staff": "staff", "supervisor": "staff", "supervisors": "staff", "lecturer": "staff", "academic": "staff",
}
STATUSES = ("proposed", "approved", "rejected", "withdrawn")
# Plain ASCII addresses: university accounts are, and SQLite's lower() (the users table checks that
# emails are lower case) only folds ASCII.
EMAIL_RE = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_CAPACITY = 10_000
MAX_TAGS = 20
MAX_TAG_LENGTH = 50
WIDE_CHOICE = re.compile(r"^(?:choice|preference|pref|option|rank)_?(\d+)$")


class BadFile(ValueError):
    """The file as a whole cannot be read (too big, not CSV, no header we understand)."""


# --------------------------------------------------------------------------------------------------
# Reports


@dataclass(frozen=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}"


@dataclass(frozen=True)
class Parsed:
    """What a reader found: the good rows (typed per reader), the bad ones, and ignored columns."""

    rows: tuple
    errors: tuple[RowError, ...]
    ignored_columns: tuple[str, ...] = ()
    fmt: str = ""  # preferences: "long" or "wide"


@dataclass(frozen=True)
class ImportItem:
    """One row of an import preview: what will happen to it."""

    line: int
    key: str  # the email, project code/title...
    description: str
    changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportPreview:
    added: tuple[ImportItem, ...]
    changed: tuple[ImportItem, ...]
    unchanged: tuple[ImportItem, ...]
    rejected: tuple[RowError, ...]
    ignored_columns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.rejected

    @property
    def summary(self) -> str:
        parts = [f"{len(self.added)} to add", f"{len(self.changed)} to change", f"{len(self.unchanged)} unchanged"]
        if self.rejected:
            parts.append(f"{len(self.rejected)} rejected")
        return ", ".join(parts)


@dataclass(frozen=True)
class ImportResult:
    added: int
    changed: int
    unchanged: int
    skipped: int  # rejected rows left out (only with "import the valid rows")

    @property
    def summary(self) -> str:
        text = f"Imported: {self.added} added, {self.changed} changed, {self.unchanged} unchanged"
        return text + (f", {self.skipped} rejected rows skipped." if self.skipped else ".")


@dataclass(frozen=True)
class PersonRow:
    line: int
    email: str
    name: str  # "" when the cell is blank (keep the current name)
    role: str
    max_load: int | None = None
    has_max_load: bool = False  # the file has a max_load column (a blank cell then means "no limit")


@dataclass(frozen=True)
class ProjectRow:
    line: int
    code: str | None
    title: str
    capacity: int
    min_students: int
    description: str = ""
    supervisor_email: str | None = None
    tags: tuple[str, ...] = ()
    status: str | None = None
    # The optional columns the file has: absent ones leave an existing project's field as it is.
    present: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class StudentChoices:
    """One student's list as the file gives it: project references (code or title) in rank order."""

    line: int  # the first line of this student
    email: str
    choices: tuple[tuple[int, str], ...]  # (line, project reference), best first


# --------------------------------------------------------------------------------------------------
# Reading


def decode(data: bytes, *, max_bytes: int = MAX_BYTES) -> str:
    """The text of an uploaded file, or BadFile saying why it is not a CSV we can read."""
    if data is None or len(data) == 0 or not data.strip():
        raise BadFile("The file is empty.")
    if len(data) > max_bytes:
        raise BadFile(f"The file is {len(data) / 1024 / 1024:.1f} MB; the limit is {max_bytes // 1024 // 1024} MB. "
                      "Split it into smaller files.")
    if data.startswith(b"PK\x03\x04"):
        raise BadFile("This is an Excel workbook or another zip file, not CSV. In Excel choose "
                      "File › Save As › “CSV UTF-8 (Comma delimited)” and upload that file.")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise BadFile("This is an old Excel (.xls) file, not CSV. Save it as “CSV UTF-8” and upload that file.")
    if data.startswith(b"%PDF"):
        raise BadFile("This is a PDF, not CSV.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise BadFile("The file says it is UTF-16 text but is not. Save it as “CSV UTF-8”.") from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            if _has_utf8_characters(data) and not _looks_binary(data.decode("utf-8", errors="replace")):
                line = data[:err.start].count(b"\n") + 1
                raise BadFile(f"Line {line}: this line is not UTF-8 text while the rest of the file is, so its "
                              "accented letters cannot be read reliably. Save the file as “CSV UTF-8” and "
                              "upload it again.") from None
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                raise BadFile("This does not look like a text (CSV) file. Save it as “CSV UTF-8”.") from None
    text = text.lstrip("\ufeff")
    if _looks_binary(text):
        raise BadFile("This does not look like a text (CSV) file. Save it as “CSV UTF-8”.")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _has_utf8_characters(data: bytes) -> bool:
    """Whether the bytes hold well-formed UTF-8 non-ASCII characters (a Windows-1252 file practically never
    does: its accented letters are single bytes that are not valid UTF-8 sequences)."""
    return not data.decode("utf-8", errors="ignore").isascii()


def _looks_binary(text: str) -> bool:
    return "\x00" in text or _mostly_binary(text)


def _mostly_binary(text: str) -> bool:
    sample = text[:4096]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t")
    return controls > max(8, len(sample) // 50)


def _delimiter(text: str) -> str:
    header = next((line for line in text.split("\n") if line.strip()), "")
    unquoted = re.sub(r'"[^"]*"', "", header)
    counts = {d: unquoted.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _norm_header(name: str) -> str:
    name = name.strip().strip("\ufeff").strip().lower()
    return re.sub(r"[\s\-./]+", "_", name).strip("_")


def _unneutralise(value: str) -> str:
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_STARTS:
        return value[1:]
    return value


@dataclass(frozen=True)
class _Table:
    frame: pd.DataFrame  # canonical columns (str), plus "line" (int)
    errors: list[RowError]
    ignored: tuple[str, ...]
    columns: tuple[str, ...]  # canonical columns the file has


def _read_table(data: bytes, columns: Mapping[str, Iterable[str]], *, required: Sequence[str] = (),
                extra: re.Pattern | None = None, what: str = "file") -> _Table:
    """Tokenise `data`; map its header onto `columns` (canonical name → accepted spellings).

    Headers matching `extra` (e.g. choice_1..choice_n) are kept under their normalised name.
    """
    text = decode(data)
    aliases: dict[str, str] = {}
    for canonical, spellings in columns.items():
        for spelling in (canonical, *spellings):
            aliases[_norm_header(spelling)] = canonical
    # strict: a quote still open at the end of the file is an error, not one value holding every row after it.
    reader = csv.reader(_io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    header: list[str] | None = None  # blank lines above it still count: line numbers are the file's own
    records: list[tuple[int, list[str]]] = []
    last = 0
    try:
        for record in reader:
            start, last = last + 1, reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = record
                continue
            records.append((start, record))
    except csv.Error as err:
        if "unexpected end of data" in str(err):
            raise BadFile(f"Line {last + 1}: a quote (\") opens on this line and is never closed, so every line "
                          "after it would be read as part of one value. Check the quotes on that line.") from None
        raise BadFile(f"Line {last + 1}: the file is not valid CSV ({err}). "
                      "Check the quotes on that line.") from None
    if header is None:
        raise BadFile("The file is empty.")
    mapped: list[str | None] = []
    ignored: list[str] = []
    seen: dict[str, str] = {}
    for raw in header:
        norm = _norm_header(raw)
        canonical = aliases.get(norm)
        if canonical is None and extra is not None and extra.match(norm):
            canonical = norm
        if canonical is None:
            if raw.strip():
                ignored.append(raw.strip())
            mapped.append(None)
            continue
        if canonical in seen:
            raise BadFile(f"Two columns mean “{canonical}”: “{seen[canonical]}” and “{raw.strip()}”. "
                          "Remove one of them.")
        seen[canonical] = raw.strip()
        mapped.append(canonical)
    missing = [c for c in required if c not in seen]
    if missing:
        found = ", ".join(f"“{h.strip()}”" for h in header if h.strip()) or "none"
        needed = " and ".join(f"“{c}”" for c in missing) + (" columns" if len(missing) > 1 else " column")
        raise BadFile(f"The {what} has no {needed} (columns found: {found}). "
                      "The first line must name the columns.")
    wanted = [(i, name) for i, name in enumerate(mapped) if name is not None]
    errors: list[RowError] = []
    lines: list[int] = []
    cells: dict[str, list[str]] = {name: [] for _, name in wanted}
    width = len(header)
    for line, record in records:
        if len(record) > width and any(c.strip() for c in record[width:]):
            errors.append(RowError(line, f"has {len(record)} cells but the header names {width} columns "
                                         "(a comma inside a value needs quotes around the value)"))
            continue
        lines.append(line)
        for i, name in wanted:
            cells[name].append(_unneutralise(record[i].strip()) if i < len(record) else "")
    frame = pd.DataFrame({"line": pd.Series(lines, dtype="int64"),
                          **{name: pd.Series(values, dtype="object") for name, values in cells.items()}})
    return _Table(frame=frame, errors=errors, ignored=tuple(ignored), columns=tuple(name for _, name in wanted))


class _Problems:
    """Reasons per line; a line with any reason is rejected."""

    def __init__(self) -> None:
        self.by_line: dict[int, list[str]] = {}

    def add(self, lines: Iterable[int], message: str | Iterable[str]) -> None:
        if isinstance(message, str):
            for line in lines:
                self.by_line.setdefault(int(line), []).append(message)
        else:
            for line, text in zip(lines, message):
                self.by_line.setdefault(int(line), []).append(text)

    def where(self, frame: pd.DataFrame, mask: pd.Series, message) -> None:
        if mask.any():
            picked = frame.loc[mask]
            self.add(picked["line"].tolist(), message(picked) if callable(message) else message)

    def __contains__(self, line: int) -> bool:
        return line in self.by_line

    def errors(self, earlier: list[RowError]) -> tuple[RowError, ...]:
        merged = list(earlier) + [RowError(line, "; ".join(msgs)) for line, msgs in self.by_line.items()]
        return tuple(sorted(merged, key=lambda e: e.line))


def _emails(frame: pd.DataFrame, column: str, problems: _Problems, label: str = "email") -> pd.Series:
    emails = frame[column].str.lower()
    blank = emails == ""
    problems.where(frame, blank, f"missing {label}")
    bad = ~blank & (~emails.str.fullmatch(EMAIL_RE) | (emails.str.len() > 320))
    problems.where(frame, bad, lambda rows: [f"bad {label} “{v}”" for v in rows[column]])
    return emails


def _integers(frame: pd.DataFrame, column: str, problems: _Problems, *, label: str, blank_ok: bool,
              minimum: int = 0, maximum: int = MAX_CAPACITY) -> pd.Series:
    """The column as nullable integers; "3" and "3.0" are 3, anything else is a problem on its line."""
    raw = frame[column]
    numbers = pd.to_numeric(raw.str.replace(",", "", regex=False), errors="coerce")
    blank = raw == ""
    if not blank_ok:
        problems.where(frame, blank, f"missing {label}")
    not_number = ~blank & numbers.isna()
    problems.where(frame, not_number, lambda rows: [f"{label} “{v}” is not a whole number" for v in rows[column]])
    fractional = ~blank & numbers.notna() & (numbers != numbers.round())
    problems.where(frame, fractional, lambda rows: [f"{label} “{v}” is not a whole number" for v in rows[column]])
    too_small = numbers.notna() & ~fractional & (numbers < minimum)
    problems.where(frame, too_small, f"{label} must be {minimum} or more")
    too_big = numbers.notna() & ~fractional & (numbers > maximum)
    problems.where(frame, too_big, f"{label} must be at most {maximum}")
    ok = numbers.notna() & ~fractional & ~too_small & ~too_big
    return numbers.where(ok).astype("Int64")


def _first_lines(frame: pd.DataFrame, keys: pd.Series) -> pd.Series:
    return frame["line"].groupby(keys).transform("first")


def read_people(data: bytes, *, default_role: str | None = None) -> Parsed:
    """Rows of (email, name, role[, max_load]); `default_role` fills a missing role column."""
    table = _read_table(data, {
        "email": ("e-mail", "email address", "e-mail address", "mail", "user", "username", "upn"),
        "name": ("full name", "display name", "student name", "person"),
        "role": ("type", "kind", "member type"),
        "max_load": ("max load", "load", "max students", "supervision capacity"),
    }, required=("email",) if default_role else ("email", "role"), what="people file")
    frame, problems = table.frame, _Problems()
    if frame.empty:
        return Parsed((), tuple(table.errors), table.ignored)
    emails = _emails(frame, "email", problems)
    frame["name"] = frame["name"].str.split().str.join(" ") if "name" in frame else ""
    too_long = frame["name"].str.len() > PERSON_NAME_MAX
    problems.where(frame, too_long, f"name longer than {PERSON_NAME_MAX} characters")
    if "role" in frame:
        raw_roles = frame["role"].str.lower()
        roles = raw_roles.map(ROLE_NAMES)
        if default_role:
            roles = roles.where(raw_roles != "", default_role)
        else:
            problems.where(frame, raw_roles == "", "missing role")
        unknown = (raw_roles != "") & roles.isna()
        problems.where(frame, unknown, lambda rows: [f"unknown role “{v}” (use student or staff)" for v in rows["role"]])
    else:
        roles = pd.Series(default_role, index=frame.index, dtype="object")
    has_load = "max_load" in frame
    loads = (_integers(frame, "max_load", problems, label="max_load", blank_ok=True) if has_load
             else pd.Series(pd.NA, index=frame.index, dtype="Int64"))
    valid_email = emails.str.fullmatch(EMAIL_RE).fillna(False) & (emails != "")
    duplicate = valid_email & emails.duplicated(keep="first")
    if duplicate.any():
        first = _first_lines(frame, emails)
        problems.where(frame, duplicate, lambda rows: [f"duplicate: {e} is already on line {first[i]}"
                                                       for i, e in zip(rows.index, emails[rows.index])])
    rows = []
    # Plain lists: indexing a Series row by row costs microseconds each.
    for line, email, name, role, load in zip(frame["line"].tolist(), emails.tolist(), frame["name"].tolist(),
                                             roles.tolist(), loads.tolist()):
        if line in problems:
            continue
        rows.append(PersonRow(line=line, email=email, name=name, role=role,
                              max_load=None if pd.isna(load) else int(load), has_max_load=has_load))
    return Parsed(tuple(rows), problems.errors(table.errors), table.ignored)


def split_tags(value: str) -> tuple[str, ...]:
    """'ML; vision, robots' → ('ML', 'vision', 'robots'): trimmed, empties and repeats dropped."""
    seen: dict[str, str] = {}
    for part in re.split(r"[;,]", value or ""):
        tag = " ".join(part.split())
        if tag and tag.lower() not in seen:
            seen[tag.lower()] = tag
    return tuple(seen.values())


def tag_problem(tags: Sequence[str]) -> str | None:
    if len(tags) > MAX_TAGS:
        return f"{len(tags)} tags; at most {MAX_TAGS}"
    long = [t for t in tags if len(t) > MAX_TAG_LENGTH]
    if long:
        return f"tag “{long[0][:20]}…” is longer than {MAX_TAG_LENGTH} characters"
    return None


def read_projects(data: bytes) -> Parsed:
    """Rows of projects. Optional columns absent from the file leave existing projects' fields alone."""
    table = _read_table(data, {
        "code": ("project code", "project id", "id", "ref", "reference"),
        "title": ("project title", "project", "name", "project name"),
        "description": ("details", "summary", "abstract"),
        "capacity": ("places", "max students", "max_students", "maximum", "max", "size"),
        "min_students": ("min", "minimum", "min students", "minimum students", "lower quota"),
        "supervisor_email": ("supervisor", "supervisor e-mail", "supervisor email address", "lecturer",
                             "lecturer email", "staff email"),
        "tags": ("tag", "keywords", "topics", "areas"),
        "status": ("state",),
    }, required=("title", "capacity"), what="projects file")
    frame, problems = table.frame, _Problems()
    if frame.empty:
        return Parsed((), tuple(table.errors), table.ignored)
    for column in ("code", "description", "min_students", "supervisor_email", "tags", "status"):
        if column not in frame:
            frame[column] = ""
    problems.where(frame, frame["title"] == "", "missing title")
    problems.where(frame, frame["title"].str.len() > PROJECT_TITLE_MAX,
                   f"title longer than {PROJECT_TITLE_MAX} characters")
    problems.where(frame, frame["description"].str.len() > PROJECT_DESCRIPTION_MAX,
                   f"description longer than {PROJECT_DESCRIPTION_MAX:,} characters")
    problems.where(frame, frame["code"].str.len() > PROJECT_CODE_MAX,
                   f"code longer than {PROJECT_CODE_MAX} characters")
    capacity = _integers(frame, "capacity", problems, label="capacity", blank_ok=False)
    minimum = _integers(frame, "min_students", problems, label="min_students", blank_ok=True).fillna(0)
    over = capacity.notna() & (minimum > capacity).fillna(False)
    problems.where(frame, over, lambda rows: [f"minimum {minimum[i]} is more than capacity {capacity[i]}"
                                              for i in rows.index])
    sup = frame["supervisor_email"].str.lower()
    bad_sup = (sup != "") & ~sup.str.fullmatch(EMAIL_RE).fillna(False)
    problems.where(frame, bad_sup, lambda rows: [f"bad supervisor email “{v}”" for v in rows["supervisor_email"]])
    status = frame["status"].str.lower()
    problems.where(frame, (status != "") & ~status.isin(STATUSES),
                   lambda rows: [f"unknown status “{v}” (use {', '.join(STATUSES)})" for v in rows["status"]])
    tags = frame["tags"].map(split_tags)
    tag_msgs = tags.map(tag_problem)
    problems.where(frame, tag_msgs.notna(), lambda rows: tag_msgs[rows.index].tolist())
    codes = frame["code"].str.lower()
    dup_code = (codes != "") & codes.duplicated(keep="first")
    if dup_code.any():
        first = _first_lines(frame, codes)
        problems.where(frame, dup_code, lambda rows: [f"duplicate code “{frame['code'][i]}” (also on line {first[i]})"
                                                      for i in rows.index])
    titles = frame["title"].str.lower().str.split().str.join(" ")
    no_code = codes == ""
    dup_title = no_code & (titles != "") & titles.where(no_code).duplicated(keep="first") & titles.notna()
    if dup_title.any():
        first = _first_lines(frame.loc[no_code], titles[no_code])
        problems.where(frame, dup_title, lambda rows: [
            f"duplicate title “{frame['title'][i]}” (also on line {first[i]}); give them codes to tell them apart"
            for i in rows.index])
    present = frozenset(c for c in ("description", "min_students", "supervisor_email", "tags", "status")
                        if c in table.columns)
    rows = []
    columns = zip(frame["line"].tolist(), frame["code"].tolist(), frame["title"].tolist(), capacity.tolist(),
                  minimum.tolist(), frame["description"].tolist(), sup.tolist(), tags.tolist(), status.tolist())
    for line, code, title, cap, low, description, supervisor, tag_list, state in columns:
        if line in problems:
            continue
        rows.append(ProjectRow(
            line=line, code=code or None, title=" ".join(title.split()), capacity=int(cap), min_students=int(low),
            description=description, supervisor_email=supervisor or None, tags=tag_list, status=state or None,
            present=present,
        ))
    return Parsed(tuple(rows), problems.errors(table.errors), table.ignored)


def read_preferences(data: bytes) -> Parsed:
    """Students' ranked lists, from a long file (student_email, project, rank: one row per choice) or a
    wide one (student_email, choice_1 … choice_n: one row per student). Project references are codes
    or titles, resolved by the service. A student with any bad row is rejected whole: importing the
    rest of their list would silently move their other choices up.
    """
    spelling = {
        "student_email": ("email", "student", "student e-mail", "student email address", "e-mail"),
        "project": ("project_code", "project code", "code", "project id", "project ref"),
        "project_title": ("title", "project title", "project name"),
        "rank": ("choice", "preference", "position", "order"),
    }
    table = _read_table(data, spelling, required=("student_email",), extra=WIDE_CHOICE, what="preferences file")
    wide_cols = sorted((c for c in table.columns if WIDE_CHOICE.match(c) and c not in spelling),
                       key=lambda c: int(WIDE_CHOICE.match(c).group(1)))
    if not wide_cols:
        if "rank" not in table.columns or not {"project", "project_title"} & set(table.columns):
            raise BadFile("The preferences file needs either “project” (a code or title) and “rank” columns, one "
                          "row per choice, or “choice_1”, “choice_2”, … columns, one row per student.")
        return _read_long(table)
    return _read_wide(table, wide_cols)


def _read_long(table: _Table) -> Parsed:
    frame, problems = table.frame, _Problems()
    if frame.empty:
        return Parsed((), tuple(table.errors), table.ignored, "long")
    emails = _emails(frame, "student_email", problems, "student email")
    # A code where there is one, else the title (our own export writes both).
    refs = frame["project"] if "project" in frame else pd.Series("", index=frame.index, dtype="object")
    if "project_title" in frame:
        refs = refs.where(refs != "", frame["project_title"])
    frame["project"] = refs
    problems.where(frame, frame["project"] == "", "missing project")
    ranks = _integers(frame, "rank", problems, label="rank", blank_ok=False, minimum=1, maximum=1000)
    key_rank = emails + "\x00" + ranks.astype("string").fillna("")
    dup_rank = ranks.notna() & key_rank.duplicated(keep="first")
    if dup_rank.any():
        first = _first_lines(frame, key_rank)
        problems.where(frame, dup_rank, lambda rows: [f"rank {ranks[i]} repeated for {emails[i]} (line {first[i]})"
                                                      for i in rows.index])
    key_project = emails + "\x00" + frame["project"].str.lower()
    dup_project = (frame["project"] != "") & key_project.duplicated(keep="first")
    if dup_project.any():
        first = _first_lines(frame, key_project)
        problems.where(frame, dup_project, lambda rows: [
            f"{emails[i]} lists “{frame['project'][i]}” twice (line {first[i]})" for i in rows.index])
    lines, email_list = frame["line"].tolist(), emails.tolist()
    rank_list, refs = ranks.tolist(), frame["project"].tolist()
    first_bad: dict[str, int] = {}
    for line, email in zip(lines, email_list):
        if line in problems:
            first_bad.setdefault(email, line)
    by_student: dict[str, list[tuple[int, int, str]]] = {}
    first_line: dict[str, int] = {}
    for i, line in enumerate(lines):
        email = email_list[i]
        first_line.setdefault(email, line)
        if email in first_bad:
            if line not in problems:
                problems.add([line], f"not imported: another row of {email}'s list is rejected "
                                     f"(see line {first_bad[email]})")
            continue
        by_student.setdefault(email, []).append((int(rank_list[i]), line, refs[i]))
    rows = tuple(StudentChoices(line=first_line[email], email=email,
                                choices=tuple((line, ref) for _, line, ref in sorted(items)))
                 for email, items in by_student.items())
    return Parsed(rows, problems.errors(table.errors), table.ignored, "long")


def _read_wide(table: _Table, choice_cols: list[str]) -> Parsed:
    frame, problems = table.frame, _Problems()
    if frame.empty:
        return Parsed((), tuple(table.errors), table.ignored, "wide")
    emails = _emails(frame, "student_email", problems, "student email")
    valid = (emails != "") & emails.str.fullmatch(EMAIL_RE).fillna(False)
    duplicate = valid & emails.duplicated(keep="first")
    if duplicate.any():
        first = _first_lines(frame, emails)
        problems.where(frame, duplicate, lambda rows: [f"duplicate: {emails[i]} is already on line {first[i]}"
                                                       for i in rows.index])
    rows = []
    lines, email_list = frame["line"].tolist(), emails.tolist()
    values = frame[choice_cols].to_numpy()
    for i, line in enumerate(lines):
        refs = [v for v in values[i] if v]
        seen: set[str] = set()
        twice = [r for r in refs if r.lower() in seen or seen.add(r.lower())]
        if twice:
            problems.add([line], f"lists “{twice[0]}” twice")
        if line in problems:
            continue
        # Blank cells between choices close up: the order is what counts.
        rows.append(StudentChoices(line=line, email=email_list[i], choices=tuple((line, r) for r in refs)))
    return Parsed(tuple(rows), problems.errors(table.errors), table.ignored, "wide")


def read_json(data: bytes, *, max_bytes: int = MAX_JSON_BYTES) -> Any:
    if not data:
        raise BadFile("The file is empty.")
    if len(data) > max_bytes:
        raise BadFile(f"The file is {len(data) / 1024 / 1024:.1f} MB; the limit is {max_bytes // 1024 // 1024} MB.")
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise BadFile("This is not a JSON text file.") from None
    except json.JSONDecodeError as err:
        raise BadFile(f"This is not valid JSON (line {err.lineno}: {err.msg}).") from None
    except RecursionError:
        raise BadFile("This JSON is nested too deeply to be a file this app wrote.") from None
    except ValueError as err:  # e.g. a number with thousands of digits
        raise BadFile(f"This is not valid JSON ({str(err).splitlines()[0][:120]}).") from None


# --------------------------------------------------------------------------------------------------
# Writing


def neutralise(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe (OWASP "CSV injection")."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _safe_frame(rows: pd.DataFrame | Sequence[Mapping[str, Any]], columns: Sequence[str] | None) -> pd.DataFrame:
    frame = rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows), columns=columns)
    if columns is not None:
        frame = frame.reindex(columns=list(columns))
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            frame[column] = frame[column].map(neutralise)
    return frame


def to_csv_bytes(rows: pd.DataFrame | Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> bytes:
    """CSV bytes Excel opens with Unicode names intact: UTF-8 with a byte-order mark, CRLF line ends."""
    frame = _safe_frame(rows, columns)
    return frame.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def to_xlsx_bytes(sheets: Mapping[str, pd.DataFrame | Sequence[Mapping[str, Any]]],
                  columns: Mapping[str, Sequence[str]] | None = None) -> bytes:
    """An .xlsx workbook, one sheet per entry, with the same formula neutralising as the CSV; each sheet
    keeps its header row in view (frozen), has filters on every column and columns wide enough to read."""
    buffer = _io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, rows in sheets.items():
            frame = _safe_frame(rows, (columns or {}).get(name))
            sheet = re.sub(r"[\[\]:*?/\\]", " ", name)[:31] or "Sheet1"
            frame.to_excel(writer, sheet_name=sheet, index=False)
            ws = writer.sheets[sheet]
            for i, column in enumerate(frame.columns, start=1):
                width = max([len(str(column))] + [len(str(v)) for v in frame[column].head(200).tolist()])
                ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(60, max(8, width + 2))
            ws.freeze_panes = "A2"
            if len(frame.columns):
                ws.auto_filter.ref = ws.dimensions
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------------
# Templates: one per import, read by the same readers as a real file


@dataclass(frozen=True)
class TemplateColumn:
    name: str
    example: str
    accepted: str  # what the column takes, in words, for the page beside the download


EXAMPLE_STUDENT = "ada.student@example.ac.uk"
EXAMPLE_SUPERVISOR = "grace.supervisor@example.ac.uk"
EXAMPLE_PROJECT_CODE = "P-001"

TEMPLATES: dict[str, tuple[TemplateColumn, ...]] = {
    "people": (
        TemplateColumn("email", EXAMPLE_STUDENT, "required; the person's university email"),
        TemplateColumn("name", "Ada Student", f"their name, up to {PERSON_NAME_MAX} characters"),
        TemplateColumn("role", "student", "required; student or staff (also: supervisor, lecturer, academic)"),
        TemplateColumn("max_load", "", "staff only, optional: the most students they supervise, a whole "
                                       "number; blank for no limit"),
        TemplateColumn("places", "", "students only, optional: how many projects they are given; blank for "
                                     "the cohort's number"),
        TemplateColumn("tier", "1", "students only, optional: 1 is served first, then 2, …; blank leaves it"),
    ),
    "projects": (
        TemplateColumn("code", EXAMPLE_PROJECT_CODE, f"optional, up to {PROJECT_CODE_MAX} characters; matches "
                                                     "an existing project to update it (else the title does)"),
        TemplateColumn("title", "Robots that water the allotment", f"required, up to {PROJECT_TITLE_MAX} characters"),
        TemplateColumn("description", "Build **small robots** that water the allotment.",
                       f"optional, Markdown, up to {PROJECT_DESCRIPTION_MAX:,} characters"),
        TemplateColumn("capacity", "3", f"required; places, a whole number from 0 to {MAX_CAPACITY:,}"),
        TemplateColumn("min_students", "1", "optional; the fewest students it runs with, 0 to capacity "
                                            "(blank: 0)"),
        TemplateColumn("supervisor_email", EXAMPLE_SUPERVISOR, "optional; the email of a staff member of "
                                                               "this cohort"),
        TemplateColumn("tags", "robotics; sustainability", f"optional; up to {MAX_TAGS} tags separated by ; or "
                                                           f", each up to {MAX_TAG_LENGTH} characters"),
        TemplateColumn("status", "approved", f"optional; one of {', '.join(STATUSES)} (blank: the choice on the "
                                             "page)"),
    ),
    "preferences": (
        TemplateColumn("student_email", EXAMPLE_STUDENT, "required; a student of this cohort"),
        TemplateColumn("project", EXAMPLE_PROJECT_CODE, "required; a project's code, or its title"),
        TemplateColumn("rank", "1", "required; 1 for the first choice, 2 for the second, …; one row per "
                                    "choice (or instead: one row per student with choice_1, choice_2, … "
                                    "columns)"),
    ),
}


def template_csv(kind: str) -> bytes:
    """The CSV template of one import ("people", "projects", "preferences"): its header and one example
    row, written like every CSV the app makes, and read back cleanly by that import's reader."""
    columns = TEMPLATES[kind]
    return to_csv_bytes([{c.name: c.example for c in columns}], [c.name for c in columns])


def to_json_bytes(value: Any) -> bytes:
    """JSON a person can read and diff, yet compact: a top-level object with one record per line."""
    def dumps(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))

    if not isinstance(value, dict):
        return (dumps(value) + "\n").encode("utf-8")
    parts = []
    for key, item in value.items():
        if isinstance(item, list) and item:
            body = ",\n  ".join(dumps(v) for v in item)
            parts.append(f" {dumps(key)}: [\n  {body}\n ]")
        elif isinstance(item, dict) and item:
            body = ",\n  ".join(f"{dumps(k)}:{dumps(v)}" for k, v in item.items())
            parts.append(f" {dumps(key)}: {{\n  {body}\n }}")
        else:
            parts.append(f" {dumps(key)}: {dumps(item)}")
    return ("{\n" + ",\n".join(parts) + "\n}\n").encode("utf-8")
