"""Join this round's parallel schema changes into one head.

Revision ID: 0008
Revises: 0007app, 0007cal, 0007sec, 0007suite, 0007wrk, h8api01
Create Date: 2026-11-29
"""
from collections.abc import Sequence

revision: str = '0008'
down_revision: str | Sequence[str] | None = ('0007app', '0007cal', '0007sec', '0007suite', '0007wrk', 'h8api01')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
