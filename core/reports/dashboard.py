"""Dashboard figures for leaders and duty staff: counts, a daily trend, the open alerts.

Days are calendar days in Asia/Shanghai; a mention counts on the day it was published,
or on the day it was stored when the source gives no time (hotline calls).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from core.access import OFFICE, Scope
from core.alerts.models import Alert
from core.analysis_labels import GRADE_LABELS, SOURCE_HEALTH_LABELS, TOPIC_LABELS
from core.calendar import service as office_calendar
from core.errors import InvalidInput
from core.events.models import Event
from core.mentions.models import Mention
from core.redact import redact_text
from core.sources.models import Source
from core.tickets.models import STATE_LABELS, Ticket, TicketState
from core.timeutil import SHANGHAI, ensure_utc, to_local, utcnow

MAX_DAYS = 366
OPEN_STATES = [s.value for s in TicketState if s not in (TicketState.closed, TicketState.dismissed)]
GRADES = ["I", "II", "III", "IV"]
UNGRADED = "none"
OPEN_ALERT_LIMIT = 50


class Counts(BaseModel):
    mentions_today: int
    mentions_total: int
    open_alerts: int
    open_tickets: int
    overdue_tickets: int


class StateCount(BaseModel):
    state: str
    label: str
    count: int


class GradeCount(BaseModel):
    grade: str  # I..IV, or "none" for events not graded yet
    label: str
    count: int


class TopicCount(BaseModel):
    topic: str
    label: str
    count: int


class TrendPoint(BaseModel):
    date: date
    mentions: int
    negative: int


class OpenAlert(BaseModel):
    id: int
    kind: str  # event | source
    event_id: int | None
    source_id: int | None
    source_name: str
    level: str
    level_label: str
    reason: str
    created_at: datetime
    event_title: str  # scraped text: clients must render it as text, never as markup
    event_grade: str | None
    event_topic: str
    event_topic_label: str


class SourceHealth(BaseModel):
    id: int
    name: str
    kind: str
    channel: str
    enabled: bool
    health: str
    health_label: str
    health_since: datetime | None
    last_success_at: datetime | None
    last_item_at: datetime | None
    last_error: str
    consecutive_failures: int
    circuit_open_until: datetime | None


class DashboardSummary(BaseModel):
    generated_at: datetime
    days: int
    timezone: str
    counts: Counts
    tickets_by_state: list[StateCount]
    events_by_grade: list[GradeCount]
    topics: list[TopicCount]
    trend: list[TrendPoint]
    open_alerts: list[OpenAlert]
    sources: list[SourceHealth] = []  # troubled ones first
    # "2027年节假日安排尚未录入" from 60 days before the working-day calendar runs out.
    calendar_warning: str | None = None


def local_day_start(day: date) -> datetime:
    """Midnight of a local calendar day, as UTC."""
    return ensure_utc(datetime(day.year, day.month, day.day, tzinfo=SHANGHAI))


def summary(*, session: Session, days: int = 30, now: datetime | None = None,
            scope: Scope = OFFICE) -> DashboardSummary:
    """Return the dashboard figures for the last `days` local days (today included).

    Every figure counts only what the scope sees: a unit handler's summary is built from his
    unit's tickets and their events and mentions, without open alerts or sources.
    """
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"天数须在 1 到 {MAX_DAYS} 之间")
    now = ensure_utc(now) if now else utcnow()
    today = to_local(now).date()
    first_day = today - timedelta(days=days - 1)
    window_start = local_day_start(first_day)

    open_by_state = _tickets_by_state(session, scope)
    office = scope.sees_office()
    counts = Counts(
        mentions_today=_count(session, select(func.count()).select_from(Mention)
                              .where(_seen_since(local_day_start(today)), scope.mentions())),
        mentions_total=_count(session, select(func.count()).select_from(Mention).where(scope.mentions())),
        open_alerts=_count(session, select(func.count()).select_from(Alert)
                           .where(Alert.status == "open")) if office else 0,
        open_tickets=sum(s.count for s in open_by_state),
        overdue_tickets=_overdue(session, now, scope),
    )
    return DashboardSummary(
        generated_at=now,
        days=days,
        timezone="Asia/Shanghai",
        counts=counts,
        tickets_by_state=open_by_state,
        events_by_grade=_events_by_grade(session, window_start, scope),
        topics=_topics(session, window_start, scope),
        trend=_trend(session, first_day, today, scope),
        # Alerts are the duty officers' queue (/api/alerts refuses handlers); sources are office-wide.
        open_alerts=_open_alerts(session) if office else [],
        sources=_sources(session) if office else [],
        calendar_warning=office_calendar.status(session=session, today=today).warning,
    )


def _sources(session: Session) -> list[SourceHealth]:
    """Every source with its health; those needing attention first, then by name."""
    out = []
    for s in session.exec(select(Source)).all():
        assert s.id is not None
        out.append(SourceHealth(
            id=s.id, name=s.name, kind=s.kind, channel=s.channel, enabled=s.enabled, health=s.health,
            health_label=SOURCE_HEALTH_LABELS.get(s.health, s.health), health_since=s.health_since,
            last_success_at=s.last_success_at, last_item_at=s.last_item_at, last_error=redact_text(s.last_error),
            consecutive_failures=s.consecutive_failures, circuit_open_until=s.circuit_open_until))
    return sorted(out, key=lambda h: (not h.enabled, h.health in ("ok", "unknown"), h.name))


def _count(session: Session, stmt: Any) -> int:
    return int(session.exec(stmt).one() or 0)


def _seen_since(start: datetime) -> Any:
    # published_at when the source gave one, else the time we stored the mention.
    return sa.or_(col(Mention.published_at) >= start,
                  sa.and_(col(Mention.published_at).is_(None), col(Mention.created_at) >= start))


def _tickets_by_state(session: Session, scope: Scope) -> list[StateCount]:
    rows = session.exec(select(Ticket.state, func.count()).where(col(Ticket.state).in_(OPEN_STATES),
                                                                 scope.tickets())
                        .group_by(Ticket.state)).all()
    found = {state: int(n) for state, n in rows}
    return [StateCount(state=s, label=STATE_LABELS[s], count=found.get(s, 0)) for s in OPEN_STATES]


def _overdue(session: Session, now: datetime, scope: Scope) -> int:
    """Open tickets past their response deadline without a response, or past closing."""
    late_response = sa.and_(col(Ticket.first_response_at).is_(None),
                            col(Ticket.response_due_at) < now)
    late_close = col(Ticket.close_due_at) < now
    return _count(session, select(func.count()).select_from(Ticket)
                  .where(col(Ticket.state).in_(OPEN_STATES), sa.or_(late_response, late_close),
                         scope.tickets()))


def _events_by_grade(session: Session, since: datetime, scope: Scope) -> list[GradeCount]:
    """Events active in the window (last mention inside it), by grade."""
    rows = session.exec(select(Event.grade, func.count()).where(col(Event.last_seen_at) >= since,
                                                                scope.events())
                        .group_by(Event.grade)).all()
    found = {(grade or UNGRADED): int(n) for grade, n in rows}
    out = [GradeCount(grade=g, label=GRADE_LABELS[g], count=found.get(g, 0)) for g in GRADES]
    out.append(GradeCount(grade=UNGRADED, label="未分级", count=found.get(UNGRADED, 0)))
    return out


def _topics(session: Session, since: datetime, scope: Scope) -> list[TopicCount]:
    """Topics of the events active in the window, most frequent first."""
    rows = session.exec(select(Event.topic, func.count()).where(col(Event.last_seen_at) >= since,
                                                                scope.events())
                        .group_by(Event.topic)).all()
    ordered = sorted(((topic, int(n)) for topic, n in rows), key=lambda r: (-r[1], r[0]))
    return [TopicCount(topic=t, label=TOPIC_LABELS.get(t, t), count=n) for t, n in ordered]


def _trend(session: Session, first_day: date, last_day: date, scope: Scope) -> list[TrendPoint]:
    """Mentions and negative mentions per local day.

    Bucketed in Python: the one portable way to cut days in Asia/Shanghai on both SQLite
    and PostgreSQL, and a sub-district office sees at most thousands of mentions a month.
    """
    stmt = select(Mention.published_at, Mention.created_at, Mention.sentiment).where(
        _seen_since(local_day_start(first_day)), scope.mentions())
    total: dict[date, int] = {}
    negative: dict[date, int] = {}
    for published_at, created_at, sentiment in session.exec(stmt):
        day = to_local(published_at or created_at).date()
        if not first_day <= day <= last_day:
            continue
        total[day] = total.get(day, 0) + 1
        if sentiment == "negative":
            negative[day] = negative.get(day, 0) + 1
    points = []
    day = first_day
    while day <= last_day:
        points.append(TrendPoint(date=day, mentions=total.get(day, 0),
                                 negative=negative.get(day, 0)))
        day += timedelta(days=1)
    return points


def _open_alerts(session: Session) -> list[OpenAlert]:
    # Source-health alerts have no event; event alerts have no source.
    stmt = (select(Alert, Event, Source)
            .outerjoin(Event, col(Event.id) == Alert.event_id)
            .outerjoin(Source, col(Source.id) == Alert.source_id)
            .where(Alert.status == "open").order_by(col(Alert.id).desc()).limit(OPEN_ALERT_LIMIT))
    out = []
    for alert, event, source in session.exec(stmt):
        assert alert.id is not None
        topic = event.topic if event else "other"
        out.append(OpenAlert(
            id=alert.id, kind=alert.kind, event_id=alert.event_id, source_id=alert.source_id,
            source_name=source.name if source else "", level=alert.level,
            level_label=GRADE_LABELS.get(alert.level, SOURCE_HEALTH_LABELS.get(alert.level, alert.level)),
            reason=alert.reason or (event.grade_reason if event else ""), created_at=alert.created_at,
            event_title=event.title if event else (source.name if source else ""),
            event_grade=event.grade if event else None, event_topic=topic,
            event_topic_label=TOPIC_LABELS.get(topic, topic),
        ))
    return out
