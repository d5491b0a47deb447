"""The keys by which a run's record (`run_record`) and the engine's problem name database rows: students
"S<user id>", projects "P<project id>", supervisors "L<user id>"; and `DamagedRecord`, what reading a
record that breaks its form raises. Apart from `run_record` so that each module stays small;
`run_record` re-exports every name here."""
from __future__ import annotations

from typing import Any

__all__ = ["DamagedRecord", "key_id", "project_key", "project_of", "student_key", "supervisor_key", "user_of"]


class DamagedRecord(ValueError):
    """A stored or restored record that breaks the form; the message is one line naming the culprit."""


def student_key(user_id: int) -> str:
    return f"S{user_id}"


def project_key(project_id: int) -> str:
    return f"P{project_id}"


def supervisor_key(user_id: int) -> str:
    return f"L{user_id}"


def key_id(key: Any, prefix: str) -> int:
    """The id in a key with this prefix ("S", "P" or "L"); DamagedRecord for anything else."""
    # The prefix, then 1 to 18 digits not starting with 0; checked without a regular expression, as a
    # record holds tens of thousands of keys.
    digits = key[1:] if isinstance(key, str) and key[:1] == prefix else ""
    if not (1 <= len(digits) <= 18 and digits[0] != "0" and digits.isascii() and digits.isdigit()):
        raise DamagedRecord(f"{key!r} is not a {'student' if prefix == 'S' else 'project' if prefix == 'P' else 'supervisor'} key")
    return int(digits)


def user_of(key: str) -> int:
    """The user id behind a student ("S12") or supervisor ("L3") key."""
    return key_id(key, "L" if isinstance(key, str) and key.startswith("L") else "S")


def project_of(key: str | None) -> int | None:
    """The project id behind a project key ("P7"); None stays None (unplaced)."""
    return None if key is None else key_id(key, "P")
