"""My preferences: rank between the cohort's minimum and maximum number of projects, reorder, remove, save.

The list being edited is a draft in `st.session_state` (shared with the Projects page, whose Add buttons
append to it); Save sends the whole draft to the service, which stores it whole or not at all. The
ranking is native first: one selectbox per rank whose options exclude what is already chosen, with
up / down / remove buttons in a row that stays a row on a phone (the keyboard and screen-reader path,
and what AppTest drives). Above it, a drag-and-drop list (`streamlit-sortables`) reorders the same draft
in one gesture; its value comes from the browser, so the service checks it is the draft reordered.
"""
from __future__ import annotations

import streamlit as st
from streamlit_sortables import sort_items

from allocator import services, ui
from allocator.domain import Role

DRAFT = ui.PREFERENCE_DRAFT_KEY
SAVE_REQUEST = "pref-save-requested"
DRAG_STATE = "pref-drag-state"  # which drag list is on the page, and the order it shows
DRAG_ERROR = "pref-drag-error"  # why a dropped order was refused, shown after the list is redrawn
NEW_KEY = "rank-new"

ctx = ui.page_context(Role.STUDENT)


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


# Inside the component's frame: one full-width card per choice, numbered, long titles wrapped.
DRAG_STYLE = """
.sortable-component, .sortable-container, .sortable-container-body { width: 100%; margin: 0; padding: 0; }
.sortable-container-body { counter-reset: choice; background: transparent; }
.sortable-item, .sortable-item:hover {
  display: block; width: auto; margin: 0 0 6px 0; padding: 10px 12px; text-align: left; white-space: normal;
  background: var(--secondary-background-color); color: var(--text-color); border: 1px solid rgba(49, 51, 63, 0.2);
  border-radius: 8px; font-family: var(--font); font-size: 15px; line-height: 1.35; touch-action: none;
}
.sortable-item::before { content: "⠿ " counter(choice) ". "; counter-increment: choice; font-weight: 600; }
.sortable-item.dragging::before { content: "⠿ "; counter-increment: none; }
.sortable-item.active { opacity: 0.4; }
"""


def drag_to_reorder(ids: list[int], labels: dict[int, str]) -> None:
    """The draft as a drag-and-drop list; a drop that changes the order becomes the draft (in place, in
    this same run) once the service has checked it. The component keeps its own copy of the list: while
    only drops change the draft, the same component stays (it already shows the order); any other change
    (Up/Down, Remove, Add, Discard, the Projects page) gets a fresh one, given the draft as it is."""
    state = st.session_state.setdefault(DRAG_STATE, {"n": 0, "shows": None})
    if state["shows"] != ids:
        state["n"] += 1
        state["shows"] = list(ids)
    shown = [labels[pid] for pid in ids]
    with st.container(key="pref-drag"):
        st.caption("Drag a project to change its place, or use the Up and Down buttons below.")
        dropped = sort_items(shown, direction="vertical", custom_style=DRAG_STYLE, key=f"pref-sort-{state['n']}")
    if dropped == shown:
        return
    by_label = dict(zip(shown, ids))
    try:
        order = ui.check(services.check_new_order, actor=ctx.actor, cohort_id=ctx.cohort_id, draft=ids,
                         new_order=[by_label.get(label) for label in dropped or ()])
    except services.DomainError as err:
        st.session_state[DRAG_ERROR] = str(err)
        state["shows"] = None  # the component shows the refused order: redraw it from the draft
        st.rerun()
    ids[:] = order
    state["shows"] = list(order)


st.title("My preferences")
messages = st.container()
if refused := st.session_state.pop(DRAG_ERROR, None):
    messages.error(refused)

if st.session_state.pop(SAVE_REQUEST, False) and DRAFT in st.session_state:
    with messages:
        saved = ui.run_action(services.save_preferences, actor=ctx.actor, cohort_id=ctx.cohort_id,
                              project_ids=list(st.session_state[DRAFT]["ids"]), success="Your list is saved.")
    if saved is not None:
        st.session_state[DRAFT] = {"cohort": ctx.cohort_id, "ids": list(saved.project_ids),
                                   "base": saved.project_ids}
        messages.success(f"Saved {ui.fmt_datetime(saved.saved_at)}.")

view = ui.read(services.get_preferences, actor=ctx.actor, cohort_id=ctx.cohort_id)
if view.group_name:
    st.info(f":material/groups: You rank for your group **{ui.md(view.group_name)}**: saving changes the "
            "group's list, which every member sees (see **My group** for who changed what).")

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
for pid in ids:
    if pid not in labels:  # withdrawn since it was chosen: still in the list, to be removed
        labels[pid] = f"{titles.get(pid, 'Unknown project')} (no longer available)"


def native_rows(ids: list[int]) -> None:
    """One card per rank: its number and Up / Down / Remove, then the project's title as text (a
    selectbox would cut a long title to one line on a phone), with "Change" to pick another project."""
    for i, pid in enumerate(ids):
        native_row(i, pid, ids)


def native_row(i: int, pid: int, ids: list[int]) -> None:
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
        if pid not in options:
            st.markdown(f"~~{ui.md(titles.get(pid, 'Unknown project'))}~~  \n"
                        "No longer available: remove it before saving.")
            return
        with st.container(horizontal=True, vertical_alignment="center", gap="small", key=f"title-{i}"):
            st.markdown(ui.md(labels[pid]), width="stretch")
            with st.popover("Change", icon=":material/swap_horiz:", type="tertiary", key=f"change-{i}"):
                choices = [o for o in options if o == pid or o not in ids]
                st.session_state[f"rank-{i}"] = pid
                st.selectbox(f"Your {ui.ordinal(i + 1)} choice", choices, format_func=labels.get,
                             key=f"rank-{i}", on_change=replace, args=(i,))


ui.wrap_long_options()
if len(ids) > 1:
    drag_to_reorder(ids, labels)
    # The same list with buttons: the keyboard and screen-reader way, also to remove or change a choice.
    with st.expander("Move, remove or change choices with buttons", key="pref-buttons",
                     icon=":material/keyboard:"):
        native_rows(ids)
else:
    native_rows(ids)

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
ui.warn_before_leaving(changed)
