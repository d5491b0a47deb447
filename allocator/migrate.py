"""Bring a database to the newest schema, from Python (app start, seed, tests) as from the alembic CLI."""
from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, inspect

from allocator import config
from allocator.config import ROOT


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    # ConfigParser interpolation would read a % in a password as a template.
    cfg.set_main_option("sqlalchemy.url", (url or config.load().database_url).replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


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


def is_empty(connection: Connection) -> bool:
    return not inspect(connection).has_table("users")
