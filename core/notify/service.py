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
from core.redact import mask, redact_text, redact_url, url_secrets
from core.timeutil import ensure_utc, to_local, utcnow

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
    document_id: int | None = None  # a briefing's Word file, attached to e-mails


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
    """Add a channel (robot, mailbox or webhook) with its routing filters.

    Its URL (robot key, SMTP password) and secret are write-only: the audit row keeps them
    masked, as every response does (core.redact).
    """
    _check_channel(channel_in.kind, channel_in.url, channel_in.audiences)
    if session.exec(select(NotificationChannel).where(NotificationChannel.name == channel_in.name)).first():
        raise Conflict(f"通知渠道已存在: {channel_in.name}")
    channel = NotificationChannel.model_validate(channel_in)
    session.add(channel)
    session.flush()
    assert channel.id is not None
    after = channel_in.model_dump(exclude={"secret"})
    after["url"] = redact_url(channel_in.url)
    audit.record(session=session, entity="channel", entity_id=channel.id, action="create",
                 actor_id=actor_id, after=after, note="已设置密钥" if channel_in.secret else "")
    return channel


def _unchanged_echo(values: dict[str, object], channel: NotificationChannel) -> None:
    """A form that sends back the masked URL or secret it was shown means "keep the stored one"."""
    if values.get("url") is not None and values["url"] != channel.url and values["url"] == redact_url(channel.url):
        del values["url"]
    if values.get("secret") is not None and values["secret"] == mask(channel.secret) and channel.secret:
        del values["secret"]


def update_channel(*, session: Session, channel_id: int, channel_in: NotificationChannelUpdate,
                   actor_id: int | None) -> NotificationChannel:
    """Change a channel's address, secret, filters or switch it off (never deleted)."""
    channel = get_channel(session=session, channel_id=channel_id)
    values = channel_in.model_dump(exclude_unset=True)
    _unchanged_echo(values, channel)
    _check_channel(channel.kind, values.get("url", channel.url), values.get("audiences", channel.audiences))
    secret_changed = "secret" in values and values["secret"] != channel.secret
    before, after = audit.diff(channel, values)
    for key, value in values.items():
        setattr(channel, key, value)
    session.add(channel)
    before.pop("secret", None)
    after.pop("secret", None)
    if "url" in after:
        before["url"], after["url"] = redact_url(str(before["url"])), redact_url(str(after["url"]))
    audit.record(session=session, entity="channel", entity_id=channel_id, action="update",
                 actor_id=actor_id, before=before, after=after,
                 note="更换密钥" if secret_changed else "")
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
        error = redact_text(str(exc), [channel.url, channel.secret or "", *url_secrets(channel.url)])
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
                           document_id=notice.document_id, next_attempt_at=now, created_at=now)
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
                batch: int = 200, budget_seconds: float = 240.0) -> DeliveryStats:
    """Send what is due: digests of held messages first, then pending ones, each claimed once.

    Claims nothing new after `budget_seconds` (the rest waits for the next sweep), so a run of slow
    receivers ends before the task's time limit instead of being cut off in the middle of a send.
    """
    import time

    ends = time.monotonic() + budget_seconds
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
        if time.monotonic() > ends:
            break
        _deliver_one(notification_id, limiter, sender, stats)
    return stats


def _claim(session: Session, notification_id: int, from_status: str) -> bool:
    now = utcnow()
    conds = [col(Notification.id) == notification_id, col(Notification.status) == from_status]
    if from_status == St.pending:
        conds.append(col(Notification.next_attempt_at) <= now)
    # The attempt is recorded with the claim, before anything is sent: a worker that dies while
    # sending has still used it up (and the stale-claim recovery counts it as uncertain).
    result = session.execute(sa.update(Notification).where(*conds)
                             .values(status=St.sending.value, claimed_at=now,
                                     attempts=col(Notification.attempts) + 1))
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
            row.status, row.attempts = St.pending.value, row.attempts - 1  # not sent: no attempt
            row.next_attempt_at = utcnow() + timedelta(seconds=get_settings().notify_rate_window_seconds / 4)
            session.add(row)
            return
        if token is None:
            # Over the limit: wait for the digest, which goes out as soon as a slot frees.
            row.status, row.attempts = St.held.value, row.attempts - 1
            session.add(row)
            stats.held += 1
            return
    _finish(limiter, row.channel_id, token, _send_claimed(row, channel, sender, stats))


def _finish(limiter: RateLimiter, channel_id: int, token: str, outcome: str) -> None:
    """Only messages that (may have) reached the receiver keep their rate-limit slot."""
    if outcome == "failed":
        limiter.release(channel_id=channel_id, token=token)
    else:
        limiter.finished(channel_id=channel_id, token=token)


def _send_claimed(row: Notification, channel: NotificationChannel, sender: Sender,
                  stats: DeliveryStats) -> str:
    """Send a claimed row and record the outcome: 'sent', 'uncertain' or 'failed' (not delivered)."""
    error, uncertain = "", False
    try:
        sender(channel, row)
    except senders.SendError as exc:
        error, uncertain = str(exc), exc.uncertain
    except Exception as exc:  # a bug in one channel must not stop the others
        log.exception("notification %s: unexpected error", row.id)
        error = f"{type(exc).__name__}: {exc}"
    with session_scope() as session:
        fresh = session.get(Notification, row.id)
        assert fresh is not None
        if not error:
            fresh.status, fresh.sent_at, fresh.last_error = St.sent.value, utcnow(), ""
            stats.sent += 1
            session.add(fresh)
            return "sent"
        if uncertain:
            fresh.uncertain_attempts += 1
        _after_failure(session, fresh, error, stats)
    return "uncertain" if uncertain else "failed"


def _after_failure(session: Session, row: Notification, error: str, stats: DeliveryStats) -> None:
    """Retry later with backoff, or give up: out of attempts, or out of uncertain ones."""
    settings = get_settings()
    now = utcnow()
    row.last_error = error[:1000]
    if row.uncertain_attempts >= settings.notify_max_uncertain_attempts:
        _give_up(session, row, f"送达未确认（{row.uncertain_attempts} 次发出后未获答复，对方可能已收到），"
                               f"不再自动重发：{error[:400]}")
        stats.failed += 1
    elif row.attempts >= settings.notify_max_attempts:
        _give_up(session, row, f"多次重试失败：{error[:500]}")
        stats.failed += 1
    else:
        delay = min(settings.notify_backoff_seconds * 2 ** max(row.attempts - 1, 0), 3600.0)
        row.status, row.next_attempt_at = St.pending.value, now + timedelta(seconds=delay)
        stats.retried += 1
    log.warning("notification %s to channel %s failed (attempt %s, %s uncertain): %s", row.id,
                row.channel_id, row.attempts, row.uncertain_attempts, error)
    session.add(row)


def _give_up(session: Session, row: Notification, note: str) -> None:
    """Mark a notice failed for good, audit it, and tell the duty officer through an alert."""
    from core.alerts import service as alerts
    from core.alerts.models import Alert

    row.status, row.failed_at = St.failed.value, utcnow()
    session.add(row)
    assert row.id is not None
    audit.record(session=session, entity="notification", entity_id=row.id, action="failed",
                 actor_id=None, note=note[:500])
    channel = session.get(NotificationChannel, row.channel_id)
    name = channel.name if channel else f"#{row.channel_id}"
    # One alert per channel and day: it is notified, re-notified and escalated like any other
    # alert (through the channels that work), and a notice about it that fails opens nothing new.
    day = to_local(row.failed_at).date().isoformat()
    alerts.open_new(session=session, alert=Alert(
        kind="notify", level="failed", dedupe_key=f"notify:ch{row.channel_id}:{day}",
        reason=f"通知渠道「{name}」有通知发送失败（如「{row.subject[:60]}」），请在通知记录中查看并重发"[:500]))


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
                              status=St.sending.value, claimed_at=utcnow(), attempts=1)
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
    _finish(limiter, channel_id, token, _send_claimed(digest, channel, sender, stats))


def _recover_stale_claims() -> None:
    """A worker that died mid-send leaves 'sending' rows: an attempt of unknown outcome each."""
    stale = utcnow() - timedelta(minutes=get_settings().notify_stale_claim_minutes)
    with session_scope() as session:
        rows = session.exec(select(Notification).where(
            Notification.status == St.sending, col(Notification.claimed_at) < stale)
            .with_for_update(skip_locked=True)).all()
        for row in rows:
            row.uncertain_attempts += 1
            _after_failure(session, row, "发送中断（处理进程中途退出），不知对方是否收到", DeliveryStats())


# Failed notices: what the duty officer sees and resends ------------------------------------

def get_failed(*, session: Session, limit: int = 100) -> list[Notification]:
    """Notices given up on, newest first (each may be resent)."""
    return list(session.exec(select(Notification).where(Notification.status == St.failed)
                             .order_by(col(Notification.failed_at).desc(), col(Notification.id).desc())
                             .limit(limit)))


def resend(*, session: Session, notification_id: int, actor_id: int | None) -> Notification:
    """Queue a failed notice again with fresh attempts (audited); the next delivery sends it."""
    row = session.get(Notification, notification_id, with_for_update=True)
    if row is None:
        raise NotFound(f"通知不存在: {notification_id}")
    if row.status != St.failed:
        raise Conflict(f"只有发送失败的通知可以重发（当前状态：{row.status}）")
    before = {"status": row.status, "attempts": row.attempts, "uncertain_attempts": row.uncertain_attempts,
              "last_error": row.last_error}
    row.status, row.attempts, row.uncertain_attempts = St.pending.value, 0, 0
    row.failed_at, row.next_attempt_at = None, utcnow()
    session.add(row)
    audit.record(session=session, entity="notification", entity_id=notification_id, action="resend",
                 actor_id=actor_id, before=before, after={"status": row.status}, note="值班人员手动重发")
    return row


def _check_channel(kind: str, url: str, audiences: list[str]) -> None:
    if kind not in {k.value for k in ChannelKind}:
        raise InvalidInput(f"未知的通知渠道类型: {kind}")
    if kind != ChannelKind.email and not url.startswith(("http://", "https://")):
        raise InvalidInput("机器人或 Webhook 渠道须填写 http(s) 地址")
    unknown = set(audiences) - AUDIENCES
    if unknown:
        raise InvalidInput(f"未知的通知对象: {'、'.join(sorted(unknown))}")
