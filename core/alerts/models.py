from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.models_base import created_at_field, time_field


class AlertBase(SQLModel):
    event_id: int = Field(foreign_key="event.id", index=True)
    level: str = Field(max_length=3)  # the event grade that raised it
    reason: str = Field(default="", max_length=500)


class Alert(AlertBase, table=True):
    # One alert per event and grade: a rising grade opens a new one, repeats do not.
    __table_args__ = (sa.UniqueConstraint("event_id", "level", name="uq_alert_event_level"),)

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(default="open", max_length=20, index=True)  # open | acknowledged | dismissed
    created_at: datetime = created_at_field()
    acknowledged_at: datetime | None = time_field()
    acknowledged_by_id: int | None = Field(default=None, foreign_key="app_user.id")
    dismiss_reason: str = Field(default="", max_length=500)
    notified_at: datetime | None = time_field()


class AlertPublic(AlertBase):
    id: int
    status: str
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by_id: int | None
    dismiss_reason: str
