"""Start-up leaves the objects alive by then out of later garbage-collector passes (issue 13)."""
from __future__ import annotations

import gc
import sys

from allocator import bootstrap


def test_the_page_libraries_are_imported_and_frozen():
    gc.unfreeze()
    bootstrap.freeze_startup_objects()
    assert all(name in sys.modules for name in bootstrap.PAGE_LIBRARIES)
    assert gc.get_freeze_count() > 0
    assert gc.isenabled()  # new objects are still collected
