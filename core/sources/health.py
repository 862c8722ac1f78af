"""Source health: what a fetch outcome means for the duty officer.

Every fetch ends in ``record_success`` or ``record_failure``. A failure that needs a person
(an expired login, a captcha, a block, repeated errors) or a source that went silent opens ONE
source-health Alert per incident (dedupe key carries the time the state began); a recovery
resolves the open ones. Repeated failures also open a circuit breaker so a blocked site is not
hammered, which would only prolong the block.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from itertools import pairwise

import sqlalchemy as sa
from sqlmodel import Session, col, select

from core.alerts.models import Alert
from core.analysis_labels import SOURCE_HEALTH_LABELS
from core.mentions.models import Mention
from core.redact import is_secret_name, redact_text, url_secrets
from core.sources.models import Source
from core.timeutil import ensure_utc, utcnow

log = logging.getLogger(__name__)

# States a person must act on at once; "error" only once it repeats (a single 502 is noise).
ALERT_AT_ONCE = frozenset({"login_expired", "captcha", "blocked", "silent"})
ERROR_ALERT_AFTER = 3
CIRCUIT_AFTER = 3  # consecutive failures before the breaker opens
CIRCUIT_MAX = timedelta(hours=24)
# Retrying an expired login or a captcha cannot succeed until someone updates the credentials.
CIRCUIT_NEEDS_PERSON = timedelta(hours=6)
SILENCE_MIN = timedelta(hours=6)
SILENCE_MAX = timedelta(days=30)
SILENCE_FACTOR = 3  # silent when the pause is this many times the usual longest gap
SILENCE_SAMPLE = 30
SILENCE_MIN_ITEMS = 5


def _label(health: str) -> str:
    return SOURCE_HEALTH_LABELS.get(health, health)


def record_success(*, session: Session, source: Source, new_items: int,
                   now: datetime | None = None) -> None:
    """A fetch worked: reset failures and the breaker; resolve alerts unless still silent."""
    now = now or utcnow()
    source.last_fetch_at = source.last_success_at = now
    if new_items:
        source.last_item_at = now
    source.last_error = ""
    source.consecutive_failures = 0
    source.circuit_open_until = None
    # A working but still empty source stays silent: flipping to ok would end the incident
    # and the next silence check would open a second alert for the same silence.
    if source.health == "silent" and not new_items:
        session.add(source)
        return
    if source.health != "ok":
        source.health_since = now
        source.health = "ok"
        resolve_alerts(session=session, source=source)
    session.add(source)


def _secrets_of(source: Source) -> list[str]:
    values = [str(v) for v in source.credentials.values() if isinstance(v, str)]
    for nested in source.credentials.values():
        if isinstance(nested, dict):
            values += [str(v) for v in nested.values()]
    return values + url_secrets(source.url) + [str(v) for k, v in source.params.items() if is_secret_name(k)]


def record_failure(*, session: Session, source: Source, health: str, error: str,
                   now: datetime | None = None) -> Alert | None:
    """A fetch failed (error, login_expired, captcha, blocked ...); returns a newly opened alert."""
    now = now or utcnow()
    source.last_fetch_at = now
    if source.health != health:
        source.health_since = now
        # A new kind of trouble is a new incident: close the old one's alerts.
        resolve_alerts(session=session, source=source)
    source.health = health
    # An error can quote the URL (with its access key) or a cookie: store it masked, so alert
    # reasons, the dashboard and the API never carry the source's secrets.
    source.last_error = redact_text(error, _secrets_of(source))[:1000]
    source.consecutive_failures += 1
    if health in ("login_expired", "captcha"):
        source.circuit_open_until = now + CIRCUIT_NEEDS_PERSON
    elif source.consecutive_failures >= CIRCUIT_AFTER:
        source.circuit_open_until = now + circuit_pause(source)
    session.add(source)
    if health in ALERT_AT_ONCE or source.consecutive_failures >= ERROR_ALERT_AFTER:
        return open_alert(session=session, source=source)
    return None


def circuit_pause(source: Source) -> timedelta:
    """How long to leave a failing source alone: doubling per failure, capped at a day."""
    base = timedelta(minutes=max(source.schedule_minutes, 1))
    steps = max(source.consecutive_failures - CIRCUIT_AFTER, 0)
    return min(base * (2 ** min(steps, 10)), CIRCUIT_MAX)


def circuit_open(source: Source, now: datetime | None = None) -> bool:
    """True while the breaker keeps scheduled crawls away from this source."""
    until = source.circuit_open_until
    return until is not None and ensure_utc(until) > (now or utcnow())


def alert_reason(source: Source) -> str:
    """The explanation shown to the duty officer (Chinese, one sentence or two)."""
    name, error = source.name, source.last_error or _label(source.health)
    if source.health == "login_expired":
        text = f"监测源「{name}」登录已失效（{error}），采集已暂停。请重新登录并更新该源的 Cookie/令牌。"
    elif source.health == "captcha":
        text = f"监测源「{name}」触发验证码（{error}），采集已暂停。请人工完成验证后更新凭据。"
    elif source.health == "blocked":
        text = f"监测源「{name}」被拒绝访问（{error}），可能被封禁或限流，请检查访问频率与凭据。"
    elif source.health == "silent":
        text = f"监测源「{name}」{error}，请确认该源仍在更新、采集是否正常。"
    else:
        text = f"监测源「{name}」连续 {source.consecutive_failures} 次采集失败：{error}"
    return text[:500]


def dedupe_key(source: Source) -> str:
    since = ensure_utc(source.health_since).isoformat() if source.health_since else "none"
    return f"source:{source.id}:{source.health}:{since}"


def open_alert(*, session: Session, source: Source) -> Alert | None:
    """Open the alert of the source's current incident unless it exists; returns the new alert."""
    from core.alerts import service as alerts

    if source.id is None:
        session.flush()
    return alerts.open_new(session=session, alert=Alert(
        kind="source", source_id=source.id, level=source.health, reason=alert_reason(source),
        dedupe_key=dedupe_key(source)))


def resolve_alerts(*, session: Session, source: Source) -> int:
    """Mark the source's open alerts resolved (kept for the record); returns how many."""
    if source.id is None:
        return 0
    alerts = session.exec(select(Alert).where(Alert.kind == "source", Alert.source_id == source.id,
                                              col(Alert.status).in_(["open", "acknowledged"]))).all()
    from core.audit import service as audit

    for alert in alerts:
        assert alert.id is not None
        audit.record(session=session, entity="alert", entity_id=alert.id, action="resolve", actor_id=None,
                     before={"status": alert.status}, after={"status": "resolved"}, note="监测源恢复正常")
        alert.status = "resolved"
        session.add(alert)
    return len(alerts)


# ----- silence ---------------------------------------------------------------------------------
def usual_gap(*, session: Session, source: Source) -> timedelta | None:
    """The configured gap, or one learned from the source's recent posts (None: cannot tell)."""
    if source.expected_gap_minutes:
        return timedelta(minutes=source.expected_gap_minutes)
    # seen_at: published, or else stored; newest first straight from ix_mention_source_seen.
    rows = session.exec(select(Mention.seen_at).where(Mention.source_id == source.id)
                        .order_by(col(Mention.seen_at).desc()).limit(SILENCE_SAMPLE)).all()
    times = sorted(ensure_utc(t) for t in rows if t is not None)
    if len(times) < SILENCE_MIN_ITEMS:
        return None
    gaps = sorted(b - a for a, b in pairwise(times))
    # The 90th percentile: a normal quiet night should not count as an incident.
    return gaps[min(len(gaps) - 1, int(len(gaps) * 0.9))]


def silence_threshold(gap: timedelta) -> timedelta:
    return min(max(gap * SILENCE_FACTOR, SILENCE_MIN), SILENCE_MAX)


def _human(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours >= 48:
        return f"{hours / 24:.0f} 天"
    if hours >= 1:
        return f"{hours:.0f} 小时"
    return f"{max(delta.total_seconds() / 60, 1):.0f} 分钟"


def check_silence(*, session: Session, now: datetime | None = None) -> list[Source]:
    """Mark healthy sources silent when no new item came for longer than their usual gap."""
    now = now or utcnow()
    found: list[Source] = []
    stmt = select(Source).where(Source.enabled == True, Source.health == "ok")  # noqa: E712
    for source in session.exec(stmt).all():
        gap = usual_gap(session=session, source=source)
        if gap is None:
            continue
        last = source.last_item_at or source.health_since or source.created_at
        quiet = now - ensure_utc(last)
        if quiet <= silence_threshold(gap):
            continue
        source.health = "silent"
        source.health_since = now
        source.last_error = f"已 {_human(quiet)}没有新内容（通常间隔约 {_human(gap)}）"
        session.add(source)
        open_alert(session=session, source=source)
        found.append(source)
    return found


# ----- scheduling ------------------------------------------------------------------------------
def is_due(source: Source, now: datetime | None = None) -> bool:
    """Enabled, breaker closed, and schedule_minutes passed since the last fetch."""
    now = now or utcnow()
    if not source.enabled or circuit_open(source, now):
        return False
    if source.last_fetch_at is None:
        return True
    return now - ensure_utc(source.last_fetch_at) >= timedelta(minutes=max(source.schedule_minutes, 1))


def claim_due(*, session: Session, now: datetime | None = None,
              kinds: set[str] | None = None) -> list[Source]:
    """Due sources, each claimed by moving last_fetch_at with a conditional UPDATE.

    Two schedulers (or a slow crawl overlapping the next tick) cannot both claim one source:
    only the UPDATE that still sees the old last_fetch_at changes a row.
    """
    now = now or utcnow()
    claimed: list[Source] = []
    for source in session.exec(select(Source).where(Source.enabled == True)  # noqa: E712
                               .order_by(col(Source.id))).all():
        if kinds is not None and source.kind not in kinds:
            continue
        if not is_due(source, now):
            continue
        old = source.last_fetch_at
        cond = col(Source.last_fetch_at).is_(None) if old is None else col(Source.last_fetch_at) == old
        result = session.execute(sa.update(Source).where(col(Source.id) == source.id, cond)
                                 .values(last_fetch_at=now))
        if getattr(result, "rowcount", 0) == 1:
            claimed.append(source)
    session.flush()
    for source in claimed:
        session.refresh(source)
    return claimed
