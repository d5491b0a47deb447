"""Alembic environment: the URL comes from the app's own settings, or from a connection handed in."""
from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from allocator import config as app_config
from allocator import db, migrate
from allocator.models import Base, UTCDateTime

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _render_item(type_, obj, autogen_context):
    # Migrations must not import the app's types: they outlive the models they were written from.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _configure(**kwargs) -> None:
    # Batch mode: SQLite cannot ALTER constraints, so Alembic copies the table instead.
    context.configure(target_metadata=target_metadata, render_as_batch=True, compare_type=True,
                      render_item=_render_item, **kwargs)


def run_offline() -> None:
    _configure(url=config.get_main_option("sqlalchemy.url") or app_config.load().database_url,
               literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _sqlite_foreign_keys(connection, on: bool) -> None:
    """Switch SQLite's foreign keys. Batch mode rebuilds a table by copy-and-move (new table, copy,
    DROP the old one, rename): with foreign keys on, that DROP deletes or nulls every row that refers to
    the table (Alembic's batch.rst). SQLite ignores the pragma inside a transaction, so it is sent on the
    driver's connection, before Alembic begins one, and checked."""
    raw = connection.connection.driver_connection
    raw.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    if bool(raw.execute("PRAGMA foreign_keys").fetchone()[0]) != on:
        raise RuntimeError("SQLite would not switch foreign keys off for the migration (was the connection "
                           "inside a transaction?); nothing was changed.")


def _foreign_key_check(connection) -> None:
    """With the checks off while tables were rebuilt, prove afterwards that every reference still holds;
    raising here rolls the whole migration back."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        table, rowid, parent, _ = broken[0]
        raise RuntimeError(f"the migration would leave {len(broken)} broken reference(s), e.g. row {rowid} of "
                           f"{table} pointing at a missing {parent}; nothing was changed.")


def _migrate(connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _sqlite_foreign_keys(connection, False)
    try:
        # SQLite's DDL is transactional, though Alembic does not assume it: one transaction for the whole
        # upgrade lets the foreign-key check below undo all of it.
        _configure(connection=connection, **({"transactional_ddl": True} if sqlite else {}))
        with context.begin_transaction():
            migrate.lock_for_migrations(connection)
            context.run_migrations()
            if sqlite:
                _foreign_key_check(connection)
    finally:
        if sqlite:
            _sqlite_foreign_keys(connection, True)


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or app_config.load().database_url
    with db.create(url).connect() as connection:
        _migrate(connection)


if context.is_offline_mode():
    run_offline()
else:
    run_online()
