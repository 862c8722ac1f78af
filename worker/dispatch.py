"""Enqueue work for stored rows. Call only after the storing transaction committed."""

from __future__ import annotations

import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)


def enqueue_mentions(ids: Iterable[int]) -> int:
    """Queue processing for stored mentions; in embedded mode they are processed now.

    Each is stamped as queued first (so the outbox sweep does not send it a second time while
    it waits behind a backlog); a failure to enqueue is logged, not raised, and its stamp is
    cleared: the mention is stored, and the sweep will send it again. Returns how many went.
    """
    from core.db import session_scope
    from core.mentions import service as mentions
    from core.timeutil import utcnow
    from worker.tasks import process_mention

    wanted = list(ids)
    if not wanted:
        return 0
    try:
        with session_scope() as session:
            mentions.mark_enqueued(session=session, ids=wanted, at=utcnow())
    except Exception:  # the stamp only saves duplicates; never lose the enqueue for it
        log.exception("could not stamp %d mentions as queued", len(wanted))
    failed = []
    for mention_id in wanted:
        try:
            process_mention.delay(mention_id)
        except Exception:  # the broker is down: the sweep picks it up later
            log.exception("could not enqueue mention %s; the outbox sweep will retry", mention_id)
            failed.append(mention_id)
    if failed:
        try:
            with session_scope() as session:
                mentions.mark_enqueued(session=session, ids=failed, at=None)
        except Exception:
            log.exception("could not clear the queued stamp of %d mentions", len(failed))
    return len(wanted) - len(failed)
