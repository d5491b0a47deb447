"""What the data modules share: title matching, short lists for previews, ISO dates in files."""
from __future__ import annotations

from datetime import datetime


def norm_title(title: str) -> str:
    return " ".join((title or "").split()).lower()


def short_list(values: list[str], limit: int = 4) -> str:
    text = ", ".join(values[:limit])
    return text + (f" … ({len(values)} in all)" if len(values) > limit else "")


def iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""
