"""Thin tasks: they receive ids, call core services and retry only transient errors."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import OperationalError

from core.config import get_settings
from core.db import session_scope
from core.mentions import service as mentions
from core.processing import service as processing
from worker.app import app

log = logging.getLogger(__name__)
TRANSIENT = (OperationalError, ConnectionError, TimeoutError)


@app.task(name="yuqing.process_mention", bind=True, autoretry_for=TRANSIENT,
          retry_backoff=True, retry_backoff_max=300, max_retries=8)
def process_mention(self: Any, mention_id: int) -> dict[str, Any]:
    """Analyze, cluster, grade and alert one stored mention (idempotent)."""
    with session_scope() as session:
        result = processing.process_mention(session=session, mention_id=mention_id)
    return {"mention_id": mention_id, "processed": result.processed, "event_id": result.event_id,
            "grade": result.grade, "alerts": result.alert_ids, "ticket_id": result.ticket_id}


@app.task(name="yuqing.sweep_outbox")
def sweep_outbox() -> int:
    """Re-send mentions that were stored but never analyzed (a lost message loses nothing)."""
    settings = get_settings()
    with session_scope() as session:
        ids = mentions.get_pending_ids(
            session=session, older_than=timedelta(minutes=settings.sweep_stale_minutes))
    for mention_id in ids:
        process_mention.delay(mention_id)
    if ids:
        log.info("outbox sweep re-sent %d mentions", len(ids))
    return len(ids)


@app.task(name="yuqing.crawl", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3)
def crawl(source_names: list[str] | None = None) -> dict[str, Any]:
    """Crawl sources in a child process (a worker must not restart Twisted's reactor)."""
    from crawlers.run import run_crawl_subprocess

    return run_crawl_subprocess(source_names)
