"""People (coordinators): the cohort's students and staff — import a CSV with a dry run first, find a
person and change their role, load or coordinator rights, remove them; remind who has not ranked."""
from __future__ import annotations

import streamlit as st

from allocator import services, ui
from allocator.domain import MEMBER_ROLES, Role

FLASH = "people-flash"
UPLOAD_VERSION = "people-upload-version"  # bumped after an import, which empties the uploader

ctx = ui.page_context(Role.ADMIN)
st.title("People")
if ctx.cohort_id is None:
    st.info("There is no cohort yet: create one in **Cohort settings** first.")
    st.stop()
cid = ctx.cohort_id


# Always one container above the tabs, message or not: an element appearing there would redraw the tabs
# with the first one selected, sending the coordinator away from the tab they were working in.
with st.container():
    if message := st.session_state.pop(FLASH, None):
        st.success(message)



def places_and_tier(person) -> None:
    """A student's own number of places (blank: the cohort's) and tier, with the reason for a tier change."""
    p1, p2, p3, p4 = st.columns([1, 1, 2, 1])
    places = p1.number_input("Places (empty: the cohort's)", min_value=1, max_value=services.MAX_PLACES, step=1,
                             value=person.places, key=f"people-{person.user_id}-places")
    tier = p2.number_input("Tier (1 first)", min_value=1, max_value=services.MAX_TIER, step=1, value=person.tier,
                           key=f"people-{person.user_id}-tier")
    reason = p3.text_input("Reason for the tier", key=f"people-{person.user_id}-tier-reason", max_chars=500)
    p4.write("")
    if p4.button("Save places and tier", key=f"people-{person.user_id}-save-places"):
        ok = ui.run_action(services.set_places, actor=ctx.actor, cohort_id=cid, user_id=person.user_id,
                           places=None if places is None else int(places))
        if ok is not None and int(tier) != person.tier:
            ok = ui.run_action(services.set_tier, actor=ctx.actor, cohort_id=cid, user_id=person.user_id,
                               tier=int(tier), reason=reason)
        if ok is not None:
            st.session_state[FLASH] = f"Saved {person.name}'s places and tier."
            st.rerun()


def groups_tab_body() -> None:
    rules = ui.read(services.group_rules, actor=ctx.actor, cohort_id=cid)
    with st.expander("Group and places rules", expanded=not rules.groups_allowed):
        with st.form("people-group-rules"):
            allowed = st.checkbox("Students may form groups", value=rules.groups_allowed, key="rules-allowed")
            g1, g2, g3 = st.columns(3)
            low = g1.number_input("Smallest group", min_value=2, max_value=services.MAX_GROUP_SIZE,
                                  value=rules.group_min_size, key="rules-min")
            high = g2.number_input("Largest group", min_value=2, max_value=services.MAX_GROUP_SIZE,
                                   value=rules.group_max_size, key="rules-max")
            places = g3.number_input("Places per student", min_value=1, max_value=services.MAX_PLACES,
                                     value=rules.places_per_student, key="rules-places")
            if st.form_submit_button("Save rules"):
                if ui.run_action(services.set_group_rules, actor=ctx.actor, cohort_id=cid, groups_allowed=allowed,
                                 group_min_size=int(low), group_max_size=int(high),
                                 places_per_student=int(places)) is not None:
                    st.session_state[FLASH] = "Saved the group and places rules."
                    st.rerun()
    groups = ui.read(services.list_groups, actor=ctx.actor, cohort_id=cid)
    st.caption(f"{len(groups):,} group(s), {sum(len(g.members) for g in groups):,} student(s) in groups")
    if not groups:
        return
    # One table and one picker, as on Members: a bordered box per group took seconds at 450 groups.
    st.dataframe([{"Group": g.name, "Members": len(g.members), "Who": ", ".join(m.name for m in g.members),
                   "Ranked": g.choices, "Invitations pending": g.pending, "Started by": g.created_by}
                  for g in groups], hide_index=True, width="stretch", key="people-groups-table")
    by_id = {g.id: g for g in groups}
    with st.expander("Dissolve a group"), st.form("group-dissolve-form", clear_on_submit=True):
        picked = st.selectbox("Group", list(by_id), index=None, placeholder="Pick a group", key="group-dissolve-pick",
                              format_func=lambda i: f"{by_id[i].name} · " + ", ".join(m.name for m in by_id[i].members))
        why = st.text_input("Reason (sent to the members, kept in the audit log)", key="group-dissolve-reason",
                            max_chars=500)
        if st.form_submit_button("Dissolve the group", type="primary", key="group-dissolve"):
            if picked is None:
                st.error("Pick the group to dissolve first.")
            elif text := ui.run_action(services.dissolve_group, actor=ctx.actor, group_id=picked, reason=why):
                st.session_state[FLASH] = text
                st.rerun()


members_tab, groups_tab, import_tab, waiting_tab = st.tabs(["Members", "Groups", "Import from CSV", "Not yet ranked"])

with members_tab:
    s1, s2 = st.columns([3, 2])
    search = s1.text_input("Search", placeholder="Name or email", key="people-search")
    role = s2.selectbox("Role", [None, *MEMBER_ROLES], key="people-role",
                        format_func=lambda r: {None: "Everyone", Role.STUDENT: "Students", Role.STAFF: "Staff"}[r])
    members = ui.read(services.list_members, actor=ctx.actor, cohort_id=cid, role=role, search=search)
    st.caption(f"{len(members):,} {'person' if len(members) == 1 else 'people'}")
    if members:
        st.dataframe([{"Name": m.name, "Email": m.email, "Role": m.role, "Coordinator": m.is_admin,
                       "Max load": m.max_load, "Ranked": m.choices if m.role == Role.STUDENT else None,
                       "Places": m.places if m.role == Role.STUDENT else None,
                       "Tier": m.tier if m.role == Role.STUDENT else None, "Group": m.group,
                       "Projects": m.projects if m.role == Role.STAFF else None} for m in members],
                     hide_index=True, width="stretch", key="people-table")
        by_id = {m.user_id: m for m in members}
        picked = st.selectbox("Person", list(by_id), key="people-pick",
                              format_func=lambda i: f"{by_id[i].name} · {by_id[i].email}")
        person = by_id[picked]
        with st.container(border=True):
            st.markdown(f"**{ui.md(person.name)}** · {ui.md(person.email)}  \n{person.role}"
                        + (" · coordinator" if person.is_admin else ""))
            r1, r2 = st.columns([2, 1])
            new_role = r1.selectbox("Role in this cohort", MEMBER_ROLES, key=f"people-{picked}-role",
                                    index=MEMBER_ROLES.index(person.role))
            r2.write("")
            if r2.button("Change role", key=f"people-{picked}-change-role", disabled=new_role == person.role):
                view = ui.run_action(services.change_role, actor=ctx.actor, cohort_id=cid, user_id=picked,
                                     role=new_role)
                if view:
                    st.session_state[FLASH] = f"{view.name} is now {view.role}."
                    st.rerun()
            if person.role == Role.STAFF:
                l1, l2 = st.columns([2, 1])
                load = l1.number_input("Most students across their projects (empty: no limit)", min_value=0,
                                       step=1, value=person.max_load, key=f"people-{picked}-load")
                l2.write("")
                if l2.button("Save load", key=f"people-{picked}-save-load"):
                    view = ui.run_action(services.set_max_load, actor=ctx.actor, cohort_id=cid, user_id=picked,
                                         max_load=None if load is None else int(load))
                    if view:
                        st.session_state[FLASH] = f"Saved {view.name}'s maximum load."
                        st.rerun()
            if person.role == "student":
                places_and_tier(person)
            a1, a2 = st.columns(2)
            if person.is_admin:
                if a1.button("Remove coordinator rights", key=f"people-{picked}-demote",
                             disabled=picked == ctx.actor.user_id,
                             help="You cannot remove your own rights." if picked == ctx.actor.user_id else None):
                    if ui.run_action(services.set_admin, actor=ctx.actor, user_id=picked, is_admin=False,
                                     cohort_id=cid) is not None:
                        st.session_state[FLASH] = f"{person.name} is no longer a coordinator."
                        st.rerun()
            elif a1.button("Make coordinator", key=f"people-{picked}-promote"):
                if ui.run_action(services.set_admin, actor=ctx.actor, user_id=picked, is_admin=True,
                                 cohort_id=cid) is not None:
                    st.session_state[FLASH] = f"{person.name} is now a coordinator."
                    st.rerun()
            with a2.popover("Remove from cohort"):
                st.caption("Their preferences in this cohort are deleted; past allocation runs keep them.")
                if st.button("Remove", key=f"people-{picked}-remove", type="primary"):
                    text = ui.run_action(services.remove_member, actor=ctx.actor, cohort_id=cid, user_id=picked)
                    if text:
                        st.session_state[FLASH] = text
                        st.rerun()
    with st.expander("Add one person"):
        with st.form("people-add", clear_on_submit=True):
            email = st.text_input("Email", key="people-add-email")
            name = st.text_input("Name (for a new account)", key="people-add-name")
            new_role = st.selectbox("Role", MEMBER_ROLES, key="people-add-role")
            if st.form_submit_button("Add", key="people-add-submit"):
                view = ui.run_action(services.add_member, actor=ctx.actor, cohort_id=cid, email=email, name=name,
                                     role=new_role)
                if view:
                    st.session_state[FLASH] = f"Added {view.name} as {view.role}."
                    st.rerun()

with groups_tab:
    groups_tab_body()

with import_tab:
    st.markdown("A CSV with columns **email**, **name** and **role** (student or staff); optionally "
                "**max_load** for staff, **places** and **tier** for students. Column names can be in any "
                "case; Excel's “CSV UTF-8” is fine.")
    default_role = st.selectbox("If a row has no role", [None, *MEMBER_ROLES], key="people-default-role",
                                format_func=lambda r: {None: "Reject the row", Role.STUDENT: "Make them a student",
                                                       Role.STAFF: "Make them staff"}[r])
    version = st.session_state.get(UPLOAD_VERSION, 0)
    upload = st.file_uploader("People file (CSV, at most 5 MB)", type=["csv", "txt"], max_upload_size=5,
                              key=f"people-file-{version}")
    if upload is not None:
        data = upload.getvalue()
        preview = ui.run_action(services.preview_people_import, actor=ctx.actor, cohort_id=cid, data=data,
                                default_role=default_role)
        if preview is not None:
            ui.show_import_preview(preview, "people-preview", key_label="Who")
            i1, i2 = st.columns(2)
            go = i1.button("Import", key="people-import", type="primary", disabled=not preview.ok,
                           help=None if preview.ok else "Some rows are rejected: fix the file or import the "
                                                          "valid rows only.")
            valid_only = bool(preview.rejected) and i2.button(
                f"Import the valid rows ({len(preview.rejected)} rejected rows left out)", key="people-import-valid")
            if go or valid_only:
                result = ui.run_action(services.apply_people_import, actor=ctx.actor, cohort_id=cid, data=data,
                                       valid_rows_only=valid_only, default_role=default_role)
                if result is not None:
                    st.session_state[FLASH] = result.summary
                    st.session_state[UPLOAD_VERSION] = version + 1
                    st.rerun()

with waiting_tab:
    waiting = ui.read(services.not_submitted, actor=ctx.actor, cohort_id=cid)
    if not waiting:
        st.success("Every student has ranked at least one project.")
    else:
        st.markdown(f"**{len(waiting)} student(s)** have not ranked any project yet.")
        st.dataframe([{"Name": m.name, "Email": m.email} for m in waiting], hide_index=True, width="stretch",
                     key="people-waiting")
        if st.button(f"Send reminder to {len(waiting)}", key="people-remind", type="primary"):
            sent = ui.run_action(services.send_reminders, actor=ctx.actor, cohort_id=cid)
            if sent is not None:
                st.session_state[FLASH] = f"Reminder sent to {sent} student(s)."
                st.rerun()
