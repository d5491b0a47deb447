"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 06:59:40.568272
"""
from __future__ import annotations

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """The whole first schema. Long because a migration is a record of one change, read top to bottom in
    the order the tables are made; splitting it would only hide that order."""
    op.create_table('cohorts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('proposals_open_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('proposals_close_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('preferences_open_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('preferences_close_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('phase_override', sa.String(length=20), nullable=True),
    sa.Column('min_choices', sa.Integer(), nullable=False),
    sa.Column('max_choices', sa.Integer(), nullable=False),
    sa.Column('allow_unranked', sa.Boolean(), nullable=False),
    sa.Column('default_objective', sa.String(length=20), nullable=False),
    sa.Column('auto_approve', sa.Boolean(), nullable=False),
    sa.Column('responses_locked', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("default_objective IN ('greedy', 'generous', 'min-cost', 'weighted')", name=op.f('ck_cohorts_default_objective_known')),
    sa.CheckConstraint("phase_override IS NULL OR phase_override IN ('setup', 'proposals', 'preferences', 'closed', 'published')", name=op.f('ck_cohorts_phase_override_known')),
    sa.CheckConstraint('max_choices >= 1 AND max_choices >= min_choices', name=op.f('ck_cohorts_max_choices_valid')),
    sa.CheckConstraint('min_choices >= 0', name=op.f('ck_cohorts_min_choices_nonnegative')),
    sa.CheckConstraint('preferences_close_at IS NULL OR preferences_open_at IS NULL OR preferences_close_at >= preferences_open_at', name=op.f('ck_cohorts_preferences_window_ordered')),
    sa.CheckConstraint('proposals_close_at IS NULL OR proposals_open_at IS NULL OR proposals_close_at >= proposals_open_at', name=op.f('ck_cohorts_proposals_window_ordered')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cohorts')),
    sa.UniqueConstraint('name', name=op.f('uq_cohorts_name'))
    )
    op.create_table('settings',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_settings'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('oid', sa.String(length=64), nullable=True),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_users_email_lowercase')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    sa.UniqueConstraint('oid', name=op.f('uq_users_oid'))
    )
    op.create_table('allocation_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('parent_run_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('objective', sa.String(length=20), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('solver', sa.String(length=40), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('cost', sa.Integer(), nullable=True),
    sa.Column('profile', sa.JSON(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("objective IN ('greedy', 'generous', 'min-cost', 'weighted')", name=op.f('ck_allocation_runs_objective_known')),
    sa.CheckConstraint("status IN ('optimal', 'feasible', 'infeasible')", name=op.f('ck_allocation_runs_status_known')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_allocation_runs_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_allocation_runs_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['parent_run_id'], ['allocation_runs.id'], name=op.f('fk_allocation_runs_parent_run_id_allocation_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_allocation_runs_published_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocation_runs'))
    )
    with op.batch_alter_table('allocation_runs', schema=None) as batch_op:
        batch_op.create_index('ix_allocation_runs_cohort_id', ['cohort_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_email', sa.String(length=320), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_audit_events_cohort_id_cohorts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_cohort_id'), ['cohort_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_created_at'), ['created_at'], unique=False)

    op.create_table('memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('max_load', sa.Integer(), nullable=True),
    sa.Column('preferences_saved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('student', 'staff')", name=op.f('ck_memberships_role_known')),
    sa.CheckConstraint('max_load IS NULL OR max_load >= 0', name=op.f('ck_memberships_max_load_nonnegative')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_memberships_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_memberships_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships')),
    sa.UniqueConstraint('cohort_id', 'user_id', name=op.f('uq_memberships_cohort_id_user_id'))
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_user_id'), ['user_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_notifications_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_user_id'), ['user_id'], unique=False)

    op.create_table('projects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('supervisor_id', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('min_students', sa.Integer(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reject_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('proposed', 'approved', 'rejected', 'withdrawn')", name=op.f('ck_projects_status_known')),
    sa.CheckConstraint('capacity >= 0', name=op.f('ck_projects_capacity_nonnegative')),
    sa.CheckConstraint('length(title) > 0', name=op.f('ck_projects_title_not_empty')),
    sa.CheckConstraint('min_students >= 0 AND min_students <= capacity', name=op.f('ck_projects_min_students_within_capacity')),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_projects_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['supervisor_id'], ['users.id'], name=op.f('fk_projects_supervisor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('cohort_id', 'code', name=op.f('uq_projects_cohort_id_code')),
    sa.UniqueConstraint('id', 'cohort_id', name=op.f('uq_projects_id_cohort_id'))
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_projects_cohort_id'), ['cohort_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_projects_supervisor_id'), ['supervisor_id'], unique=False)

    op.create_table('assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('pinned', sa.Boolean(), nullable=False),
    sa.Column('manual', sa.Boolean(), nullable=False),
    sa.CheckConstraint('project_id IS NOT NULL OR rank IS NULL', name=op.f('ck_assignments_unplaced_has_no_rank')),
    sa.CheckConstraint('rank IS NULL OR rank >= 1', name=op.f('ck_assignments_rank_positive')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_assignments_project_id_projects')),
    sa.ForeignKeyConstraint(['run_id'], ['allocation_runs.id'], name=op.f('fk_assignments_run_id_allocation_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_assignments_student_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments')),
    sa.UniqueConstraint('run_id', 'student_id', name=op.f('uq_assignments_run_id_student_id'))
    )
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignments_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignments_student_id'), ['student_id'], unique=False)

    op.create_table('preferences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.CheckConstraint('rank >= 1', name=op.f('ck_preferences_rank_positive')),
    sa.ForeignKeyConstraint(['cohort_id', 'student_id'], ['memberships.cohort_id', 'memberships.user_id'], name=op.f('fk_preferences_cohort_id_student_id_memberships'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id', 'cohort_id'], ['projects.id', 'projects.cohort_id'], name=op.f('fk_preferences_project_id_cohort_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_preferences')),
    sa.UniqueConstraint('cohort_id', 'student_id', 'project_id', name=op.f('uq_preferences_cohort_id_student_id_project_id')),
    sa.UniqueConstraint('cohort_id', 'student_id', 'rank', name=op.f('uq_preferences_cohort_id_student_id_rank'))
    )
    with op.batch_alter_table('preferences', schema=None) as batch_op:
        batch_op.create_index('ix_preferences_project_id', ['project_id'], unique=False)

    op.create_table('responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('responded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['allocation_runs.id'], name=op.f('fk_responses_run_id_allocation_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['users.id'], name=op.f('fk_responses_student_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_responses')),
    sa.UniqueConstraint('run_id', 'student_id', name=op.f('uq_responses_run_id_student_id'))
    )
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_responses_student_id'), ['student_id'], unique=False)



def _refuse_data_loss() -> None:
    """Going below this revision drops every table: refuse while any of them holds a row, unless told
    explicitly (`alembic -x allow-data-loss=yes downgrade base`, or `migrate.downgrade(...,
    allow_data_loss=True)`)."""
    from alembic import context

    told = context.get_x_argument(as_dictionary=True).get("allow-data-loss") == "yes"
    if told or context.config.attributes.get("allow_data_loss"):
        return
    bind = op.get_bind()
    names = [t for t in sa.inspect(bind).get_table_names() if t != "alembic_version"]
    full = [t for t in sorted(names)
            if bind.execute(sa.select(sa.literal(1)).select_from(sa.table(t)).limit(1)).first() is not None]
    if full:
        raise RuntimeError(
            f"Refusing to downgrade below revision 0001: it drops every table, and {', '.join(full)} still hold "
            "data. Back the database up, then run `alembic -x allow-data-loss=yes downgrade base` to drop it "
            "anyway.")


def downgrade() -> None:
    _refuse_data_loss()
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_responses_student_id'))

    op.drop_table('responses')
    with op.batch_alter_table('preferences', schema=None) as batch_op:
        batch_op.drop_index('ix_preferences_project_id')

    op.drop_table('preferences')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignments_student_id'))
        batch_op.drop_index(batch_op.f('ix_assignments_project_id'))

    op.drop_table('assignments')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_projects_supervisor_id'))
        batch_op.drop_index(batch_op.f('ix_projects_cohort_id'))

    op.drop_table('projects')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_user_id'))

    op.drop_table('notifications')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_memberships_user_id'))

    op.drop_table('memberships')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_created_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_cohort_id'))

    op.drop_table('audit_events')
    with op.batch_alter_table('allocation_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_allocation_runs_cohort_id')

    op.drop_table('allocation_runs')
    op.drop_table('users')
    op.drop_table('settings')
    op.drop_table('cohorts')
