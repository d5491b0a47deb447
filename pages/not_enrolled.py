"""The only page for a verified person who is in no cohort and is not a coordinator."""
import streamlit as st

from allocator import ui

ctx = st.session_state.get(ui.CONTEXT_KEY)
st.title("You are not enrolled")
email = ctx.actor.email if ctx else ""
st.info(f"You are signed in as **{email}**, but you are not part of any project allocation yet. "
        "If you expected to be, please ask your course coordinator to add this email address.")
