"""The notification outbox: enqueue once per notice and channel, deliver once, within limits."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.audit import service as audit
from core.config import get_settings
from core.db import session_scope
from core.duty.service import Recipient
from core.errors import Conflict, InvalidInput, NotFound
from core.notify import senders, templates
from core.notify.models import (
    ChannelKind,
    Notification,
    NotificationChannel,
    NotificationChannelCreate,
    NotificationChannelUpdate,
    NotificationStatus,
)
from core.notify.ratelimit import DatabaseRateLimiter, RateLimiter, RedisRateLimiter
from core.timeutil import ensure_utc, utcnow

log = logging.getLogger(__name__)
St = NotificationStatus
AUDIENCES = {"duty", "duty_leader", "handler", "unit_head", "deputy_leader", "principal"}


@dataclass
class Notice:
    """One thing to tell people; `key` names it, so the same notice is never queued twice."""

    key: str
    subject: str
    body: str
    audience: str
    recipients: list[Recipient] = field(default_factory=list)
    link: str = ""
    grade: str | None = None
    topic: str | None = None
    unit_id: int | None = None
    ticket_id: int | None = None
    alert_id: int | None = None


@dataclass
class DeliveryStats:
    sent: int = 0
    held: int = 0
    digests: int = 0
    failed: int = 0
    retried: int = 0


# Channels -------------------------------------------------------------------------------

def create_channel(*, session: Session, channel_in: NotificationChannelCreate,
                   actor_id: int | None) -> NotificationChannel:
    """Add a channel (robot, mailbox or webhook) with its routing filters."""
    _check_channel(channel_in.kind, channel_in.url, channel_in.audiences)
    if session.exec(select(NotificationChannel).where(NotificationChannel.name == channel_in.name)).first():
        raise Conflict(f"通知渠道已存在: {channel_in.name}")
    channel = NotificationChannel.model_validate(channel_in)
    session.add(channel)
    session.flush()
    assert channel.id is not None
    audit.record(session=session, entity="channel", entity_id=channel.id, action="create",
                 actor_id=actor_id, after=channel_in.model_dump(exclude={"secret"}))
    return channel


def update_channel(*, session: Session, channel_id: int, channel_in: NotificationChannelUpdate,
                   actor_id: int | None) -> NotificationChannel:
    """Change a channel's address, secret, filters or switch it off (never deleted)."""
    channel = get_channel(session=session, channel_id=channel_id)
    values = channel_in.model_dump(exclude_unset=True)
    _check_channel(channel.kind, values.get("url", channel.url), values.get("audiences", channel.audiences))
    before, after = audit.diff(channel, values)
    for key, value in values.items():
        setattr(channel, key, value)
    session.add(channel)
    before.pop("secret", None)
    after.pop("secret", None)
    audit.record(session=session, entity="channel", entity_id=channel_id, action="update",
                 actor_id=actor_id, before=before, after=after,
                 note="更换密钥" if "secret" in values else "")
    return channel


def send_test(*, session: Session, channel_id: int, actor_id: int | None) -> tuple[bool, str]:
    """Send a test message through the channel now (not via the outbox); (sent, error)."""
    from core.notify.models import Notification as Message

    channel = get_channel(session=session, channel_id=channel_id)
    message = Message(dedupe_key=f"test:ch{channel_id}:{utcnow():%Y%m%d%H%M%S}", channel_id=channel_id,
                      subject="【测试】舆情系统通知渠道测试",
                      body=f"这是一条测试消息，用于确认通知渠道“{channel.name}”可以送达。无需处理。",
                      link=get_settings().public_url)
    error = ""
    try:
        senders.send(channel, message)
    except senders.SendError as exc:
        # Secrets are write-only: a robot key in the URL must not come back in the error.
        error = str(exc)
        for secret in (channel.url, channel.secret or ""):
            if secret:
                error = error.replace(secret, "…")
    audit.record(session=session, entity="channel", entity_id=channel_id, action="test",
                 actor_id=actor_id, after={"sent": not error}, note=error[:500] or "测试消息已发送")
    return not error, error


def get_channel(*, session: Session, channel_id: int) -> NotificationChannel:
    """A channel or NotFound."""
    channel = session.get(NotificationChannel, channel_id)
    if channel is None:
        raise NotFound(f"通知渠道不存在: {channel_id}")
    return channel


def get_channels(*, session: Session) -> list[NotificationChannel]:
    """All channels."""
    return list(session.exec(select(NotificationChannel).order_by(col(NotificationChannel.id))))


def matching_channels(*, session: Session, notice: Notice) -> list[NotificationChannel]:
    """Enabled channels whose filters (grade, topic, unit, audience) let the notice through."""
    out = []
    for ch in get_channels(session=session):
        if not ch.enabled:
            continue
        if ch.grades and notice.grade not in ch.grades:
            continue
        if ch.topics and notice.topic not in ch.topics:
            continue
        if ch.unit_ids and notice.unit_id not in ch.unit_ids:
            continue
        if ch.audiences and notice.audience not in ch.audiences:
            continue
        out.append(ch)
    return out


# Outbox ---------------------------------------------------------------------------------

def enqueue(*, session: Session, notice: Notice, now: datetime | None = None) -> list[Notification]:
    """Queue the notice for every matching channel; a key already queued is skipped."""
    now = ensure_utc(now) if now else utcnow()
    queued = []
    for channel in matching_channels(session=session, notice=notice):
        key = f"{notice.key}:ch{channel.id}"[:200]
        if session.exec(select(Notification.id).where(Notification.dedupe_key == key)).first():
            continue
        row = Notification(dedupe_key=key, channel_id=channel.id or 0, subject=notice.subject[:200],
                           body=notice.body, link=notice.link,
                           recipients=[asdict(r) for r in notice.recipients],
                           ticket_id=notice.ticket_id, alert_id=notice.alert_id,
                           next_attempt_at=now, created_at=now)
        try:  # a second scheduler or a retried task racing on the same notice
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue
        queued.append(row)
    return queued


def get_all(*, session: Session, status: str | None = None, channel_id: int | None = None,
            limit: int = 100) -> list[Notification]:
    """Outbox rows, newest first."""
    stmt = select(Notification).order_by(col(Notification.id).desc()).limit(limit)
    if status:
        stmt = stmt.where(Notification.status == status)
    if channel_id is not None:
        stmt = stmt.where(Notification.channel_id == channel_id)
    return list(session.exec(stmt))


def make_limiter() -> RateLimiter:
    """Redis when configured (shared by all workers), else the database."""
    settings = get_settings()
    limit, window = settings.notify_rate_per_window, settings.notify_rate_window_seconds
    if settings.redis_url:
        return RedisRateLimiter(settings.redis_url, limit=limit, window=window)
    return DatabaseRateLimiter(limit=limit, window=window)


Sender = Callable[[NotificationChannel, Notification], None]


def deliver_due(*, limiter: RateLimiter | None = None, sender: Sender = senders.send,
                batch: int = 200) -> DeliveryStats:
    """Send what is due: digests of held messages first, then pending ones, each claimed once."""
    limiter = limiter or make_limiter()
    stats = DeliveryStats()
    _recover_stale_claims()
    with session_scope() as session:
        held_channels = list(session.exec(select(Notification.channel_id)
                                          .where(Notification.status == St.held).distinct()))
    for channel_id in held_channels:
        _send_digest(channel_id, limiter, sender, stats)
    with session_scope() as session:
        ids = list(session.exec(select(Notification.id).where(
            Notification.status == St.pending, col(Notification.next_attempt_at) <= utcnow())
            .order_by(col(Notification.id)).limit(batch)))
    for notification_id in ids:
        assert notification_id is not None
        _deliver_one(notification_id, limiter, sender, stats)
    return stats


def _claim(session: Session, notification_id: int, from_status: str) -> bool:
    now = utcnow()
    conds = [col(Notification.id) == notification_id, col(Notification.status) == from_status]
    if from_status == St.pending:
        conds.append(col(Notification.next_attempt_at) <= now)
    result = session.execute(sa.update(Notification).where(*conds)
                             .values(status=St.sending.value, claimed_at=now))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _deliver_one(notification_id: int, limiter: RateLimiter, sender: Sender,
                 stats: DeliveryStats) -> None:
    with session_scope() as session:
        if not _claim(session, notification_id, St.pending):
            return  # another worker has it, or it went out already
    with session_scope() as session:
        row = session.get(Notification, notification_id)
        assert row is not None
        channel = session.get(NotificationChannel, row.channel_id)
        assert channel is not None
        is_digest = row.dedupe_key.startswith("digest:")
        # A retried digest must never be folded into the next digest (its notices would be lost
        # behind one subject line), so it skips the queue of held rows and waits for a slot.
        held_before = None if is_digest else session.exec(select(Notification.id).where(
            Notification.channel_id == row.channel_id, Notification.status == St.held)).first()
        token = None if held_before is not None else limiter.acquire(
            session=session, channel_id=row.channel_id, counted=True)
        if token is None and is_digest:
            row.status = St.pending.value
            row.next_attempt_at = utcnow() + timedelta(seconds=get_settings().notify_rate_window_seconds / 4)
            session.add(row)
            return
        if token is None:
            # Over the limit: wait for the digest, which goes out as soon as a slot frees.
            row.status = St.held.value
            session.add(row)
            stats.held += 1
            return
    _send_claimed(row, channel, sender, stats)
    limiter.finished(channel_id=row.channel_id, token=token)


def _send_claimed(row: Notification, channel: NotificationChannel, sender: Sender,
                  stats: DeliveryStats) -> None:
    error = ""
    try:
        sender(channel, row)
    except senders.SendError as exc:
        error = str(exc)
    except Exception as exc:  # a bug in one channel must not stop the others
        log.exception("notification %s: unexpected error", row.id)
        error = f"{type(exc).__name__}: {exc}"
    with session_scope() as session:
        fresh = session.get(Notification, row.id)
        assert fresh is not None
        now = utcnow()
        fresh.attempts += 1
        if not error:
            fresh.status, fresh.sent_at, fresh.last_error = St.sent.value, now, ""
            stats.sent += 1
        else:
            settings = get_settings()
            fresh.last_error = error[:1000]
            if fresh.attempts >= settings.notify_max_attempts:
                fresh.status = St.failed.value
                stats.failed += 1
                assert fresh.id is not None
                audit.record(session=session, entity="notification", entity_id=fresh.id,
                             action="failed", actor_id=None, note=f"多次重试失败：{error[:500]}")
            else:
                delay = min(settings.notify_backoff_seconds * 2 ** (fresh.attempts - 1), 3600.0)
                fresh.status, fresh.next_attempt_at = St.pending.value, now + timedelta(seconds=delay)
                stats.retried += 1
            log.warning("notification %s to channel %s failed (attempt %s): %s", fresh.id,
                        fresh.channel_id, fresh.attempts, error)
        session.add(fresh)


def _send_digest(channel_id: int, limiter: RateLimiter, sender: Sender, stats: DeliveryStats) -> None:
    with session_scope() as session:
        first = session.exec(select(Notification).where(
            Notification.channel_id == channel_id, Notification.status == St.held)
            .order_by(col(Notification.id))).first()
        token = limiter.acquire(session=session, channel_id=channel_id) if first is not None else None
        if first is None or token is None:
            return  # nothing held, or still full: a later sweep tries again
        # The digest's key is its first held message: two workers cannot both build it.
        digest = Notification(dedupe_key=f"digest:ch{channel_id}:{first.id}", channel_id=channel_id,
                              status=St.sending.value, claimed_at=utcnow(), attempts=0)
        try:
            with session.begin_nested():
                session.add(digest)
        except IntegrityError:
            return
    with session_scope() as session:
        session.execute(sa.update(Notification).where(
            col(Notification.channel_id) == channel_id, col(Notification.status) == St.held)
            .values(status=St.digested.value, digest_id=digest.id))
        rows = list(session.exec(select(Notification).where(Notification.digest_id == digest.id)
                                 .order_by(col(Notification.id))))
        fresh = session.get(Notification, digest.id)
        assert fresh is not None
        if not rows:  # another worker's digest took them all
            fresh.status = St.cancelled.value
            session.add(fresh)
            return
        fresh.subject, fresh.body = templates.digest([(r.subject, r.link) for r in rows])
        fresh.recipients = [r for row in rows for r in row.recipients]
        fresh.link = rows[0].link
        session.add(fresh)
        session.flush()
        channel = session.get(NotificationChannel, channel_id)
        assert channel is not None
        digest = fresh
    stats.digests += 1
    _send_claimed(digest, channel, sender, stats)
    limiter.finished(channel_id=channel_id, token=token)


def _recover_stale_claims() -> None:
    """A worker that died mid-send leaves 'sending' rows; after a while they are retried."""
    stale = utcnow() - timedelta(minutes=get_settings().notify_stale_claim_minutes)
    with session_scope() as session:
        session.execute(sa.update(Notification).where(
            col(Notification.status) == St.sending, col(Notification.claimed_at) < stale)
            .values(status=St.pending.value))


def _check_channel(kind: str, url: str, audiences: list[str]) -> None:
    if kind not in {k.value for k in ChannelKind}:
        raise InvalidInput(f"未知的通知渠道类型: {kind}")
    if kind != ChannelKind.email and not url.startswith(("http://", "https://")):
        raise InvalidInput("机器人或 Webhook 渠道须填写 http(s) 地址")
    unknown = set(audiences) - AUDIENCES
    if unknown:
        raise InvalidInput(f"未知的通知对象: {'、'.join(sorted(unknown))}")
