"""Reading people and projects files."""
from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd

from allocator import domain
from allocator.domain import ProjectStatus
from allocator.io.records import EMAIL_RE, Parsed, PersonRow, ProjectRow, ROLE_NAMES
from allocator.io.table import Problems, email_column, first_lines, integer_column, read_table


def read_people(data: bytes, *, default_role: str | None = None) -> Parsed:
    """Rows of (email, name, role[, max_load]); `default_role` fills a missing role column."""
    table = read_table(data, {
        "email": ("e-mail", "email address", "e-mail address", "mail", "user", "username", "upn"),
        "name": ("full name", "display name", "student name", "person"),
        "role": ("type", "kind", "member type"),
        "max_load": ("max load", "load", "max students", "supervision capacity"),
    }, required=("email",) if default_role else ("email", "role"), what="people file")
    frame, problems = table.frame, Problems()
    if frame.empty:
        return Parsed((), tuple(table.errors), table.ignored)
    emails = email_column(frame, "email", problems)
    frame["name"] = frame["name"].str.split().str.join(" ") if "name" in frame else ""
    too_long = frame["name"].str.len() > domain.PERSON_NAME_MAX
    problems.where(frame, too_long, f"name longer than {domain.PERSON_NAME_MAX} characters")
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
    loads = (integer_column(frame, "max_load", problems, label="max_load", blank_ok=True) if has_load
             else pd.Series(pd.NA, index=frame.index, dtype="Int64"))
    valid_email = emails.str.fullmatch(EMAIL_RE).fillna(False) & (emails != "")
    duplicate = valid_email & emails.duplicated(keep="first")
    if duplicate.any():
        first = first_lines(frame, emails)
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
    if len(tags) > domain.PROJECT_TAGS_MAX:
        return f"{len(tags)} tags; at most {domain.PROJECT_TAGS_MAX}"
    long = [t for t in tags if len(t) > domain.PROJECT_TAG_LENGTH_MAX]
    if long:
        return f"tag “{long[0][:20]}…” is longer than {domain.PROJECT_TAG_LENGTH_MAX} characters"
    return None


def _check_duplicates(frame: pd.DataFrame, problems: Problems) -> None:
    """A code twice, or (among rows without a code) a title twice, is a problem on the later line."""
    codes = frame["code"].str.lower()
    dup_code = (codes != "") & codes.duplicated(keep="first")
    if dup_code.any():
        first = first_lines(frame, codes)
        problems.where(frame, dup_code, lambda rows: [f"duplicate code “{frame['code'][i]}” (also on line {first[i]})"
                                                      for i in rows.index])
    titles = frame["title"].str.lower().str.split().str.join(" ")
    no_code = codes == ""
    dup_title = no_code & (titles != "") & titles.where(no_code).duplicated(keep="first") & titles.notna()
    if dup_title.any():
        first = first_lines(frame.loc[no_code], titles[no_code])
        problems.where(frame, dup_title, lambda rows: [
            f"duplicate title “{frame['title'][i]}” (also on line {first[i]}); give them codes to tell them apart"
            for i in rows.index])


def read_projects(data: bytes) -> Parsed:
    """Rows of projects. Optional columns absent from the file leave existing projects' fields alone."""
    table = read_table(data, {
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
    frame, problems = table.frame, Problems()
    if frame.empty:
        return Parsed((), tuple(table.errors), table.ignored)
    for column in ("code", "description", "min_students", "supervisor_email", "tags", "status"):
        if column not in frame:
            frame[column] = ""
    problems.where(frame, frame["title"] == "", "missing title")
    problems.where(frame, frame["title"].str.len() > domain.PROJECT_TITLE_MAX,
                   f"title longer than {domain.PROJECT_TITLE_MAX} characters")
    problems.where(frame, frame["description"].str.len() > domain.PROJECT_DESCRIPTION_MAX,
                   f"description longer than {domain.PROJECT_DESCRIPTION_MAX:,} characters")
    problems.where(frame, frame["code"].str.len() > domain.PROJECT_CODE_MAX,
                   f"code longer than {domain.PROJECT_CODE_MAX} characters")
    capacity = integer_column(frame, "capacity", problems, label="capacity", blank_ok=False)
    minimum = integer_column(frame, "min_students", problems, label="min_students", blank_ok=True).fillna(0)
    over = capacity.notna() & (minimum > capacity).fillna(False)
    problems.where(frame, over, lambda rows: [f"minimum {minimum[i]} is more than capacity {capacity[i]}"
                                              for i in rows.index])
    sup = frame["supervisor_email"].str.lower()
    bad_sup = (sup != "") & ~sup.str.fullmatch(EMAIL_RE).fillna(False)
    problems.where(frame, bad_sup, lambda rows: [f"bad supervisor email “{v}”" for v in rows["supervisor_email"]])
    status = frame["status"].str.lower()
    problems.where(frame, (status != "") & ~status.isin(ProjectStatus.values()),
                   lambda rows: [f"unknown status “{v}” (use {', '.join(ProjectStatus)})" for v in rows["status"]])
    tags = frame["tags"].map(split_tags)
    tag_msgs = tags.map(tag_problem)
    problems.where(frame, tag_msgs.notna(), lambda rows: tag_msgs[rows.index].tolist())
    _check_duplicates(frame, problems)
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
