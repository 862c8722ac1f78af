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

from core.alerts.models import Alert
from core.analysis_labels import CHANNEL_LABELS, GRADE_LABELS, SOURCE_HEALTH_LABELS, TOPIC_LABELS
from core.calendar import service as office_calendar
from core.errors import InvalidInput
from core.events.models import Event
from core.mentions.models import MentionDay
from core.redact import redact_text
from core.sources.models import Source
from core.tickets.models import STATE_LABELS, Ticket, TicketState
from core.tickets.queues import overdue_clause
from core.timeutil import SHANGHAI, as_date, ensure_utc, to_local, utcnow
from core.units.models import Unit

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


class LabelCount(BaseModel):
    key: str
    label: str
    count: int


class Timeliness(BaseModel):
    """Deadlines that fell due in the range: met in time, missed, still running."""

    on_time: int
    late: int
    pending: int


class TopEvent(BaseModel):
    id: int
    title: str  # scraped text: render as text
    grade: str | None
    grade_label: str
    topic: str
    topic_label: str
    mention_count: int
    engagement: int
    last_seen_at: datetime | None
    ticket_id: int | None
    ticket_state: str | None
    ticket_state_label: str


class UnitTickets(BaseModel):
    unit_id: int | None  # None: not handed to a unit yet
    unit_name: str
    open: int
    overdue: int


class DashboardSummary(BaseModel):
    generated_at: datetime
    days: int
    since: date | None = None  # first local day of the range
    until: date | None = None  # last local day of the range (inclusive)
    timezone: str
    counts: Counts
    tickets_by_state: list[StateCount]
    events_by_grade: list[GradeCount]
    topics: list[TopicCount]
    trend: list[TrendPoint]
    open_alerts: list[OpenAlert]
    sources: list[SourceHealth] = []  # troubled ones first
    sentiment: list[LabelCount] = []
    channels: list[LabelCount] = []
    places: list[LabelCount] = []
    timeliness: Timeliness = Timeliness(on_time=0, late=0, pending=0)  # public response clock
    close_timeliness: Timeliness = Timeliness(on_time=0, late=0, pending=0)  # 办结 clock
    top_events: list[TopEvent] = []
    tickets_by_unit: list[UnitTickets] = []
    # "2027年节假日安排尚未录入" from 60 days before the working-day calendar runs out.
    calendar_warning: str | None = None


def local_day_start(day: date) -> datetime:
    """Midnight of a local calendar day, as UTC."""
    return ensure_utc(datetime(day.year, day.month, day.day, tzinfo=SHANGHAI))


def summary(*, session: Session, days: int = 30, now: datetime | None = None,
            since: date | None = None, until: date | None = None) -> DashboardSummary:
    """Return the dashboard figures for the last `days` local days (today included), or for
    the local days `since`..`until` (inclusive; `until` defaults to today)."""
    now = ensure_utc(now) if now else utcnow()
    today = to_local(now).date()
    if since is not None:
        last_day = until or today
        days = (last_day - since).days + 1
        if days < 1:
            raise InvalidInput("起始日期不能晚于结束日期")
    elif until is not None:
        raise InvalidInput("指定结束日期时须同时指定起始日期")
    else:
        last_day = today
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"天数须在 1 到 {MAX_DAYS} 之间")
    first_day = last_day - timedelta(days=days - 1)
    window_start = local_day_start(first_day)
    window_end = local_day_start(last_day + timedelta(days=1))

    open_by_state = _tickets_by_state(session)
    trend, sentiment, channels = _mention_figures(session, first_day, last_day)
    by_grade, topics = _event_figures(session, window_start, window_end)
    total, from_today = mention_totals(session, today)
    counts = Counts(
        mentions_today=from_today,
        mentions_total=total,
        open_alerts=_count(session, select(func.count()).select_from(Alert)
                           .where(Alert.status == "open")),
        open_tickets=sum(s.count for s in open_by_state),
        overdue_tickets=_overdue(session, now),
    )
    return DashboardSummary(
        generated_at=now,
        days=days,
        since=first_day,
        until=last_day,
        timezone="Asia/Shanghai",
        counts=counts,
        tickets_by_state=open_by_state,
        events_by_grade=by_grade,
        topics=topics,
        trend=trend,
        open_alerts=_open_alerts(session),
        sources=_sources(session),
        sentiment=sentiment,
        channels=channels,
        places=_places(session, window_start, window_end),
        timeliness=_timeliness(session, Ticket.response_due_at, Ticket.first_response_at,
                               window_start, min(window_end, now), now),
        close_timeliness=_timeliness(session, Ticket.close_due_at, Ticket.closed_at,
                                     window_start, min(window_end, now), now),
        top_events=_top_events(session, window_start, window_end),
        tickets_by_unit=_tickets_by_unit(session, now),
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


def _tickets_by_state(session: Session) -> list[StateCount]:
    rows = session.exec(select(Ticket.state, func.count()).where(col(Ticket.state).in_(OPEN_STATES))
                        .group_by(Ticket.state)).all()
    found = {state: int(n) for state, n in rows}
    return [StateCount(state=s, label=STATE_LABELS[s], count=found.get(s, 0)) for s in OPEN_STATES]


def _overdue(session: Session, now: datetime) -> int:
    """Open tickets past their response deadline without a response, or past closing."""
    return _count(session, select(func.count()).select_from(Ticket).where(overdue_clause(now)))


def _active(since: datetime, until: datetime) -> Any:
    """Events with posts inside the window."""
    return sa.and_(col(Event.last_seen_at) >= since, col(Event.first_seen_at) < until)


def _events_by_grade(session: Session, since: datetime, until: datetime) -> list[GradeCount]:
    """Events active in the window (last mention inside it), by grade."""
    return _event_figures(session, since, until)[0]


def _topics(session: Session, since: datetime, until: datetime) -> list[TopicCount]:
    """Topics of the events active in the window, most frequent first."""
    return _event_figures(session, since, until)[1]


def _event_figures(session: Session, since: datetime, until: datetime
                   ) -> tuple[list[GradeCount], list[TopicCount]]:
    """Active events by grade and by topic from one grouped index-only scan (ix_event_active)."""
    by_grade: dict[str, int] = {}
    by_topic: dict[str, int] = {}
    for grade, topic, n in session.exec(select(Event.grade, Event.topic, func.count())
                                        .where(_active(since, until)).group_by(Event.grade, Event.topic)):
        by_grade[grade or UNGRADED] = by_grade.get(grade or UNGRADED, 0) + int(n)
        by_topic[topic] = by_topic.get(topic, 0) + int(n)
    grades = [GradeCount(grade=g, label=GRADE_LABELS[g], count=by_grade.get(g, 0)) for g in GRADES]
    grades.append(GradeCount(grade=UNGRADED, label="未分级", count=by_grade.get(UNGRADED, 0)))
    ordered = sorted(by_topic.items(), key=lambda r: (-r[1], r[0]))
    return grades, [TopicCount(topic=t, label=TOPIC_LABELS.get(t, t), count=n) for t, n in ordered]


def _trend(session: Session, first_day: date, last_day: date) -> list[TrendPoint]:
    """Mentions and negative mentions per local day."""
    return _mention_figures(session, first_day, last_day)[0]


def _mention_figures(session: Session, first_day: date, last_day: date
                     ) -> tuple[list[TrendPoint], list[LabelCount], list[LabelCount]]:
    """The daily trend and the sentiment and channel counts of the mentions seen in the local days
    first_day..last_day, from the per-day counts (mention_day: a few rows per day, however many
    mentions a day had)."""
    stmt = (select(col(MentionDay.day), col(MentionDay.sentiment), col(MentionDay.channel), func.sum(MentionDay.n))
            .where(col(MentionDay.day) >= first_day, col(MentionDay.day) <= last_day)
            .group_by(col(MentionDay.day), col(MentionDay.sentiment), col(MentionDay.channel)))
    total: dict[date, int] = {}
    negative: dict[date, int] = {}
    sentiments: dict[str, int] = {}
    channels: dict[str, int] = {}
    for raw_day, sentiment, channel, n in session.exec(stmt):
        d, n = as_date(raw_day), int(n or 0)
        if not n:
            continue  # a day row counted down to zero (its mentions moved to another key)
        total[d] = total.get(d, 0) + n
        if sentiment == "negative":
            negative[d] = negative.get(d, 0) + n
        sentiments[sentiment or ""] = sentiments.get(sentiment or "", 0) + n
        channels[channel or ""] = channels.get(channel or "", 0) + n
    points = []
    d = first_day
    while d <= last_day:
        points.append(TrendPoint(date=d, mentions=total.get(d, 0), negative=negative.get(d, 0)))
        d += timedelta(days=1)
    return points, _label_counts(sentiments, SENTIMENT_LABELS), _label_counts(channels, CHANNEL_LABELS)


def mention_totals(session: Session, today: date) -> tuple[int, int]:
    """All mentions stored, and those seen from `today` on (local days), from the per-day counts."""
    row = session.execute(select(
        func.coalesce(func.sum(MentionDay.n), 0),
        func.coalesce(func.sum(sa.case((col(MentionDay.day) >= today, MentionDay.n), else_=0)), 0))).one()
    return int(row[0]), int(row[1])


def _label_counts(found: dict[str, int], labels: dict[str, str]) -> list[LabelCount]:
    ordered = sorted(found.items(), key=lambda r: (-r[1], r[0]))
    return [LabelCount(key=k, label=labels.get(k, k), count=n) for k, n in ordered]


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


SENTIMENT_LABELS = {"negative": "负面", "neutral": "中性", "positive": "正面", "": "未分析"}


def _mention_counts(session: Session, dimension: str, first_day: date, last_day: date,
                    labels: dict[str, str]) -> list[LabelCount]:
    """Mentions seen in the local days first_day..last_day grouped by one dimension of the per-day
    counts (sentiment, channel), most frequent first."""
    column = col(getattr(MentionDay, dimension))
    rows = session.exec(select(column, func.sum(MentionDay.n)).where(
        col(MentionDay.day) >= first_day, col(MentionDay.day) <= last_day).group_by(column)).all()
    found: dict[str, int] = {}
    for k, n in rows:
        if n:
            found[str(k or "")] = found.get(str(k or ""), 0) + int(n)
    return _label_counts(found, labels)


def _places(session: Session, since: datetime, until: datetime, limit: int = 20) -> list[LabelCount]:
    """Places named by the events active in the window (events, not posts: one matter counts once),
    counted by the database from the events' JSON lists."""
    # Both functions name their output column "value".
    if session.get_bind().dialect.name == "postgresql":
        place = sa.func.json_array_elements_text(col(Event.places)).table_valued("value").alias("place")
    else:
        place = sa.func.json_each(col(Event.places)).table_valued("value").alias("place")
    stmt = (select(place.c.value, func.count()).select_from(Event).join(place, sa.true())
            .where(_active(since, until)).group_by(place.c.value))
    found: dict[str, int] = {}
    for name, n in session.exec(stmt):
        if isinstance(name, str) and name:
            found[name] = found.get(name, 0) + int(n)
    ordered = sorted(found.items(), key=lambda r: (-r[1], r[0]))[:limit]
    return [LabelCount(key=p, label=p, count=n) for p, n in ordered]


def _timeliness(session: Session, due: Any, met: Any, since: datetime, until: datetime,
                now: datetime) -> Timeliness:
    """Deadlines due in [since, until): met by then, missed (late or still unmet), running."""
    due_c, met_c = col(due), col(met)
    on_time = sa.and_(met_c.is_not(None), met_c <= due_c)
    late = sa.or_(sa.and_(met_c.is_not(None), met_c > due_c), sa.and_(met_c.is_(None), due_c < now))
    row = session.execute(select(
        func.coalesce(func.sum(sa.case((on_time, 1), else_=0)), 0),
        func.coalesce(func.sum(sa.case((late, 1), else_=0)), 0),
        func.count()).select_from(Ticket).where(
        due_c >= since, due_c < until, col(Ticket.state) != TicketState.dismissed.value)).one()
    on, lt, total = (int(v or 0) for v in row)
    return Timeliness(on_time=on, late=lt, pending=total - on - lt)


def _top_events(session: Session, since: datetime, until: datetime, limit: int = 10) -> list[TopEvent]:
    order = (col(Event.mention_count).desc(), col(Event.engagement).desc(), col(Event.id).desc())
    # The ids first, from the index alone; then only those rows.
    top = select(Event.id).where(_active(since, until)).order_by(*order).limit(limit)
    stmt = (select(Event, Ticket.id, Ticket.state).outerjoin(Ticket, col(Ticket.event_id) == col(Event.id))
            .where(col(Event.id).in_(top)).order_by(*order))
    out = []
    for event, ticket_id, ticket_state in session.exec(stmt):
        assert event.id is not None
        out.append(TopEvent(
            id=event.id, title=event.title, grade=event.grade, grade_label=GRADE_LABELS.get(event.grade or "", ""),
            topic=event.topic, topic_label=TOPIC_LABELS.get(event.topic, event.topic),
            mention_count=event.mention_count, engagement=event.engagement, last_seen_at=event.last_seen_at,
            ticket_id=ticket_id, ticket_state=ticket_state,
            ticket_state_label=STATE_LABELS.get(ticket_state or "", "")))
    return out


def _tickets_by_unit(session: Session, now: datetime) -> list[UnitTickets]:
    """Open and overdue tickets per lead unit (one grouped query)."""
    stmt = (select(Ticket.unit_id, Unit.name, func.count(),
                   func.coalesce(func.sum(sa.case((overdue_clause(now), 1), else_=0)), 0))
            .outerjoin(Unit, col(Unit.id) == col(Ticket.unit_id))
            .where(col(Ticket.state).in_(OPEN_STATES)).group_by(col(Ticket.unit_id), col(Unit.name)))
    out = [UnitTickets(unit_id=uid, unit_name=name or "未交办", open=int(n), overdue=int(late or 0))
           for uid, name, n, late in session.exec(stmt)]
    return sorted(out, key=lambda u: (-u.overdue, -u.open, u.unit_name))
