"""The CSV tokeniser the readers share (line numbers, header aliases, ragged rows) and their column checks."""
from __future__ import annotations

import csv
import io as _io
import re
from dataclasses import dataclass
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from allocator import domain
from allocator.io.records import BadFile, EMAIL_RE, FORMULA_STARTS, RowError
from allocator.io.decoding import decode


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
class Table:
    frame: pd.DataFrame  # canonical columns (str), plus "line" (int)
    errors: list[RowError]
    ignored: tuple[str, ...]
    columns: tuple[str, ...]  # canonical columns the file has


def _records(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """(the header, each non-blank record after it with the line it starts on); BadFile for broken quoting."""
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
    return header, records


def _map_header(header: list[str], columns: Mapping[str, Iterable[str]],
                extra: re.Pattern | None) -> tuple[list[str | None], list[str], dict[str, str]]:
    """(canonical name or None per header cell, the ignored headers, the file's spelling of each canonical name)."""
    aliases: dict[str, str] = {}
    for canonical, spellings in columns.items():
        for spelling in (canonical, *spellings):
            aliases[_norm_header(spelling)] = canonical
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
    return mapped, ignored, seen


def read_table(data: bytes, columns: Mapping[str, Iterable[str]], *, required: Sequence[str] = (),
                extra: re.Pattern | None = None, what: str = "file") -> Table:
    """Tokenise `data`; map its header onto `columns` (canonical name → accepted spellings).

    Headers matching `extra` (e.g. choice_1..choice_n) are kept under their normalised name.
    """
    header, records = _records(decode(data))
    mapped, ignored, seen = _map_header(header, columns, extra)
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
    return Table(frame=frame, errors=errors, ignored=tuple(ignored), columns=tuple(name for _, name in wanted))


class Problems:
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


def email_column(frame: pd.DataFrame, column: str, problems: Problems, label: str = "email") -> pd.Series:
    emails = frame[column].str.lower()
    blank = emails == ""
    problems.where(frame, blank, f"missing {label}")
    bad = ~blank & (~emails.str.fullmatch(EMAIL_RE) | (emails.str.len() > 320))
    problems.where(frame, bad, lambda rows: [f"bad {label} “{v}”" for v in rows[column]])
    return emails


def integer_column(frame: pd.DataFrame, column: str, problems: Problems, *, label: str, blank_ok: bool,
              minimum: int = 0, maximum: int = domain.PROJECT_CAPACITY_MAX) -> pd.Series:
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


def first_lines(frame: pd.DataFrame, keys: pd.Series) -> pd.Series:
    return frame["line"].groupby(keys).transform("first")
