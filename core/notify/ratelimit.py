"""A sliding-window limit per robot, shared by every worker (Redis), or by the database alone."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from core.notify.models import Notification
from core.timeutil import utcnow

# Atomic: drop entries older than the window, then take a slot if one is free.
_ACQUIRE = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) < tonumber(ARGV[3]) then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
  return 1
end
return 0
"""


class RateLimiter(Protocol):
    def acquire(self, *, session: Session, channel_id: int, counted: bool = False) -> str | None:
        """Take a send slot (a token), or None; `counted`: the message is already a 'sending' row."""
        ...

    def finished(self, *, channel_id: int, token: str) -> None:
        """Move the slot to when the send finished: the receiver counts arrivals, not attempts."""
        ...

    def release(self, *, channel_id: int, token: str) -> None:
        """Give the slot back: the message never reached the receiver, so it does not count."""
        ...


class RedisRateLimiter:
    """At most `limit` sends per `window` seconds per channel, across all processes."""

    def __init__(self, url: str, *, limit: int, window: float) -> None:
        import redis  # lazily: embedded mode has no Redis

        self.client = redis.Redis.from_url(url)
        self.script = self.client.register_script(_ACQUIRE)
        self.limit, self.window = limit, window

    def acquire(self, *, session: Session, channel_id: int, counted: bool = False) -> str | None:
        """Take a slot now, or None when the window is full."""
        now = utcnow().timestamp()
        token = f"{now}:{uuid.uuid4().hex}"
        taken = self.script(keys=[self._key(channel_id)], args=[now, self.window, self.limit, token])
        return token if taken else None

    def finished(self, *, channel_id: int, token: str) -> None:
        """Re-stamp the slot with the time the message was delivered."""
        # Not xx=True: a send slower than the window may have seen its slot trimmed meanwhile,
        # and the delivered message must still count.
        self.client.zadd(self._key(channel_id), {token: utcnow().timestamp()})

    def release(self, *, channel_id: int, token: str) -> None:
        """Drop the slot of a message that was not delivered."""
        self.client.zrem(self._key(channel_id), token)

    @staticmethod
    def _key(channel_id: int) -> str:
        return f"yuqing:notify:rate:{channel_id}"


class DatabaseRateLimiter:
    """The embedded-mode limit: counts this channel's recent sends in the outbox itself."""

    def __init__(self, *, limit: int, window: float) -> None:
        self.limit, self.window = limit, window

    def acquire(self, *, session: Session, channel_id: int, counted: bool = False) -> str | None:
        """A token when fewer than `limit` messages went out in the window (this one aside)."""
        start = utcnow() - timedelta(seconds=self.window)
        sent = session.exec(select(func.count()).select_from(Notification).where(
            Notification.channel_id == channel_id,
            col(Notification.status).in_(("sent", "sending")),
            sa.func.coalesce(col(Notification.sent_at), col(Notification.claimed_at)) >= start)).one()
        return "db" if int(sent) - int(counted) < self.limit else None

    def finished(self, *, channel_id: int, token: str) -> None:
        """Nothing to do: the row's sent_at is the slot."""

    def release(self, *, channel_id: int, token: str) -> None:
        """Nothing to do: a row that is not sent or sending takes no slot."""
