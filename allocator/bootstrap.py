"""What the app does once per process before the first page: schema to head, demo data on first start."""
from __future__ import annotations

import logging
import os

from allocator import db, migrate

log = logging.getLogger(__name__)


def prepare_database(url: str, *, seed_demo: bool) -> bool:
    """Migrate `url` to head; seed the demo deployment when asked and the database has nobody in it.

    Returns True when demo data was created.
    """
    migrate.upgrade(url)
    if not seed_demo or os.environ.get("ALLOCATOR_NO_DEMO"):
        return False
    with db.engine(url).connect() as conn:
        from sqlalchemy import text

        empty = conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 0
    if not empty:
        return False
    from allocator import seeding

    log.info("empty database: creating the demo deployment")
    seeding.seed(url)
    return True
