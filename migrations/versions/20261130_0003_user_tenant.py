"""users.tid: the Microsoft tenant an account is bound to, next to its object id

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 19:10:00
"""
from __future__ import annotations

from typing import Sequence, Union

from alembic import context, op
import sqlalchemy as sa


revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tid', sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Dropping the column forgets which tenant each account is bound to: a data loss, so it is asked for.
    told = context.get_x_argument(as_dictionary=True).get("allow-data-loss") == "yes"
    bound = op.get_bind().execute(sa.text("SELECT count(*) FROM users WHERE tid IS NOT NULL")).scalar()
    if bound and not (told or context.config.attributes.get("allow_data_loss")):
        raise RuntimeError(
            f"Refusing to downgrade below revision 0003: {bound} accounts are bound to a Microsoft tenant, "
            "and the older schema cannot hold that. Back the database up, then run "
            "`alembic -x allow-data-loss=yes downgrade 0002` to forget the bindings anyway.")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('tid')
