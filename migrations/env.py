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


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            migrate.lock_for_migrations(connection)
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url") or app_config.load().database_url
    with db.create(url).connect() as connection:
        _configure(connection=connection)
        with context.begin_transaction():
            migrate.lock_for_migrations(connection)
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
