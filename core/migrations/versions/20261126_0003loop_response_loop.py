"""response loop: duty roster, clocks, escalation, notifications, audit

Revision ID: 0003loop
Revises: 0002
Create Date: 2026-11-26 13:11:49.842644
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import core.timeutil


revision: str = '0003loop'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('notification_channel',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('grades', sa.JSON(), nullable=False),
    sa.Column('topics', sa.JSON(), nullable=False),
    sa.Column('unit_ids', sa.JSON(), nullable=False),
    sa.Column('audiences', sa.JSON(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('entity', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('before', sa.JSON(), nullable=False),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_entity'), ['entity'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_entity_id'), ['entity_id'], unique=False)

    op.create_table('duty_shift',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['cancelled_by_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('duty_shift', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_shift_ends_at'), ['ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_shift_starts_at'), ['starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_shift_user_id'), ['user_id'], unique=False)

    op.create_table('handover_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('from_user_id', sa.Integer(), nullable=True),
    sa.Column('to_user_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('open_alert_ids', sa.JSON(), nullable=False),
    sa.Column('open_ticket_ids', sa.JSON(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['from_user_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['to_user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('staff_post',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('post', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('topics', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('mobile', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('staff_post', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_post_user_id'), ['user_id'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('digest_id', sa.Integer(), nullable=True),
    sa.Column('created_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alert.id'], ),
    sa.ForeignKeyConstraint(['channel_id'], ['notification_channel.id'], ),
    sa.ForeignKeyConstraint(['digest_id'], ['notification.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedupe_key', name='uq_notification_dedupe_key')
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index('ix_notification_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_clock_pause',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('started_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['ended_by_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['started_by_id'], ['app_user.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ticket_clock_pause', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_clock_pause_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_escalation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('clock', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('audience', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('due_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key', name='uq_ticket_escalation_key')
    )
    with op.batch_alter_table('ticket_escalation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_escalation_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_unit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_at', core.timeutil.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', core.timeutil.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ticket_id', 'unit_id', name='uq_ticket_unit')
    )
    with op.batch_alter_table('ticket_unit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_unit_ticket_id'), ['ticket_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ticket_unit_unit_id'), ['unit_id'], unique=False)

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify_step', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_notified_at', core.timeutil.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reviewed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reviewed_at', core.timeutil.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('confidentiality_checked', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('press_due_at', core.timeutil.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('close_working_days', sa.Integer(), server_default='5', nullable=False))
        batch_op.add_column(sa.Column('close_started_at', core.timeutil.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('paused_at', core.timeutil.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('pause_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('paused_seconds', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('paused_working_days', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('reopened_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_foreign_key('fk_ticket_reviewed_by_id_app_user', 'app_user', ['reviewed_by_id'], ['id'])

    with op.batch_alter_table('ticket_timeline', schema=None) as batch_op:
        batch_op.add_column(sa.Column('changes', sa.JSON(), nullable=False, server_default='{}'))



def downgrade() -> None:
    with op.batch_alter_table('ticket_timeline', schema=None) as batch_op:
        batch_op.drop_column('changes')

    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_constraint('fk_ticket_reviewed_by_id_app_user', type_='foreignkey')
        batch_op.drop_column('reopened_count')
        batch_op.drop_column('paused_working_days')
        batch_op.drop_column('paused_seconds')
        batch_op.drop_column('pause_reason')
        batch_op.drop_column('paused_at')
        batch_op.drop_column('close_started_at')
        batch_op.drop_column('close_working_days')
        batch_op.drop_column('press_due_at')
        batch_op.drop_column('confidentiality_checked')
        batch_op.drop_column('reviewed_at')
        batch_op.drop_column('reviewed_by_id')

    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_column('last_notified_at')
        batch_op.drop_column('notify_step')

    with op.batch_alter_table('ticket_unit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_unit_unit_id'))
        batch_op.drop_index(batch_op.f('ix_ticket_unit_ticket_id'))

    op.drop_table('ticket_unit')
    with op.batch_alter_table('ticket_escalation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_escalation_ticket_id'))

    op.drop_table('ticket_escalation')
    with op.batch_alter_table('ticket_clock_pause', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_clock_pause_ticket_id'))

    op.drop_table('ticket_clock_pause')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_ticket_id'))
        batch_op.drop_index('ix_notification_due')
        batch_op.drop_index(batch_op.f('ix_notification_channel_id'))
        batch_op.drop_index(batch_op.f('ix_notification_alert_id'))

    op.drop_table('notification')
    with op.batch_alter_table('staff_post', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_post_user_id'))

    op.drop_table('staff_post')
    op.drop_table('handover_log')
    with op.batch_alter_table('duty_shift', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_shift_user_id'))
        batch_op.drop_index(batch_op.f('ix_duty_shift_starts_at'))
        batch_op.drop_index(batch_op.f('ix_duty_shift_ends_at'))

    op.drop_table('duty_shift')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_entity_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_entity'))

    op.drop_table('audit_log')
    op.drop_table('notification_channel')
