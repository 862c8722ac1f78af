"""accounts and access: closed role set, token versions, login throttling

Revision ID: 0007sec
Revises: 0006
Create Date: 2026-11-29 16:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import core.timeutil


revision: str = '0007sec'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = ('admin', 'leader', 'duty', 'handler')


def upgrade() -> None:
    # Roles were free text: keep a known role written in another case, and switch off (as
    # handlers, who see least) accounts whose role is unknown, for an admin to correct.
    conn = op.get_bind()
    conn.execute(sa.text("UPDATE app_user SET role = lower(trim(role)) WHERE lower(trim(role)) IN "
                         "('admin', 'leader', 'duty', 'handler')"))
    conn.execute(sa.text("UPDATE app_user SET role = 'handler', is_active = false WHERE role NOT IN "
                         "('admin', 'leader', 'duty', 'handler')"))
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_version', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_check_constraint('ck_app_user_role',
                                         "role IN ('admin', 'leader', 'duty', 'handler')")

    _mask_audit_rows()

    op.create_table('login_throttle',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_until', core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key')
    )


def _mask_audit_rows() -> None:
    """Audit rows written before secrets were masked kept robot keys and SMTP passwords."""
    from core.redact import redact_mapping, redact_text

    audit = sa.table('audit_log', sa.column('id', sa.Integer), sa.column('before', sa.JSON),
                     sa.column('after', sa.JSON), sa.column('note', sa.String))
    conn = op.get_bind()
    for row in conn.execute(sa.select(audit.c.id, audit.c.before, audit.c.after, audit.c.note)).all():
        before, after = redact_mapping(row.before or {}), redact_mapping(row.after or {})
        note = redact_text(row.note or "")
        if (before, after, note) != (row.before or {}, row.after or {}, row.note or ""):
            conn.execute(audit.update().where(audit.c.id == row.id)
                         .values(before=before, after=after, note=note))
    # Fetch errors (and the source alerts quoting them) could carry a feed URL's access key.
    for name, column in (('source', 'last_error'), ('alert', 'reason')):
        table = sa.table(name, sa.column('id', sa.Integer), sa.column(column, sa.String))
        for row_id, text in conn.execute(sa.select(table.c.id, table.c[column])).all():
            cleaned = redact_text(text or "")
            if cleaned != (text or ""):
                conn.execute(table.update().where(table.c.id == row_id).values({column: cleaned}))


def downgrade() -> None:
    op.drop_table('login_throttle')
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_constraint('ck_app_user_role', type_='check')
        batch_op.drop_column('token_version')
