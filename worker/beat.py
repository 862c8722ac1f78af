"""Beat's scheduler with a heartbeat, so /api/health can tell when beat last ran."""

from __future__ import annotations

import logging
import time
from typing import Any

from celery.beat import PersistentScheduler

from core import health

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 30.0  # at most this long between two heartbeats (and two ticks)


class HeartbeatScheduler(PersistentScheduler):
    """Celery's file-backed scheduler that also records each tick's time in Redis."""

    _last_beat = 0.0

    def tick(self, *args: Any, **kwargs: Any) -> float:
        interval = float(super().tick(*args, **kwargs))
        now = time.monotonic()
        if now - self._last_beat >= HEARTBEAT_SECONDS / 3:
            try:
                health.record_beat_run()
                self._last_beat = now
            except Exception as exc:  # the broker is away: health says so by itself
                log.warning("could not record beat's heartbeat: %s", exc)
        return min(interval, HEARTBEAT_SECONDS)
