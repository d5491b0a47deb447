"""Business rules, as plain functions over a session. Pages call `services.<name>(session, actor=..., ...)`.

Each module lists its public functions in `__all__`; they are gathered here so pages import one module.
"""
from allocator.services.errors import *  # noqa: F401,F403
from allocator.services.access import *  # noqa: F401,F403
from allocator.services.audit import *  # noqa: F401,F403
from allocator.services.cohorts import *  # noqa: F401,F403
from allocator.services.projects import *  # noqa: F401,F403
from allocator.services.phases import (  # noqa: F401
    Window, phase_of, preferences_open, proposals_open, window_of,
)
from allocator.services.notifications import *  # noqa: F401,F403
from allocator.services.preferences import *  # noqa: F401,F403
from allocator.services.responses import *  # noqa: F401,F403
from allocator.services.proposals import *  # noqa: F401,F403
from allocator.services.allocation import *  # noqa: F401,F403
from allocator.services.allocation_publish import *  # noqa: F401,F403
from allocator.services.allocation_export import *  # noqa: F401,F403
from allocator.services.run_notes import *  # noqa: F401,F403
from allocator.services.cohort_admin import *  # noqa: F401,F403
from allocator.services.catalogue import *  # noqa: F401,F403
from allocator.services.people import *  # noqa: F401,F403
from allocator.services.data_io import *  # noqa: F401,F403
from allocator.services.places import *  # noqa: F401,F403
from allocator.services.groups import *  # noqa: F401,F403
