"""My preferences: rank between the cohort's minimum and maximum number of projects, reorder, remove, save.

The list being edited is a draft in `st.session_state` (shared with the Projects page, whose Add buttons
append to it); Save sends the whole draft to the service, which stores it whole or not at all. The
ranking widget is native: one selectbox per rank whose options exclude what is already chosen, with
up / down / remove buttons in a row that stays a row on a phone.
"""
from __future__ import annotations

import streamlit as st

from allocator import db, services, ui

DRAFT = ui.PREFERENCE_DRAFT_KEY
SAVE_REQUEST = "pref-save-requested"
NEW_KEY = "rank-new"

ctx = ui.page_context("student")


def time_left(delta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''} {hours} hour{'s' if hours != 1 else ''} left"
    if hours:
        return f"{hours} hour{'s' if hours != 1 else ''} {minutes} min left"
    return f"{minutes} min left" if minutes else "less than a minute left"


def move(index: int, step: int) -> None:
    ids = st.session_state[DRAFT]["ids"]
    other = index + step
    if 0 <= index < len(ids) and 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]


def remove(index: int) -> None:
    ids = st.session_state[DRAFT]["ids"]
    if 0 <= index < len(ids):
        del ids[index]


def replace(index: int) -> None:
    ids = st.session_state[DRAFT]["ids"]
    chosen = st.session_state.get(f"rank-{index}")
    if chosen is not None and 0 <= index < len(ids) and chosen not in ids:
        ids[index] = chosen


def append() -> None:
    ids = st.session_state[DRAFT]["ids"]
    chosen = st.session_state.get(NEW_KEY)
    if chosen is not None and chosen not in ids:
        ids.append(chosen)


def discard() -> None:
    st.session_state.pop(DRAFT, None)


def request_save() -> None:
    st.session_state[SAVE_REQUEST] = True


st.title("My preferences")
messages = st.container()

if st.session_state.pop(SAVE_REQUEST, False) and DRAFT in st.session_state:
    with messages:
        saved = ui.run_action(services.save_preferences, actor=ctx.actor, cohort_id=ctx.cohort_id,
                              project_ids=list(st.session_state[DRAFT]["ids"]), success="Your list is saved.")
    if saved is not None:
        st.session_state[DRAFT] = {"cohort": ctx.cohort_id, "ids": list(saved.project_ids),
                                   "base": saved.project_ids}
        messages.success(f"Saved {ui.fmt_datetime(saved.saved_at)}.")

with db.read() as session:
    view = services.get_preferences(session, actor=ctx.actor, cohort_id=ctx.cohort_id)

# Where things stand: deadline, time left, saved or not. Only dates still true are named.
window = view.window
if view.is_open:
    deadline = (f"**Deadline:** {ui.fmt_datetime(window.closes_at)}" if window.closes_at
                else "**Deadline:** none yet: the coordinator will close choosing")
    left = f" · :material/schedule: {time_left(view.time_left)}" if view.time_left is not None else ""
    st.markdown(deadline + left)
elif window.state == "opens":
    st.info(f"Choosing projects opens {ui.fmt_datetime(window.opens_at)}.")
elif window.state == "published":
    st.info("The allocation is published: your list is read-only. See **My allocation** for your project.")
elif window.state == "passed":
    st.info(f"The deadline has passed ({ui.fmt_datetime(window.closes_at)}): your list is read-only.")
elif window.phase == "proposals":
    st.info("Choosing projects is paused while supervisors propose projects: the coordinator has reopened "
            "proposals. Your saved list is kept; you can change it when choosing reopens.")
elif window.phase == "setup":
    st.info("Choosing projects has not opened yet.")
else:
    st.info("The coordinator has closed choosing projects: your list is read-only.")
st.markdown(f":green[:material/check_circle: **Saved** {ui.fmt_datetime(view.saved_at)}]" if view.submitted
            else ":orange[:material/edit_note: **Not yet submitted**]")

if view.read_only:
    if view.items:
        st.markdown("\n".join(f"{item.rank}. {ui.md(item.title)} — {ui.md(item.supervisor_name)}"
                              + ("" if item.available else " *(withdrawn)*") for item in view.items))
    else:
        st.caption("You have no projects in your list.")
    st.stop()

st.caption(f"Rank between {view.min_choices} and {view.max_choices} projects, your favourite first. "
           "Browse them under **Projects**.")

options = {o.id: o for o in view.options}
labels: dict[int, str] = {}
seen: set[str] = set()
for o in view.options:
    label = f"{o.title} — {o.supervisor_name}"
    if label in seen:
        label = f"{label} ({o.code or '#' + str(o.id)})"
    seen.add(label)
    labels[o.id] = label

draft = ui.preference_draft(ctx.cohort_id, view.project_ids)
ids: list[int] = draft["ids"]
titles = {item.project_id: item.title for item in view.items}

for i, pid in enumerate(ids):
    with st.container(border=True, gap="small"):
        # One compact row per rank: its number and the buttons, then the project, so it fits a phone.
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.markdown(f"**{ui.ordinal(i + 1)} choice**", width="stretch")
            st.button("Up", key=f"up-{i}", icon=":material/arrow_upward:", on_click=move, args=(i, -1),
                      disabled=i == 0, help="Move up", type="tertiary")
            st.button("Down", key=f"down-{i}", icon=":material/arrow_downward:", on_click=move, args=(i, 1),
                      disabled=i == len(ids) - 1, help="Move down", type="tertiary")
            st.button("Remove", key=f"remove-{i}", icon=":material/close:", on_click=remove, args=(i,),
                      help="Remove from my list", type="tertiary")
        if pid in options:
            choices = [o for o in options if o == pid or o not in ids]
            st.session_state[f"rank-{i}"] = pid
            st.selectbox(f"{ui.ordinal(i + 1)} choice", choices, format_func=labels.get, key=f"rank-{i}",
                         on_change=replace, args=(i,), label_visibility="collapsed")
        else:
            st.markdown(f"~~{ui.md(titles.get(pid, 'Unknown project'))}~~  \n"
                        "No longer available: remove it before saving.")

remaining = [o for o in options if o not in ids]
if len(ids) < view.max_choices and remaining:
    st.session_state[NEW_KEY] = None
    st.selectbox(f"Add your {ui.ordinal(len(ids) + 1)} choice", remaining, format_func=labels.get, key=NEW_KEY,
                 placeholder="Choose a project…", on_change=append)
elif len(ids) >= view.max_choices:
    st.caption(f"Your list is full ({view.max_choices} projects).")

changed = tuple(ids) != view.project_ids
if changed:
    st.warning("You have unsaved changes.", icon=":material/edit:")
with st.container(horizontal=True):
    st.button("Save my list", key="save-preferences", type="primary", on_click=request_save,
              icon=":material/save:")
    if changed:
        st.button("Discard changes", key="discard-preferences", on_click=discard, icon=":material/undo:")
