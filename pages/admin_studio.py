"""Allocation studio (coordinators): tune, run, see, compare, adjust, publish and export allocation runs.

Thin by design: each view is a module of `allocator.studio_ui`, and every rule lives in `services`.
Runs are immutable, so a move or a restore makes a new run and the studio switches to it.
"""
from __future__ import annotations

import streamlit as st

from allocator import studio_ui, ui
from allocator.domain import Role

ctx = ui.page_context(Role.ADMIN)
st.title("Allocation studio")
if ctx.cohort_id is None:
    st.info("There is no cohort yet: create one in **Cohort settings** first.")
    st.stop()
studio_ui.draw(ctx)
