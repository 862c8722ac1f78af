"""alert kinds, source health and secrets, private contact

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 13:04:25.513119
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import core.timeutil


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False,
                                      server_default="event"))
        batch_op.add_column(sa.Column("source_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.alter_column("event_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.alter_column("level", existing_type=sa.VARCHAR(length=3),
                              type_=sqlmodel.sql.sqltypes.AutoString(length=20), existing_nullable=False)
        batch_op.drop_constraint("uq_alert_event_level", type_="unique")
        batch_op.create_index("ix_alert_source_id", ["source_id"], unique=False)
        batch_op.create_foreign_key("fk_alert_source_id_source", "source", ["source_id"], ["id"])
    # Existing alerts were one per event and grade: that is their key.
    op.execute("UPDATE alert SET dedupe_key = 'event:' || event_id || ':' || level")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.alter_column("dedupe_key", existing_type=sqlmodel.sql.sqltypes.AutoString(length=200),
                              nullable=False)
        batch_op.create_unique_constraint("uq_alert_dedupe_key", ["dedupe_key"])

    with op.batch_alter_table("mention", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False,
                                      server_default=""))

    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.add_column(sa.Column("health_since", core.timeutil.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("circuit_open_until", core.timeutil.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("expected_gap_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("credentials", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.drop_column("credentials")
        batch_op.drop_column("expected_gap_minutes")
        batch_op.drop_column("circuit_open_until")
        batch_op.drop_column("health_since")

    with op.batch_alter_table("mention", schema=None) as batch_op:
        batch_op.drop_column("contact")

    op.execute("DELETE FROM alert WHERE event_id IS NULL")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_constraint("fk_alert_source_id_source", type_="foreignkey")
        batch_op.drop_constraint("uq_alert_dedupe_key", type_="unique")
        batch_op.drop_index("ix_alert_source_id")
        batch_op.create_unique_constraint("uq_alert_event_level", ["event_id", "level"])
        batch_op.alter_column("level", existing_type=sqlmodel.sql.sqltypes.AutoString(length=20),
                              type_=sa.VARCHAR(length=3), existing_nullable=False)
        batch_op.alter_column("event_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("dedupe_key")
        batch_op.drop_column("source_id")
        batch_op.drop_column("kind")
