"""Alerts: 'a duty officer must look at this event now'. One per event and grade."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.alerts.models import Alert
from core.errors import Conflict, InvalidInput, NotFound
from core.events.models import Event
from core.timeutil import utcnow

log = logging.getLogger(__name__)


def get(*, session: Session, alert_id: int) -> Alert | None:
    """Return an alert by id."""
    return session.get(Alert, alert_id)


def get_all(*, session: Session, status: str | None = None, limit: int = 100) -> list[Alert]:
    """Return alerts, newest first, optionally of one status."""
    stmt = select(Alert).order_by(col(Alert.id).desc()).limit(limit)
    if status:
        stmt = stmt.where(Alert.status == status)
    return list(session.exec(stmt))


def open_for_event(*, session: Session, event: Event) -> Alert | None:
    """Open an alert for the event's current grade unless one exists; returns the new alert."""
    if event.grade is None or event.id is None:
        return None
    key = f"event:{event.id}:{event.grade}"
    if session.exec(select(Alert).where(Alert.dedupe_key == key)).first():
        return None
    alert = Alert(kind="event", event_id=event.id, level=event.grade, reason=event.grade_reason, dedupe_key=key)
    # Two workers grading the same event race here; the unique constraint decides.
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        return None
    log.info("alert %s opened: event %s grade %s", alert.id, event.id, event.grade)
    return alert


def acknowledge(*, session: Session, alert_id: int, user_id: int | None) -> Alert:
    """Sign for an open alert (签收)."""
    alert = _open_alert(session, alert_id)
    alert.status = "acknowledged"
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by_id = user_id
    session.add(alert)
    return alert


def dismiss(*, session: Session, alert_id: int, user_id: int | None, reason: str) -> Alert:
    """Dismiss an open alert as a false alarm, with the reason (it teaches the classifier)."""
    if not reason.strip():
        raise InvalidInput("驳回预警需要填写原因")
    alert = _open_alert(session, alert_id)
    alert.status = "dismissed"
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by_id = user_id
    alert.dismiss_reason = reason.strip()
    session.add(alert)
    return alert


def _open_alert(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"预警不存在: {alert_id}")
    if alert.status != "open":
        raise Conflict(f"预警已处理（{alert.status}）")
    return alert
