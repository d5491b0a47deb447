"""Engine and sessions. One session per user action:

    with db.session() as session, session.begin():
        services.submit_preferences(session, actor=..., ...)
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from allocator import config

_lock = threading.Lock()
_engines: dict[str, Engine] = {}


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # pysqlite's own BEGIN handling defers locks and breaks SAVEPOINT; SQLAlchemy emits BEGIN instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # SQLite ignores foreign keys unless asked, per connection.
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets pages read while a save or a run is writing; busy_timeout queues writers instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn) -> None:
    # A writer takes the lock up front (IMMEDIATE), so two saves queue on busy_timeout instead of one
    # failing when it upgrades its read lock. A reader needs no lock at all under WAL.
    read_only = conn.get_execution_options().get("allocator_read_only", False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


# A failed statement's message would otherwise carry its parameters (people's emails and names) into the log.
HIDE_PARAMETERS = True


def create(url: str) -> Engine:
    """A new engine for `url`, with the per-dialect settings the app relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=HIDE_PARAMETERS)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                         hide_parameters=HIDE_PARAMETERS)


def describe_failure(err: BaseException) -> str:
    """A failure as the log may keep it: for a database error, the driver's one-line message and the kind
    of statement, without the parameters or PostgreSQL's DETAIL line (which quotes the row's values, e.g.
    "Key (email)=(…) already exists")."""
    if isinstance(err, DBAPIError) and err.orig is not None:
        first_line = (str(err.orig).strip().splitlines() or [""])[0]
        statement = " ".join((err.statement or "").split()[:3])
        return f"{type(err).__name__} ({type(err.orig).__name__}): {first_line} [in: {statement} …]"
    return f"{type(err).__name__}: {err}"


def engine(url: str | None = None) -> Engine:
    """The shared engine for `url` (default: the configured DATABASE_URL)."""
    url = url or config.load().database_url
    with _lock:
        if url not in _engines:
            _engines[url] = create(url)
        return _engines[url]


def sessionmaker_for(bind: Engine) -> sessionmaker[Session]:
    # Read classes are built inside the transaction, so nothing needs reloading after commit.
    return sessionmaker(bind=bind, expire_on_commit=False, autoflush=True)


@contextmanager
def session(url: str | None = None) -> Iterator[Session]:
    with sessionmaker_for(engine(url))() as s:
        yield s


@contextmanager
def read(url: str | None = None) -> Iterator[Session]:
    """A session for drawing a page: it never writes, so on SQLite it never waits for a writer."""
    bind = engine(url).execution_options(allocator_read_only=True)
    with sessionmaker_for(bind)() as s:
        yield s
        # Anything a reader changed by mistake is thrown away, never committed.
        s.rollback()


def dispose_all() -> None:
    with _lock:
        for e in _engines.values():
            e.dispose()
        _engines.clear()
