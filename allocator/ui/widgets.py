"""Pieces several pages draw: the student's preference draft, leave-page warnings, import previews."""
from __future__ import annotations


import streamlit as st

from allocator.ui.text import md


PREFERENCE_DRAFT_KEY = "pref-draft"


def preference_draft(cohort_id: int, saved: tuple[int, ...]) -> dict:
    """The list a student is editing, shared by Projects and My preferences: the saved list unless they
    have changed it since (then their unsaved edits survive moving between the two pages)."""
    draft = st.session_state.get(PREFERENCE_DRAFT_KEY)
    stale = (draft is None or draft["cohort"] != cohort_id
             or (draft["ids"] == list(draft["base"]) and tuple(draft["base"]) != saved))
    if stale:
        draft = {"cohort": cohort_id, "ids": list(saved), "base": tuple(saved)}
        st.session_state[PREFERENCE_DRAFT_KEY] = draft
    return draft


def warn_before_leaving(unsaved: bool) -> None:
    """While `unsaved`, the browser asks before a reload or closing the tab would drop the student's draft
    (the draft lives in this Streamlit session, which a reload ends). Each run states the flag afresh, so
    saving or discarding turns the question off; the listener itself is added once per browser tab."""
    flag = "true" if unsaved else "false"
    st.html(f"""<script>
window.__allocatorUnsaved = {flag};
if (!window.__allocatorUnloadGuard) {{
  window.__allocatorUnloadGuard = true;
  window.addEventListener("beforeunload", (event) => {{
    if (window.__allocatorUnsaved) {{ event.preventDefault(); event.returnValue = ""; }}
  }});
}}
</script>""", unsafe_allow_javascript=True, width="content")


# Streamlit closes its sidebar menu after a choice only when the browser says it is a phone (user agent);
# a narrow window (a phone in desktop mode, a split screen) keeps it open over the page. Below Streamlit's
# `md` breakpoint the sidebar covers the page, so it is closed after a page is chosen there too.
_CLOSE_MENU_SCRIPT = """<script>
if (!window.__allocatorMenuCloser) {
  window.__allocatorMenuCloser = true;
  document.addEventListener("click", (event) => {
    const link = event.target.closest('[data-testid="stSidebarNav"] a');
    if (!link || window.innerWidth >= 768) return;
    setTimeout(() => {
      const close = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
      const sidebar = document.querySelector('[data-testid="stSidebar"]');
      if (close && sidebar && sidebar.getAttribute("aria-expanded") !== "false") close.click();
    }, 0);
  }, true);
}
</script>"""


def close_menu_after_choice() -> None:
    """On a narrow screen, close the sidebar menu once a page has been chosen from it."""
    st.sidebar.html(_CLOSE_MENU_SCRIPT, unsafe_allow_javascript=True)


# A selectbox's drop-down cuts each option to one line, which on a phone leaves "…— Nikita Ku" of a long
# project title and its supervisor: let the options wrap instead. (The chosen value sits in an <input>,
# which cannot wrap, so pages show a chosen project's title as text.)
_WRAP_OPTIONS_STYLE = """<style>
[data-testid="stSelectboxVirtualDropdown"] [role="option"],
[data-testid="stSelectboxVirtualDropdown"] [role="option"] > div {
  white-space: normal !important; height: auto !important; overflow: visible !important;
  text-overflow: clip !important;
}
[data-testid="stSelectboxVirtualDropdown"] [role="option"] { padding-top: 6px; padding-bottom: 6px; }
</style>"""


def wrap_long_options() -> None:
    """Long options of this page's drop-downs wrap instead of being cut (phones)."""
    st.html(_WRAP_OPTIONS_STYLE)


def show_import_preview(preview, key: str, key_label: str = "Key") -> None:
    """A dry-run report: what an import would add, change and reject (each rejected row by line)."""
    st.markdown(f"**Dry run:** {preview.summary}. Nothing has been written yet.")
    if preview.rejected:
        listed = "\n".join(f"- Line {e.line}: {md(e.message)}" for e in preview.rejected[:20])
        more = f"\n- … and {len(preview.rejected) - 20} more (see the table)" if len(preview.rejected) > 20 else ""
        st.error(f"{len(preview.rejected)} row(s) rejected:\n{listed}{more}")
        if len(preview.rejected) > 20:
            st.dataframe([{"Line": e.line, "Reason": e.message} for e in preview.rejected], hide_index=True,
                         key=f"{key}-rejected")
    for label, items in (("To add", preview.added), ("To change", preview.changed), ("Unchanged", preview.unchanged)):
        if items:
            with st.expander(f"{label} ({len(items)})", expanded=label != "Unchanged" and len(items) <= 20):
                st.dataframe([{"Line": i.line, key_label: i.key, "What": i.description,
                               "Changes": "; ".join(i.changes)}
                              for i in items], hide_index=True, width="stretch", key=f"{key}-{label}")
    if preview.ignored_columns:
        st.caption("Ignored columns: " + ", ".join(md(c) for c in preview.ignored_columns))
    for note in preview.notes:
        st.caption(note)
