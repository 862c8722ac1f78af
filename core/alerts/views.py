"""The 预警 inbox as the duty officer reads it: one row per event, with its posts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from core.alerts.models import Alert
from core.alerts.service import STATUS_LABELS
from core.analysis_labels import GRADE_LABELS, SOURCE_HEALTH_LABELS, TOPIC_LABELS
from core.errors import NotFound
from core.events.models import Event
from core.sources.models import Source
from core.tickets.models import STATE_LABELS, Ticket
from core.tickets.queues import PostBrief, posts_for_events

AlertState = Literal["open", "acknowledged", "closed", "all"]
# "closed" in the inbox: whatever needs nobody any more (a ticket, a false alarm).
STATE_STATUSES: dict[str, list[str]] = {
    "open": ["open"], "acknowledged": ["acknowledged"], "closed": ["closed", "dismissed"],
}
ALERT_POSTS = 10


class AlertRow(BaseModel):
    id: int
    kind: str  # event | source
    status: str  # open | acknowledged | dismissed | closed
    status_label: str
    level: str  # grade I-IV, or a source's health
    level_label: str
    reason: str
    created_at: datetime
    raised_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by_id: int | None
    dismiss_reason: str
    closed_at: datetime | None
    close_note: str
    notify_step: int
    event_id: int | None
    event_title: str  # scraped text: render as text
    event_grade: str | None
    topic: str
    topic_label: str
    mention_count: int
    engagement: int
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    places: list[str]
    channels: list[str]
    source_id: int | None
    source_name: str
    ticket_id: int | None
    ticket_state: str | None
    ticket_state_label: str


class AlertDetail(AlertRow):
    posts: list[PostBrief]


def _stmt() -> Any:
    return (select(Alert, Event, Source, Ticket)
            .outerjoin(Event, col(Event.id) == col(Alert.event_id))
            .outerjoin(Source, col(Source.id) == col(Alert.source_id))
            .outerjoin(Ticket, col(Ticket.event_id) == col(Alert.event_id)))


def _row(alert: Alert, event: Event | None, source: Source | None, ticket: Ticket | None) -> AlertRow:
    assert alert.id is not None
    topic = event.topic if event else "other"
    return AlertRow(
        id=alert.id, kind=alert.kind, status=alert.status,
        status_label=STATUS_LABELS.get(alert.status, alert.status), level=alert.level,
        level_label=GRADE_LABELS.get(alert.level, SOURCE_HEALTH_LABELS.get(alert.level, alert.level)),
        reason=alert.reason or (event.grade_reason if event else ""), created_at=alert.created_at,
        raised_at=alert.raised_at, acknowledged_at=alert.acknowledged_at,
        acknowledged_by_id=alert.acknowledged_by_id, dismiss_reason=alert.dismiss_reason,
        closed_at=alert.closed_at, close_note=alert.close_note, notify_step=alert.notify_step,
        event_id=alert.event_id, event_title=event.title if event else (source.name if source else ""),
        event_grade=event.grade if event else None, topic=topic, topic_label=TOPIC_LABELS.get(topic, topic),
        mention_count=event.mention_count if event else 0, engagement=event.engagement if event else 0,
        first_seen_at=event.first_seen_at if event else None,
        last_seen_at=event.last_seen_at if event else None,
        places=list(event.places) if event else [], channels=list(event.channels) if event else [],
        source_id=alert.source_id, source_name=source.name if source else "",
        ticket_id=ticket.id if ticket else None, ticket_state=ticket.state if ticket else None,
        ticket_state_label=STATE_LABELS.get(ticket.state, "") if ticket else "")


def rows(*, session: Session, state: str = "open", limit: int = 100, offset: int = 0,
         status: str | None = None) -> list[AlertRow]:
    """The inbox: alerts in a state (or of one exact status), newest or newly raised first; one query."""
    stmt = _stmt()
    if status is not None:
        stmt = stmt.where(col(Alert.status) == status)
    elif state != "all":
        stmt = stmt.where(col(Alert.status).in_(STATE_STATUSES[state]))
    latest = func.coalesce(col(Alert.raised_at), col(Alert.created_at))
    stmt = stmt.order_by(latest.desc(), col(Alert.id).desc())
    return [_row(*r) for r in session.exec(stmt.offset(offset).limit(limit))]


def detail(*, session: Session, alert_id: int) -> AlertDetail:
    """One alert with the event's most engaged original posts."""
    found = session.exec(_stmt().where(col(Alert.id) == alert_id)).first()
    if found is None:
        raise NotFound(f"预警不存在: {alert_id}")
    row = _row(*found)
    posts = (posts_for_events(session=session, event_ids=[row.event_id], per_event=ALERT_POSTS)
             .get(row.event_id, []) if row.event_id is not None else [])
    return AlertDetail(**row.model_dump(), posts=posts)
