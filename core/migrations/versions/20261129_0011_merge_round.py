"""Join the parallel schema changes of the throughput, documents and special-topics work into one head.

Revision ID: 0011
Revises: 0010docs2, 0010pipe, 0010scale, 0010search, 0010topic
Create Date: 2026-11-29
"""
from collections.abc import Sequence

revision: str = '0011'
down_revision: str | Sequence[str] | None = ('0010docs2', '0010pipe', '0010scale', '0010search', '0010topic')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
