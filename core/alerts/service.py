"""Alerts: 'a duty officer must look at this event now'. One per event and grade."""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.alerts.models import Alert
from core.audit import service as audit
from core.config import get_settings
from core.errors import Conflict, InvalidInput, NotFound
from core.events.models import Event
from core.timeutil import ensure_utc, utcnow

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
    return open_new(session=session, alert=Alert(
        kind="event", event_id=event.id, level=event.grade, reason=event.grade_reason,
        dedupe_key=f"event:{event.id}:{event.grade}"))


def open_new(*, session: Session, alert: Alert) -> Alert | None:
    """Store an alert unless its dedupe key exists, audit it and queue its first notice."""
    if session.exec(select(Alert).where(Alert.dedupe_key == alert.dedupe_key)).first():
        return None
    # Two workers (or crawler processes) may raise the same alert at once; the unique key decides.
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError:
        return None
    log.info("alert %s opened: %s", alert.id, alert.dedupe_key)
    assert alert.id is not None
    audit.record(session=session, entity="alert", entity_id=alert.id, action="open", actor_id=None,
                 after={"kind": alert.kind, "level": alert.level, "event_id": alert.event_id,
                        "source_id": alert.source_id, "reason": alert.reason},
                 at=alert.created_at)
    # The first notice is queued with the alert itself, in the same transaction.
    advance(session=session, alert=alert, now=alert.created_at)
    return alert


def sweep(*, session: Session, now: datetime | None = None) -> list[tuple[int, int]]:
    """Re-notify and escalate unacknowledged alerts as their steps fall due; (alert id, step)."""
    now = ensure_utc(now) if now else utcnow()
    fired = []
    for alert in session.exec(select(Alert).where(Alert.status == "open").order_by(col(Alert.id))):
        step = advance(session=session, alert=alert, now=now)
        if step is not None and alert.id is not None:
            fired.append((alert.id, step))
    return fired


def advance(*, session: Session, alert: Alert, now: datetime) -> int | None:
    """Fire the latest due step of settings.alert_steps, once; returns it (1-based) or None."""
    steps = sorted(get_settings().alert_steps)
    age_minutes = (ensure_utc(now) - ensure_utc(alert.created_at)).total_seconds() / 60
    due = [n for n, (minutes, _) in enumerate(steps, start=1) if age_minutes >= minutes]
    if not due or alert.status != "open" or alert.notify_step >= due[-1]:
        return None
    target, previous = due[-1], alert.notify_step
    # Claimed with a conditional UPDATE: two schedulers cannot both fire the same step.
    claimed = session.execute(sa.update(Alert).where(
        col(Alert.id) == alert.id, col(Alert.notify_step) == previous, col(Alert.status) == "open")
        .values(notify_step=target, last_notified_at=now,
                notified_at=sa.func.coalesce(col(Alert.notified_at), now)))
    if not claimed.rowcount:  # type: ignore[attr-defined]
        session.refresh(alert)
        return None
    session.refresh(alert)
    minutes, audience = steps[target - 1]
    audiences = [audience]
    grade_now = alert.kind == "event" and alert.level in get_settings().principal_at_once_grades
    if target == 1 and grade_now and "principal" not in audiences:
        audiences.append("principal")  # grade I goes to the principal leader at once
    people = _notify(session, alert, step=target, audiences=audiences, minutes=int(age_minutes), now=now)
    action = "notify" if target == 1 else ("renotify" if audience == "duty" else "escalate")
    assert alert.id is not None
    audit.record(session=session, entity="alert", entity_id=alert.id, action=action, actor_id=None,
                 before={"notify_step": previous}, after={"notify_step": target, "audiences": audiences,
                                                           "recipients": people},
                 note=f"第{target}步（{minutes}分钟）通知：{'、'.join(people) or '无'}", at=now)
    return target


def _notify(session: Session, alert: Alert, *, step: int, audiences: list[str], minutes: int,
            now: datetime) -> list[str]:
    from core.duty import service as duty
    from core.notify import service as notify
    from core.notify import templates

    assert alert.id is not None
    event = session.get(Event, alert.event_id) if alert.event_id is not None else None
    title = event.title if event else alert.reason
    topic = event.topic if event else None
    everyone: list[str] = []
    for audience in audiences:
        people = duty.recipients(session=session, audience=audience, at=now, topic=topic)
        everyone += [p.name for p in people]
        subject, body = templates.alert_notice(
            alert_id=alert.id, grade=alert.level if alert.kind == "event" else None, title=title,
            reason=alert.reason, topic=topic, step=step,
            audience_label=duty.AUDIENCE_LABELS.get(audience, audience),
            people=[p.name for p in people], minutes=minutes)
        notify.enqueue(session=session, now=now, notice=notify.Notice(
            key=f"alert:{alert.id}:step{step}:{audience}", subject=subject, body=body,
            audience=audience, recipients=people, link=templates.alert_link(alert.id),
            grade=alert.level if alert.kind == "event" else None, topic=topic, alert_id=alert.id))
    return list(dict.fromkeys(everyone))


def timeline(*, session: Session, alert_id: int) -> list[object]:
    """The alert's audit rows: opened, notified, re-notified, escalated, signed for."""
    return list(audit.get_all(session=session, entity="alert", entity_id=alert_id))


def acknowledge(*, session: Session, alert_id: int, user_id: int | None) -> Alert:
    """Sign for an open alert (签收)."""
    alert = _open_alert(session, alert_id)
    alert.status = "acknowledged"
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by_id = user_id
    session.add(alert)
    audit.record(session=session, entity="alert", entity_id=alert_id, action="acknowledge",
                 actor_id=user_id, before={"status": "open"}, after={"status": "acknowledged"},
                 note="签收", at=alert.acknowledged_at)
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
    audit.record(session=session, entity="alert", entity_id=alert_id, action="dismiss",
                 actor_id=user_id, before={"status": "open"}, after={"status": "dismissed"},
                 note=f"驳回（误报）：{alert.dismiss_reason}", at=alert.acknowledged_at)
    return alert


def _open_alert(session: Session, alert_id: int) -> Alert:
    # Locked and re-read: two officers signing for and dismissing one alert at once take turns,
    # and the second sees it is no longer open (without the lock both won, the last one silently).
    alert = session.get(Alert, alert_id, with_for_update=True, populate_existing=True)
    if alert is None:
        raise NotFound(f"预警不存在: {alert_id}")
    if alert.status != "open":
        raise Conflict(f"预警已处理（{alert.status}）")
    return alert
