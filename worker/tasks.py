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


@app.task(name="yuqing.process_batch", bind=True, autoretry_for=TRANSIENT,
          retry_backoff=True, retry_backoff_max=300, max_retries=8)
def process_batch(self: Any, mention_ids: list[int], force: bool = False) -> dict[str, Any]:
    """Analyze, cluster, grade and alert a batch of stored mentions in one transaction (idempotent).

    Attempts are counted first, for the whole batch in one committed statement (see
    process_mention). A mention the analysis cannot take keeps its error and the others go on;
    any other error rolls the batch back and its mentions are processed one by one, so a bad one
    is isolated with its error while the rest are committed.
    """
    with session_scope() as session:
        started = mentions.start_attempts(session=session, mention_ids=list(mention_ids), force=force)
    if not started:
        return {"asked": len(mention_ids), "processed": 0, "failed": {}}
    failed: dict[int, str] = {}
    try:
        with session_scope() as session:
            batch = processing.process_batch(session=session, mention_ids=started)
        processed = batch.processed
        failed = {i: f"{type(e).__name__}: {e}" for i, e in batch.failed.items()}
        kick = bool(batch.alert_ids or batch.ticket_ids)
    except TRANSIENT:
        raise  # the database is away: Celery retries with backoff (done ones are then skipped)
    except Exception:
        log.exception("batch of %d mentions failed; processing them one by one", len(started))
        processed, kick = [], False
        for mention_id in started:
            result, error = _process_one(mention_id)
            if error:
                failed[mention_id] = error
            elif result is not None and result.processed:
                processed.append(mention_id)
                kick = kick or bool(result.alert_ids or result.ticket_id)
    if kick:
        _kick_delivery()  # the new alerts' first notices are in the outbox: send them now
    return {"asked": len(mention_ids), "processed": len(processed), "failed": failed}


def _process_one(mention_id: int) -> tuple[processing.ProcessResult | None, str]:
    """One mention in its own transaction, its attempt counted already; (result, error)."""
    try:
        with session_scope() as session:
            return processing.process_mention(session=session, mention_id=mention_id), ""
    except TRANSIENT:
        raise
    except Exception as exc:
        log.exception("processing mention %s failed", mention_id)
        error = f"{type(exc).__name__}: {exc}"
        with session_scope() as session:
            mentions.record_process_failure(session=session, mention_id=mention_id, error=error)
        return None, error


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
