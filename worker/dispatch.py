"""Enqueue work for stored rows. Call only after the storing transaction committed."""

from __future__ import annotations

import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)


def enqueue_mentions(ids: Iterable[int]) -> int:
    """Queue processing for stored mentions, in batches of settings.process_batch_size (one task
    each); in embedded mode they are processed now.

    Each is stamped as queued first (so the outbox sweep does not send it a second time while
    it waits behind a backlog); a failure to enqueue is logged, not raised, and its stamp is
    cleared: the mention is stored, and the sweep will send it again. Returns how many went.
    """
    from core.config import get_settings
    from core.db import session_scope
    from core.mentions import service as mentions
    from core.timeutil import utcnow
    from worker.tasks import process_batch

    wanted = list(ids)
    if not wanted:
        return 0
    try:
        with session_scope() as session:
            mentions.mark_enqueued(session=session, ids=wanted, at=utcnow())
    except Exception:  # the stamp only saves duplicates; never lose the enqueue for it
        log.exception("could not stamp %d mentions as queued", len(wanted))
    failed: list[int] = []
    size = max(1, get_settings().process_batch_size)
    for start in range(0, len(wanted), size):
        chunk = wanted[start:start + size]
        try:
            process_batch.delay(chunk)
        except Exception:  # the broker is down: the sweep picks them up later
            log.exception("could not enqueue %d mentions; the outbox sweep will retry", len(chunk))
            failed.extend(chunk)
    if failed:
        try:
            with session_scope() as session:
                mentions.mark_enqueued(session=session, ids=failed, at=None)
        except Exception:
            log.exception("could not clear the queued stamp of %d mentions", len(failed))
    return len(wanted) - len(failed)
