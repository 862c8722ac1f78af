"""queue lease of mentions; uncertain and failed deliveries of notifications

Revision ID: 0007wrk
Revises: 0006
Create Date: 2026-11-29 15:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.timeutil


revision: str = '0007wrk'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.add_column(sa.Column('enqueued_at', core.timeutil.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uncertain_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('failed_at', core.timeutil.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_column('failed_at')
        batch_op.drop_column('uncertain_attempts')
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.drop_column('enqueued_at')
