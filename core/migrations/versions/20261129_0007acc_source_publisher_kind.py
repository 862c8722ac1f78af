"""source.publisher_kind: official | media | resident | unknown (who counts as 媒体介入)

Revision ID: 0007acc
Revises: 0008
Create Date: 2026-11-29 17:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0007acc'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('source') as batch_op:
        batch_op.add_column(sa.Column('publisher_kind', sqlmodel.sql.sqltypes.AutoString(length=20),
                                      nullable=False, server_default='unknown'))


def downgrade() -> None:
    with op.batch_alter_table('source') as batch_op:
        batch_op.drop_column('publisher_kind')
