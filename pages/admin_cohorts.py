import streamlit as st

from allocator import ui

ctx = ui.page_context()
st.title("admin_cohorts")
st.info("Coming soon.")
