"""application: reply drafts, one alert row per event, mention search key

Revision ID: 0007app
Revises: 0006
Create Date: 2026-11-29 16:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.timeutil


revision: str = '0007app'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draft_text', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('draft_updated_at', core.timeutil.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('draft_updated_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_ticket_draft_updated_by_id_app_user', 'app_user',
                                    ['draft_updated_by_id'], ['id'])
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('raised_at', core.timeutil.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('closed_at', core.timeutil.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('close_note', sa.String(length=200), nullable=False, server_default=''))
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seen_at', core.timeutil.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_mention_seen', ['seen_at', 'id'], unique=False)
    op.execute("UPDATE mention SET seen_at = COALESCE(published_at, created_at)")
    # One alert row per event from now on: the inbox keeps the newest row of each event, and an
    # event that already has its ticket needs no open alert.
    op.execute("UPDATE alert SET status = 'closed', close_note = '同一事件的较早预警（已合并为一行）' "
               "WHERE kind = 'event' AND status IN ('open', 'acknowledged') AND id NOT IN "
               "(SELECT max(id) FROM alert WHERE kind = 'event' GROUP BY event_id)")
    op.execute("UPDATE alert SET status = 'closed', close_note = '已开单' "
               "WHERE kind = 'event' AND status IN ('open', 'acknowledged') "
               "AND event_id IN (SELECT event_id FROM ticket)")


def downgrade() -> None:
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.drop_index('ix_mention_seen')
        batch_op.drop_column('seen_at')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('close_note')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('raised_at')
    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_constraint('fk_ticket_draft_updated_by_id_app_user', type_='foreignkey')
        batch_op.drop_column('draft_updated_by_id')
        batch_op.drop_column('draft_updated_at')
        batch_op.drop_column('draft_text')
