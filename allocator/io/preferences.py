"""Reading students' ranked lists: long (one row per choice) or wide (choice_1 … choice_n)."""
from __future__ import annotations


import pandas as pd

from allocator.io.records import BadFile, EMAIL_RE, Parsed, StudentChoices, WIDE_CHOICE
from allocator.io.table import Problems, Table, email_column, first_lines, integer_column, read_table


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
    table = read_table(data, spelling, required=("student_email",), extra=WIDE_CHOICE, what="preferences file")
    wide_cols = sorted((c for c in table.columns if WIDE_CHOICE.match(c) and c not in spelling),
                       key=lambda c: int(WIDE_CHOICE.match(c).group(1)))
    if not wide_cols:
        if "rank" not in table.columns or not {"project", "project_title"} & set(table.columns):
            raise BadFile("The preferences file needs either “project” (a code or title) and “rank” columns, one "
                          "row per choice, or “choice_1”, “choice_2”, … columns, one row per student.")
        return _read_long(table)
    return _read_wide(table, wide_cols)


def _read_long(table: Table) -> Parsed:
    frame, problems = table.frame, Problems()
    if frame.empty:
        return Parsed((), tuple(table.errors), table.ignored, "long")
    emails = email_column(frame, "student_email", problems, "student email")
    # A code where there is one, else the title (our own export writes both).
    refs = frame["project"] if "project" in frame else pd.Series("", index=frame.index, dtype="object")
    if "project_title" in frame:
        refs = refs.where(refs != "", frame["project_title"])
    frame["project"] = refs
    problems.where(frame, frame["project"] == "", "missing project")
    ranks = integer_column(frame, "rank", problems, label="rank", blank_ok=False, minimum=1, maximum=1000)
    key_rank = emails + "\x00" + ranks.astype("string").fillna("")
    dup_rank = ranks.notna() & key_rank.duplicated(keep="first")
    if dup_rank.any():
        first = first_lines(frame, key_rank)
        problems.where(frame, dup_rank, lambda rows: [f"rank {ranks[i]} repeated for {emails[i]} (line {first[i]})"
                                                      for i in rows.index])
    key_project = emails + "\x00" + frame["project"].str.lower()
    dup_project = (frame["project"] != "") & key_project.duplicated(keep="first")
    if dup_project.any():
        first = first_lines(frame, key_project)
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


def _read_wide(table: Table, choice_cols: list[str]) -> Parsed:
    frame, problems = table.frame, Problems()
    if frame.empty:
        return Parsed((), tuple(table.errors), table.ignored, "wide")
    emails = email_column(frame, "student_email", problems, "student email")
    valid = (emails != "") & emails.str.fullmatch(EMAIL_RE).fillna(False)
    duplicate = valid & emails.duplicated(keep="first")
    if duplicate.any():
        first = first_lines(frame, emails)
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
