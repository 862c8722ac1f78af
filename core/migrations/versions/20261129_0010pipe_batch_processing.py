"""batch processing: event.media_involved, per-minute event engagement, band indexes with time

Revision ID: 0010pipe
Revises: 0009docs
Create Date: 2026-11-29 19:00:00
"""
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import core.timeutil

revision: str = '0010pipe'
down_revision: str | None = '0009docs'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BANDS = ("simhash_b0", "simhash_b1", "simhash_b2", "simhash_b3")


def upgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_involved', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        'event_engagement',
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('minute', core.timeutil.UTCDateTime(timezone=True), nullable=False),
        sa.Column('engagement', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['event.id'], ),
        sa.PrimaryKeyConstraint('event_id', 'minute'),
    )
    with op.batch_alter_table('mention', schema=None) as batch_op:
        for band in BANDS:
            batch_op.drop_index(f'ix_mention_{band}')
            batch_op.create_index(f'ix_mention_{band}_seen', [band, 'seen_at'], unique=False)

    # Events stored before: whether media report them, by the rule of sources.media_involved.
    mention = sa.table('mention', sa.column('event_id', sa.Integer), sa.column('source_id', sa.Integer),
                       sa.column('channel', sa.String), sa.column('raw', sa.Text),
                       sa.column('created_at', core.timeutil.UTCDateTime(timezone=True)),
                       sa.column('likes', sa.Integer), sa.column('reposts', sa.Integer),
                       sa.column('comments', sa.Integer))
    source = sa.table('source', sa.column('id', sa.Integer), sa.column('publisher_kind', sa.String))
    event = sa.table('event', sa.column('id', sa.Integer), sa.column('media_involved', sa.Boolean))
    kind = sa.func.coalesce(source.c.publisher_kind, "unknown")
    weibo_media = sa.and_(mention.c.channel == "weibo", sa.or_(*(
        mention.c.raw.contains(f'"verified_type"{sep}3{end}') for sep in (": ", ":") for end in (",", "}"))))
    media_events = (sa.select(mention.c.event_id).select_from(mention)
                    .outerjoin(source, source.c.id == mention.c.source_id)
                    .where(mention.c.event_id.is_not(None))
                    .where(sa.or_(kind == "media", sa.and_(mention.c.channel == "news",
                                                           kind.in_(("unknown", "media"))), weibo_media)))
    op.execute(sa.update(event).where(event.c.id.in_(media_events)).values(media_involved=True))

    # The last hours of engagement per minute (older rows are never asked for).
    bind = op.get_bind()
    since = datetime.now(UTC) - timedelta(hours=3)
    buckets: dict[tuple[int, datetime], int] = defaultdict(int)
    for event_id, created, amount in bind.execute(
            sa.select(mention.c.event_id, mention.c.created_at,
                      mention.c.likes + mention.c.reposts + mention.c.comments)
            .where(mention.c.event_id.is_not(None), mention.c.created_at >= since)):
        buckets[(event_id, created.replace(second=0, microsecond=0))] += int(amount or 0)
    if buckets:
        table = sa.table('event_engagement', sa.column('event_id', sa.Integer),
                         sa.column('minute', core.timeutil.UTCDateTime(timezone=True)),
                         sa.column('engagement', sa.Integer))
        op.bulk_insert(table, [{"event_id": e, "minute": m, "engagement": v} for (e, m), v in buckets.items()])


def downgrade() -> None:
    with op.batch_alter_table('mention', schema=None) as batch_op:
        for band in BANDS:
            batch_op.drop_index(f'ix_mention_{band}_seen')
            batch_op.create_index(f'ix_mention_{band}', [band], unique=False)
    op.drop_table('event_engagement')
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_column('media_involved')
