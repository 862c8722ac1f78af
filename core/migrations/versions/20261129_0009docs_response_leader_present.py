"""response.leader_present: 主要负责同志参加 (for the annual table's 其中 lines)

Revision ID: 0009docs
Revises: 0007acc
Create Date: 2026-11-29 17:15:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009docs'
down_revision: str | None = '0007acc'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('leader_present', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_column('leader_present')
