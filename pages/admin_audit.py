"""Audit log (coordinators): every coordinator action, newest first, filtered by cohort, action and person."""
from __future__ import annotations

import streamlit as st

from allocator import services, ui
from allocator.domain import Role

ctx = ui.page_context(Role.ADMIN)
st.title("Audit log")

cohorts = ui.read(services.list_cohorts, actor=ctx.actor, include_archived=True)
names = {c.id: c.name for c in cohorts}

f1, f2 = st.columns(2)
options = [None, *names]
cohort_id = f1.selectbox("Cohort", options, key="audit-cohort",
                         index=options.index(ctx.cohort_id) if ctx.cohort_id in options else 0,
                         format_func=lambda i: "All cohorts" if i is None else names[i])
limit = f2.selectbox("Show the latest", [100, 500, 2000], index=1, key="audit-limit")
recent = ui.read(services.list_events, actor=ctx.actor, cohort_id=cohort_id, limit=limit)
actions = sorted({e.action for e in recent})
f3, f4 = st.columns(2)
action = f3.selectbox("Action", [None, *actions], key="audit-action",
                      format_func=lambda a: "Every action" if a is None else a)
who = f4.text_input("Person", placeholder="Part of an email", key="audit-who")

events = recent if action is None else [e for e in recent if e.action == action]
if who.strip():
    events = [e for e in events if who.strip().lower() in e.actor_email.lower()]
st.caption(f"{len(events)} event(s)" + (f" (the latest {limit} looked at)" if len(recent) == limit else ""))
if not events:
    st.info("Nothing recorded matches.")
else:
    st.dataframe(
        [{"When": ui.fmt_datetime(e.created_at), "Who": e.actor_email,
          "Cohort": names.get(e.cohort_id, "—" if e.cohort_id is None else f"#{e.cohort_id}"), "Action": e.action,
          "What happened": e.description} for e in events],
        hide_index=True, width="stretch", key="audit-table",
        column_config={"What happened": st.column_config.TextColumn("What happened", width="large")})
