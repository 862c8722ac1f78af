"""Enqueue work for stored rows. Call only after the storing transaction committed."""

from __future__ import annotations

import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)


def enqueue_mentions(ids: Iterable[int]) -> None:
    """Queue processing for stored mentions; in embedded mode they are processed now.

    A failure to enqueue is logged, not raised: the mention is stored, and the outbox
    sweep will send it again.
    """
    from worker.tasks import process_mention

    for mention_id in ids:
        try:
            process_mention.delay(mention_id)
        except Exception:  # the broker is down: the sweep picks it up later
            log.exception("could not enqueue mention %s; the outbox sweep will retry", mention_id)
