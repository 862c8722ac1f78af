"""What /api/health reports, truthfully: the database, the broker, and when beat last ran."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from core.config import get_settings
from core.timeutil import utcnow

log = logging.getLogger(__name__)
BEAT_KEY = "yuqing:beat:last_run"
PROBE_TIMEOUT = 2.0  # seconds: a probe must answer fast even when a server hangs
_embedded_last_run: datetime | None = None  # embedded mode: the in-process scheduler's last round


@dataclass
class HealthReport:
    status: str  # ok | error
    database: str  # ok | error
    queue: str  # redis | embedded
    broker: str  # ok | error | embedded
    beat: str  # ok | stale | unknown (never seen yet) | embedded
    beat_last_run: datetime | None


def beat_stale_after() -> timedelta:
    """Beat records a run at least every 30 s; three sweep periods without one means it is gone."""
    return timedelta(seconds=max(3 * get_settings().loop_sweep_seconds, 120.0))


def record_beat_run(at: datetime | None = None) -> None:
    """Note that the scheduler ran now (beat in Redis; the embedded scheduler in this process)."""
    global _embedded_last_run
    at = at or utcnow()
    settings = get_settings()
    if settings.embedded_queue:
        _embedded_last_run = at
        return
    client = _redis(settings.redis_url)
    try:
        client.set(BEAT_KEY, at.isoformat())
    finally:
        client.close()


def check(*, engine: sa.Engine) -> HealthReport:
    """Probe the database and (with Redis) the broker and beat's heartbeat."""
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        database = "ok"
    except Exception:  # any failure to reach the database is "down" to a probe
        log.exception("health check: database unreachable")
        database = "error"
    settings = get_settings()
    if settings.embedded_queue:
        # No broker and no beat process: tasks run in the process that sends them.
        return HealthReport("ok" if database == "ok" else "error", database, "embedded", "embedded",
                            "embedded", _embedded_last_run)
    broker, beat, last = "error", "unknown", None
    client = _redis(settings.redis_url)
    try:
        client.ping()
        broker = "ok"
        raw = client.get(BEAT_KEY)
        if raw:
            last = datetime.fromisoformat(raw.decode()).astimezone(UTC)
            beat = "ok" if utcnow() - last <= beat_stale_after() else "stale"
    except Exception as exc:
        log.warning("health check: broker unreachable: %s", exc)
    finally:
        client.close()
    ok = database == "ok" and broker == "ok" and beat != "stale"
    return HealthReport("ok" if ok else "error", database, "redis", broker, beat, last)


def _redis(url: str) -> Any:
    import redis  # lazily: embedded mode has no Redis

    return redis.Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT, socket_timeout=PROBE_TIMEOUT)
