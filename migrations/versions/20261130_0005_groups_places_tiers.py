"""groups that apply together, several places per student, priority tiers (issue 16)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 22:30:00

Cohorts gain the group and places settings, memberships a per-student places override and a tier, and
five tables hold groups, their members (one group per student per cohort), invitations, the shared
ranking (each row attributed) and what happened to each group. An assignment is unique per (run,
student, project) instead of per (run, student), so a student with several places has several rows.

The downgrade refuses to lose data unless told (`alembic -x allow-data-loss=yes downgrade 0004`):
groups, and runs that give a student several projects, cannot be held by the older schema.
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import context, op

revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('groups_allowed', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('group_min_size', sa.Integer(), server_default='2', nullable=False))
        batch_op.add_column(sa.Column('group_max_size', sa.Integer(), server_default='4', nullable=False))
        batch_op.add_column(sa.Column('places_per_student', sa.Integer(), server_default='1', nullable=False))
        batch_op.create_check_constraint(
            'group_sizes_valid', 'group_min_size >= 2 AND group_max_size >= group_min_size')
        batch_op.create_check_constraint('places_per_student_positive', 'places_per_student >= 1')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('places', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('tier', sa.Integer(), server_default='1', nullable=False))
        batch_op.create_check_constraint('places_positive', 'places IS NULL OR places >= 1')
        batch_op.create_check_constraint('tier_positive', 'tier >= 1')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_assignments_run_id_student_id'), type_='unique')
        batch_op.create_unique_constraint(op.f('uq_assignments_run_id_student_id_project_id'),
                                          ['run_id', 'student_id', 'project_id'])
    _create_group_tables()


def _create_group_tables() -> None:
    op.create_table(
        'student_groups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cohort_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('length(name) > 0', name=op.f('ck_student_groups_name_not_empty')),
        sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_student_groups_cohort_id_cohorts'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_student_groups_created_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_student_groups')),
        sa.UniqueConstraint('id', 'cohort_id', name=op.f('uq_student_groups_id_cohort_id')))
    op.create_index('ix_student_groups_cohort_id', 'student_groups', ['cohort_id'], unique=False)
    op.create_table(
        'group_members',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('cohort_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['cohort_id', 'user_id'], ['memberships.cohort_id', 'memberships.user_id'],
                                name=op.f('fk_group_members_cohort_id_user_id_memberships'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['group_id', 'cohort_id'], ['student_groups.id', 'student_groups.cohort_id'],
                                name=op.f('fk_group_members_group_id_cohort_id_student_groups'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_group_members')),
        sa.UniqueConstraint('cohort_id', 'user_id', name=op.f('uq_group_members_cohort_id_user_id')))
    op.create_index('ix_group_members_group_id', 'group_members', ['group_id'], unique=False)
    _create_group_list_tables()


def _create_group_list_tables() -> None:
    op.create_table(
        'group_invitations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('invited_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('email = lower(email)', name=op.f('ck_group_invitations_email_lowercase')),
        sa.CheckConstraint("status IN ('pending', 'accepted', 'declined')",
                           name=op.f('ck_group_invitations_status_known')),
        sa.ForeignKeyConstraint(['group_id'], ['student_groups.id'],
                                name=op.f('fk_group_invitations_group_id_student_groups'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'],
                                name=op.f('fk_group_invitations_invited_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_group_invitations')),
        sa.UniqueConstraint('group_id', 'email', name=op.f('uq_group_invitations_group_id_email')))
    op.create_index('ix_group_invitations_email', 'group_invitations', ['email'], unique=False)
    op.create_table(
        'group_choices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('cohort_id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('rank', sa.Integer(), nullable=False),
        sa.Column('changed_by_id', sa.Integer(), nullable=True),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('rank >= 1', name=op.f('ck_group_choices_rank_positive')),
        sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_group_choices_changed_by_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['group_id', 'cohort_id'], ['student_groups.id', 'student_groups.cohort_id'],
                                name=op.f('fk_group_choices_group_id_cohort_id_student_groups'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['project_id', 'cohort_id'], ['projects.id', 'projects.cohort_id'],
                                name=op.f('fk_group_choices_project_id_cohort_id_projects'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_group_choices')),
        sa.UniqueConstraint('group_id', 'project_id', name=op.f('uq_group_choices_group_id_project_id')),
        sa.UniqueConstraint('group_id', 'rank', name=op.f('uq_group_choices_group_id_rank')))
    op.create_table(
        'group_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['student_groups.id'],
                                name=op.f('fk_group_changes_group_id_student_groups'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_group_changes_user_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_group_changes')))
    op.create_index('ix_group_changes_group_id', 'group_changes', ['group_id'], unique=False)


def _refuse_data_loss() -> None:
    bind = op.get_bind()
    groups = bind.execute(sa.text("SELECT count(*) FROM student_groups")).scalar()
    several = bind.execute(sa.text(
        "SELECT count(*) FROM (SELECT run_id, student_id FROM assignments GROUP BY run_id, student_id "
        "HAVING count(*) > 1) AS multi")).scalar()
    told = context.get_x_argument(as_dictionary=True).get("allow-data-loss") == "yes"
    if (groups or several) and not (told or context.config.attributes.get("allow_data_loss")):
        raise RuntimeError(
            f"Refusing to downgrade below revision 0005: {groups} student groups and {several} placements of "
            "students with several projects cannot be held by the older schema. Back the database up, then "
            "run `alembic -x allow-data-loss=yes downgrade 0004` to drop them anyway.")
    if several:
        # Keep each student's first placement (the lowest row id), as the older schema allows one.
        bind.execute(sa.text(
            "DELETE FROM assignments WHERE id NOT IN (SELECT min(id) FROM assignments GROUP BY run_id, student_id)"))


def downgrade() -> None:
    _refuse_data_loss()
    op.drop_index('ix_group_changes_group_id', table_name='group_changes')
    op.drop_table('group_changes')
    op.drop_table('group_choices')
    op.drop_index('ix_group_invitations_email', table_name='group_invitations')
    op.drop_table('group_invitations')
    op.drop_index('ix_group_members_group_id', table_name='group_members')
    op.drop_table('group_members')
    op.drop_index('ix_student_groups_cohort_id', table_name='student_groups')
    op.drop_table('student_groups')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('uq_assignments_run_id_student_id_project_id'), type_='unique')
        batch_op.create_unique_constraint(op.f('uq_assignments_run_id_student_id'), ['run_id', 'student_id'])
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_memberships_tier_positive'), type_='check')
        batch_op.drop_constraint(op.f('ck_memberships_places_positive'), type_='check')
        batch_op.drop_column('tier')
        batch_op.drop_column('places')
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_cohorts_places_per_student_positive'), type_='check')
        batch_op.drop_constraint(op.f('ck_cohorts_group_sizes_valid'), type_='check')
        batch_op.drop_column('places_per_student')
        batch_op.drop_column('group_max_size')
        batch_op.drop_column('group_min_size')
        batch_op.drop_column('groups_allowed')
