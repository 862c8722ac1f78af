"""Thin tasks: they receive ids, call core services and retry only transient errors."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import OperationalError

from core.alerts import service as alerts
from core.config import get_settings
from core.db import session_scope
from core.duty import daily as duty_daily
from core.mentions import service as mentions
from core.notify import service as notify
from core.processing import service as processing
from core.reports import briefing_send
from core.tickets import escalation
from worker.app import app

log = logging.getLogger(__name__)
TRANSIENT = (OperationalError, ConnectionError, TimeoutError)


@app.task(name="yuqing.process_mention", bind=True, autoretry_for=TRANSIENT,
          retry_backoff=True, retry_backoff_max=300, max_retries=8)
def process_mention(self: Any, mention_id: int, force: bool = False) -> dict[str, Any]:
    """Analyze, cluster, grade and alert one stored mention (idempotent).

    The attempt is counted before the work (a message whose processing kills the worker comes
    back through acks_late and is given up after MAX_PROCESS_ATTEMPTS); `force`: sent by a person.
    """
    with session_scope() as session:
        if not mentions.start_attempt(session=session, mention_id=mention_id, force=force):
            return {"mention_id": mention_id, "processed": False}  # done already, or given up
    try:
        with session_scope() as session:
            result = processing.process_mention(session=session, mention_id=mention_id)
    except TRANSIENT:
        raise  # the database is away: Celery retries with backoff
    except Exception as exc:
        # A bug or an input the analysis cannot take: the mention stays stored and unanalyzed,
        # the error is kept on it, and the sweep stops re-sending it after a few attempts.
        log.exception("processing mention %s failed", mention_id)
        with session_scope() as session:
            mentions.record_process_failure(session=session, mention_id=mention_id,
                                            error=f"{type(exc).__name__}: {exc}")
        return {"mention_id": mention_id, "processed": False, "error": f"{type(exc).__name__}: {exc}"}
    if result.alert_ids or result.ticket_id:
        _kick_delivery()  # the new alert's first notice is in the outbox: send it now
    return {"mention_id": mention_id, "processed": result.processed, "event_id": result.event_id,
            "grade": result.grade, "alerts": result.alert_ids, "ticket_id": result.ticket_id}


@app.task(name="yuqing.sweep_outbox")
def sweep_outbox() -> int:
    """Re-send mentions that were stored but never analyzed (a lost message loses nothing)."""
    from worker.dispatch import enqueue_mentions

    settings = get_settings()
    with session_scope() as session:
        ids = mentions.get_pending_ids(
            session=session, older_than=timedelta(minutes=settings.sweep_stale_minutes),
            lease=timedelta(minutes=settings.sweep_requeue_minutes))
    sent = enqueue_mentions(ids)
    if ids:
        log.info("outbox sweep re-sent %d of %d mentions", sent, len(ids))
    return sent


@app.task(name="yuqing.sweep_alerts", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3)
def sweep_alerts() -> int:
    """Re-notify and escalate alerts nobody signed for (each step once, however many beats)."""
    with session_scope() as session:
        fired = alerts.sweep(session=session)
    if fired:
        _kick_delivery()
    return len(fired)


@app.task(name="yuqing.sweep_ticket_clocks", autoretry_for=TRANSIENT, retry_backoff=True,
          max_retries=3)
def sweep_ticket_clocks() -> int:
    """Warn before ticket deadlines and escalate after them (each step once)."""
    with session_scope() as session:
        fired = escalation.sweep(session=session)
    if fired:
        _kick_delivery()
    return len(fired)


@app.task(name="yuqing.deliver_notifications", autoretry_for=TRANSIENT, retry_backoff=True,
          max_retries=5)
def deliver_notifications() -> dict[str, int]:
    """Send the due notifications: claimed once each, within each robot's rate limit."""
    stats = notify.deliver_due()
    return {"sent": stats.sent, "held": stats.held, "digests": stats.digests,
            "failed": stats.failed, "retried": stats.retried}


@app.task(name="yuqing.duty_daily_notice", autoretry_for=TRANSIENT, retry_backoff=True,
          max_retries=3)
def duty_daily_notice() -> int:
    """Queue the duty officer's daily notice (once a day; the beat asks every few minutes)."""
    with session_scope() as session:
        queued = duty_daily.send(session=session)
    if queued:
        _kick_delivery()
    return len(queued)


@app.task(name="yuqing.send_briefings", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3)
def send_briefings() -> int:
    """Queue the finished day's/week's/month's briefing once each (the beat asks every few minutes)."""
    with session_scope() as session:
        queued = briefing_send.send(session=session)
    if queued:
        _kick_delivery()
    return len(queued)


def run_periodic_sweeps() -> dict[str, Any]:
    """Every periodic sweep once, in this process (embedded mode has no beat)."""
    out: dict[str, Any] = {"outbox": sweep_outbox(), "alerts": sweep_alerts(),
                           "ticket_clocks": sweep_ticket_clocks(), "duty_daily": duty_daily_notice(),
                           "briefings": send_briefings()}
    out["notifications"] = deliver_notifications()
    return out


def _kick_delivery() -> None:
    """Send notifications soon; if the broker is down, the scheduled delivery sends them."""
    if get_settings().embedded_queue:
        return  # embedded: run_periodic_sweeps (or the caller) delivers; never block a request on HTTP
    try:
        deliver_notifications.delay()
    except Exception:
        log.exception("could not enqueue notification delivery; the next sweep sends them")
