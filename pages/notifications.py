import streamlit as st

from allocator import ui

ctx = ui.page_context()
st.title("notifications")
st.info("Coming soon.")
