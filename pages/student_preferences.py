import streamlit as st

from allocator import ui

ctx = ui.page_context()
st.title("student_preferences")
st.info("Coming soon.")
