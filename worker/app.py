"""The Celery app. Redis when YUQING_REDIS_URL is set; otherwise embedded (eager) mode.

Embedded mode runs each task in the calling process at the moment it is sent, so a fresh
machine needs no broker: `make run` and the SQLite default work alone. Nothing is lost
either way, because the database is the outbox and `sweep_outbox` re-sends stale work.
"""

from __future__ import annotations

from celery import Celery

from core.config import get_settings


def make_celery() -> Celery:
    app = Celery("yuqing", include=["worker.tasks", "worker.crawl_tasks"])
    configure(app)
    return app


def configure(app: Celery) -> None:
    """(Re)apply settings to the app: at import, and in tests after settings change."""
    settings = get_settings()
    if settings.redis_url:
        app.conf.update(broker_url=settings.redis_url, result_backend=settings.redis_url,
                        task_always_eager=False)
    else:
        app.conf.update(broker_url="memory://", result_backend="cache+memory://",
                        task_always_eager=True, task_eager_propagates=True)
    app.conf.update(
        task_acks_late=True,  # a worker that dies mid-task leaves the message for another
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
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
        },
    )


app = make_celery()
