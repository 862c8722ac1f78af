"""sourceless mentions unique: hotline, manual and imported entries stored once

Revision ID: 0007suite
Revises: 0006
Create Date: 2026-11-29 15:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007suite'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHERE = sa.text("source_id IS NULL")


def upgrade() -> None:
    # Copies stored by the old check-then-insert race keep their rows (events and tickets may
    # point at them) but get a marked id, so the index can be built.
    bind = op.get_bind()
    dupes = bind.execute(sa.text(
        "SELECT m.id, m.external_id FROM mention m WHERE m.source_id IS NULL AND EXISTS ("
        "SELECT 1 FROM mention o WHERE o.source_id IS NULL AND o.external_id = m.external_id "
        "AND o.id < m.id)")).all()
    for mention_id, external_id in dupes:
        suffix = f"#dup{mention_id}"
        bind.execute(sa.text("UPDATE mention SET external_id = :e WHERE id = :i"),
                     {"e": external_id[:300 - len(suffix)] + suffix, "i": mention_id})
    op.create_index('uq_mention_sourceless_external', 'mention', ['external_id'], unique=True,
                    sqlite_where=WHERE, postgresql_where=WHERE)


def downgrade() -> None:
    op.drop_index('uq_mention_sourceless_external', table_name='mention',
                  sqlite_where=WHERE, postgresql_where=WHERE)
