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
from core.events.service import outranks
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


def for_event(*, session: Session, event_id: int) -> Alert | None:
    """The event's alert row (the newest, for events alerted before one row per event)."""
    return session.exec(select(Alert).where(Alert.kind == "event", Alert.event_id == event_id)
                        .order_by(col(Alert.id).desc())).first()


def open_for_event(*, session: Session, event: Event, now: datetime | None = None) -> Alert | None:
    """Alert the duty officer about the event's grade: one row per event.

    The first grade opens the row; a higher grade raises the same row (level, reason, notice
    steps start again) and reopens it unless the event already has its ticket. Returns the
    alert when it was opened or raised, else None.
    """
    if event.grade is None or event.id is None:
        return None
    existing = for_event(session=session, event_id=event.id)
    if existing is None:
        return open_new(session=session, alert=Alert(
            kind="event", event_id=event.id, level=event.grade, reason=event.grade_reason,
            dedupe_key=f"event:{event.id}", created_at=ensure_utc(now) if now else utcnow()))
    if not outranks(event.grade, existing.level):
        return None
    return _raise(session, existing, event, ensure_utc(now) if now else utcnow())


def _raise(session: Session, alert: Alert, event: Event, now: datetime) -> Alert:
    from core.tickets.models import Ticket

    assert alert.id is not None
    before = {"level": alert.level, "status": alert.status}
    has_ticket = session.exec(select(Ticket.id).where(Ticket.event_id == event.id)).first() is not None
    alert.level, alert.reason, alert.raised_at = str(event.grade), event.grade_reason[:500], now
    if not has_ticket and alert.status != "open":
        # A higher grade is news: the officer must look again, even at a dismissed alarm.
        alert.status, alert.closed_at, alert.close_note = "open", None, ""
        alert.acknowledged_at = alert.acknowledged_by_id = None
    alert.notify_step = 0
    session.add(alert)
    session.flush()
    audit.record(session=session, entity="alert", entity_id=alert.id, action="raise", actor_id=None,
                 before=before, after={"level": alert.level, "status": alert.status,
                                       "reason": alert.reason}, at=now,
                 note=f"等级升为{alert.level}级：{alert.reason}")
    if alert.status == "open":
        advance(session=session, alert=alert, now=now)
    return alert


def close_for_event(*, session: Session, event_id: int, note: str, actor_id: int | None = None,
                    at: datetime | None = None) -> list[int]:
    """Close the event's open or signed-for alerts (ticket opened, event dismissed); their ids."""
    now = ensure_utc(at) if at else utcnow()
    ids = list(session.exec(select(Alert.id).where(
        Alert.event_id == event_id, col(Alert.status).in_(["open", "acknowledged"]))))
    if not ids:
        return []
    # ORM-enabled UPDATE: alerts already loaded in this session see the new status too.
    session.execute(sa.update(Alert).where(col(Alert.id).in_(ids))
                    .values(status="closed", closed_at=now, close_note=note[:200]),
                    execution_options={"synchronize_session": "fetch"})
    for alert_id in ids:
        assert alert_id is not None
        audit.record(session=session, entity="alert", entity_id=alert_id, action="close",
                     actor_id=actor_id, after={"status": "closed"}, note=note, at=now)
    return [i for i in ids if i is not None]


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
    started = alert.raised_at or alert.created_at  # a raised grade starts the steps again
    age_minutes = (ensure_utc(now) - ensure_utc(started)).total_seconds() / 60
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
    round_key = f"{alert.level}:" if alert.raised_at else ""  # a raised grade notifies anew
    for audience in audiences:
        people = duty.recipients(session=session, audience=audience, at=now, topic=topic)
        everyone += [p.name for p in people]
        subject, body = templates.alert_notice(
            alert_id=alert.id, grade=alert.level if alert.kind == "event" else None, title=title,
            reason=alert.reason, topic=topic, step=step,
            audience_label=duty.AUDIENCE_LABELS.get(audience, audience),
            people=[p.name for p in people], minutes=minutes)
        notify.enqueue(session=session, now=now, notice=notify.Notice(
            key=f"alert:{alert.id}:{round_key}step{step}:{audience}", subject=subject, body=body,
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
    # A signed-for alert may still turn out a false alarm once the officer has looked.
    alert = _open_alert(session, alert_id, allowed=("open", "acknowledged"))
    before = alert.status
    alert.status = "dismissed"
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by_id = user_id
    alert.dismiss_reason = reason.strip()
    session.add(alert)
    audit.record(session=session, entity="alert", entity_id=alert_id, action="dismiss",
                 actor_id=user_id, before={"status": before}, after={"status": "dismissed"},
                 note=f"驳回（误报）：{alert.dismiss_reason}", at=alert.acknowledged_at)
    return alert


STATUS_LABELS = {"open": "待签收", "acknowledged": "已签收", "dismissed": "误报", "closed": "已关闭"}


def _open_alert(session: Session, alert_id: int, *, allowed: tuple[str, ...] = ("open",)) -> Alert:
    # Locked and re-read: two officers signing for and dismissing one alert at once take turns,
    # and the second sees it is no longer open (without the lock both won, the last one silently).
    alert = session.get(Alert, alert_id, with_for_update=True, populate_existing=True)
    if alert is None:
        raise NotFound(f"预警不存在: {alert_id}")
    if alert.status not in allowed:
        raise Conflict(f"预警已处理（{STATUS_LABELS.get(alert.status, alert.status)}）")
    return alert
