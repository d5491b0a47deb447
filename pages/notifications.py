"""Notifications: the in-app messages for the signed-in person, newest first; mark them read."""
from __future__ import annotations

import streamlit as st

from allocator import services, ui
from allocator.domain import Role

REQUEST = "notif-request"

ctx = ui.page_context(Role.STUDENT, Role.STAFF, Role.ADMIN)


def request(what) -> None:
    st.session_state[REQUEST] = what


st.title("Notifications")
messages = st.container()

what = st.session_state.pop(REQUEST, None)
if what == "all":
    with messages:
        ui.run_action(services.mark_all_read, actor=ctx.actor)
elif what is not None:
    with messages:
        ui.run_action(services.mark_read, actor=ctx.actor, notification_ids=[what])

unread_only = st.toggle("Unread only", key="notif-unread-only")
listing = ui.read(services.list_notifications, actor=ctx.actor, unread_only=unread_only)

with st.container(horizontal=True, vertical_alignment="center"):
    st.markdown(f"**{listing.unread} unread**" if listing.unread else "Nothing unread.")
    if listing.unread:
        st.button("Mark all as read", key="notif-read-all", on_click=request, args=("all",))

if not listing.items:
    st.info("No unread messages." if unread_only else "No messages yet.")
for note in listing.items:
    with st.container(border=True):
        marker = "" if note.is_read else ":blue[:material/fiber_manual_record:] "
        st.markdown(f"{marker}**{ui.md(note.subject)}**")
        where = f" · {ui.md(note.cohort_name)}" if note.cohort_name else ""
        st.caption(f"{ui.fmt_datetime(note.created_at)}{where}")
        if note.body:
            ui.user_markdown(note.body, empty="")
        if not note.is_read:
            st.button("Mark as read", key=f"notif-read-{note.id}", on_click=request, args=(note.id,))
