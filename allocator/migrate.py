"""Bring a database to the newest schema, from Python (app start, seed, tests) as from the alembic CLI."""
from __future__ import annotations

import logging

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from allocator import config
from allocator.config import ROOT

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key that serialises migrations of one database: any 64-bit number no other
# code uses ("allocator" spelled in hex digits, near enough).
MIGRATION_LOCK_ID = 0xA110CA7042
RUN_MIGRATIONS = "alembic upgrade head"


class SchemaMismatch(Exception):
    """The database's schema is not the one this release was written for; `message` says what to do."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    # ConfigParser interpolation would read a % in a password as a template.
    cfg.set_main_option("sqlalchemy.url", (url or config.load().database_url).replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def lock_for_migrations(connection: Connection) -> None:
    """Inside the migration transaction: wait for any other process migrating this database, so that
    replicas started together (or `alembic upgrade head` in each container) migrate it once, the others
    then finding it at head. PostgreSQL only; SQLite's own write lock already serialises writers."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_ID})


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def require_current(url: str) -> None:
    """Raise `SchemaMismatch` unless the database is at this release's head revision.

    For replicas that leave migrating to a one-shot job: serving pages on another schema would fail
    in the middle of someone's work instead of up front with the reason."""
    script = ScriptDirectory.from_config(alembic_config(url))
    head = script.get_current_head()
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_heads()
    finally:
        engine.dispose()
    if current == (head,):
        return
    if not current:
        raise SchemaMismatch(
            f"The database has no schema yet; this release needs revision {head}. Run the migrations "
            f"first: `{RUN_MIGRATIONS}` (with Docker Compose, the `migrate` service).")
    try:
        for revision in current:
            if script.get_revision(revision) is None:
                raise CommandError(revision)
    except CommandError:
        raise SchemaMismatch(
            f"The database is at revision {', '.join(current)}, which this release does not know: a newer "
            f"release has migrated it. Run that release (or its `alembic downgrade {head}`).") from None
    raise SchemaMismatch(
        f"The database is at revision {', '.join(current)}, but this release needs {head}. Run the "
        f"migrations first: `{RUN_MIGRATIONS}` (with Docker Compose, the `migrate` service).")


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base", *, allow_data_loss: bool = False) -> None:
    """Step the schema down to `revision`. A step that would drop data (below the first revision) is
    refused unless `allow_data_loss`, as `alembic -x allow-data-loss=yes downgrade ...` on the CLI."""
    cfg = alembic_config(url)
    cfg.attributes["allow_data_loss"] = allow_data_loss
    command.downgrade(cfg, revision)


def check(url: str | None = None) -> None:
    """Raise if the models and the migrations disagree (alembic's `check`)."""
    command.check(alembic_config(url))
