import streamlit as st

from allocator import ui

ctx = ui.page_context()
st.title("admin_data")
st.info("Coming soon.")
