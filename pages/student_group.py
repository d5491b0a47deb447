"""My group: start a group, invite students of the cohort by email, accept or decline invitations, see
the members, the shared list (who put each project where) and what changed, leave the group."""
from __future__ import annotations

import streamlit as st

from allocator.domain import InvitationStatus
from allocator import services, ui

FLASH = "group-flash"

ctx = ui.page_context("student")
st.title("My group")
if message := st.session_state.pop(FLASH, None):
    st.success(message)


def done(result, text: str) -> None:
    if result is not None:
        st.session_state[FLASH] = text
        st.rerun()


view = ui.read(services.my_group, actor=ctx.actor, cohort_id=ctx.cohort_id)
if not view.groups_allowed:
    st.info("This cohort does not use groups: everyone applies on their own.")
    st.stop()
st.caption(f"A group has {view.min_size} to {view.max_size} people. It is placed together on one project, or "
           "not at all; its members rank one shared list.")

for invite in view.received:
    with st.container(border=True):
        st.markdown(f"**{ui.md(invite.invited_by)}** invited you to **{ui.md(invite.group_name)}** "
                    f"({', '.join(ui.md(m) for m in invite.members)}). Joining replaces your own list with "
                    "the group's.")
        a, b = st.columns(2)
        if a.button("Accept", key=f"group-accept-{invite.id}", type="primary", disabled=not view.can_change):
            done(ui.run_action(services.answer_invitation, actor=ctx.actor, invitation_id=invite.id, accept=True),
                 f"You joined {invite.group_name}.")
        if b.button("Decline", key=f"group-decline-{invite.id}", disabled=not view.can_change):
            done(ui.run_action(services.answer_invitation, actor=ctx.actor, invitation_id=invite.id, accept=False),
                 "You declined the invitation.")

if view.group_id is None:
    st.markdown("You are not in a group.")
    if view.can_change:
        with st.form("group-create"):
            name = st.text_input("Group name", key="group-name", max_chars=services.GROUP_NAME_MAX)
            if st.form_submit_button("Start a group", type="primary", key="group-create-submit"):
                done(ui.run_action(services.create_group, actor=ctx.actor, cohort_id=ctx.cohort_id, name=name),
                     "Your group is started: invite the others by email.")
    st.stop()

st.subheader(ui.md(view.group_name))
st.markdown("**Members:** " + ", ".join(f"{ui.md(m.name)} ({ui.md(m.email)})" for m in view.members))
pending = [i for i in view.sent if i.status == InvitationStatus.PENDING]
if pending:
    st.caption("Invited, not yet answered: " + ", ".join(ui.md(i.email) for i in pending))
if len(view.members) < view.min_size:
    st.warning(f"Your group needs at least {view.min_size} members to be placed together; until then each "
               "member is placed on their own.")
if view.can_change:
    with st.form("group-invite", clear_on_submit=True):
        email = st.text_input("Invite a student of this cohort (email)", key="group-invite-email")
        if st.form_submit_button("Invite", key="group-invite-submit"):
            done(ui.run_action(services.invite_to_group, actor=ctx.actor, cohort_id=ctx.cohort_id, email=email),
                 f"Invitation sent to {email.strip()}.")

st.subheader("Our list")
if view.ranking:
    # A list, not a table: on a phone a table's last columns (who put each project there) are off screen.
    st.markdown("\n".join(f"{c.rank}. {ui.md(c.title)}  \n   *put here by {ui.md(c.changed_by)}, "
                          f"{ui.fmt_datetime(c.changed_at)}*" for c in view.ranking))
else:
    st.caption("The group has no list yet.")
st.page_link("pages/student_preferences.py", icon=":material/star:",
             label=("Edit" if view.list_open else "See") + " the group's list on My preferences")

st.subheader("What changed")
for note in view.history[:30]:
    st.markdown(f"{ui.fmt_datetime(note.at)} · **{ui.md(note.who)}** {ui.md(note.text)}")
if not view.history:
    st.caption("Nothing yet: joins, leaves and changes to the list appear here, with who made them.")

if view.can_change:
    with st.popover("Leave the group"):
        st.caption("You keep a copy of the group's list as your own.")
        if st.button("Leave", key="group-leave", type="primary"):
            done(ui.run_action(services.leave_group, actor=ctx.actor, cohort_id=ctx.cohort_id), "You left the group.")
