"""Small helpers for sentences a coordinator or a student reads."""
from __future__ import annotations


def ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


def choice(rank: int, k: int) -> str:
    """'1st choice' or 'an unranked project' for rank k + 1."""
    return "an unranked project" if rank > k else f"{ordinal(rank)} choice"


def listed(items: list[str]) -> str:
    """Items as a sentence lists them: "A", "A and B", "A, B and C"."""
    return items[-1] if len(items) < 2 else ", ".join(items[:-1]) + " and " + items[-1]


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
