"""Scheduled crawling: pick the sources that are due and crawl them in a child process.

Beat sends ``yuqing.crawl_due_sources`` every minute and ``yuqing.check_source_silence``
every ten; the crawl itself runs in ``python -m crawlers.run`` (a worker must never start
Twisted's reactor, which cannot be restarted in one process).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from core.db import session_scope
from core.sources import health
from worker.app import app
from worker.tasks import TRANSIENT

log = logging.getLogger(__name__)


@app.task(name="yuqing.crawl_due_sources", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3)
def crawl_due_sources() -> dict[str, Any]:
    """Claim the due sources (schedule passed, breaker closed) and crawl them."""
    from crawlers.run import SPIDERS_BY_KIND, run_crawl_subprocess

    with session_scope() as session:
        names = [s.name for s in health.claim_due(session=session, kinds=set(SPIDERS_BY_KIND))]
    if not names:
        return {"sources": {}, "claimed": []}
    log.info("crawling %d due sources", len(names))
    # One round id for every process of this crawl, so a shared Redis dupefilter knows them apart.
    summary = run_crawl_subprocess(names, settings={"YUQING_CRAWL_ROUND": uuid.uuid4().hex})
    summary["claimed"] = names
    return summary


@app.task(name="yuqing.check_source_silence", autoretry_for=TRANSIENT, retry_backoff=True, max_retries=3)
def check_source_silence() -> list[str]:
    """Mark sources silent (with an alert) that stopped producing for longer than usual."""
    with session_scope() as session:
        silent = [s.name for s in health.check_silence(session=session)]
    if silent:
        log.warning("sources gone silent: %s", ", ".join(silent))
    return silent
