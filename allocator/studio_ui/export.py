"""Export: the run on screen as files (students, roster, Excel, and the engine's problem and result)."""
from __future__ import annotations

import streamlit as st

from allocator import services, ui
from allocator.studio_ui.common import EXPORT, Studio


def draw(studio: Studio) -> None:
    current = studio.current
    if current is None:
        st.info("No run to export yet.")
        return
    if not current.published and studio.published is not None:
        st.warning(f"This is not the published run ({ui.md(studio.published.name)}): students see that one.")
    st.markdown(f"Files of **{ui.md(current.name)}**: one row per student, one per project (roster), both as an "
                "Excel workbook, and the problem and result in the engine's file format "
                "(`python -m allocator solve problem.json` reproduces the run).")
    if st.button("Prepare files", key="export-prepare"):
        files = ui.run_action(services.export_run, actor=studio.ctx.actor, run_id=current.id)
        if files is not None:
            st.session_state[EXPORT] = files
    files = st.session_state.get(EXPORT)
    if files is None or files.run_id != current.id:
        return
    cols = st.columns(2)
    cols[0].download_button("Students (CSV)", files.students_csv, f"{files.stem}-students.csv", "text/csv",
                            key="dl-students", on_click="ignore")
    cols[1].download_button("Projects (CSV)", files.roster_csv, f"{files.stem}-projects.csv", "text/csv",
                            key="dl-roster", on_click="ignore")
    cols[0].download_button("Both (Excel)", files.xlsx, f"{files.stem}.xlsx",
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="dl-xlsx",
                            on_click="ignore")
    cols[1].download_button("Problem (JSON)", files.problem_json, f"{files.stem}-problem.json", "application/json",
                            key="dl-problem", on_click="ignore")
    cols[0].download_button("Result (JSON)", files.result_json, f"{files.stem}-result.json", "application/json",
                            key="dl-result", on_click="ignore")
