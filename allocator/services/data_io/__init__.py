"""Data in and out of a cohort: project and preference imports (preview, then apply in one transaction),
CSV/Excel downloads, and a full JSON backup with its restore into a new cohort. One module per job:
`templates`, `project_import`, `preference_import`, `exports`, `backup`, `backup_check`, `restore`,
`backup_groups` and `restore_groups` (issue 16's groups, places and tiers); `common` holds what they share.

Imports follow the people import's rules (see services.people): the apply re-reads the file in the
caller's transaction and imports nothing if any row is rejected, unless `valid_rows_only`.

Backup format ("project-allocator-cohort-backup", version 2): the cohort's settings; its people (email,
name, role, max_load, when they joined and last saved preferences); other people it mentions
(supervisors or run authors no longer in the cohort, students of past runs); projects keyed "p1", "p2"…
in creation order; each student's ranked list of project keys; allocation runs keyed "r1"… with their
kind, origin (`parent`), record (`run_record.portable`: people by email, projects by key),
assignments and responses; the cohort's groups and each student's places and tier (see
`backup_groups`; optional, so a file written before issue 16 still restores). No database id appears in the file, and no coordinator rights: those are
granted in the app, never by a file.
Backup → restore → backup gives the same file except `exported_at`, the cohort's `name` and
`created_at` (a restore makes a new cohort with the name it is given), and `archived` (a restored
cohort starts visible). Existing accounts are matched by email and left as they are; missing ones are
created as ordinary accounts, and the audit entry names each. A restore applies the limits the forms
and imports apply, and refuses a file that breaks one as damaged, writing nothing.
"""
from allocator.services.data_io.backup import BACKUP_FORMAT, backup_cohort
from allocator.services.data_io.exports import export_people, export_preferences, export_projects
from allocator.services.data_io.preference_import import apply_preferences_import, preview_preferences_import
from allocator.services.data_io.project_import import apply_projects_import, preview_projects_import
from allocator.services.data_io.restore import RestoreResult, restore_cohort
from allocator.services.data_io.templates import IMPORT_KINDS, ImportTemplate, import_template

__all__ = ["RestoreResult", "preview_projects_import", "apply_projects_import", "preview_preferences_import",
           "apply_preferences_import", "export_projects", "export_people", "export_preferences", "backup_cohort",
           "restore_cohort", "BACKUP_FORMAT", "ImportTemplate", "IMPORT_KINDS", "import_template"]
