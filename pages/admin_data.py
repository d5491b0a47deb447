"""Data (coordinators): import projects and preferences from CSV (dry run first), download the cohort as
CSV or Excel, back it up as JSON and restore a backup into a new cohort, and download the allocation
problem in the engine's file format."""
from __future__ import annotations

import re

import streamlit as st

from allocator import domain, services, ui
from allocator.domain import ProjectStatus, Role

FLASH = "data-flash"
VERSIONS = "data-upload-versions"  # per uploader, bumped after an import so the uploader empties
DOWNLOAD = "data-download"  # (label, file name, mime type, bytes) prepared for the download button
CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JSON_MIME = "application/json"

ctx = ui.page_context(Role.ADMIN)
st.title("Data")
if ctx.cohort_id is None:
    st.info("There is no cohort yet: create one in **Cohort settings**, or restore a backup below.")
cid = ctx.cohort_id


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "cohort"


def version(name: str) -> int:
    return st.session_state.setdefault(VERSIONS, {}).get(name, 0)


def bump(name: str) -> None:
    versions = st.session_state.setdefault(VERSIONS, {})
    versions[name] = versions.get(name, 0) + 1


def import_section(name: str, label: str, preview_fn, apply_fn, **options) -> None:
    """Upload → dry run → “Import” (only a clean file) or “Import the valid rows”."""
    upload = st.file_uploader(f"{label} (CSV, at most 5 MB)", type=["csv", "txt"], max_upload_size=5,
                              key=f"data-{name}-file-{version(name)}")
    if upload is None:
        return
    data = upload.getvalue()
    preview = ui.run_action(preview_fn, actor=ctx.actor, cohort_id=cid, data=data, **options)
    if preview is None:
        return
    ui.show_import_preview(preview, f"data-{name}-preview")
    c1, c2 = st.columns(2)
    go = c1.button("Import", key=f"data-{name}-import", type="primary", disabled=not preview.ok)
    valid_only = bool(preview.rejected) and c2.button(
        f"Import the valid rows ({len(preview.rejected)} rejected rows left out)", key=f"data-{name}-import-valid")
    if go or valid_only:
        result = ui.run_action(apply_fn, actor=ctx.actor, cohort_id=cid, data=data, valid_rows_only=valid_only,
                               **options)
        if result is not None:
            st.session_state[FLASH] = result.summary
            bump(name)
            st.rerun()


def template_download(kind: str) -> None:
    """The import's CSV template (one example row) and what each column accepts."""
    template = ui.read(services.import_template, actor=ctx.actor, kind=kind)
    st.download_button(f"Download a {kind} template (CSV)", data=template.csv, file_name=template.file_name,
                       mime=CSV_MIME, key=f"data-template-{kind}", icon=":material/download:", on_click="ignore")
    st.dataframe([{"Column": c.name, "Example": c.example, "Accepted values": c.accepted}
                  for c in template.columns], hide_index=True, width="stretch", key=f"data-template-{kind}-help")


def _restore(upload) -> None:
    """Runs in the page body, under the identity app.py verified in this run (never in a callback)."""
    if upload is None:
        st.error("Choose a backup file first.")
        return
    result = ui.run_action(services.restore_cohort, actor=ctx.actor, data=upload.getvalue(),
                           name=st.session_state.get("data-restore-name", ""))
    if result is not None:
        ui.select_cohort_next_run(result.cohort_id)
        st.session_state[FLASH] = " ".join((result.summary, *result.notes)) + " It is now the selected cohort."
        bump("restore")
        st.rerun()


if message := st.session_state.pop(FLASH, None):
    st.success(message)

if cid is not None:
    st.header("Import")
    with st.expander("Projects from CSV", expanded=True):
        st.markdown("Columns: **title**, **capacity**; optional **code**, **description**, **min_students**, "
                    "**supervisor_email** (staff of this cohort), **tags** (separated by ; or ,), **status**. "
                    "Existing projects are matched by code (or title) and updated; a column the file does not "
                    "have leaves that field alone.")
        status = st.selectbox("New projects are", [ProjectStatus.APPROVED.value, ProjectStatus.PROPOSED.value],
                              key="data-projects-status",
                              format_func=lambda s: ProjectStatus(s).label + {
                                  ProjectStatus.APPROVED: " (students can rank them)",
                                  ProjectStatus.PROPOSED: " (approve them on the Projects page)"}[s])
        import_section("projects", "Projects file", services.preview_projects_import, services.apply_projects_import,
                       default_status=status)
        template_download("projects")
    with st.expander("Preferences from CSV", expanded=True):
        st.markdown("Either one row per choice — **student_email**, **project** (code or title), **rank** — or "
                    "one row per student — **student_email**, **choice_1**, **choice_2**, … A student in the file "
                    "gets exactly that list; students not in the file keep theirs.")
        import_section("preferences", "Preferences file", services.preview_preferences_import,
                       services.apply_preferences_import)
        template_download("preferences")
    with st.expander("People from CSV"):
        st.markdown("Import people on the **People** page; this is the file it reads.")
        template_download("people")

    st.header("Download")
    cohort = ui.read(services.get_cohort, actor=ctx.actor, cohort_id=cid)
    base = slug(cohort.name)
    WHAT = {
        "projects": ("Projects", services.export_projects, True),
        "people": ("People", services.export_people, True),
        "preferences": ("Preferences (one row per choice)", services.export_preferences, True),
        "backup": ("Full backup of the cohort (JSON)", services.backup_cohort, False),
        "problem": ("Allocation problem in the engine's file format (JSON)", services.export_problem, False),
    }
    d1, d2 = st.columns([3, 1])
    what = d1.selectbox("What", list(WHAT), format_func=lambda k: WHAT[k][0], key="data-export-what")
    label, export, tabular = WHAT[what]
    fmt = d2.radio("Format", ["csv", "xlsx"], format_func=lambda f: "CSV" if f == "csv" else "Excel",
                   key="data-export-format", disabled=not tabular, horizontal=True)
    if st.button("Prepare download", key="data-prepare"):
        kwargs = {"fmt": fmt} if tabular else {}
        data = ui.run_action(export, actor=ctx.actor, cohort_id=cid, **kwargs)
        if data is not None:
            if not tabular:
                name, mime = f"{base}-{what}.json", JSON_MIME
            else:
                name, mime = f"{base}-{what}.{fmt}", CSV_MIME if fmt == "csv" else XLSX_MIME
            st.session_state[DOWNLOAD] = (cid, name, mime, data)
    prepared = st.session_state.get(DOWNLOAD)
    if prepared and prepared[0] == cid:
        _, p_name, p_mime, p_data = prepared
        st.download_button(f"Download {p_name} ({len(p_data) / 1024:,.0f} KB)", data=p_data, file_name=p_name,
                           mime=p_mime, key="data-download-button", type="primary", on_click="ignore")

st.header("Restore a backup")
st.markdown("A backup made here is restored as a **new** cohort with the name you give; people are matched "
            "by email (accounts that do not exist yet are created as ordinary accounts: a backup never "
            "grants coordinator rights).")
backup = st.file_uploader("Backup file (JSON)", type=["json"], key=f"data-restore-file-{version('restore')}")
st.text_input("Name of the new cohort", key="data-restore-name", max_chars=domain.COHORT_NAME_MAX)
if st.button("Restore into a new cohort", key="data-restore"):
    _restore(backup)
