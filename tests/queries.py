"""Counting the SQL a block of service code sends: a service's query count must not grow with the rows
it reads (no query per row)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event


@contextmanager
def counted(session) -> Iterator[list[str]]:
    """The SQL statements the block sends through the session's engine, in order."""
    statements: list[str] = []
    engine = session.get_bind().engine

    def listener(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", listener)
