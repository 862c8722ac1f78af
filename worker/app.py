"""The Celery app. Redis when YUQING_REDIS_URL is set; otherwise embedded (eager) mode.

Embedded mode runs each task in the calling process at the moment it is sent, so a fresh
machine needs no broker: `make run` and the SQLite default work alone. Nothing is lost
either way, because the database is the outbox and `sweep_outbox` re-sends stale work.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import celeryd_after_setup, worker_init

from core.config import get_settings

# The response loop (alert steps, ticket clocks, notifications, the outbox sweep, source silence)
# has a queue of its own, so an escalation never waits behind a backlog of mentions to analyze.
LOOP_TASKS = frozenset({"yuqing.sweep_outbox", "yuqing.sweep_alerts", "yuqing.sweep_ticket_clocks",
                        "yuqing.deliver_notifications", "yuqing.check_source_silence",
                        # Notices on a clock: not behind a backlog of mentions.
                        "yuqing.duty_daily_notice", "yuqing.send_briefings"})
# Longest a message may stay unacknowledged before Redis hands it to another worker: longer
# than any task (the crawl is the longest, 15 min) and any retry countdown (at most 5 min).
VISIBILITY_TIMEOUT = 3600
# Per-task limits (soft, hard) in seconds: a stuck task is stopped instead of holding a slot.
TIME_LIMITS: dict[str, tuple[float, float]] = {
    "yuqing.process_mention": (120, 180),
    "yuqing.process_batch": (300, 360),
    "yuqing.deliver_notifications": (300, 360),
    "yuqing.crawl_due_sources": (1200, 1320),  # the crawl child is stopped at 900 s
}
DEFAULT_TIME_LIMITS = (120.0, 180.0)


def loop_queue(app: Celery) -> str:
    """The response loop's queue, named after the pipeline's (default) queue."""
    return f"{app.conf.task_default_queue}.loop"


def make_celery() -> Celery:
    app = Celery("yuqing", include=["worker.tasks", "worker.crawl_tasks"])
    configure(app)
    return app


def configure(app: Celery) -> None:
    """(Re)apply settings to the app: at import, and in tests after settings change."""
    settings = get_settings()
    if app.conf.broker_url and app.conf.broker_url != (settings.redis_url or "memory://"):
        # Another broker than before (tests switch servers): drop the pooled connections to the old.
        # The pools live in kombu's process-wide registry keyed by the broker's address: a closed
        # one left there would be handed back when the same broker is used again ("Acquire on
        # closed pool"), so it is taken out of the registry, not only closed.
        from kombu import pools
        from kombu.utils.collections import eqhash

        old = app.connection_for_write()
        try:
            for group in (pools.producers, pools.connections):
                stale = dict.pop(group, eqhash(old), None)
                if stale is not None:
                    stale.force_close_all()
        finally:
            old.release()
        if app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
        app.amqp._producer_pool = None
        # The result backend (with its pub/sub connection) is cached too: it would keep talking
        # to the old server, which a test may have stopped.
        app._backend_cache = None
        if app._local is not None and getattr(app._local, "backend", None) is not None:
            app._local.backend = None
    if settings.redis_url:
        app.conf.update(broker_url=settings.redis_url, result_backend=settings.redis_url,
                        task_always_eager=False)
    else:
        app.conf.update(broker_url="memory://", result_backend="cache+memory://",
                        task_always_eager=True, task_eager_propagates=True)
    soft, hard = DEFAULT_TIME_LIMITS
    app.conf.update(
        task_acks_late=True,  # a worker that dies mid-task leaves the message for another
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_soft_time_limit=soft,
        task_time_limit=hard,
        task_annotations={name: {"soft_time_limit": s, "time_limit": h}
                          for name, (s, h) in TIME_LIMITS.items()},
        task_routes=(_route,),
        # Survive the broker going away: reconnect at start and after a loss, for ever, and
        # cancel (re-queue) what was running, since its acknowledgement can no longer be sent.
        broker_connection_retry=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT, "socket_timeout": 30,
                                  "socket_connect_timeout": 5, "health_check_interval": 25},
        result_backend_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        redis_socket_timeout=30,
        redis_socket_connect_timeout=5,
        beat_scheduler="worker.beat:HeartbeatScheduler",  # records beat's last run for /api/health
        # Sending while the broker is away: give up after a few seconds (the outbox keeps the
        # work) instead of hanging a request or a crawl on unlimited reconnects.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5,
                                   "interval_max": 1.0},
        timezone=settings.timezone,
        enable_utc=True,
        beat_schedule={
            "sweep-outbox": {"task": "yuqing.sweep_outbox", "schedule": 60.0},
            # The response loop: alert steps, ticket clocks, then the notification outbox.
            "sweep-alerts": {"task": "yuqing.sweep_alerts", "schedule": settings.loop_sweep_seconds},
            "sweep-ticket-clocks": {"task": "yuqing.sweep_ticket_clocks",
                                    "schedule": settings.loop_sweep_seconds},
            "deliver-notifications": {"task": "yuqing.deliver_notifications",
                                      "schedule": settings.loop_sweep_seconds},
            # Each source has its own schedule; this only asks every minute which ones are due.
            "crawl-due-sources": {"task": "yuqing.crawl_due_sources", "schedule": 60.0},
            "check-source-silence": {"task": "yuqing.check_source_silence", "schedule": 600.0},
            # Sends once a local day from 08:00; asking every 10 minutes survives a beat restart.
            "duty-daily-notice": {"task": "yuqing.duty_daily_notice", "schedule": 600.0},
            # 日报/周报/月报 from settings.briefing_hour, once per period (the outbox key decides).
            "briefings": {"task": "yuqing.send_briefings", "schedule": 600.0},
        },
    )


def _route(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any) -> dict[str, str] | None:
    """Loop tasks to the loop queue (read at send time, so a test's own default queue is followed)."""
    if name in LOOP_TASKS:
        return {"queue": loop_queue(app)}
    return None


@celeryd_after_setup.connect
def _consume_loop_queue(sender: str, instance: Any, **kwargs: Any) -> None:
    """Every worker listens on the loop queue as well as on the pipeline's, whatever -Q says."""
    queues = instance.app.amqp.queues
    name = loop_queue(instance.app)
    if name not in queues.consume_from:
        queues.select_add(name)


@worker_init.connect
def _warm_analysis(**kwargs: Any) -> None:
    """Load the tokenizer's dictionary and the models once, before the pool forks: every child
    starts warm (no first batch waiting seconds for jieba) and shares those pages with the others."""
    import logging

    try:
        from core.analysis import analyze

        analyze("站前街道预热")
    except Exception:  # a broken model must not stop the worker: the first task reports it
        logging.getLogger(__name__).exception("could not warm up the analysis")


app = make_celery()
