"""Per-day mention counts (mention_day), back-filled from the stored mentions; event places index

The dashboard (30 days, a year), the briefing and the annual report read these ~2k rows a year
instead of scanning every mention of the window; core.mentions.rollup keeps them in step in the
transaction of each write (see there). ix_event_active_places carries the events' place lists in
the active-events index (PostgreSQL INCLUDE), so the dashboard counts places without the wide rows.

Revision ID: 0012rollup
Revises: 0011
Create Date: 2026-11-29 23:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0012rollup'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from core.mentions.rollup import BACKFILL_SQL

    op.create_table(
        'mention_day',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column('sentiment', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column('dated', sa.Boolean(), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'channel', 'sentiment', 'dated'),
    )
    op.execute(BACKFILL_SQL[op.get_bind().dialect.name])
    op.create_index('ix_event_active_places', 'event', ['last_seen_at', 'first_seen_at'], unique=False,
                    postgresql_include=['places'])


def downgrade() -> None:
    op.drop_index('ix_event_active_places', table_name='event')
    op.drop_table('mention_day')
