"""What the app does once per process before the first page: schema to head, demo data on first start."""
from __future__ import annotations

import gc
import importlib
import logging
import os

from allocator import db, migrate, seeding

log = logging.getLogger(__name__)


def prepare_database(url: str, *, seed_demo: bool, migrate_on_start: bool = True) -> bool:
    """Migrate `url` to head (or, when migrating is a separate job, refuse a database that is not at
    head with `migrate.SchemaMismatch`); seed the demo deployment when asked and the database has
    nobody in it.

    Returns True when demo data was created.
    """
    if migrate_on_start:
        migrate.upgrade(url)
    else:
        try:
            migrate.require_current(url)
        except migrate.SchemaMismatch as refusal:
            log.error("refusing to serve: %s", refusal.message)
            raise
    if not seed_demo or os.environ.get("ALLOCATOR_NO_DEMO"):
        return False
    with db.engine(url).connect() as conn:
        if not seeding.is_empty(conn):
            return False
    log.info("empty database: creating the demo deployment")
    try:
        seeding.seed(url)
    except seeding.CohortExists:
        # Another process started at the same moment and seeded first; its data is what we wanted.
        return False
    return True


# What the pages draw with: imported before `freeze_startup_objects`, so that their objects are frozen too.
PAGE_LIBRARIES = ("pandas", "allocator.charts")


def freeze_startup_objects() -> None:
    """Leave every object alive after start-up (the libraries', mostly: about 200,000) out of the garbage
    collector's later passes. A full pass walks every tracked object, and a run at 5,000 students
    allocates enough to set off one or two: with those objects in the heap, each took 0.2 to 0.3 s of the
    click (benchmarks/studio.py). Reference counting still frees every object nothing refers to; only
    reference cycles among the frozen objects would stay until the process ends."""
    for name in PAGE_LIBRARIES:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()
