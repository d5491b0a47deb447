"""Streamlit glue shared by app.py and the pages: who is signed in, which cohort, which role.

app.py re-derives the identity on every script run and stores the resulting `Context` for this run only;
pages read it with `page_context(role)`, which also checks the role again at the top of each page.
Services check everything once more: this module is convenience, not the security boundary.

One module per job: `identity` (who is here, which cohort and role, the page guard), `actions` (calling
services: `read`, `run_action`, and the calm failure pages), `text` (user text made safe for Markdown,
dates, ordinals) and `widgets` (pieces several pages draw). Pages use them as `ui.<name>`.
"""
from __future__ import annotations

from allocator.ui.actions import (MSG_UNAVAILABLE, check, log_failure, read, read_courtesy, run_action,
                                  service_unavailable, settings_unreadable)
from allocator.ui.identity import (COHORT_KEY, CONTEXT_KEY, LOCAL_KEY, NEXT_COHORT_KEY, REQUESTED_PAGE_KEY, Context,
                                   establish, go_to_requested_page, page_context, select_cohort_next_run,
                                   sidebar_account)
from allocator.ui.text import description_markdown, fmt_datetime, md, ordinal, safe_markdown, user_markdown
from allocator.ui.widgets import (PREFERENCE_DRAFT_KEY, close_menu_after_choice, preference_draft, show_import_preview,
                                  warn_before_leaving, wrap_long_options)

__all__ = [
    "MSG_UNAVAILABLE", "check", "log_failure", "read", "read_courtesy", "run_action", "service_unavailable",
    "settings_unreadable", "COHORT_KEY", "CONTEXT_KEY", "LOCAL_KEY", "NEXT_COHORT_KEY", "REQUESTED_PAGE_KEY",
    "Context", "establish", "go_to_requested_page", "page_context", "select_cohort_next_run", "sidebar_account",
    "description_markdown", "fmt_datetime", "md", "ordinal", "safe_markdown", "user_markdown",
    "PREFERENCE_DRAFT_KEY", "close_menu_after_choice", "preference_draft", "show_import_preview",
    "warn_before_leaving", "wrap_long_options",
]
