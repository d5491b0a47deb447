import streamlit as st

from allocator import ui

ctx = ui.page_context()
st.title("admin_projects")
st.info("Coming soon.")
