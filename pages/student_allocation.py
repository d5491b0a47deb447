"""My allocation: the published project, its supervisor and its rank in my list; accept or decline."""
from __future__ import annotations

import streamlit as st

from allocator import domain, services, ui
from allocator.domain import Role

REQUEST = "alloc-request"
REASON = "alloc-reason"

ctx = ui.page_context(Role.STUDENT)


def request(accept: bool) -> None:
    st.session_state[REQUEST] = accept


st.title("My allocation")
messages = st.container()

if REQUEST in st.session_state:
    accept = st.session_state.pop(REQUEST)
    with messages:
        done = ui.run_action(services.respond_to_allocation, actor=ctx.actor, cohort_id=ctx.cohort_id,
                             accept=accept, reason=st.session_state.get(REASON, ""),
                             success="Thank you: your answer is recorded.")
    if done is not None:
        messages.success("You accepted your project." if accept else "You declined your project.")

explanation: list[str] | None = None
view = ui.read(services.get_my_allocation, actor=ctx.actor, cohort_id=ctx.cohort_id)
if view.published and view.rank != 1:
    # The explanation is a courtesy: its failure must not hide the allocation itself.
    explained = ui.read_courtesy(services.explain_for_student, actor=ctx.actor, cohort_id=ctx.cohort_id)
    explanation = list(explained) if explained is not None else None

if not view.published:
    st.info("The allocation has not been published yet. You will get a notification when it is.")
    st.stop()

if not view.placed:
    st.warning("You have not been placed on a project in this allocation. The coordinator will be in touch.")
else:
    st.subheader(ui.md(view.project_title))
    if view.rank:
        choice = f"your **{ui.ordinal(view.rank)} choice**" + (f" of {view.choices}" if view.choices else "")
    else:
        choice = "not one of the projects you ranked"
    supervisor = ui.md(view.supervisor_name)
    if view.supervisor_email:
        supervisor += f" ({ui.md(view.supervisor_email)})"
    st.markdown(f"**Supervisor:** {supervisor}  \n**Rank:** {choice}"
                + (f"  \n**Code:** {ui.md(view.project_code)}" if view.project_code else ""))
    for title, rank in view.more_projects:
        st.markdown(f"**Also:** {ui.md(title)} · "
                    + (f"your {ui.ordinal(rank)} choice" if rank else "not one of the projects you ranked"))
    with st.expander("Project description"):
        ui.user_markdown(view.project_description, title=view.project_title)

    st.subheader("Your answer")
    if view.accepted is True:
        st.success(f"You accepted this project ({ui.fmt_datetime(view.responded_at)}).")
    elif view.accepted is False:
        st.warning(f"You declined this project ({ui.fmt_datetime(view.responded_at)}).")
        if view.reason:
            st.markdown("**Your reason:**")
            st.text(view.reason)
    else:
        st.markdown("You have not answered yet.")

    if view.can_respond:
        if REASON not in st.session_state:
            st.session_state[REASON] = view.reason
        st.text_area("Reason (optional)", key=REASON, max_chars=domain.RESPONSE_REASON_MAX,
                     placeholder="Anything the coordinator should know")
        with st.container(horizontal=True):
            st.button("Accept", key="alloc-accept", type="primary", on_click=request, args=(True,),
                      disabled=view.accepted is True)
            st.button("Decline", key="alloc-decline", on_click=request, args=(False,))
        if view.accepted is not None:
            st.caption("You can change your answer until the coordinator closes responses.")
    else:
        st.info("Responses are closed. Contact the coordinator if something is wrong.")

if explanation:
    st.subheader("Why not a higher choice?")
    st.markdown("\n".join(f"- {ui.md(sentence)}" for sentence in explanation))
