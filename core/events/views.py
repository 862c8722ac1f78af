"""An event as the monitoring page shows it: grade history with reasons, spread by channel and hour."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.alerts.models import Alert
from core.analysis_labels import CHANNEL_LABELS, GRADE_LABELS
from core.audit.models import AuditLog
from core.errors import NotFound
from core.events.models import Event
from core.mentions.models import Mention
from core.timeutil import ensure_utc, to_local


class GradeChange(BaseModel):
    at: datetime
    grade: str
    label: str
    reason: str
    alert_id: int


class ChannelSpread(BaseModel):
    channel: str
    label: str
    mentions: int
    engagement: int


class HourSpread(BaseModel):
    hour: datetime  # the start of the hour, Beijing time
    mentions: int
    engagement: int


class EventSpread(BaseModel):
    event_id: int
    timezone: str
    channels: list[ChannelSpread]
    hours: list[HourSpread]


def _event(session: Session, event_id: int) -> Event:
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound(f"舆情事件不存在: {event_id}")
    return event


def grade_history(*, session: Session, event_id: int) -> list[GradeChange]:
    """Each grade the event reached, when and why, oldest first (from its alerts' records)."""
    _event(session, event_id)
    alert_ids = select(Alert.id).where(Alert.kind == "event", Alert.event_id == event_id)
    rows = session.exec(select(AuditLog).where(
        AuditLog.entity == "alert", col(AuditLog.entity_id).in_(alert_ids),
        col(AuditLog.action).in_(["open", "raise"])).order_by(col(AuditLog.at), col(AuditLog.id)))
    out = []
    for row in rows:
        grade = str(row.after.get("level", ""))
        out.append(GradeChange(at=row.at, grade=grade, label=GRADE_LABELS.get(grade, grade),
                               reason=str(row.after.get("reason", "")), alert_id=row.entity_id))
    return out


def spread(*, session: Session, event_id: int) -> EventSpread:
    """How the event spread: posts and engagement by channel, and by hour (Beijing time)."""
    _event(session, event_id)
    by_channel: dict[str, list[int]] = {}
    by_hour: dict[datetime, list[int]] = {}
    rows = session.exec(select(Mention.channel, Mention.seen_at, Mention.likes + Mention.reposts
                               + Mention.comments).where(Mention.event_id == event_id))
    for channel, seen_at, engagement in rows:
        c = by_channel.setdefault(channel, [0, 0])
        c[0], c[1] = c[0] + 1, c[1] + int(engagement or 0)
        if seen_at is None:
            continue
        hour = to_local(ensure_utc(seen_at)).replace(minute=0, second=0, microsecond=0)
        h = by_hour.setdefault(hour, [0, 0])
        h[0], h[1] = h[0] + 1, h[1] + int(engagement or 0)
    channels = sorted((ChannelSpread(channel=ch, label=CHANNEL_LABELS.get(ch, ch), mentions=n, engagement=e)
                       for ch, (n, e) in by_channel.items()), key=lambda c: (-c.mentions, c.channel))
    hours = [HourSpread(hour=h, mentions=n, engagement=e) for h, (n, e) in sorted(by_hour.items())]
    return EventSpread(event_id=event_id, timezone="Asia/Shanghai", channels=channels, hours=hours)
