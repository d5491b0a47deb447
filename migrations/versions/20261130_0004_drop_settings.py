"""drop the unused settings table (no code ever read or wrote it)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 20:30:00
"""
from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import context, op

revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # A row here would be someone's hand-written data: refuse rather than drop it unseen.
    rows = op.get_bind().execute(sa.text("SELECT count(*) FROM settings")).scalar()
    told = context.get_x_argument(as_dictionary=True).get("allow-data-loss") == "yes"
    if rows and not (told or context.config.attributes.get("allow_data_loss")):
        raise RuntimeError(
            f"Refusing to drop the unused settings table: it holds {rows} rows written outside the app. Back "
            "them up, then run `alembic -x allow-data-loss=yes upgrade head`.")
    op.drop_table('settings')


def downgrade() -> None:
    op.create_table('settings',
                    sa.Column('key', sa.String(length=100), nullable=False),
                    sa.Column('value', sa.Text(), nullable=False),
                    sa.PrimaryKeyConstraint('key', name=op.f('pk_settings')))
