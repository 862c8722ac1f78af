"""A 专题's page: figures, daily trend, sentiment over time, channels, places, events and tickets.

Every query joins the topic's links and passes the caller's Scope (core.access): a unit handler
sees the topic's mentions, events and tickets that belong to his unit's tickets, nothing else.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlmodel import Session, col, func, select

from core.access import Scope
from core.analysis_labels import CHANNEL_LABELS, GRADE_LABELS, TOPIC_LABELS
from core.events.models import Event
from core.mentions.models import Mention
from core.reports.dashboard import OPEN_STATES, SENTIMENT_LABELS, LabelCount
from core.tickets.models import RESPONSE_CHANNELS, STATE_LABELS, Response, Ticket
from core.timeutil import to_local, utcnow
from core.topics import service
from core.topics.models import MentionTrack, Track, TrackPublic
from core.units.models import Unit

EVENT_LIMIT = 100
TICKET_LIMIT = 100
RECENT_LIMIT = 20
POSTS_PER_EVENT = 3
MAX_TREND_DAYS = 731

FIGURES: tuple[tuple[str, str], ...] = (
    ("mentions", "相关信息（条）"),
    ("negative", "负面信息（条）"),
    ("events", "相关事件（件）"),
    ("serious_events", "较大及以上事件（件）"),
    ("tickets", "工单（件）"),
    ("open_tickets", "在办工单（件）"),
    ("responses", "公开回应（次）"),
)


class Figure(BaseModel):
    key: str
    label: str
    value: int


class DayCount(BaseModel):
    date: date
    mentions: int
    negative: int
    neutral: int
    positive: int


class TrackEvent(BaseModel):
    id: int
    title: str  # scraped text: render as text
    grade: str | None
    grade_label: str
    grade_reason: str
    topic: str
    topic_label: str
    tagged: int  # mentions of this event tagged with the topic
    mention_count: int
    engagement: int
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    ticket_id: int | None
    ticket_state: str | None
    ticket_state_label: str


class TrackTicket(BaseModel):
    id: int
    event_id: int
    title: str
    grade: str | None
    grade_label: str
    state: str
    state_label: str
    unit_name: str
    created_at: datetime
    response_due_at: datetime | None
    first_response_at: datetime | None
    closed_at: datetime | None
    responses: int


class TrackMention(BaseModel):
    id: int
    channel: str
    channel_label: str
    title: str
    snippet: str  # scraped text: render as text
    author: str
    url: str
    seen_at: datetime | None
    sentiment: str
    places: list[str]
    event_id: int | None


class TrackOverview(BaseModel):
    track: TrackPublic
    since: date  # first Beijing day shown
    until: date  # last Beijing day shown (the end of the range, or today while it runs)
    generated_at: datetime
    figures: list[Figure]
    trend: list[DayCount]  # per day: all, and by sentiment
    sentiment: list[LabelCount]
    channels: list[LabelCount]
    places: list[LabelCount]
    events: list[TrackEvent]  # most tagged first (at most EVENT_LIMIT)
    tickets: list[TrackTicket]  # newest first (at most TICKET_LIMIT)
    recent: list[TrackMention]  # the latest tagged mentions


def _tagged(track_id: int, scope: Scope) -> Any:
    """A select of the ids of the visible mentions tagged with the topic."""
    return (select(MentionTrack.mention_id).join(Mention, col(Mention.id) == col(MentionTrack.mention_id))
            .where(MentionTrack.track_id == track_id, scope.mentions()))


def _event_ids(track_id: int, scope: Scope) -> Any:
    return (select(Mention.event_id).join(MentionTrack, col(MentionTrack.mention_id) == col(Mention.id))
            .where(MentionTrack.track_id == track_id, col(Mention.event_id).is_not(None), scope.mentions())
            .distinct())


def _label_counts(rows: Any, labels: dict[str, str]) -> list[LabelCount]:
    ordered = sorted(((str(k or ""), int(n)) for k, n in rows), key=lambda r: (-r[1], r[0]))
    return [LabelCount(key=k, label=labels.get(k, k), count=n) for k, n in ordered]


def overview(*, session: Session, track: Track, scope: Scope, now: datetime | None = None) -> TrackOverview:
    """The page data of one topic, as the caller's scope allows."""
    assert track.id is not None
    now = now or utcnow()
    today = to_local(now).date()
    since = track.starts_on
    until = track.ends_on or max(today, since)
    if (until - since).days >= MAX_TREND_DAYS:  # the chart shows the last two years at most
        since = until - timedelta(days=MAX_TREND_DAYS - 1)
    tagged = _tagged(track.id, scope)
    event_ids = _event_ids(track.id, scope)
    in_tagged = col(Mention.id).in_(tagged)

    # Per day and sentiment; bucketed in Python (Beijing days on both backends, as the dashboard does).
    days: dict[date, dict[str, int]] = {}
    sentiment: dict[str, int] = {}
    for seen_at, feeling in session.exec(select(Mention.seen_at, Mention.sentiment).where(in_tagged)):
        sentiment[feeling or ""] = sentiment.get(feeling or "", 0) + 1
        if seen_at is None:
            continue
        day = to_local(seen_at).date()
        bucket = days.setdefault(day, {})
        bucket[feeling or ""] = bucket.get(feeling or "", 0) + 1
    trend = []
    day = since
    while day <= until:
        b = days.get(day, {})
        trend.append(DayCount(date=day, mentions=sum(b.values()), negative=b.get("negative", 0),
                              neutral=b.get("neutral", 0), positive=b.get("positive", 0)))
        day += timedelta(days=1)

    channels = session.exec(select(Mention.channel, func.count()).where(in_tagged).group_by(Mention.channel)).all()
    place_counts: dict[str, int] = {}
    for places in session.exec(select(Mention.places).where(in_tagged)):
        for place in places or []:
            place_counts[place] = place_counts.get(place, 0) + 1

    events = _events(session, track.id, scope, event_ids)
    tickets = _tickets(session, scope, event_ids)
    figures = _figures(session, scope, tagged, event_ids, sum(sentiment.values()), sentiment.get("negative", 0))
    return TrackOverview(
        track=service.public(track, figures["mentions"]), since=since, until=until, generated_at=now,
        figures=[Figure(key=k, label=label, value=figures[k]) for k, label in FIGURES],
        trend=trend, sentiment=_label_counts(sentiment.items(), SENTIMENT_LABELS),
        channels=_label_counts(channels, CHANNEL_LABELS),
        places=_label_counts(place_counts.items(), {})[:20],
        events=events, tickets=tickets, recent=_recent(session, tagged))


def _figures(session: Session, scope: Scope, tagged: Any, event_ids: Any, mentions: int,
             negative: int) -> dict[str, int]:
    def n(stmt: Any) -> int:
        return int(session.exec(stmt).one() or 0)

    visible_tickets = sa.and_(col(Ticket.event_id).in_(event_ids), scope.tickets())
    return {
        "mentions": mentions,
        "negative": negative,
        "events": n(select(func.count()).select_from(Event).where(col(Event.id).in_(event_ids))),
        "serious_events": n(select(func.count()).select_from(Event).where(
            col(Event.id).in_(event_ids), col(Event.grade).in_(("I", "II", "III")))),
        "tickets": n(select(func.count()).select_from(Ticket).where(visible_tickets)),
        "open_tickets": n(select(func.count()).select_from(Ticket).where(
            visible_tickets, col(Ticket.state).in_(OPEN_STATES))),
        "responses": n(select(func.count()).select_from(Response).join(Ticket, col(Ticket.id) == Response.ticket_id)
                       .where(visible_tickets)),
    }


def _events(session: Session, track_id: int, scope: Scope, event_ids: Any) -> list[TrackEvent]:
    per_event = (select(Mention.event_id, func.count().label("n"))
                 .join(MentionTrack, col(MentionTrack.mention_id) == col(Mention.id))
                 .where(MentionTrack.track_id == track_id, col(Mention.event_id).is_not(None), scope.mentions())
                 .group_by(col(Mention.event_id)).subquery())
    stmt = (select(Event, per_event.c.n, Ticket.id, Ticket.state)
            .join(per_event, per_event.c.event_id == col(Event.id))
            .outerjoin(Ticket, col(Ticket.event_id) == col(Event.id))
            .order_by(per_event.c.n.desc(), col(Event.engagement).desc(), col(Event.id).desc()).limit(EVENT_LIMIT))
    out = []
    for event, n, ticket_id, ticket_state in session.exec(stmt):
        assert event.id is not None
        out.append(TrackEvent(
            id=event.id, title=event.title, grade=event.grade, grade_label=GRADE_LABELS.get(event.grade or "", ""),
            grade_reason=event.grade_reason, topic=event.topic, topic_label=TOPIC_LABELS.get(event.topic, event.topic),
            tagged=int(n), mention_count=event.mention_count, engagement=event.engagement,
            first_seen_at=event.first_seen_at, last_seen_at=event.last_seen_at, ticket_id=ticket_id,
            ticket_state=ticket_state, ticket_state_label=STATE_LABELS.get(ticket_state or "", "")))
    return out


def _tickets(session: Session, scope: Scope, event_ids: Any) -> list[TrackTicket]:
    responses = (select(Response.ticket_id, func.count().label("n")).group_by(col(Response.ticket_id)).subquery())
    stmt = (select(Ticket, Unit.name, responses.c.n)
            .outerjoin(Unit, col(Unit.id) == col(Ticket.unit_id))
            .outerjoin(responses, responses.c.ticket_id == col(Ticket.id))
            .where(col(Ticket.event_id).in_(event_ids), scope.tickets())
            .order_by(col(Ticket.created_at).desc(), col(Ticket.id).desc()).limit(TICKET_LIMIT))
    out = []
    for ticket, unit, n in session.exec(stmt):
        assert ticket.id is not None
        out.append(TrackTicket(
            id=ticket.id, event_id=ticket.event_id, title=ticket.title, grade=ticket.grade,
            grade_label=GRADE_LABELS.get(ticket.grade or "", ""), state=ticket.state,
            state_label=STATE_LABELS.get(ticket.state, ticket.state), unit_name=unit or "未交办",
            created_at=ticket.created_at, response_due_at=ticket.response_due_at,
            first_response_at=ticket.first_response_at, closed_at=ticket.closed_at, responses=int(n or 0)))
    return out


def _mention_item(m: Mention) -> TrackMention:
    assert m.id is not None
    return TrackMention(id=m.id, channel=m.channel, channel_label=CHANNEL_LABELS.get(m.channel, m.channel),
                        title=m.title, snippet=m.text[:200], author=m.author, url=m.url, seen_at=m.seen_at,
                        sentiment=m.sentiment, places=list(m.places or []), event_id=m.event_id)


def _recent(session: Session, tagged: Any) -> list[TrackMention]:
    stmt = (select(Mention).where(col(Mention.id).in_(tagged))
            .order_by(col(Mention.seen_at).desc(), col(Mention.id).desc()).limit(RECENT_LIMIT))
    return [_mention_item(m) for m in session.exec(stmt)]


def event_posts(*, session: Session, track_id: int, scope: Scope, event_id: int,
                limit: int = POSTS_PER_EVENT) -> list[TrackMention]:
    """The event's tagged posts with the most interaction: the representative posts of a 专报."""
    stmt = (select(Mention).where(Mention.event_id == event_id, col(Mention.id).in_(_tagged(track_id, scope)))
            .order_by((col(Mention.likes) + col(Mention.reposts) + col(Mention.comments)).desc(), col(Mention.id))
            .limit(limit))
    return [_mention_item(m) for m in session.exec(stmt)]


def event_responses(*, session: Session, ticket_id: int) -> list[dict[str, Any]]:
    """What was said publicly on the event's ticket."""
    rows = session.exec(select(Response).where(Response.ticket_id == ticket_id).order_by(col(Response.published_at)))
    return [{"channel": RESPONSE_CHANNELS.get(r.channel, r.channel), "title": r.title,
             "published_at": r.published_at} for r in rows]
