import streamlit as st

from allocator import ui

ctx = ui.page_context()
st.title("staff_propose")
st.info("Coming soon.")
