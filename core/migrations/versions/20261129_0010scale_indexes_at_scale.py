"""Indexes for a million mentions: dashboard figures and the ledger's first posts as index scans,
events listed by grade or topic newest first, the active-events figures index-only

Revision ID: 0010scale
Revises: 0009docs
Create Date: 2026-11-29 19:20:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0010scale'
down_revision: str | None = '0009docs'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The dashboard's trend groups by the Shanghai day of seen_at: without statistics on that
# expression PostgreSQL guesses one group per row and will not aggregate in parallel.
SEEN_DAY_STATISTICS = ("CREATE STATISTICS IF NOT EXISTS st_mention_seen_day"
                       " ON ((timezone('Asia/Shanghai', seen_at))::date) FROM mention")


def upgrade() -> None:
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.create_index('ix_mention_seen_figures', ['seen_at', 'sentiment', 'channel'], unique=False)
        batch_op.create_index('ix_mention_source_seen', ['source_id', 'seen_at'], unique=False)
        batch_op.create_index('ix_mention_event_posts', ['event_id', 'published_at', 'id', 'sentiment', 'views',
                                                         'likes', 'reposts', 'comments'], unique=False)
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_active', ['last_seen_at', 'first_seen_at', 'grade', 'topic',
                                                  'mention_count', 'engagement', 'id'], unique=False)
        batch_op.create_index('ix_event_grade_seen', ['grade', 'last_seen_at', 'id'], unique=False)
        batch_op.create_index('ix_event_topic_seen', ['topic', 'last_seen_at', 'id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(SEEN_DAY_STATISTICS)
        op.execute("ANALYZE mention")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP STATISTICS IF EXISTS st_mention_seen_day")
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_topic_seen')
        batch_op.drop_index('ix_event_grade_seen')
        batch_op.drop_index('ix_event_active')
    with op.batch_alter_table('mention', schema=None) as batch_op:
        batch_op.drop_index('ix_mention_event_posts')
        batch_op.drop_index('ix_mention_source_seen')
        batch_op.drop_index('ix_mention_seen_figures')
