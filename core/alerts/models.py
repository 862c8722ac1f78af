from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models_base import created_at_field, time_field


class AlertBase(SQLModel):
    kind: str = Field(default="event", max_length=20)  # event | source (stopped working) | notify (a notice failed)
    event_id: int | None = Field(default=None, foreign_key="event.id", index=True)
    source_id: int | None = Field(default=None, foreign_key="source.id", index=True)
    level: str = Field(max_length=20)  # event grade I-IV, or the source's health (login_expired ...)
    reason: str = Field(default="", max_length=500)


class Alert(AlertBase, table=True):
    __table_args__ = (sa.UniqueConstraint("dedupe_key", name="uq_alert_dedupe_key"),)

    id: int | None = Field(default=None, primary_key=True)
    # What makes two alerts the same: one per event and grade (a rising grade opens a new one,
    # repeats do not); one per source incident. Unique, so racing workers cannot duplicate it.
    dedupe_key: str = Field(max_length=200)
    status: str = Field(default="open", max_length=20, index=True)  # open | acknowledged | dismissed | closed
    created_at: datetime = created_at_field()
    acknowledged_at: datetime | None = time_field()
    acknowledged_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    dismiss_reason: str = Field(default="", max_length=500)
    notified_at: datetime | None = time_field()
    # How many steps of settings.alert_steps have fired (notify, re-notify, escalate).
    notify_step: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_notified_at: datetime | None = time_field()
    # One row per event: a rising grade raises this row again (level, reason, raised_at) and
    # restarts its notice steps from raised_at; older rows of a grade each keep their own.
    raised_at: datetime | None = time_field()
    # Closed by the system when the event got its ticket or was dismissed as a false alarm.
    closed_at: datetime | None = time_field()
    close_note: str = Field(default="", max_length=200)


class AlertPublic(AlertBase):
    id: int
    dedupe_key: str
    status: str
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by_id: int | None
    dismiss_reason: str
    notified_at: datetime | None = None
    notify_step: int = 0
    last_notified_at: datetime | None = None
    raised_at: datetime | None = None
    closed_at: datetime | None = None
    close_note: str = ""
