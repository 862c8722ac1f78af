"""special topics (专题): track and its mention links

Revision ID: 0010topic
Revises: 0009docs
Create Date: 2026-11-29 19:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import core.timeutil

revision: str = '0010topic'
down_revision: str | None = '0009docs'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('track',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('all_words', sa.JSON(), nullable=False),
    sa.Column('any_words', sa.JSON(), nullable=False),
    sa.Column('none_words', sa.JSON(), nullable=False),
    sa.Column('places', sa.JSON(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tagged_at', core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', name='uq_track_name')
    )
    op.create_table('mention_track',
    sa.Column('track_id', sa.Integer(), nullable=False),
    sa.Column('mention_id', sa.Integer(), nullable=False),
    sa.Column('tagged_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mention_id'], ['mention.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['track_id'], ['track.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('track_id', 'mention_id')
    )
    op.create_index('ix_mention_track_mention', 'mention_track', ['mention_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_mention_track_mention', table_name='mention_track')
    op.drop_table('mention_track')
    op.drop_table('track')
